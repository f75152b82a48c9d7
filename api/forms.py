from django import forms


class NewTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text='What will use it, to recognise it later: "pager bot", "CI".',
    )
