from __future__ import annotations

from typing import Any

from django import forms

from .models import EventKind, TrackerConnection, WebhookEndpoint
from .urlsafety import UnsafeURL, check_url


def safe_url(url: str) -> str:
    if url:
        try:
            check_url(url)
        except UnsafeURL as error:
            raise forms.ValidationError(str(error)) from None
    return url


class WebhookEndpointForm(forms.ModelForm[WebhookEndpoint]):
    url = forms.URLField(label="Payload URL", max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=EventKind.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="What this URL is sent.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events"]

    def clean_url(self) -> str:
        return safe_url(self.cleaned_data["url"])


class SlackForm(forms.Form):
    url = forms.URLField(
        label="Slack incoming webhook URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="https://hooks.slack.com/services/… from a Slack app's Incoming Webhooks. "
        "Leave empty to stop posting.",
    )

    def clean_url(self) -> str:
        return safe_url(self.cleaned_data["url"])


class TrackerConnectionForm(forms.ModelForm[TrackerConnection]):
    base_url = forms.URLField(
        label="Base URL",
        max_length=300,
        required=False,
        assume_scheme="https",
        help_text=TrackerConnection._meta.get_field("base_url").help_text,
    )
    token = forms.CharField(
        label="API token",
        widget=forms.PasswordInput,
        help_text="Stored encrypted and never shown again. Or env:VARIABLE to read it from the "
        "server's environment.",
    )
    webhook_secret = forms.CharField(
        label="Webhook secret",
        required=False,
        widget=forms.PasswordInput,
        help_text="The secret you give the tracker's webhook, so that we can check its "
        "signature. Without one, ticket states come back by the periodic sync only.",
    )

    class Meta:
        model = TrackerConnection
        fields = ["provider", "name", "base_url", "project", "username", "issue_type"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        provider = cleaned.get("provider")
        if provider == TrackerConnection.Provider.JIRA:
            for name in ("base_url", "username"):
                if not cleaned.get(name):
                    self.add_error(name, "Jira needs this.")
        if provider == TrackerConnection.Provider.GITHUB:
            project = cleaned.get("project", "")
            if project and (project.count("/") != 1 or " " in project):
                self.add_error("project", "Write the repository as owner/name.")
        base_url = cleaned.get("base_url") or TrackerConnection.DEFAULT_URLS.get(str(provider))
        if base_url:
            try:
                check_url(base_url)
            except UnsafeURL as error:
                self.add_error("base_url", str(error))
        return cleaned

    def save(self, commit: bool = True) -> TrackerConnection:
        connection: TrackerConnection = super().save(commit=False)
        connection.token = self.cleaned_data["token"]
        connection.webhook_secret = self.cleaned_data.get("webhook_secret", "")
        if commit:
            connection.save()
        return connection


class CreateTicketForm(forms.Form):
    connection = forms.ModelChoiceField(queryset=TrackerConnection.objects.none(), label="In")

    def __init__(self, *args: Any, item: Any, **kwargs: Any) -> None:
        from .services import connections_for

        super().__init__(*args, **kwargs)
        field = self.fields["connection"]
        field.queryset = connections_for(item)  # type: ignore[attr-defined]
        field.empty_label = None  # type: ignore[attr-defined]


class SlackImportForm(forms.Form):
    """A Slack export (zip) or text copied from a channel, for an incident's timeline."""

    file = forms.FileField(
        label="Slack export (.zip)",
        required=False,
        help_text="The zip a Slack admin exports: one folder per channel, one file per day.",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    text = forms.CharField(
        label="Or paste messages copied from the channel",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=2_000_000,
    )
    channel = forms.CharField(
        label="Channel", required=False, max_length=200,
        help_text="Only when the export holds several channels.",
    )  # fmt: skip
    day = forms.DateField(
        label="Day of the first copied message",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Copied text shows times, not dates.",
    )
    zone = forms.CharField(
        label="Time zone of copied times", initial="UTC", required=False, max_length=64,
        help_text="Copied times are the copier's local time; an export's are UTC already.",
    )  # fmt: skip

    MAX_BYTES = 50 * 1024 * 1024

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        upload, text = cleaned.get("file"), (cleaned.get("text") or "").strip()
        if upload is not None:
            # An upload's size may be unknown (None): then the bytes read decide.
            too_big = upload.size is not None and upload.size > self.MAX_BYTES
            source = b"" if too_big else upload.read(self.MAX_BYTES + 1)
            if too_big or len(source) > self.MAX_BYTES:
                raise forms.ValidationError("The export is larger than 50 MB: export one channel.")
            cleaned["source"] = source
        elif text:
            cleaned["source"] = text.encode("utf-8")
        else:
            raise forms.ValidationError("Choose an export zip or paste the channel's messages.")
        return cleaned
