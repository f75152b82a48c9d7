"""Keep the search index in step with the document: every save or delete of something search
reads notes the sections it touched (indexing.schedule rewrites them after commit).

Connected from InsightsConfig.ready(): the apps below never know search exists. Bulk writes
send no model signals; the document's services record a Revision for every change, bulk or
not (pasted timelines), so the Revision receiver covers those; anything written around the
models entirely is caught by the periodic sweep (tasks.py).
"""

from typing import Any

from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from actionitems.models import ActionItem
from incidents.models import Incident, IncidentService, IncidentTag, TimelineEvent
from postmortems.layouts import SECTIONS
from postmortems.models import (
    AdditionalSection,
    Comment,
    ContributingFactor,
    FiveWhy,
    FollowUp,
    Postmortem,
    Revision,
)

from . import indexing
from .indexing import COMMENTS, CONTENT, INCIDENT_SECTION, POSTMORTEM_TARGETS

# Rows of the document, and the section they are indexed under.
INCIDENT_ROWS = {
    TimelineEvent: "timeline",
    IncidentTag: INCIDENT_SECTION,
    IncidentService: INCIDENT_SECTION,
}
POSTMORTEM_ROWS = {
    FiveWhy: "five_whys",
    ContributingFactor: "contributing_factors",
    FollowUp: "follow_ups",
    AdditionalSection: "additional_sections",
    ActionItem: "action_items",
}
# The sections holding each postmortem field, to index only what a save changed.
SECTION_OF_FIELD = {name: key for key, section in SECTIONS.items() for name in section.fields}
# Revisions name the section edited; tags and services are indexed with the incident.
SECTION_OF_REVISION = {"tags": INCIDENT_SECTION, "services": INCIDENT_SECTION}


def incident_of(row: Any) -> int | None:
    """The incident of a row of the postmortem, without a query when the row was made
    through its postmortem (as the document's services do)."""
    if type(row).postmortem.is_cached(row):
        return int(row.postmortem.incident_id)
    postmortems = Postmortem.objects.filter(pk=row.postmortem_id)
    incident_id: int | None = postmortems.values_list("incident_id", flat=True).first()
    return incident_id


def incident_changed(sender: type, instance: Incident, **kwargs: Any) -> None:
    indexing.schedule(instance.pk, [(INCIDENT_SECTION, CONTENT)])


def incident_row_changed(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    indexing.schedule(instance.incident_id, [(INCIDENT_ROWS[sender], CONTENT)])


def postmortem_row_changed(sender: type[Model], instance: Any, **kwargs: Any) -> None:
    indexing.schedule(incident_of(instance), [(POSTMORTEM_ROWS[sender], CONTENT)])


def postmortem_saved(
    sender: type, instance: Postmortem, update_fields: frozenset[str] | None = None, **kwargs: Any
) -> None:
    if update_fields is None:
        targets = [t for t in POSTMORTEM_TARGETS if t[1] == CONTENT]
    else:
        keys = {SECTION_OF_FIELD[name] for name in update_fields if name in SECTION_OF_FIELD}
        targets = [(key, CONTENT) for key in keys]
    if targets:
        indexing.schedule(instance.incident_id, targets)


def postmortem_deleted(sender: type, instance: Postmortem, **kwargs: Any) -> None:
    indexing.schedule(instance.incident_id, POSTMORTEM_TARGETS)


def comment_changed(sender: type, instance: Comment, **kwargs: Any) -> None:
    indexing.schedule(incident_of(instance), [(instance.section, COMMENTS)])


def revision_recorded(sender: type, instance: Revision, created: bool, **kwargs: Any) -> None:
    """A change made through the document's services, bulk ones included."""
    key = SECTION_OF_REVISION.get(instance.section, instance.section)
    if created and key in indexing.SOURCES:
        indexing.schedule(instance.incident_id, [(key, CONTENT)])


def connect() -> None:
    uid = "insights.search"
    post_save.connect(incident_changed, sender=Incident, dispatch_uid=f"{uid}.incident")
    for model in INCIDENT_ROWS:
        for signal in (post_save, post_delete):
            signal.connect(incident_row_changed, sender=model, dispatch_uid=f"{uid}.{model}")
    for model in POSTMORTEM_ROWS:
        for signal in (post_save, post_delete):
            signal.connect(postmortem_row_changed, sender=model, dispatch_uid=f"{uid}.{model}")
    post_save.connect(postmortem_saved, sender=Postmortem, dispatch_uid=f"{uid}.postmortem")
    post_delete.connect(postmortem_deleted, sender=Postmortem, dispatch_uid=f"{uid}.pm_delete")
    for signal in (post_save, post_delete):
        signal.connect(comment_changed, sender=Comment, dispatch_uid=f"{uid}.comment")
    post_save.connect(revision_recorded, sender=Revision, dispatch_uid=f"{uid}.revision")
