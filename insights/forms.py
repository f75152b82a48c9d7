from django import forms

from .search import MAX_QUERY_LENGTH


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search",
        max_length=MAX_QUERY_LENGTH,
        required=False,
        strip=True,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": 'e.g. pool exhausted, "connection leak" -redis'}
        ),
        help_text='All words must appear; "quotes" for a phrase, or between alternatives, '
        "-word to leave out.",
    )
