from django.http import Http404

from incidents.models import Incident
from incidents.services import get_incident_for

from .models import Postmortem

# Everything the document page and the export read, fetched in a fixed number of queries.
DOCUMENT_PREFETCHES = (
    "timeline_events",
    "service_impacts__service",
    "postmortem__authors",
    "postmortem__five_whys",
    "postmortem__contributing_factors",
    "postmortem__action_items__owner",
    "postmortem__follow_ups",
    "postmortem__related_incidents",
)


def incidents_with_documents():
    return Incident.objects.select_related("team", "commander", "postmortem").prefetch_related(
        *DOCUMENT_PREFETCHES
    )


def get_postmortem_for(user, reference):
    """The postmortem of a visible incident, with its whole document prefetched; 404 if none."""
    incident = get_incident_for(user, reference, incidents_with_documents())
    try:
        return incident.postmortem
    except Postmortem.DoesNotExist:
        raise Http404("This incident has no postmortem yet.") from None


def start_postmortem(incident, template, by):
    """Open the postmortem of an incident, with whoever starts it as its first author."""
    postmortem, _created = Postmortem.objects.get_or_create(
        incident=incident, defaults={"template": template}
    )
    postmortem.authors.add(by)
    return postmortem
