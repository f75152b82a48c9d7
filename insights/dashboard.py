"""The insights dashboard: how incidents trend, and whether what was learned got acted on.

The filters choose incidents (the date range is when they started) and every chart describes
those incidents and their follow-up: the action items of those incidents bucketed by the month
they were opened, closed or due; their postmortems by the month the incident was resolved.
Everything is aggregated in SQL, one query per chart, whatever the number of incidents.

Each chart is a Table: the numbers as strings, shown as an HTML table under the chart and
written as its CSV, so the two always agree; the SVG is drawn from the same numbers.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import django_filters
from django.conf import settings
from django.db import connection, transaction
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
from django.utils.safestring import SafeString

from actionitems.models import ActionItem
from incidents.filters import IncidentFilter, day_start
from incidents.models import (
    Incident,
    IncidentQuerySet,
    IncidentService,
    IncidentTag,
    Service,
)
from postmortems.models import ReviewEvent

from . import charts
from .charts import Series
from .models import ChosenIncident
from .sql import Minutes, Percentiles, percentile_cont

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

    def group_by(self, queryset: QuerySet[Incident], name: str, value: str) -> QuerySet[Incident]:
        return queryset  # read by the dashboard, not a filter

    @staticmethod
    def with_defaults(data: QueryDict, today: date | None = None) -> QueryDict:
        """Without a start, the twelve months up to the end chosen (or this one), month by
        month: a chart always has a first period, and no incident falls before it."""
        data = data.copy()
        end = today or timezone.localdate()
        with suppress(ValueError):  # the filter's form says what is wrong with it
            end = date.fromisoformat(data.get("started_to") or "")
        if not data.get("started_from"):
            data["started_from"] = months_back(end, 11).isoformat()
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


def as_date(value: date | datetime) -> date:
    """A period's first day, from what the database returns for a truncated time."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


@dataclass
class Periods:
    """The time axis: every period from the first to the last, empty ones included."""

    by: str
    first: date
    last: date

    def span(self, extra: Iterable[date] = ()) -> list[date]:
        """The periods of the range, stretched to data found after it (items closed later),
        never past the current period."""
        last = max([self.last, *extra])
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
    def chart(self) -> SafeString:
        return (
            charts.render(self.svg, self.key, self.title, self.summary)
            if self.svg
            else SafeString()
        )

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
        self.incidents: IncidentQuerySet = chosen.qs.order_by()  # type: ignore[assignment]
        self.started_from: date | None = data.get("started_from")
        self.started_to: date | None = data.get("started_to")
        # The chosen incidents with their times, in a temporary table while the charts are
        # drawn (chosen_incidents): every query below reads it instead of recomputing them.
        self.facts = ChosenIncident.objects.all()
        self.postmortems = self.facts.filter(postmortem__isnull=False).values("postmortem")
        # The filter is always built over a queryset (insights/views.py): never None here.
        assert chosen.queryset is not None
        self.visible: QuerySet[Incident] = chosen.queryset
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


RESPONSE_METRICS = [
    ("ttd", "Time to detect", ("detected_time", "started_at")),
    ("tta", "Time to acknowledge", ("acknowledged_time", "detected_time")),
    ("ttr", "Time to resolve", ("resolved_time", "detected_time")),
]


