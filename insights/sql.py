"""SQL pieces the dashboard aggregates with, for PostgreSQL and SQLite alike."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.contrib.postgres.fields import ArrayField
from django.db import connection, transaction
from django.db.models import Aggregate, Expression, F, FloatField, Func

if TYPE_CHECKING:
    from django.db.backends.base.base import BaseDatabaseWrapper
    from django.db.models.sql.compiler import SQLCompiler, _AsSqlType


class Minutes(Func):
    """Minutes from `start` to `end`; NULL when either is unknown or end is before start,
    as Incident.time_to_* say None (incidents.models.elapsed)."""

    output_field = FloatField()

    def __init__(self, end: Expression | F | str, start: Expression | F | str) -> None:
        end = F(end) if isinstance(end, str) else end
        start = F(start) if isinstance(start, str) else start
        super().__init__(end, start)

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> _AsSqlType:
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        # Each side appears once (a milestone may be a subquery): below zero becomes NULL
        # through GREATEST/NULLIF, exact since epochs are microseconds (1.7e-8 minutes).
        minutes = f"EXTRACT(EPOCH FROM (({end}) - ({start}))) / 60.0"
        return f"NULLIF(GREATEST({minutes}, -1e-9), -1e-9)", (*end_params, *start_params)

    def as_sql(  # type: ignore[override]  # Func's own takes function= and template=
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> _AsSqlType:
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        minutes = f"(julianday({end}) - julianday({start})) * 1440.0"
        sql = f"(CASE WHEN julianday({end}) >= julianday({start}) THEN {minutes} END)"
        return sql, (*end_params, *start_params, *end_params, *start_params)


class Percentiles(Aggregate):
    """PostgreSQL's percentile_cont for several fractions at once (one sort, and the
    expression, maybe a subquery per row, evaluated once): a list, one value per fraction,
    each interpolated between the two nearest values (as `percentile_cont` below)."""

    function = "PERCENTILE_CONT"
    name = "Percentiles"
    template = (
        "%(function)s(ARRAY[%(fractions)s]::float8[]) WITHIN GROUP (ORDER BY %(expressions)s)"
    )

    def __init__(self, expression: Any, fractions: Sequence[float], **extra: Any) -> None:
        if not all(0 <= f <= 1 for f in fractions):
            raise ValueError("fractions are between 0 and 1")
        listed = ", ".join(repr(float(f)) for f in fractions)
        super().__init__(
            expression, fractions=listed, output_field=ArrayField(FloatField()), **extra
        )


def percentile_cont(values: list[float], fraction: float) -> float | None:
    """The same as SQL's percentile_cont, for SQLite (which has none)."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@contextmanager
def analytic_queries() -> Iterator[None]:
    """Run search's and the dashboard's queries with planner settings that suit them, for
    this transaction only (SET LOCAL):

    - jit off: their estimated cost (a subquery per incident) passes jit_above_cost, and
      compiling took longer than running (60-180 ms added to queries of 10-40 ms);
    - random_page_cost 1.1: the index and table are in memory (or on SSD); with the default
      of 4, meant for spinning disks, a search matching many documents read the whole
      index table instead of the GIN bitmap's pages (106 ms against 24 ms measured).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL random_page_cost = 1.1")
        yield
