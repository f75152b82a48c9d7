"""The insights dashboard: how incidents trend, and whether what was learned got acted on.

The filters choose incidents (the date range is when they started) and every chart describes
those incidents and their follow-up: the action items of those incidents bucketed by the month
they were opened, closed or due; their postmortems by the month the incident was resolved.
Everything is aggregated in SQL, one query per chart, whatever the number of incidents.

Each chart is a Table: the numbers as strings, shown as an HTML table under the chart and
written as its CSV, so the two always agree; the SVG is drawn from the same numbers.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import django_filters
from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    FloatField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Trunc, TruncMonth
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.http import QueryDict
from django.utils import timezone

from actionitems.models import ActionItem
from incidents.filters import IncidentFilter
from incidents.models import Incident, IncidentService, IncidentTag, milestone_expression
from postmortems.models import ReviewEvent

from . import charts
from .charts import Series
from .sql import Minutes, Percentile, percentile_cont

REPEAT_WINDOW = timedelta(days=90)
TOP = 10
SEVERITIES = [s.value for s in Incident.Severity]


class DashboardFilter(IncidentFilter):
    """The shared incident filters, and how to group time."""

    by = django_filters.ChoiceFilter(
        label="Per",
        choices=[("month", "Month"), ("week", "Week")],
        empty_label=None,
        method="group_by",
    )

    class Meta(IncidentFilter.Meta):
        fields = [*IncidentFilter.Meta.fields, "by"]

    def group_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset  # read by the dashboard, not a filter

    @staticmethod
    def with_defaults(data: QueryDict, today: date | None = None) -> QueryDict:
        """Without dates, the last twelve months (this one included), month by month."""
        data = data.copy()
        today = today or timezone.localdate()
        if not data.get("started_from") and not data.get("started_to"):
            data["started_from"] = months_back(today, 11).isoformat()
        if not data.get("by"):
            data["by"] = "month"
        return data


def months_back(day: date, months: int) -> date:
    month = day.year * 12 + day.month - 1 - months
    return date(month // 12, month % 12 + 1, 1)


# Periods


def period_start(day: date, by: str) -> date:
    return day.replace(day=1) if by == "month" else day - timedelta(days=day.weekday())


def next_period(start: date, by: str) -> date:
    return months_back(start, -1) if by == "month" else start + timedelta(days=7)


def period_label(start: date, by: str) -> str:
    return f"{start:%Y-%m}" if by == "month" else f"{start:%Y-%m-%d}"


def as_date(value: date | datetime | None) -> date | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


@dataclass
class Periods:
    """The time axis: every period from the first to the last, empty ones included."""

    by: str
    first: date
    last: date

    def span(self, extra: Iterable[date | None] = ()) -> list[date]:
        """The periods of the range, stretched to data found after it (items closed later),
        never past the current period."""
        last = max([self.last, *(d for d in extra if d is not None)])
        last = min(last, period_start(timezone.localdate(), self.by))
        result, current = [], self.first
        while current <= last:
            result.append(current)
            current = next_period(current, self.by)
        return result

    def label(self, start: date) -> str:
        return period_label(start, self.by)

    def heading(self) -> str:
        return "Month" if self.by == "month" else "Week starting"


# Tables


def cell(value: Any) -> str:
    """A number as the table and the CSV both write it."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def share(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


@dataclass
class Table:
    key: str
    title: str
    description: str
    header: list[str]
    rows: list[list[Any]]
    svg: charts.Svg | None = None
    summary: str = ""
    links: list[str] = field(default_factory=list)  # a URL per row, for detail tables
    half: bool = False  # drawn half width, beside another

    @property
    def cells(self) -> list[list[str]]:
        return [[cell(v) for v in row] for row in self.rows]

    @property
    def filename(self) -> str:
        return f"{self.key}.csv"

    @property
    def linked_cells(self) -> list[tuple[str, list[str]]]:
        links = self.links or [""] * len(self.rows)
        return list(zip(links, self.cells, strict=True))


@dataclass
class Dashboard:
    periods: Periods
    groups: list[tuple[str, list[Table]]]
    kpis: list[tuple[str, str, str]]  # (label, value, what it means)

    @property
    def charts(self) -> dict[str, Table]:
        return {table.key: table for _title, tables in self.groups for table in tables}


