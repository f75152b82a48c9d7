"""Template filters for incident links: {% load links %}."""

from django import template

from incidents.models import Incident, IncidentLink

register = template.Library()


@register.filter
def other_end(link: IncidentLink, incident: Incident) -> Incident:
    """The incident a link leads to, seen from `incident`'s document."""
    return link.other_end(incident)
