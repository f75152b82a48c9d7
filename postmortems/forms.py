from django import forms

from actionitems.models import ActionItem

from .models import Comment, Postmortem


class StartPostmortemForm(forms.Form):
    template = forms.ChoiceField(
        label="Template",
        choices=Postmortem.Template.choices,
        initial=Postmortem.Template.FULL,
    )


class BaseVersionForm(forms.Form):
    """The version an action started from (restoring a revision)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class TimelinePasteForm(forms.Form):
    text = forms.CharField(
        label="Paste events",
        widget=forms.Textarea(
            attrs={
                "rows": 8,
                "placeholder": "14:02 Jane acknowledged alert\n"
                "| 14:05 | Confirmed connections at max (100/100) | SRE (Jane) |",
            }
        ),
        help_text="One event per line, starting with a UTC time (HH:MM). Markdown table rows "
        "work too; **bold** events become key decisions. The date is the incident's.",
        max_length=100_000,
    )


class ActionItemStatusForm(forms.Form):
    status = forms.ChoiceField(choices=ActionItem.Status.choices)


class CommentForm(forms.ModelForm):
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Comment
        fields = ["body"]
        labels = {"body": "Comment"}
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}