def _incident_stats(ctx: Context) -> dict[date, dict[str, Any]]:
    """Per period, in one query: incidents by severity, and the median and 90th percentile
    of each response time in minutes, measured as each incident's page measures them (a
    time not recorded falls back to the first timeline event of its kind)."""
    incidents = ctx.facts.annotate(period=ctx.trunc("started_at"))
    minutes = {key: Minutes(end, start) for key, _label, (end, start) in RESPONSE_METRICS}
    by_severity = {s: Count("pk", filter=Q(severity=s)) for s in SEVERITIES}
    stats: dict[date, dict[str, Any]] = {}
    if connection.vendor == "postgresql":
        percentiles = {key: Percentiles(m, (0.5, 0.9)) for key, m in minutes.items()}
        rows = incidents.values("period").annotate(**by_severity, **percentiles).order_by()
        for row in rows:
            stats[as_date(row["period"])] = dict(row)
    else:  # SQLite has no percentile_cont: the same numbers from the minutes themselves
        values: dict[date, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for row in incidents.annotate(**minutes).values("period", "severity", *minutes):
            bucket = values[as_date(row["period"])]
            bucket[row["severity"]].append(1)
            for key in minutes:
                if row[key] is not None:
                    bucket[key].append(row[key])
        for period, bucket in values.items():
            stats[period] = {s: len(bucket[s]) for s in SEVERITIES}
            for key in minutes:
                known = bucket[key]
                stats[period][key] = (
                    [percentile_cont(known, 0.5), percentile_cont(known, 0.9)] if known else None
                )
    return stats


def incidents_and_response_times(ctx: Context) -> tuple[Table, Table]:
    stats = _incident_stats(ctx)
    periods = ctx.periods.span()
    labels = [ctx.periods.label(p) for p in periods]
    counts = {p: [stats.get(p, {}).get(s, 0) for s in SEVERITIES] for p in periods}
    by_severity = Table(
        "incidents",
        f"Incidents per {ctx.periods.by} by severity",
        "Incidents by the day they started (UTC).",
        [ctx.periods.heading(), *SEVERITIES, "Total"],
        [[ctx.periods.label(p), *counts[p], sum(counts[p])] for p in periods],
        charts.bars(
            labels,
            [
                Series(s, [counts[p][n] for p in periods], style=n + 1)
                for n, s in enumerate(SEVERITIES)
            ],
            stacked=True,
        ),
        f"{sum(map(sum, counts.values()))} incidents over {len(periods)} {ctx.periods.by}s, "
        "stacked by severity.",
    )

    def quantiles(p: date, key: str) -> list[float | None]:
        return stats.get(p, {}).get(key) or [None, None]

    header = [ctx.periods.heading(), "Incidents"]
    series = []
    for n, (key, label, _fields) in enumerate(RESPONSE_METRICS):
        header += [f"{label}, median (min)", f"{label}, p90 (min)"]
        medians = [quantiles(p, key)[0] for p in periods]
        p90s = [quantiles(p, key)[1] for p in periods]
        series.append(Series(f"{label} (median)", medians, style=n + 1))
        series.append(Series(f"{label} (p90)", p90s, style=n + 1, dashed=True))
    rows = []
    for p in periods:
        row: list[Any] = [ctx.periods.label(p), sum(counts[p])]
        for key, _label, _fields in RESPONSE_METRICS:
            row += quantiles(p, key)
        rows.append(row)
    response = Table(
        "response",
        "Time to detect, acknowledge and resolve",
        "Median and 90th percentile in minutes, by the period the incidents started. Detect: "
        "start to first alert; acknowledge: alert to acknowledged; resolve: alert to resolved. "
        "A time not recorded is taken from the first timeline event of its kind.",
        header,
        rows,
        charts.lines(labels, series, unit=" min"),
        "Medians as solid lines, 90th percentiles dashed, in minutes.",
    )
    return by_severity, response


def _impact_minutes() -> Minutes:
    """Start to resolution: the minutes of impact of an incident (none while ongoing)."""
    return Minutes("resolved_time", "started_at")


def _top(
    key: str,
    noun: str,
    rows: Sequence[Mapping[str, Any]],
    label: Callable[[Mapping[str, Any]], str],
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
    affected = [IncidentService.Impact.DOWN, IncidentService.Impact.DEGRADED]
    rows = list(
        ctx.facts.filter(incident__service_impacts__impact__in=affected)
        .values(
            service=F("incident__service_impacts__service"),
            service_name=F("incident__service_impacts__service__name"),
            team_name=F("incident__service_impacts__service__team__name"),
        )
        .annotate(incidents=Count("pk"), minutes=Sum(_impact_minutes()))
        .order_by()
    )
    teams = {r["team_name"] for r in rows}

    def label(row: Mapping[str, Any]) -> str:
        name: str = row["service_name"]
        return f"{name} ({row['team_name']})" if len(teams) > 1 else name

    return _top("services", "service", rows, label)


def top_tags(ctx: Context) -> tuple[Table, Table]:
    rows = list(
        ctx.facts.filter(incident__tags__isnull=False)
        .values(name=F("incident__tags__name"))
        .annotate(incidents=Count("pk"), minutes=Sum(_impact_minutes()))
        .order_by()
    )
    return _top("tags", "tag", rows, lambda row: f"#{row['name']}")


REPEATS = """
WITH visible(id, started_at, team_id) AS ({visible}),
chosen(id) AS ({chosen}),
service_order AS (
    SELECT s.incident_id, v.started_at, s.service_id AS key_id,
           LAG(s.incident_id) OVER same AS previous_id,
           LAG(v.started_at) OVER same AS previous_started
    FROM {incident_service} s JOIN visible v ON v.id = s.incident_id
    WHERE s.impact <> 'unaffected'
    WINDOW same AS (PARTITION BY s.service_id ORDER BY v.started_at, s.incident_id)
),
tag_order AS (
    SELECT t.incident_id, v.started_at, t.id AS key_id,
           LAG(t.incident_id) OVER same AS previous_id,
           LAG(v.started_at) OVER same AS previous_started
    FROM {incident_tag} t JOIN visible v ON v.id = t.incident_id
    WINDOW same AS (PARTITION BY v.team_id, t.name ORDER BY v.started_at, t.incident_id)
),
repeats AS (
    SELECT 'service' AS how, key_id, incident_id, started_at, previous_id FROM service_order
    WHERE previous_id IS NOT NULL AND previous_started < started_at AND {within}
      AND incident_id IN (SELECT id FROM chosen)
    UNION ALL
    SELECT 'tag', key_id, incident_id, started_at, previous_id FROM tag_order
    WHERE previous_id IS NOT NULL AND previous_started < started_at AND {within}
      AND incident_id IN (SELECT id FROM chosen)
)
"""
# Repeats per period, and the latest repeats with what they share with which earlier
# incident: one statement, so that the repeats are found once.
REPEATS_SUMMARY = """
, repeat_incidents AS (SELECT DISTINCT incident_id, started_at FROM repeats),
latest AS (
    SELECT incident_id FROM repeat_incidents
    ORDER BY started_at DESC, incident_id DESC LIMIT {limit}
)
SELECT 'period', {period}, COUNT(*), NULL, NULL, NULL
FROM repeat_incidents GROUP BY {period}
UNION ALL
SELECT 'latest', NULL, r.incident_id, r.how,
       CASE WHEN r.how = 'service'
            THEN (SELECT name FROM {service} WHERE id = r.key_id)
            ELSE (SELECT name FROM {incident_tag} WHERE id = r.key_id) END,
       r.previous_id
FROM repeats r JOIN latest ON latest.incident_id = r.incident_id
"""
VENDOR_SQL = {
    "postgresql": {
        "within": "started_at - previous_started <= interval '{days} days'",
        "month": "date_trunc('month', started_at AT TIME ZONE 'UTC')",
        "week": "date_trunc('week', started_at AT TIME ZONE 'UTC')",
    },
    "sqlite": {
        "within": "julianday(started_at) - julianday(previous_started) <= {days}",
        "month": "strftime('%%Y-%%m-01', started_at)",  # %% : the query has parameters
        "week": "date(started_at, 'weekday 0', '-6 days')",
    },
}
LATEST = 50


def _repeats_query(ctx: Context) -> list[tuple[Any, ...]]:
    """Count and list the repeats: each chosen incident that followed a visible one on
    the same service, or with the same tag in the same team, within the window. LAG over
    each group finds the nearest earlier incident with one sort; a subquery per row would
    compare every pair (a minute at 10,000 incidents)."""
    # Only incidents that could come before a chosen one: from the window before the dates.
    earlier = ctx.visible
    if ctx.started_from is not None:
        earlier = earlier.filter(started_at__gte=day_start(ctx.started_from) - REPEAT_WINDOW)
    if ctx.started_to is not None:
        earlier = earlier.filter(started_at__lt=day_start(ctx.started_to + timedelta(days=1)))
    columns = earlier.order_by().values_list("pk", "started_at", "team_id")
    visible, visible_params = columns.query.sql_with_params()
    chosen, chosen_params = ctx.facts.values_list("pk").query.sql_with_params()
    vendor = VENDOR_SQL[connection.vendor]
    tables = {
        "incident_service": IncidentService._meta.db_table,
        "incident_tag": IncidentTag._meta.db_table,
        "service": Service._meta.db_table,
    }
    sql = REPEATS.format(
        visible=visible,
        chosen=chosen,
        within=vendor["within"].format(days=REPEAT_WINDOW.days),
        **tables,
    ) + REPEATS_SUMMARY.format(period=vendor[ctx.periods.by], limit=LATEST, **tables)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*visible_params, *chosen_params])
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    return rows


