from django import forms
from django.contrib.auth import get_user_model

from incidents.forms import IncidentForm

from .models import Comment, Postmortem, ReviewRequest
from .templatetags.studio import display_name


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


class CommentForm(forms.ModelForm):
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Comment
        fields = ["body"]
        labels = {"body": "Comment"}
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}


class ReviewerForm(forms.Form):
    reviewer = forms.ModelChoiceField(queryset=None, label="Reviewer")
    role = forms.ChoiceField(choices=ReviewRequest.Role.choices, label="As")

    def __init__(self, *args, exclude=(), **kwargs):
        super().__init__(*args, **kwargs)
        people = get_user_model().objects.filter(is_active=True).exclude(pk__in=exclude)
        self.fields["reviewer"].queryset = people.order_by("first_name", "last_name", "username")
        self.fields["reviewer"].label_from_instance = display_name


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            (ReviewRequest.Decision.APPROVED, "Approve"),
            (ReviewRequest.Decision.CHANGES_REQUESTED, "Request changes"),
        ]
    )
    note = forms.CharField(
        label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class NoteForm(forms.Form):
    note = forms.CharField(
        label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=5000
    )


class TemplateForm(forms.Form):
    template = forms.ChoiceField(label="Template", choices=Postmortem.Template.choices)


class NewIncidentForm(IncidentForm):
    """Declaring an incident opens its postmortem too, in the shape the team writes."""

    template = forms.ChoiceField(
        label="Postmortem template",
        choices=Postmortem.Template.choices,
        initial=Postmortem.Template.FULL,
        help_text="The shape your team writes in; you can switch later without losing text.",
    )
