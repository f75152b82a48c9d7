"""Pieces the integrations add to pages of other apps, through one {% include %} each."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings

from ..forms import CreateTicketForm
from ..models import TrackerLink

register = template.Library()


@register.simple_tag
def sso_login() -> dict[str, Any]:
    return {
        "enabled": getattr(settings, "OIDC_ENABLED", False),
        "provider": getattr(settings, "OIDC_PROVIDER_NAME", "single sign-on"),
    }


@register.simple_tag(takes_context=True)
def ticket_panel(context: template.Context, item: Any) -> dict[str, Any]:
    """The item's ticket if it has one, else the form to create one (for an open item, to its
    team's members, when the team has a tracker)."""
    link = TrackerLink.objects.filter(action_item=item).exclude(key="").first()
    user = context["request"].user
    form = None
    if link is None and not item.is_closed and item.postmortem.incident.can_edit(user):
        form = CreateTicketForm(item=item)
        if not form.fields["connection"].queryset.exists():  # type: ignore[attr-defined]
            form = None
    return {"link": link, "form": form}
