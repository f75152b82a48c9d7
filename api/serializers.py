"""What the API answers with, and (for the schema) what it accepts. Writes are validated by
the document's own section forms (api/documents.py); the input serializers here describe
them for the OpenAPI schema and the docs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from actionitems.models import ActionItem
from incidents.models import TIME_FIELDS, Incident, TimelineEvent
from postmortems import limits
from postmortems.layouts import SECTIONS
from postmortems.models import Comment, Postmortem


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


class UsernameField(serializers.SlugRelatedField):  # type: ignore[type-arg]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="username", read_only=True, **kwargs)


class ServiceImpactSerializer(serializers.Serializer):  # type: ignore[type-arg]
    service = serializers.CharField(source="service.name")
    impact = serializers.CharField()
    note = serializers.CharField()


class PostmortemSummarySerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Postmortem
        fields = ["status", "template"]


class IncidentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    reference = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    team: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    commander = UsernameField(allow_null=True)
    services = ServiceImpactSerializer(source="service_impacts", many=True, read_only=True)
    postmortem = serializers.SerializerMethodField()

    class Meta:
        model = Incident
        fields = [
            "reference",
            "url",
            "title",
            "severity",
            "status",
            "team",
            "commander",
            "services",
            *TIME_FIELDS,
            "external_id",
            "postmortem",
            "archived_at",
            "created_at",
            "updated_at",
        ]

    def get_url(self, incident: Incident) -> str:
        return absolute(incident.get_absolute_url())

    def get_postmortem(self, incident: Incident) -> dict[str, str] | None:
        try:
            postmortem = incident.postmortem
        except Postmortem.DoesNotExist:
            return None
        return {"status": postmortem.status, "template": postmortem.template}


class MetricsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """Seconds, derived from the incident's times or its timeline; null when unknown."""

    duration = serializers.FloatField(allow_null=True)
    time_to_detect = serializers.FloatField(allow_null=True)
    time_to_acknowledge = serializers.FloatField(allow_null=True)
    time_to_mitigate = serializers.FloatField(allow_null=True)
    time_to_resolve = serializers.FloatField(allow_null=True)


class IncidentDetailSerializer(IncidentSerializer):
    metrics = serializers.SerializerMethodField()

    class Meta(IncidentSerializer.Meta):
        fields = [*IncidentSerializer.Meta.fields, "metrics"]

    def get_metrics(self, incident: Incident) -> dict[str, float | None]:
        names = ["duration", "time_to_detect", "time_to_acknowledge", "time_to_mitigate",
                 "time_to_resolve"]  # fmt: skip
        values = {name: getattr(incident, name) for name in names}
        return {name: v.total_seconds() if v is not None else None for name, v in values.items()}


class IncidentCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    title = serializers.CharField(max_length=200)
    severity = serializers.ChoiceField(choices=Incident.Severity.choices, required=False)
    status = serializers.ChoiceField(choices=Incident.Status.choices, required=False)
    team = serializers.CharField(help_text="The team's slug; one of your teams.")
    commander = serializers.CharField(required=False, allow_null=True, help_text="A username.")
    services = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="Names of the team's services."
    )
    started_at = serializers.DateTimeField()
    detected_at = serializers.DateTimeField(required=False, allow_null=True)
    acknowledged_at = serializers.DateTimeField(required=False, allow_null=True)
    mitigated_at = serializers.DateTimeField(required=False, allow_null=True)
    resolved_at = serializers.DateTimeField(required=False, allow_null=True)
    external_id = serializers.CharField(required=False, max_length=100, allow_blank=True)
    template = serializers.ChoiceField(
        choices=Postmortem.Template.choices,
        required=False,
        help_text="The postmortem opened with the incident; default full.",
    )


class TimelineEventSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = TimelineEvent
        fields = [
            "id",
            "version",
            "occurred_at",
            "kind",
            "description",
            "action_taken",
            "actor",
            "is_key_decision",
            "created_at",
        ]


class TimelineEventWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    occurred_at = serializers.DateTimeField(required=False, help_text="UTC, ISO 8601.")
    kind = serializers.ChoiceField(choices=TimelineEvent.Kind.choices, required=False)
    description = serializers.CharField(required=False, help_text="Markdown.")
    action_taken = serializers.CharField(required=False, allow_blank=True, max_length=300)
    actor = serializers.CharField(required=False, allow_blank=True, max_length=100)
    is_key_decision = serializers.BooleanField(required=False)
    version = serializers.IntegerField(
        required=False, min_value=0, help_text="Required to change an event: the one you read."
    )


class TimelineBulkSerializer(serializers.Serializer):  # type: ignore[type-arg]
    events = TimelineEventWriteSerializer(many=True)


class BulkResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    created = TimelineEventSerializer(many=True)


