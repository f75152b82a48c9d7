"""The REST API, over the same access checks and services as the pages.

Reading goes through Incident.objects.visible_to / get_incident_for (another team's things
are 404), writing through get_incident_for(..., edit=True) (403 for a reviewer from another
team) and the document's services: every write is a revision, validated by the section's
own form, and a write based on an old version is refused with 409 as in the editor.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from actionitems.models import ActionItem
from incidents.forms import teams_of
from incidents.models import Incident, IncidentQuerySet, Service, TimelineEvent
from incidents.services import get_incident_for
from postmortems.editing import EDITABLE_SECTIONS, FIELD_SECTIONS, ROW_SECTIONS, RowSection
from postmortems.forms import NewIncidentForm
from postmortems.layouts import SECTIONS
from postmortems.models import Comment, Postmortem, Revision
from postmortems.services import (
    StaleEdit,
    add_comment,
    add_row,
    add_rows,
    delete_row,
    get_document_for,
    save_row,
    save_section,
    set_thread_resolved,
    start_postmortem,
)

from . import serializers as s
from .documents import (
    form_errors,
    form_value,
    row_to_api,
    section_to_api,
    validated_row_values,
    validated_section_values,
)
from .filters import ApiActionItemFilter, ApiIncidentFilter

MAX_BULK_EVENTS = 500

CONFLICT = OpenApiResponse(s.ConflictSerializer, description="Changed since your version.")
REFERENCE = OpenApiParameter(
    "reference",
    str,
    OpenApiParameter.PATH,
    description="The incident's reference, INC-<year>-<number>.",
    examples=[OpenApiExample("An incident", value="INC-2026-0001")],
)
VERSION_QUERY = OpenApiParameter(
    "version", int, OpenApiParameter.QUERY, required=True, description="The version you read."
)


class ApiRequest(Request):
    """A request past the API's IsAuthenticated permission: `user` is a real User."""

    user: User


def conflict(stale: StaleEdit, current: str | None = None) -> Response:
    if stale.gone:
        detail = "This row was deleted by someone else."
    else:
        who = ""
        if stale.revision is not None and stale.revision.author is not None:
            who = f" by {stale.revision.author.get_username()}"
        detail = (
            f"Changed{who} since the version you read; read it again (version "
            f"{stale.current_version}) and merge your change."
        )
    return Response(
        {
            "detail": detail,
            "current_version": stale.current_version,
            "current": stale.current_text if current is None else current,
        },
        status=status.HTTP_409_CONFLICT,
    )


def require_postmortem(incident: Incident) -> Postmortem:
    try:
        return incident.postmortem
    except Postmortem.DoesNotExist:
        raise Http404("This incident has no postmortem yet.") from None


def row_section(incident: Incident, key: str) -> RowSection:
    section = ROW_SECTIONS.get(key)
    if section is None:
        raise Http404("No such list section.")
    if section.parent == "postmortem":
        require_postmortem(incident)
    return section


def version_from_query(request: ApiRequest) -> int:
    raw = request.query_params.get("version", "")
    if not raw.isdigit():
        raise ValidationError({"version": ["Send ?version= with the version you read."]})
    return int(raw)


# Incidents.


