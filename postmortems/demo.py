"""Demo content: real postmortems, written in Markdown, loaded through the importer.

The files in postmortems/fixtures/demo/ are the worked examples of the three seed templates,
filled in. Loading them proves the importer; their dates are moved so that the newest
incident happened a few days ago, whenever the demo is loaded.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.models import Incident, IncidentLink, Membership, Service, Team

from .importing.service import plan_import, write_import
from .models import Postmortem

DEMO_TEAM = "Payments Platform"
DEMO_FILES = Path(__file__).resolve().parent / "fixtures" / "demo"
# The day the demo files were written; loading moves every date by today - this day.
WRITTEN_ON = date(2026, 11, 29)
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")

# username: (first name, last name, role in the demo team)
DEMO_PEOPLE = {
    "jane": ("Jane", "Park", Membership.Role.MEMBER),
    "mike": ("Mike", "Alvarez", Membership.Role.MEMBER),
    "tom": ("Tom", "Becker", Membership.Role.MEMBER),
    "lisa": ("Lisa", "Chen", Membership.Role.MEMBER),
    "john": ("John", "Doe", Membership.Role.MEMBER),
    "alice": ("Alice", "Johnson", Membership.Role.MEMBER),
    "jsmith": ("Jane", "Smith", Membership.Role.MEMBER),
    "sarah": ("Sarah", "Okafor", Membership.Role.MANAGER),
}
SERVICES = (
    "Frontend",
    "Backend API",
    "Database",
    "Authentication",
    "Payment processing",
    "Checkout Service",
    "Product Catalog",
)


def ensure_people(password: str) -> tuple[Team, dict[str, User]]:
    """The demo team, its services and people; every demo user gets `password`. Sarah, the
    team's manager, is staff too, so that /admin/ can be tried."""
    user_model = get_user_model()
    team, _ = Team.objects.get_or_create(name=DEMO_TEAM, defaults={"slug": "payments"})
    people: dict[str, User] = {}
    for username, (first, last, role) in DEMO_PEOPLE.items():
        user, _ = user_model.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.com"},
        )
        user.set_password(password)
        user.is_staff = username == "sarah"
        user.save(update_fields=["password", "is_staff"])
        Membership.objects.update_or_create(team=team, user=user, defaults={"role": role})
        people[username] = user
    for name in SERVICES:
        Service.objects.get_or_create(team=team, name=name)
    return team, people


def moved(text: str, days: int) -> str:
    """Every ISO date of a document moved by `days`."""

    def move(match: re.Match[str]) -> str:
        day = date(int(match[1]), int(match[2]), int(match[3])) + timedelta(days=days)
        return day.isoformat()

    return ISO_DATE.sub(move, text)


def demo_documents() -> list[Path]:
    return sorted(DEMO_FILES.glob("*.md"))


@transaction.atomic
def seed_demo(
    password: str, today: date | None = None
) -> tuple[Team, dict[str, User], list[Postmortem]]:
    """Create the demo team, people and incidents; safe to run twice."""
    today = today or timezone.localdate()
    team, people = ensure_people(password)
    if Incident.objects.filter(team=team).exists():
        return team, people, []
    shift = (today - WRITTEN_ON).days
    postmortems = []
    # In the order they happened, so that references count up with time.
    for path in demo_documents():
        plan = plan_import(moved(path.read_text(encoding="utf-8"), shift), team=team)
        incident = write_import(plan, by=people["jane"])
        postmortems.append(incident.postmortem)
        if path.name.startswith("1-"):
            earlier = _earlier_incident(team, people, date(2026, 9, 22) + timedelta(days=shift))
    checkout, pool, flash_sale = (p.incident for p in postmortems)
    for incident, related, note in (
        (pool, earlier, "Same pool, same leak, six weeks earlier"),
        (flash_sale, pool, "The same connection leak, under sale traffic"),
        (flash_sale, earlier, ""),
        (pool, checkout, "A leak in another release"),
    ):
        IncidentLink.objects.create(incident=incident, related=related, note=note)
    _other_team(password, today)
    return team, people, postmortems


def _earlier_incident(team: Team, people: dict[str, User], day: date) -> Incident:
    """A past incident without a postmortem, for the incident list and the links."""
    start = datetime.combine(day, time(9, 40), tzinfo=UTC)
    return Incident.objects.create(
        title="Database connection pool exhausted",
        severity=Incident.Severity.SEV2,
        status=Incident.Status.RESOLVED,
        team=team,
        started_at=start,
        resolved_at=start + timedelta(minutes=45),
        created_by=people["tom"],
    )


def _other_team(password: str, today: date) -> None:
    """Another team, so that what a team may not see can be tried."""
    team, _ = Team.objects.get_or_create(name="Search", defaults={"slug": "search"})
    user_model = get_user_model()
    ravi, _ = user_model.objects.get_or_create(
        username="ravi",
        defaults={"first_name": "Ravi", "last_name": "Rao", "email": "ravi@example.com"},
    )
    ravi.set_password(password)
    ravi.save(update_fields=["password"])
    Membership.objects.get_or_create(
        team=team, user=ravi, defaults={"role": Membership.Role.MANAGER}
    )
    Incident.objects.create(
        title="Search results stale after index rebuild",
        severity=Incident.Severity.SEV3,
        status=Incident.Status.MONITORING,
        team=team,
        commander=ravi,
        started_at=datetime.combine(today - timedelta(days=1), time(8, 10), tzinfo=UTC),
        created_by=ravi,
    )