class Context:
    """What every chart reads: the chosen incidents, the ones visible at all, the axis."""

    def __init__(self, chosen: IncidentFilter, today: date, now: datetime) -> None:
        data = chosen.form.cleaned_data if chosen.is_valid() else {}
        self.incidents = chosen.qs.order_by()
        self.ids = self.incidents.values("pk")
        self.visible = chosen.queryset
        self.today = today
        self.now = now
        by = data.get("by") or "month"
        last = data.get("started_to") or today
        first = data.get("started_from") or last - timedelta(days=364)
        self.periods = Periods(by, period_start(first, by), period_start(last, by))
        self.months = Periods("month", period_start(first, "month"), period_start(last, "month"))

    def trunc(self, field_name: str, by: str | None = None) -> Trunc:
        return Trunc(field_name, by or self.periods.by, output_field=DateTimeField(), tzinfo=UTC)


# The charts


def incidents_by_severity(ctx: Context) -> Table:
    rows = (
        ctx.incidents.annotate(period=ctx.trunc("started_at"))
        .values("period", "severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(SEVERITIES, 0))
    for row in rows:
        counts[as_date(row["period"])][row["severity"]] += row["n"]
    periods = ctx.periods.span()
    table_rows = [
        [ctx.periods.label(p), *(counts[p][s] for s in SEVERITIES), sum(counts[p].values())]
        for p in periods
    ]
    series = [
        Series(s, [counts[p][s] for p in periods], style=n + 1) for n, s in enumerate(SEVERITIES)
    ]
    total = sum(row[-1] for row in table_rows)
    return Table(
        "incidents",
        f"Incidents per {ctx.periods.by} by severity",
        "Incidents by the day they started (UTC).",
        [ctx.periods.heading(), *SEVERITIES, "Total"],
        table_rows,
        charts.bars([ctx.periods.label(p) for p in periods], series, stacked=True),
        f"{total} incidents over {len(periods)} {ctx.periods.by}s, stacked by severity.",
    )


RESPONSE_METRICS = [
    ("ttd", "Time to detect", ("detected_time", "started_at")),
    ("tta", "Time to acknowledge", ("acknowledged_time", "detected_time")),
    ("ttr", "Time to resolve", ("resolved_time", "started_at")),
]


def response_times(ctx: Context) -> Table:
    """Median and 90th percentile, in minutes, measured as each incident's page measures
    them: a time left empty falls back to the first timeline event of its kind."""
    incidents = ctx.incidents.with_milestones().annotate(period=ctx.trunc("started_at"))
    minutes = {key: Minutes(end, start) for key, _label, (end, start) in RESPONSE_METRICS}
    stats: dict[date, dict[str, Any]] = {}
    if connection.vendor == "postgresql":
        aggregates: dict[str, Any] = {"n": Count("pk")}
        for key, expression in minutes.items():
            aggregates[f"{key}_p50"] = Percentile(expression, 0.5)
            aggregates[f"{key}_p90"] = Percentile(expression, 0.9)
        for row in incidents.values("period").annotate(**aggregates).order_by():
            stats[as_date(row.pop("period"))] = row
    else:  # SQLite has no percentile_cont: the same numbers, computed from one query
        values: dict[date, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for row in incidents.annotate(**minutes).values("period", *minutes):
            bucket = values[as_date(row["period"])]
            bucket["n"].append(1)
            for key in minutes:
                if row[key] is not None:
                    bucket[key].append(row[key])
        for period, bucket in values.items():
            stats[period] = {"n": len(bucket["n"])}
            for key in minutes:
                stats[period][f"{key}_p50"] = percentile_cont(bucket[key], 0.5)
                stats[period][f"{key}_p90"] = percentile_cont(bucket[key], 0.9)
    periods = ctx.periods.span()
    header = [ctx.periods.heading(), "Incidents"]
    for _key, label, _fields in RESPONSE_METRICS:
        header += [f"{label}, median (min)", f"{label}, p90 (min)"]
    rows = []
    for p in periods:
        row_stats = stats.get(p, {})
        row: list[Any] = [ctx.periods.label(p), row_stats.get("n", 0)]
        for key, _label, _fields in RESPONSE_METRICS:
            row += [row_stats.get(f"{key}_p50"), row_stats.get(f"{key}_p90")]
        rows.append(row)
    series = []
    for n, (key, label, _fields) in enumerate(RESPONSE_METRICS):
        values_p50 = [stats.get(p, {}).get(f"{key}_p50") for p in periods]
        values_p90 = [stats.get(p, {}).get(f"{key}_p90") for p in periods]
        series.append(Series(f"{label} (median)", values_p50, style=n + 1))
        series.append(Series(f"{label} (p90)", values_p90, style=n + 1, dashed=True))
    return Table(
        "response",
        "Time to detect, acknowledge and resolve",
        "Median and 90th percentile in minutes, by the period the incidents started. Detect: "
        "start to first alert; acknowledge: alert to acknowledged; resolve: start to resolved. "
        "A time not recorded is taken from the first timeline event of its kind.",
        header,
        rows,
        charts.lines([ctx.periods.label(p) for p in periods], series, unit=" min"),
        "Medians as solid lines, 90th percentiles dashed, in minutes.",
    )


def _impact_minutes() -> Minutes:
    return Minutes(milestone_expression("resolved_at", via="incident__"), "incident__started_at")


def _top(
    key: str, noun: str, rows: list[dict[str, Any]], label: Callable[[dict[str, Any]], str]
) -> tuple[Table, Table]:
    by_count = sorted(rows, key=lambda r: (-r["incidents"], -(r["minutes"] or 0), label(r)))[:TOP]
    by_minutes = sorted(rows, key=lambda r: (-(r["minutes"] or 0), -r["incidents"], label(r)))[:TOP]
    header = [noun.capitalize(), "Incidents", "Minutes of impact"]
    tables = []
    for suffix, ordered, measure, title in (
        ("count", by_count, "incidents", f"Top {noun}s by incidents"),
        ("minutes", by_minutes, "minutes", f"Top {noun}s by minutes of impact"),
    ):
        values = [float(r[measure] or 0) for r in ordered]
        tables.append(
            Table(
                f"{key}_{suffix}",
                title,
                "Minutes of impact: start to resolution of each incident, summed; ongoing "
                "incidents count as incidents but add no minutes yet.",
                header,
                [[label(r), r["incidents"], round(float(r["minutes"] or 0), 1)] for r in ordered],
                charts.hbars(
                    [label(r) for r in ordered],
                    values,
                    style=1 if suffix == "count" else 4,
                    unit="" if suffix == "count" else " min",
                ),
                f"{len(ordered)} {noun}s, longest bar first.",
                half=True,
            )
        )
    return tables[0], tables[1]


def top_services(ctx: Context) -> tuple[Table, Table]:
    rows = list(
        IncidentService.objects.filter(incident__in=ctx.ids)
        .exclude(impact=IncidentService.Impact.UNAFFECTED)
        .values("service", "service__name", "service__team__name")
        .annotate(incidents=Count("incident", distinct=True), minutes=Sum(_impact_minutes()))
        .order_by()
    )
    teams = {r["service__team__name"] for r in rows}

    def label(row: dict[str, Any]) -> str:
        name = row["service__name"]
        return f"{name} ({row['service__team__name']})" if len(teams) > 1 else name

    return _top("services", "service", rows, label)


def top_tags(ctx: Context) -> tuple[Table, Table]:
    rows = list(
        IncidentTag.objects.filter(incident__in=ctx.ids)
        .values("name")
        .annotate(incidents=Count("incident", distinct=True), minutes=Sum(_impact_minutes()))
        .order_by()
    )
    return _top("tags", "tag", rows, lambda row: f"#{row['name']}")


def repeat_incidents(ctx: Context, by_period: Table) -> tuple[Table, Table]:
    """Incidents that followed another on the same service, or with the same tag in the same
    team, within 90 days before: the earlier one may be outside the dates chosen."""
    start = OuterRef("incident__started_at")
    earlier = {
        "incident__in": ctx.visible.values("pk"),
        "incident__started_at__lt": start,
        "incident__started_at__gte": start - REPEAT_WINDOW,
    }
    same_service = (
        IncidentService.objects.filter(service=OuterRef("service"), **earlier)
        .exclude(impact=IncidentService.Impact.UNAFFECTED)
        .order_by("-incident__started_at", "-incident")
        .values("incident")[:1]
    )
    same_tag = (
        IncidentTag.objects.filter(
            name=OuterRef("name"), incident__team=OuterRef("incident__team"), **earlier
        )
        .order_by("-incident__started_at", "-incident")
        .values("incident")[:1]
    )
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    started: dict[int, datetime] = {}
    for model, lookup, how, subquery in (
        (IncidentService, "service__name", "service", same_service),
        (IncidentTag, "name", "tag", same_tag),
    ):
        rows = (
            model.objects.filter(incident__in=ctx.ids)
            .annotate(previous=Subquery(subquery))
            .filter(previous__isnull=False)
        )
        if model is IncidentService:
            rows = rows.exclude(impact=IncidentService.Impact.UNAFFECTED)
        for incident_id, when, name, previous in rows.values_list(
            "incident", "incident__started_at", lookup, "previous"
        ):
            shared = f"service {name}" if how == "service" else f"tag #{name}"
            found[incident_id].append((shared, previous))
            started[incident_id] = when

    repeats_per_period: dict[date, int] = defaultdict(int)
    for when in started.values():
        repeats_per_period[period_start(as_date(when), ctx.periods.by)] += 1
    periods = ctx.periods.span()
    totals = {row[0]: row[-1] for row in by_period.rows}
    rows = []
    for p in periods:
        total, repeats = totals.get(ctx.periods.label(p), 0), repeats_per_period.get(p, 0)
        rows.append([ctx.periods.label(p), total, repeats, share(repeats, total)])
    chart = Table(
        "repeats",
        f"Repeat incidents per {ctx.periods.by}",
        "A repeat follows another incident on the same service, or with the same tag in the "
        "same team, that started within the 90 days before it.",
        [ctx.periods.heading(), "Incidents", "Repeats", "Repeats (%)"],
        rows,
        charts.bars(
            [ctx.periods.label(p) for p in periods],
            [
                Series("Repeats", [r[2] for r in rows], style=3),
                Series("First of their kind", [r[1] - r[2] for r in rows], style=1),
            ],
            stacked=True,
        ),
        f"{sum(r[2] for r in rows)} repeat incidents of {sum(r[1] for r in rows)}.",
    )
    references = Incident.objects.filter(
        pk__in={*found, *(p for pairs in found.values() for _s, p in pairs)}
    ).in_bulk()
    detail_rows, links = [], []
    for incident_id in sorted(found, key=lambda i: (started[i], i), reverse=True):
        incident = references[incident_id]
        pairs = sorted(set(found[incident_id]))
        after = ", ".join(sorted({references[p].reference for _s, p in pairs}))
        detail_rows.append(
            [
                f"{incident.reference} {incident.title}",
                as_date(incident.started_at),
                after,
                ", ".join(sorted({s for s, _p in pairs})),
            ]
        )
        links.append(incident.get_absolute_url())
    details = Table(
        "repeat_list",
        "Repeat incidents",
        "Each repeat, the earlier incidents it followed within 90 days, and what they share.",
        ["Incident", "Started", "After", "Shared"],
        detail_rows,
        links=links,
    )
    return chart, details


def action_items_opened_closed(ctx: Context) -> Table:
    items = ActionItem.objects.filter(postmortem__incident__in=ctx.ids)
    opened = (
        items.annotate(month=ctx.trunc("created_at", "month"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    closed = (
        items.filter(completed_at__isnull=False)
        .annotate(month=ctx.trunc("completed_at", "month"))
        .values("month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    opened_by = {as_date(r["month"]): r["n"] for r in opened}
    closed_by = {as_date(r["month"]): r["n"] for r in closed}
    months = ctx.months.span([*opened_by, *closed_by])
    rows = [[ctx.months.label(m), opened_by.get(m, 0), closed_by.get(m, 0)] for m in months]
    return Table(
        "action_items",
        "Action items opened and closed per month",
        "Action items of these incidents, by the month they were written down and the month "
        "they were done or dropped.",
        ["Month", "Opened", "Closed"],
        rows,
        charts.bars(
            [r[0] for r in rows],
            [
                Series("Opened", [r[1] for r in rows], style=1),
                Series("Closed", [r[2] for r in rows], style=2),
            ],
            stacked=False,
        ),
        f"{sum(r[1] for r in rows)} opened and {sum(r[2] for r in rows)} closed.",
    )


def closure_by_due_date(ctx: Context) -> Table:
    items = ActionItem.objects.filter(
        postmortem__incident__in=ctx.ids, due_date__isnull=False, due_date__lt=ctx.today
    )
    rows_by_month = (
        items.annotate(month=TruncMonth("due_date"))
        .values("month")
        .annotate(
            due=Count("pk"),
            on_time=Count(
                "pk", filter=Q(completed_at__isnull=False, completed_at__date__lte=F("due_date"))
            ),
            late=Count("pk", filter=Q(completed_at__date__gt=F("due_date"))),
            still_open=Count("pk", filter=Q(completed_at__isnull=True)),
        )
        .order_by()
    )
    stats = {as_date(r["month"]): r for r in rows_by_month}
    months = ctx.months.span(stats)
    rows = []
    for m in months:
        s = stats.get(m, {"due": 0, "on_time": 0, "late": 0, "still_open": 0})
        rows.append(
            [
                ctx.months.label(m),
                s["due"],
                s["on_time"],
                s["late"],
                s["still_open"],
                share(s["on_time"], s["due"]),
            ]
        )
    return Table(
        "closure",
        "Action items closed by their due date",
        "Action items whose due date has passed, by the month it fell in: closed on or before "
        "it, closed after it, or still open (overdue).",
        ["Month due", "Due", "Closed on time", "Closed late", "Still open", "On time (%)"],
        rows,
        charts.bars(
            [r[0] for r in rows],
            [
                Series("Closed on time", [r[2] for r in rows], style=2),
                Series("Closed late", [r[3] for r in rows], style=4),
                Series("Still open", [r[4] for r in rows], style=3),
            ],
            stacked=True,
        ),
        "Stacked: on time, late, still open.",
    )


def overdue_by_owner(ctx: Context) -> Table:
    rows = (
        ActionItem.objects.filter(
            postmortem__incident__in=ctx.ids, completed_at__isnull=True, due_date__lt=ctx.today
        )
        .values(
            "postmortem__incident__team__name",
            "owner",
            "owner__first_name",
            "owner__last_name",
            "owner__username",
            "owner_name",
        )
        .annotate(n=Count("pk"), oldest=Min("due_date"))
        .order_by()
    )

    def owner(row: dict[str, Any]) -> str:
        if row["owner"] is not None:
            full = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
            return full or row["owner__username"]
        return row["owner_name"] or "Unassigned"

    ordered = sorted(
        rows,
        key=lambda r: (-r["n"], r["oldest"], r["postmortem__incident__team__name"], owner(r)),
    )
    table_rows = [
        [r["postmortem__incident__team__name"], owner(r), r["n"], r["oldest"]] for r in ordered
    ]
    return Table(
        "overdue",
        "Overdue action items by team and owner",
        f"Open action items of these incidents whose due date is before today "
        f"({ctx.today:%Y-%m-%d}); the owner is a person or a name written in.",
        ["Team", "Owner", "Overdue", "Oldest due date"],
        table_rows,
        charts.hbars([f"{r[1]} · {r[0]}" for r in table_rows], [r[2] for r in table_rows], 3),
        f"{sum(r[2] for r in table_rows)} overdue action items.",
    )


def _first_status(to_status: str) -> Subquery:
    return Subquery(
        ReviewEvent.objects.filter(
            postmortem__incident=OuterRef("pk"), kind=ReviewEvent.Kind.STATUS, to_status=to_status
        )
        .order_by("at")
        .values("at")[:1],
        output_field=DateTimeField(),
    )


def _resolved(ctx: Context) -> QuerySet:
    return (
        ctx.incidents.with_milestones("resolved_at")
        .filter(resolved_time__isnull=False)
        .annotate(month=ctx.trunc("resolved_time", "month"))
    )


def days_to_publish(ctx: Context) -> Table:
    incidents = _resolved(ctx).annotate(published_at=_first_status("published"))
    days = Minutes("published_at", "resolved_time") / Value(1440.0)
    stats: dict[date, dict[str, Any]] = {}
    if connection.vendor == "postgresql":
        for row in (
            incidents.values("month")
            .annotate(
                resolved=Count("pk"),
                published=Count("published_at"),
                median=Percentile(days, 0.5),
            )
            .order_by()
        ):
            stats[as_date(row["month"])] = row
    else:
        buckets: dict[date, list[float | None]] = defaultdict(list)
        for row in incidents.annotate(days=days).values("month", "days"):
            buckets[as_date(row["month"])].append(row["days"])
        for month, values in buckets.items():
            known = [v for v in values if v is not None]
            stats[month] = {
                "resolved": len(values),
                "published": len(known),
                "median": percentile_cont(known, 0.5),
            }
    months = ctx.months.span(stats)
    rows = []
    for m in months:
        s = stats.get(m, {})
        rows.append(
            [ctx.months.label(m), s.get("resolved", 0), s.get("published", 0), s.get("median")]
        )
    return Table(
        "publish",
        "Days from resolution to published postmortem",
        "By the month the incident was resolved: how many were, how many of their postmortems "
        "are published, and the median days from resolution to the first publication.",
        ["Month resolved", "Resolved", "Published", "Median days to publish"],
        rows,
        charts.lines(
            [r[0] for r in rows], [Series("Median days to publish", [r[3] for r in rows], 2)]
        ),
        "Median days to publish, by month of resolution.",
    )


def approved_in_time(ctx: Context) -> Table:
    default_days = settings.POSTMORTEM_APPROVAL_TARGET.total_seconds() / 86400
    target = ExpressionWrapper(
        Coalesce(F("team__approval_target_days"), Value(default_days), output_field=FloatField())
        * Value(1440.0),
        output_field=FloatField(),
    )
    incidents = _resolved(ctx).annotate(approved_at=_first_status("approved"))
    waited = Minutes(Value(ctx.now, output_field=DateTimeField()), "resolved_time")
    to_approve = Minutes("approved_at", "resolved_time")
    counted = Q(approved_at__isnull=False) | Q(GreaterThanOrEqual(waited, target))
    stats = {
        as_date(row["month"]): row
        for row in incidents.values("month")
        .annotate(
            resolved=Count("pk"),
            counted=Count("pk", filter=counted),
            in_time=Count("pk", filter=Q(LessThanOrEqual(to_approve, target))),
        )
        .order_by()
    }
    months = ctx.months.span(stats)
    rows = []
    for m in months:
        s = stats.get(m, {"resolved": 0, "counted": 0, "in_time": 0})
        rows.append(
            [
                ctx.months.label(m),
                s["resolved"],
                s["counted"],
                s["in_time"],
                share(s["in_time"], s["counted"]),
            ]
        )
    days = settings.POSTMORTEM_APPROVAL_TARGET.days
    return Table(
        "approval",
        "Postmortems approved within the team's target",
        f"By the month the incident was resolved. The target is the team's own, or {days} days "
        "from resolution to the first approval; an incident counts once it was approved or "
        "its target passed (no postmortem by then: not in time).",
        ["Month resolved", "Resolved", "Counted", "Approved in time", "In time (%)"],
        rows,
        charts.bars(
            [r[0] for r in rows],
            [
                Series("Approved in time", [r[3] for r in rows], style=2),
                Series("Late or not approved", [r[2] - r[3] for r in rows], style=3),
            ],
            stacked=True,
        ),
        "Stacked: approved in time, and late or not approved.",
    )


def build_dashboard(chosen: IncidentFilter, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    ctx = Context(chosen, timezone.localdate(now), now)
    by_severity = incidents_by_severity(ctx)
    repeats, repeat_list = repeat_incidents(ctx, by_severity)
    services = top_services(ctx)
    tags = top_tags(ctx)
    overdue = overdue_by_owner(ctx)
    approval = approved_in_time(ctx)
    groups = [
        ("Incidents", [by_severity, response_times(ctx), *services, *tags, repeats, repeat_list]),
        (
            "Follow-through",
            [
                action_items_opened_closed(ctx),
                closure_by_due_date(ctx),
                overdue,
                days_to_publish(ctx),
                approval,
            ],
        ),
    ]
    incidents = sum(row[-1] for row in by_severity.rows)
    repeat_count = sum(row[2] for row in repeats.rows)
    counted = sum(row[2] for row in approval.rows)
    in_time = sum(row[3] for row in approval.rows)
    kpis = [
        ("Incidents", cell(incidents), "started in these dates"),
        ("Repeat incidents", cell(repeat_count), "after one on the same service or tag"),
        ("Action items overdue", cell(sum(row[2] for row in overdue.rows)), "open past due"),
        (
            "Approved in time",
            f"{cell(share(in_time, counted))} %" if counted else "—",
            f"{in_time} of {counted} postmortems",
        ),
    ]
    return Dashboard(ctx.periods, groups, kpis)