class SectionSerializer(serializers.Serializer):  # type: ignore[type-arg]
    key = serializers.CharField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=[("fields", "fields"), ("rows", "rows")])
    version = serializers.IntegerField(help_text="Send it back with a change; 409 if stale.")
    values = serializers.DictField(required=False, help_text="Field sections: the fields.")
    rows = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Row sections: the rows."
    )
    text = serializers.CharField(help_text="The section as text, as its history shows it.")


class SectionWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    version = serializers.IntegerField(min_value=0, help_text="The version you read.")
    values = serializers.DictField(help_text="Fields to change; the others keep their values.")


class RowWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The row section's fields (see GET of the section), and `version` to change a row."""

    version = serializers.IntegerField(required=False, min_value=0)


class ConflictSerializer(serializers.Serializer):  # type: ignore[type-arg]
    detail = serializers.CharField()
    current_version = serializers.IntegerField()
    current = serializers.CharField(help_text="What the section or row holds now.")


class TrackerLinkSerializer(serializers.Serializer):  # type: ignore[type-arg]
    key = serializers.CharField()
    url = serializers.URLField()
    state = serializers.CharField()
    remote_status = serializers.CharField()


class ActionItemSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    incident = serializers.CharField(source="postmortem.incident.reference", read_only=True)
    owner = UsernameField(allow_null=True)
    owner_display = serializers.CharField(read_only=True)
    url = serializers.SerializerMethodField()
    overdue = serializers.BooleanField(read_only=True)
    ticket = serializers.SerializerMethodField()

    class Meta:
        model = ActionItem
        fields = [
            "id",
            "version",
            "incident",
            "url",
            "title",
            "description",
            "owner",
            "owner_name",
            "owner_display",
            "due_date",
            "overdue",
            "priority",
            "status",
            "category",
            "term",
            "tracker_url",
            "ticket",
            "completed_at",
            "created_at",
            "updated_at",
        ]

    def get_url(self, item: ActionItem) -> str:
        return absolute(item.get_absolute_url())

    def get_ticket(self, item: ActionItem) -> dict[str, str] | None:
        link = getattr(item, "tracker_link", None)
        if link is None or not link.key:
            return None
        return {
            "key": link.key,
            "url": link.url,
            "state": link.state,
            "remote_status": link.remote_status,
        }


class ActionItemWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    incident = serializers.CharField(required=False, help_text="Reference, to create one.")
    title = serializers.CharField(required=False, max_length=300)
    description = serializers.CharField(required=False, allow_blank=True)
    owner = serializers.CharField(
        required=False, allow_null=True, help_text="A username of the incident's team."
    )
    owner_name = serializers.CharField(
        required=False, allow_blank=True, max_length=200, help_text="Or a team / person's name."
    )
    due_date = serializers.DateField(required=False, allow_null=True)
    priority = serializers.ChoiceField(choices=ActionItem.Priority.choices, required=False)
    status = serializers.ChoiceField(choices=ActionItem.Status.choices, required=False)
    category = serializers.ChoiceField(choices=ActionItem.Category.choices, required=False)
    term = serializers.ChoiceField(choices=ActionItem.Term.choices, required=False)
    tracker_url = serializers.URLField(required=False, allow_blank=True)
    version = serializers.IntegerField(
        required=False, min_value=0, help_text="Required to change an item: the one you read."
    )


class StatusSerializer(serializers.Serializer):  # type: ignore[type-arg]
    status = serializers.ChoiceField(choices=ActionItem.Status.choices)


class CommentSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    author = UsernameField(allow_null=True)
    resolved_by = UsernameField(allow_null=True)
    parent: serializers.Field[Any, Any, Any, Any] = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        read_only=True
    )

    class Meta:
        model = Comment
        fields = ["id", "section", "parent", "author", "body", "created_at", "resolved_at",
                  "resolved_by"]  # fmt: skip


class CommentCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    section = serializers.ChoiceField(choices=list(SECTIONS))
    body = serializers.CharField(
        max_length=limits.COMMENT, help_text="Markdown; @username mentions."
    )
    parent = serializers.IntegerField(required=False, allow_null=True)  # type: ignore[assignment]


class ResolveSerializer(serializers.Serializer):  # type: ignore[type-arg]
    resolved = serializers.BooleanField()


class ReviewerSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reviewer = serializers.CharField(source="reviewer.username")
    role = serializers.CharField()
    decision = serializers.CharField()
    decided_at = serializers.DateTimeField(allow_null=True)


class PostmortemSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    incident = serializers.CharField(source="incident.reference")
    authors = UsernameField(many=True)
    reviewers = ReviewerSerializer(source="review_requests", many=True)
    export_url = serializers.SerializerMethodField()

    class Meta:
        model = Postmortem
        fields = ["incident", "status", "template", "authors", "reviewers", "export_url",
                  "created_at", "updated_at"]  # fmt: skip

    def get_export_url(self, postmortem: Postmortem) -> str:
        return absolute(postmortem.get_export_url())
