from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.validators import MaxLengthValidator

from incidents.forms import IncidentForm, PersonChoiceField
from incidents.models import Team

from . import limits
from .models import Comment, Postmortem, ReviewRequest, ShareLink


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

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("initial", "UTC")
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "widget", forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"})
        )
        super().__init__(**kwargs)

    def clean(self, value: Any) -> str:
        from .importing.times import TimeRefused, zone_named

        zone: str = (super().clean(value) or "UTC").strip()
        try:
            zone_named(zone)
        except TimeRefused as refused:
            raise forms.ValidationError(str(refused)) from None
        return zone


def limit_text(field: forms.Field, limit: int) -> forms.Field:
    """A multi-line text field of at most `limit` characters (postmortems/limits.py): the
    form refuses more (422, the text kept), the help text says the limit and studio.js counts
    down to it (data-limit). No maxlength attribute on a textarea: a browser would cut a long
    paste silently, and the person would not know what was lost."""
    assert isinstance(field, forms.CharField)
    field.max_length = limit
    field.validators = [v for v in field.validators if not isinstance(v, MaxLengthValidator)]
    field.validators.append(MaxLengthValidator(limit))
    field.widget.attrs.pop("maxlength", None)
    field.widget.attrs["data-limit"] = str(limit)
    said = limits.help_text(limit)
    field.help_text = f"{field.help_text} {said}".strip() if field.help_text else said
    return field


def limit_model_text(form: forms.BaseForm, label: str) -> None:
    """Every limited text field of a model's form (see limits.TEXT_LIMITS)."""
    for name, field in form.fields.items():
        limit = limits.limit_of(label, name)
        if limit is not None:
            limit_text(field, limit)


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
    )
    zone = TimeZoneField(
        label="Times without a zone are in",
        help_text="UTC unless you say otherwise; every time is stored in UTC.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_text(self.fields["text"], limits.PASTE)


class CommentForm(forms.ModelForm[Comment]):
    parent = forms.IntegerField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = Comment
        fields = ["body"]
        labels = {"body": "Comment"}
        widgets = {"body": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        limit_model_text(self, "postmortems.Comment")


class ReviewerForm(forms.Form):
    reviewer = PersonChoiceField(queryset=None, label="Reviewer")
    role = forms.ChoiceField(choices=ReviewRequest.Role.choices, label="As")

    def __init__(self, *args: Any, exclude: Iterable[int] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        people = get_user_model().objects.filter(is_active=True).exclude(pk__in=exclude)
        field = self.fields["reviewer"]
        assert isinstance(field, PersonChoiceField)
        field.queryset = people.order_by("first_name", "last_name", "username")


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            (ReviewRequest.Decision.APPROVED, "Approve"),
            (ReviewRequest.Decision.CHANGES_REQUESTED, "Request changes"),
        ]
    )
    note = limit_text(
        forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2})),
        limits.NOTE,
    )


class NoteForm(forms.Form):
    note = limit_text(
        forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2})),
        limits.NOTE,
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
    team: forms.ModelChoiceField[Team] = forms.ModelChoiceField(
        queryset=None, label="Team", empty_label=None
    )
    template = forms.ChoiceField(
        label="Template",
        required=False,
        choices=[("", "Detect from the document"), *Postmortem.Template.choices],
    )
    zone = TimeZoneField(
        label="Times without a zone are in",
        help_text="UTC unless the document says otherwise (e.g. America/Los_Angeles).",
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from incidents.forms import teams_of

        field = self.fields["team"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = teams_of(user)

    def clean(self) -> dict[str, Any]:
        from .importing.service import MAX_IMPORT_BYTES, ImportRefused, read_upload

        super().clean()
        cleaned = self.cleaned_data  # what Form.clean returns, never None (the stubs allow it)
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


class ShareLinkForm(forms.Form):
    """A new share link: how long it works, and (for the team's list) who it is for."""

    days = forms.TypedChoiceField(
        label="Works for",
        coerce=int,
        choices=[],
    )
    label = forms.CharField(
        label="Shared with",
        max_length=100,
        required=False,
        help_text="Who it is for, to recognise the link later: a customer, a partner team.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        days = sorted({*ShareLink.LIFETIMES, settings.SHARE_LINK_DAYS})
        field = self.fields["days"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(n, f"{n} day{'s' if n != 1 else ''}") for n in days]
        field.initial = settings.SHARE_LINK_DAYS