class IncidentList(generics.ListAPIView):  # type: ignore[type-arg]
    queryset = Incident.objects.none()  # for the schema; get_queryset() scopes to the user
    serializer_class = s.IncidentSerializer
    filterset_class = ApiIncidentFilter

    def get_queryset(self) -> IncidentQuerySet:
        if getattr(self, "swagger_fake_view", False):
            return Incident.objects.none()
        incidents: IncidentQuerySet = (
            Incident.objects.visible_to(cast(ApiRequest, self.request).user)
            .select_related("team", "commander", "postmortem")
            .prefetch_related("service_impacts__service")
            .order_by("-started_at", "-pk")
        )
        return incidents

    @extend_schema(
        request=s.IncidentCreateSerializer,
        responses={201: s.IncidentDetailSerializer, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: ApiRequest) -> Response:
        """Declare an incident (and open its postmortem), as the "New incident" page does."""
        data = request.data
        if not isinstance(data, dict):
            raise ValidationError({"detail": "Send a JSON object."})
        teams = teams_of(request.user)
        team = teams.filter(slug=str(data.get("team", "")).replace("\x00", "")).first()
        people = get_user_model().objects.filter(memberships__team__in=teams)
        services = data.get("services") or []
        if not isinstance(services, list):
            raise ValidationError({"services": ["A list of service names."]})
        form_data = {
            **{k: form_value(v) for k, v in data.items()},
            "team": team.pk if team else form_value(data.get("team")),
            "commander": _pk_by(people, "username", data.get("commander")),
            "services": [
                _pk_by(Service.objects.filter(team=team), "name", name) for name in services
            ],
            "template": data.get("template") or Postmortem.Template.FULL,
            "severity": data.get("severity") or Incident.Severity.SEV2,
            "status": data.get("status") or Incident.Status.INVESTIGATING,
        }
        external_id = data.get("external_id") or ""
        if not isinstance(external_id, str) or len(external_id) > 100 or "\x00" in external_id:
            raise ValidationError({"external_id": ["At most 100 characters."]})
        form = NewIncidentForm(form_data, user=request.user)
        if not form.is_valid():
            raise form_errors(form)
        with transaction.atomic():
            incident = form.save(commit=False)
            incident.created_by = request.user
            incident.external_id = external_id
            incident.save()
            form.save_m2m()
            start_postmortem(incident, form.cleaned_data["template"], by=request.user)
        fresh = get_incident_for(request.user, incident.reference, self.get_queryset())
        return Response(s.IncidentDetailSerializer(fresh).data, status=status.HTTP_201_CREATED)


def _pk_by(queryset: QuerySet[Any], field: str, name: Any) -> Any:
    """The primary key of what `name` names, or the name as given for the form to refuse."""
    if not isinstance(name, str) or not name or "\x00" in name:
        return form_value(name)
    found = queryset.filter(**{field: name}).values_list("pk", flat=True).first()
    return found if found is not None else name


class IncidentDetail(APIView):
    @extend_schema(parameters=[REFERENCE], responses=s.IncidentDetailSerializer)
    def get(self, request: ApiRequest, reference: str) -> Response:
        queryset = Incident.objects.select_related(
            "team", "commander", "postmortem"
        ).prefetch_related("service_impacts__service", "timeline_events")
        incident = get_incident_for(request.user, reference, queryset)
        return Response(s.IncidentDetailSerializer(incident).data)


# Timeline events: a list section of the document, with a bulk create for bots.


class TimelineList(generics.GenericAPIView):  # type: ignore[type-arg]
    queryset = TimelineEvent.objects.none()
    serializer_class = s.TimelineEventSerializer

    @extend_schema(parameters=[REFERENCE], responses=s.TimelineEventSerializer(many=True))
    def get(self, request: ApiRequest, reference: str) -> Response:
        incident = get_incident_for(request.user, reference)
        page = self.paginate_queryset(incident.timeline_events.all())
        return self.get_paginated_response(s.TimelineEventSerializer(page, many=True).data)

    @extend_schema(
        parameters=[REFERENCE],
        request=s.TimelineEventWriteSerializer,
        responses={201: s.TimelineEventSerializer, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: ApiRequest, reference: str) -> Response:
        incident = get_incident_for(request.user, reference, edit=True)
        section = ROW_SECTIONS["timeline"]
        values, _version = validated_row_values(section, incident, request.user, request.data)
        event = add_row(incident, "timeline", values, request.user)
        return Response(s.TimelineEventSerializer(event).data, status=status.HTTP_201_CREATED)


class TimelineBulk(APIView):
    @extend_schema(
        parameters=[REFERENCE],
        request=s.TimelineBulkSerializer,
        responses={201: s.BulkResultSerializer, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: ApiRequest, reference: str) -> Response:
        """Add up to 500 events at once, all or none, as one revision of the timeline."""
        incident = get_incident_for(request.user, reference, edit=True)
        events = request.data.get("events") if isinstance(request.data, dict) else None
        if not isinstance(events, list) or not events:
            raise ValidationError({"events": ["A non-empty list of events."]})
        if len(events) > MAX_BULK_EVENTS:
            raise ValidationError({"events": [f"At most {MAX_BULK_EVENTS} events at a time."]})
        section = ROW_SECTIONS["timeline"]
        rows, errors = [], []
        for payload in events:
            try:
                values, _version = validated_row_values(section, incident, request.user, payload)
            except ValidationError as error:
                errors.append(error.detail)
                continue
            errors.append({})
            rows.append(values)
        if any(errors):
            raise ValidationError({"events": errors})
        created = add_rows(incident, "timeline", rows, request.user)
        data = {"created": s.TimelineEventSerializer(created, many=True).data}
        return Response(data, status=status.HTTP_201_CREATED)


class RowDetailMixin:
    """GET, PATCH (with the version read) and DELETE (?version=) of one row of a section."""

    def one_row(self, request: ApiRequest, incident: Incident, key: str, pk: int) -> Any:
        section = row_section(incident, key)
        row = section.rows(incident).filter(pk=pk).first()
        if row is None:
            raise Http404("No such row.")
        return section, row

    def change(
        self, request: ApiRequest, reference: str, key: str, pk: int, payload: Any = None
    ) -> Response | Any:
        incident = get_document_for(request.user, reference, edit=True)
        section, row = self.one_row(request, incident, key, pk)
        payload = request.data if payload is None else payload
        values, version = validated_row_values(section, incident, request.user, payload, row)
        try:
            return save_row(incident, key, pk, values, request.user, version)
        except StaleEdit as stale:
            return conflict(stale)

    def remove(self, request: ApiRequest, reference: str, key: str, pk: int) -> Response:
        incident = get_document_for(request.user, reference, edit=True)
        self.one_row(request, incident, key, pk)
        try:
            delete_row(incident, key, pk, request.user, version_from_query(request))
        except StaleEdit as stale:
            return conflict(stale)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TimelineEventDetail(RowDetailMixin, APIView):
    @extend_schema(parameters=[REFERENCE], responses=s.TimelineEventSerializer)
    def get(self, request: ApiRequest, reference: str, pk: int) -> Response:
        incident = get_incident_for(request.user, reference)
        event = get_object_or_404(TimelineEvent, incident=incident, pk=pk)
        return Response(s.TimelineEventSerializer(event).data)

    @extend_schema(
        parameters=[REFERENCE],
        request=s.TimelineEventWriteSerializer,
        responses={200: s.TimelineEventSerializer, 409: CONFLICT, 400: OpenApiTypes.OBJECT},
    )
    def patch(self, request: ApiRequest, reference: str, pk: int) -> Response:
        result = self.change(request, reference, "timeline", pk)
        if isinstance(result, Response):
            return result
        return Response(s.TimelineEventSerializer(result).data)

    @extend_schema(parameters=[REFERENCE, VERSION_QUERY], responses={204: None, 409: CONFLICT})
    def delete(self, request: ApiRequest, reference: str, pk: int) -> Response:
        return self.remove(request, reference, "timeline", pk)


# Sections of the document.


def section_keys(incident: Incident) -> list[str]:
    has_postmortem = Postmortem.objects.filter(incident=incident).exists()
    return [
        key
        for key, section in EDITABLE_SECTIONS.items()
        if section.owner == "incident" or has_postmortem
    ]


class SectionList(APIView):
    @extend_schema(parameters=[REFERENCE], responses=s.SectionSerializer(many=True))
    def get(self, request: ApiRequest, reference: str) -> Response:
        """Every section with its version and content."""
        incident = get_document_for(request.user, reference)
        current = Revision.objects.current_versions(incident)
        return Response(
            [section_to_api(incident, key, current.get(key, 0)) for key in section_keys(incident)]
        )


class SectionDetail(APIView):
    def section(self, incident: Incident, key: str) -> Any:
        if key not in section_keys(incident):
            raise Http404("No such section.")
        return EDITABLE_SECTIONS[key]

    @extend_schema(parameters=[REFERENCE], responses=s.SectionSerializer)
    def get(self, request: ApiRequest, reference: str, key: str) -> Response:
        incident = get_document_for(request.user, reference)
        self.section(incident, key)
        return Response(section_to_api(incident, key))

    @extend_schema(
        parameters=[REFERENCE],
        request=s.SectionWriteSerializer,
        responses={200: s.SectionSerializer, 409: CONFLICT, 400: OpenApiTypes.OBJECT},
    )
    def patch(self, request: ApiRequest, reference: str, key: str) -> Response:
        """Change some fields of a field section, based on the version you read."""
        incident = get_document_for(request.user, reference, edit=True)
        if self.section(incident, key).kind != "fields":
            raise ValidationError({"detail": "A list section: change its rows instead."})
        section = FIELD_SECTIONS[key]
        values, version = validated_section_values(section, incident, request.user, request.data)
        try:
            save_section(incident, key, values, request.user, version)
        except StaleEdit as stale:
            return conflict(stale)
        fresh = get_document_for(request.user, reference)
        return Response(section_to_api(fresh, key))


class SectionRows(APIView):
    @extend_schema(
        parameters=[REFERENCE],
        request=s.RowWriteSerializer,
        responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: ApiRequest, reference: str, key: str) -> Response:
        """Add a row to a list section (five whys, contributing factors, follow-ups...)."""
        incident = get_document_for(request.user, reference, edit=True)
        section = row_section(incident, key)
        values, _version = validated_row_values(section, incident, request.user, request.data)
        row = add_row(incident, key, values, request.user)
        return Response(row_to_api(section, row), status=status.HTTP_201_CREATED)


class SectionRowDetail(RowDetailMixin, APIView):
    @extend_schema(parameters=[REFERENCE], responses=OpenApiTypes.OBJECT)
    def get(self, request: ApiRequest, reference: str, key: str, pk: int) -> Response:
        incident = get_document_for(request.user, reference)
        section, row = self.one_row(request, incident, key, pk)
        return Response(row_to_api(section, row))

    @extend_schema(
        parameters=[REFERENCE],
        request=s.RowWriteSerializer,
        responses={200: OpenApiTypes.OBJECT, 409: CONFLICT, 400: OpenApiTypes.OBJECT},
    )
    def patch(self, request: ApiRequest, reference: str, key: str, pk: int) -> Response:
        result = self.change(request, reference, key, pk)
        if isinstance(result, Response):
            return result
        return Response(row_to_api(ROW_SECTIONS[key], result))

    @extend_schema(parameters=[REFERENCE, VERSION_QUERY], responses={204: None, 409: CONFLICT})
    def delete(self, request: ApiRequest, reference: str, key: str, pk: int) -> Response:
        return self.remove(request, reference, key, pk)


# The postmortem and its comments.


class PostmortemDetail(APIView):
    @extend_schema(parameters=[REFERENCE], responses=s.PostmortemSerializer)
    def get(self, request: ApiRequest, reference: str) -> Response:
        incident = get_document_for(request.user, reference)
        return Response(s.PostmortemSerializer(require_postmortem(incident)).data)


class CommentList(generics.GenericAPIView):  # type: ignore[type-arg]
    queryset = Comment.objects.none()
    serializer_class = s.CommentSerializer

    @extend_schema(
        parameters=[
            REFERENCE,
            OpenApiParameter("section", str, enum=list(SECTIONS), description="One section."),
        ],
        responses=s.CommentSerializer(many=True),
    )
    def get(self, request: ApiRequest, reference: str) -> Response:
        postmortem = require_postmortem(get_incident_for(request.user, reference))
        comments = postmortem.comments.select_related("author", "resolved_by").order_by(
            "created_at", "pk"
        )
        section = request.query_params.get("section")
        if section:
            comments = comments.filter(section=section)
        page = self.paginate_queryset(comments)
        return self.get_paginated_response(s.CommentSerializer(page, many=True).data)

    @extend_schema(
        parameters=[REFERENCE],
        request=s.CommentCreateSerializer,
        responses={201: s.CommentSerializer, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: ApiRequest, reference: str) -> Response:
        """Comment on a section (reviewers from other teams may too); @mentions are emailed."""
        postmortem = require_postmortem(get_incident_for(request.user, reference))
        payload = s.CommentCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        parent = None
        if data.get("parent"):
            parent = postmortem.comments.filter(pk=data["parent"]).first()
            if parent is None:
                raise ValidationError({"parent": ["No such comment on this postmortem."]})
        comment = add_comment(postmortem, data["section"], request.user, data["body"], parent)
        return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


class CommentResolve(APIView):
    @extend_schema(
        parameters=[REFERENCE], request=s.ResolveSerializer, responses=s.CommentSerializer
    )
    def post(self, request: ApiRequest, reference: str, pk: int) -> Response:
        postmortem = require_postmortem(get_incident_for(request.user, reference))
        comment = get_object_or_404(Comment, postmortem=postmortem, pk=pk)
        payload = s.ResolveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        thread = set_thread_resolved(comment, request.user, payload.validated_data["resolved"])
        return Response(s.CommentSerializer(thread).data)


# Action items: the document's list section, and a list across postmortems.


def action_items_for(user: Any) -> QuerySet[ActionItem]:
    items: QuerySet[ActionItem] = ActionItem.objects.visible_to(user)
    return items.select_related("owner", "postmortem__incident", "tracker_link")


class ActionItemList(generics.ListAPIView):  # type: ignore[type-arg]
    queryset = ActionItem.objects.none()
    serializer_class = s.ActionItemSerializer
    filterset_class = ApiActionItemFilter

    def get_queryset(self) -> QuerySet[ActionItem]:
        if getattr(self, "swagger_fake_view", False):
            return ActionItem.objects.none()
        return action_items_for(cast(ApiRequest, self.request).user).order_by(
            F("due_date").asc(nulls_last=True), "priority", "pk"
        )

    @extend_schema(
        request=s.ActionItemWriteSerializer,
        responses={201: s.ActionItemSerializer, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: ApiRequest) -> Response:
        """Add an action item to an incident's postmortem (`incident`: its reference)."""
        data = request.data
        if not isinstance(data, dict) or not isinstance(data.get("incident"), str):
            raise ValidationError({"incident": ["The reference of the incident, INC-…"]})
        incident = get_document_for(request.user, data["incident"], edit=True)
        section = row_section(incident, "action_items")
        payload = {k: v for k, v in data.items() if k != "incident"}
        values, _version = validated_row_values(section, incident, request.user, payload)
        item = add_row(incident, "action_items", values, request.user)
        return Response(
            s.ActionItemSerializer(action_items_for(request.user).get(pk=item.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class ActionItemDetail(RowDetailMixin, APIView):
    def item(self, request: ApiRequest, pk: int) -> ActionItem:
        return get_object_or_404(action_items_for(request.user), pk=pk)

    @extend_schema(responses=s.ActionItemSerializer)
    def get(self, request: ApiRequest, pk: int) -> Response:
        return Response(s.ActionItemSerializer(self.item(request, pk)).data)

    @extend_schema(
        request=s.ActionItemWriteSerializer,
        responses={200: s.ActionItemSerializer, 409: CONFLICT, 400: OpenApiTypes.OBJECT},
    )
    def patch(self, request: ApiRequest, pk: int) -> Response:
        item = self.item(request, pk)
        payload = request.data
        if isinstance(payload, dict):
            payload = {k: v for k, v in payload.items() if k != "incident"}
        reference = item.postmortem.incident.reference
        result = self.change(request, reference, "action_items", pk, payload)
        if isinstance(result, Response):
            return result
        return Response(s.ActionItemSerializer(self.item(request, pk)).data)

    @extend_schema(parameters=[VERSION_QUERY], responses={204: None, 409: CONFLICT})
    def delete(self, request: ApiRequest, pk: int) -> Response:
        item = self.item(request, pk)
        return self.remove(request, item.postmortem.incident.reference, "action_items", pk)


class ActionItemStatus(APIView):
    @extend_schema(request=s.StatusSerializer, responses=s.ActionItemSerializer)
    def post(self, request: ApiRequest, pk: int) -> Response:
        """The one-click status change: applies whatever the item's version (like the page)."""
        item = get_object_or_404(action_items_for(request.user), pk=pk)
        incident = get_document_for(request.user, item.postmortem.incident.reference, edit=True)
        payload = s.StatusSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            save_row(
                incident,
                "action_items",
                pk,
                {"status": payload.validated_data["status"]},
                request.user,
                base_version=None,
            )
        except StaleEdit as stale:
            return conflict(stale)
        return Response(s.ActionItemSerializer(action_items_for(request.user).get(pk=pk)).data)