def _as_period(value: date | datetime | str) -> date:
    if isinstance(value, str):  # SQLite's date functions return text
        value = date.fromisoformat(value[:10])
    return as_date(value)


def repeat_incidents(ctx: Context, by_period: Table) -> tuple[Table, Table]:
    """Incidents that followed another on the same service, or with the same tag in the same
    team, within 90 days before: the earlier one may be outside the dates chosen."""
    per_period: dict[date, int] = {}
    found: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for part, period, number, how, name, previous in _repeats_query(ctx):
        if part == "period":
            per_period[_as_period(period)] = number  # the count of repeats
        else:
            shared = f"service {name}" if how == "service" else f"tag #{name}"
            found[number].append((shared, previous))  # number: the repeat incident
    periods = ctx.periods.span()
    totals = {row[0]: row[-1] for row in by_period.rows}
    rows = []
    for p in periods:
        total, repeats = totals.get(ctx.periods.label(p), 0), per_period.get(p, 0)
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
    latest = sorted(found, key=lambda i: (references[i].started_at, i), reverse=True)
    detail_rows, links = [], []
    for incident_id in latest:
        incident = references[incident_id]
        pairs = found[incident_id]
        detail_rows.append(
            [
                f"{incident.reference} {incident.title}",
                as_date(incident.started_at),
                ", ".join(sorted({references[p].reference for _s, p in pairs})),
                ", ".join(sorted({s for s, _p in pairs})),
            ]
        )
        links.append(incident.get_absolute_url())
    details = Table(
        "repeat_list",
        f"Latest repeat incidents (up to {LATEST})",
        "Each repeat, the earlier incident it followed within 90 days, and what they share.",
        ["Incident", "Started", "After", "Shared"],
        detail_rows,
        links=links,
    )
    return chart, details


