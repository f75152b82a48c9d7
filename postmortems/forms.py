from django import forms
from django.contrib.auth import get_user_model

from incidents.forms import IncidentForm, PersonChoiceField

from .models import Comment, Postmortem, ReviewRequest


class StartPostmortemForm(forms.Form):
    template = forms.ChoiceField(
        label="Template",
        choices=Postmortem.Template.choices,
        initial=Postmortem.Template.FULL,
    )


class BaseVersionForm(forms.Form):
    """The version an action started from (restoring a revision)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)


class TimeZoneField(forms.CharField):
    """A zone for times written without one: an IANA name (Europe/Berlin) or UTC."""

    def __init__(self, **kwargs):
        kwargs.setdefault("initial", "UTC")
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def clean(self, value):
        from .importing.times import TimeRefused, zone_named

        value = (super().clean(value) or "UTC").strip()
        try:
            zone_named(value)
        except TimeRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        return value


class TimelinePasteForm(forms.Form):
    text = forms.CharField(
        label="Paste events",
        widget=forms.Textarea(
            attrs={
                "rows": 8,
                "placeholder": "14:02 Jane acknowledged alert\n"
                "2:05 PM PST Checked the pool\n"
                "[14:07] mike: restarting pods\n"
                "| Time (UTC) | Event | Person |\n|---|---|---|\n"
                "| 14:10 | Pool back to 20/100 | Jane |",
            }
        ),
        help_text="One event per line, starting with a time: 14:02, 2:02 PM, [14:02], "
        "2026-03-02 14:02 UTC, 14:02 +02:00 or 14:02 PST. Markdown tables are read by their "
        "header names; **bold** events become key decisions. The date is the incident's.",
        max_length=200_000,
    )
    zone = TimeZoneField(
        label="Times without a zone are in",
        help_text="UTC unless you say otherwise; every time is stored in UTC.",
    )


class CommentForm(forms.ModelForm):
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Comment
        fields = ["body"]
        labels = {"body": "Comment"}
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}


class ReviewerForm(forms.Form):
    reviewer = PersonChoiceField(queryset=None, label="Reviewer")
    role = forms.ChoiceField(choices=ReviewRequest.Role.choices, label="As")

    def __init__(self, *args, exclude=(), **kwargs):
        super().__init__(*args, **kwargs)
        people = get_user_model().objects.filter(is_active=True).exclude(pk__in=exclude)
        self.fields["reviewer"].queryset = people.order_by("first_name", "last_name", "username")


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
    create_anyway = forms.BooleanField(
        label="Create anyway: this is a different incident",
        required=False,
    )
    ungrouped = ("create_anyway",)


class ImportForm(forms.Form):
    """A postmortem written elsewhere: a Markdown file, or its text pasted."""

    file = forms.FileField(
        label="Markdown file",
        required=False,
        help_text="A .md export of a Google Doc or Confluence page, up to 2 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": ".md,.markdown,.txt,text/markdown"}),
    )
    text = forms.CharField(
        label="Or paste the Markdown",
        required=False,
        widget=forms.Textarea(attrs={"rows": 12}),
    )
    team = forms.ModelChoiceField(queryset=None, label="Team", empty_label=None)
    template = forms.ChoiceField(
        label="Template",
        required=False,
        choices=[("", "Detect from the document"), *Postmortem.Template.choices],
    )
    zone = TimeZoneField(
        label="Times without a zone are in",
        help_text="UTC unless the document says otherwise (e.g. America/Los_Angeles).",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        from incidents.forms import teams_of

        self.fields["team"].queryset = teams_of(user)

    def clean(self):
        from .importing.service import MAX_IMPORT_BYTES, ImportRefused, read_upload

        cleaned = super().clean()
        upload, text = cleaned.get("file"), cleaned.get("text") or ""
        if upload is not None:
            try:
                cleaned["text"] = read_upload(upload)
            except ImportRefused as refused:
                raise forms.ValidationError(str(refused)) from None
        elif not text.strip():
            raise forms.ValidationError("Choose a Markdown file or paste the document's text.")
        elif len(text.encode("utf-8", "replace")) > MAX_IMPORT_BYTES:
            raise forms.ValidationError("Import at most 2 MB of Markdown.")
        return cleaned