def _item_counts(ctx: Context) -> list[dict[str, Any]]:
    """The action items of these incidents counted in one pass, grouped by the month each was
    opened, closed and due: every follow-through chart is a sum over these few groups."""
    passed = Q(due_date__lt=ctx.today)  # a due date that has come and gone
    counted: list[dict[str, Any]] = list(
        ActionItem.objects.filter(postmortem__in=ctx.postmortems)  # type: ignore[arg-type]
        .annotate(
            opened=ctx.trunc("created_at", "month"),
            closed=ctx.trunc("completed_at", "month"),
            due=TruncMonth("due_date"),
        )
        .values("opened", "closed", "due")
        .annotate(
            n=Count("pk"),
            due_passed=Count("pk", filter=passed),
            on_time=Count("pk", filter=passed & Q(completed_at__date__lte=F("due_date"))),
            late=Count("pk", filter=passed & Q(completed_at__date__gt=F("due_date"))),
            still_open=Count("pk", filter=passed & Q(completed_at__isnull=True)),
        )
        .order_by()
    )
    return counted


def action_item_follow_through(ctx: Context) -> tuple[Table, Table]:
    groups = _item_counts(ctx)
    opened_by: dict[date, int] = defaultdict(int)
    closed_by: dict[date, int] = defaultdict(int)
    by_due: dict[date, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for group in groups:
        opened_by[as_date(group["opened"])] += group["n"]
        if group["closed"] is not None:
            closed_by[as_date(group["closed"])] += group["n"]
        if group["due_passed"]:
            sums = by_due[as_date(group["due"])]
            for n, key in enumerate(("due_passed", "on_time", "late", "still_open")):
                sums[n] += group[key]

    months = ctx.months.span([*opened_by, *closed_by])
    counted = [(ctx.months.label(m), opened_by.get(m, 0), closed_by.get(m, 0)) for m in months]
    opened_closed = Table(
        "action_items",
        "Action items opened and closed per month",
        "Action items of these incidents, by the month they were written down and the month "
        "they were done or dropped.",
        ["Month", "Opened", "Closed"],
        [list(row) for row in counted],
        charts.bars(
            [label for label, _o, _c in counted],
            [
                Series("Opened", [opened for _l, opened, _c in counted], style=1),
                Series("Closed", [closed for _l, _o, closed in counted], style=2),
            ],
            stacked=False,
        ),
        f"{sum(r[1] for r in counted)} opened and {sum(r[2] for r in counted)} closed.",
    )

    months = ctx.months.span(by_due)
    labels = [ctx.months.label(m) for m in months]
    per_month = [by_due.get(m, [0, 0, 0, 0]) for m in months]
    rows: list[list[Any]] = [
        [label, due, on_time, late, still_open, share(on_time, due)]
        for label, (due, on_time, late, still_open) in zip(labels, per_month, strict=True)
    ]
    closure = Table(
        "closure",
        "Action items closed by their due date",
        "Action items whose due date has passed, by the month it fell in: closed on or before "
        "it, closed after it, or still open (overdue).",
        ["Month due", "Due", "Closed on time", "Closed late", "Still open", "On time (%)"],
        rows,
        charts.bars(
            labels,
            [
                Series("Closed on time", [m[1] for m in per_month], style=2),
                Series("Closed late", [m[2] for m in per_month], style=4),
                Series("Still open", [m[3] for m in per_month], style=3),
            ],
            stacked=True,
        ),
        "Stacked: on time, late, still open.",
    )
    return opened_closed, closure


def overdue_by_owner(ctx: Context) -> Table:
    item = "postmortem__action_items__"
    rows = (
        ctx.facts.filter(**{f"{item}completed_at__isnull": True, f"{item}due_date__lt": ctx.today})
        .values(
            team_name=F("team__name"),
            user=F(f"{item}owner"),
            first_name=F(f"{item}owner__first_name"),
            last_name=F(f"{item}owner__last_name"),
            username=F(f"{item}owner__username"),
            written_owner=F(f"{item}owner_name"),
        )
        .annotate(n=Count(f"{item}pk"), oldest=Min(f"{item}due_date"))
        .order_by()
    )

    def owner(row: Mapping[str, Any]) -> str:
        if row["user"] is not None:
            full = f"{row['first_name']} {row['last_name']}".strip()
            return full or row["username"]
        return row["written_owner"] or "Unassigned"

    ordered = sorted(
        rows,
        key=lambda r: (-r["n"], r["oldest"], r["team_name"], owner(r)),
    )
    table_rows = [[r["team_name"], owner(r), r["n"], r["oldest"]] for r in ordered]
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


def postmortem_timeliness(ctx: Context) -> tuple[Table, Table]:
    """By the month each incident was resolved, in one query: how many, how many postmortems
    are published and the median days to the first publication; and how many were approved
    within the team's target (counted once approved, or once the target passed)."""
    incidents = ctx.facts.filter(resolved_time__isnull=False).annotate(
        month=ctx.trunc("resolved_time", "month")
    )
    target = F("target_minutes")
    days_to_publish = Minutes("published_at", "resolved_time") / Value(1440.0)
    waited = Minutes(Value(ctx.now, output_field=DateTimeField()), "resolved_time")
    counted = Q(approved_at__isnull=False) | Q(GreaterThanOrEqual(waited, target))
    in_time = Q(LessThanOrEqual(Minutes("approved_at", "resolved_time"), target))
    counts = {
        "resolved": Count("pk"),
        "published": Count("published_at"),
        "counted": Count("pk", filter=counted),
        "in_time": Count("pk", filter=in_time),
    }
    stats: dict[date, dict[str, Any]] = {}
    if connection.vendor == "postgresql":
        median = Percentiles(days_to_publish, (0.5,))
        for row in incidents.values("month").annotate(median=median, **counts).order_by():
            stats[as_date(row["month"])] = {**row, "median": (row["median"] or [None])[0]}
    else:  # SQLite has no percentile_cont: the medians from the days themselves
        for grouped in incidents.values("month").annotate(**counts).order_by():
            stats[as_date(grouped["month"])] = dict(grouped)
        days: dict[date, list[float]] = defaultdict(list)
        published = incidents.filter(published_at__isnull=False).annotate(days=days_to_publish)
        for each in published.values("month", "days"):
            if each["days"] is not None:
                days[as_date(each["month"])].append(each["days"])
        for month, stat in stats.items():
            stat["median"] = percentile_cont(days.get(month, []), 0.5)

    months = ctx.months.span(stats)
    empty: dict[str, Any] = {
        "resolved": 0,
        "published": 0,
        "median": None,
        "counted": 0,
        "in_time": 0,
    }
    rows = [(ctx.months.label(m), stats.get(m, empty)) for m in months]
    publish = Table(
        "publish",
        "Days from resolution to published postmortem",
        "By the month the incident was resolved: how many were, how many of their postmortems "
        "are published, and the median days from resolution to the first publication.",
        ["Month resolved", "Resolved", "Published", "Median days to publish"],
        [[label, s["resolved"], s["published"], s["median"]] for label, s in rows],
        charts.lines(
            [label for label, _s in rows],
            [Series("Median days to publish", [s["median"] for _l, s in rows], 2)],
        ),
        "Median days to publish, by month of resolution.",
    )
    target_days = settings.POSTMORTEM_APPROVAL_TARGET.days
    approval = Table(
        "approval",
        "Postmortems approved within the team's target",
        "By the month the incident was resolved. The target is the team's own, or "
        f"{target_days} days from resolution to the first approval; an incident counts once it "
        "was approved or "
        "its target passed (no postmortem by then: not in time).",
        ["Month resolved", "Resolved", "Counted", "Approved in time", "In time (%)"],
        [
            [label, s["resolved"], s["counted"], s["in_time"], share(s["in_time"], s["counted"])]
            for label, s in rows
        ],
        charts.bars(
            [label for label, _s in rows],
            [
                Series("Approved in time", [s["in_time"] for _l, s in rows], style=2),
                Series("Late or not approved", [s["counted"] - s["in_time"] for _l, s in rows], 3),
            ],
            stacked=True,
        ),
        "Stacked: approved in time, and late or not approved.",
    )
    return publish, approval


def _first_status(to_status: str) -> Subquery:
    """When the incident's postmortem first reached this status (approved, published)."""
    return Subquery(
        ReviewEvent.objects.filter(
            postmortem=OuterRef("postmortem"), kind=ReviewEvent.Kind.STATUS, to_status=to_status
        )
        .order_by("at")
        .values("at")[:1],
        output_field=DateTimeField(),
    )


@contextmanager
def chosen_incidents(incidents: IncidentQuerySet) -> Iterator[None]:
    """Write the chosen incidents, with the times the charts read, to a temporary table for
    as long as the block runs: each milestone (a subquery on the timeline when it was not
    recorded) and each review step is computed once per incident, not once per chart."""
    default_days = settings.POSTMORTEM_APPROVAL_TARGET.total_seconds() / 86400
    days = Coalesce(F("team__approval_target_days"), Value(default_days), output_field=FloatField())
    facts = (
        incidents.with_milestones()
        .annotate(
            postmortem_id=F("postmortem__id"),
            approved_at=_first_status("approved"),
            published_at=_first_status("published"),
            target_minutes=ExpressionWrapper(days * Value(1440.0), output_field=FloatField()),
        )
        .order_by()
        .values_list(*(str(f.column) for f in ChosenIncident._meta.concrete_fields))
    )
    sql, params = facts.query.sql_with_params()
    table = connection.ops.quote_name(ChosenIncident._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(f"CREATE TEMPORARY TABLE {table} AS {sql}", params)
        cursor.execute(f"ANALYZE {table}")  # the planner knows its size: hash joins on it
        try:
            yield
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")


def build_dashboard(chosen: IncidentFilter, now: datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    ctx = Context(chosen, timezone.localdate(now), now)
    with chosen_incidents(ctx.incidents):
        return _dashboard(ctx)


def _dashboard(ctx: Context) -> Dashboard:
    by_severity, response = incidents_and_response_times(ctx)
    repeats, repeat_list = repeat_incidents(ctx, by_severity)
    services = top_services(ctx)
    tags = top_tags(ctx)
    overdue = overdue_by_owner(ctx)
    publish, approval = postmortem_timeliness(ctx)
    groups = [
        ("Incidents", [by_severity, response, *services, *tags, repeats, repeat_list]),
        (
            "Follow-through",
            [
                *action_item_follow_through(ctx),
                overdue,
                publish,
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
