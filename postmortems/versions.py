"""Section versions in the section_versions map of the row that holds the section (the incident
or its postmortem), read and written in SQL so that a save never reads before it writes."""

from typing import Any, TypeVar

from django.db import models
from django.db.models import Func, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

_M = TypeVar("_M", bound=models.Model)


class SetVersion(Func):
    """section_versions with one section's version set, as an UPDATE's new value (PostgreSQL
    and SQLite, the two databases the project runs on)."""

    output_field = models.JSONField()

    def __init__(self, key: str, version: int) -> None:
        super().__init__(models.F("section_versions"))
        self.key, self.version = key, int(version)

    def as_postgresql(
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.source_expressions[0])
        sql = f"jsonb_set(COALESCE({column}, '{{}}'::jsonb), %s::text[], to_jsonb(%s::integer))"
        return sql, (*params, [self.key], self.version)

    def as_sqlite(
        self, compiler: Any, connection: Any, **extra: Any
    ) -> tuple[str, tuple[Any, ...]]:
        column, params = compiler.compile(self.source_expressions[0])
        path = f'$."{self.key}"'
        return f"json_set(COALESCE({column}, '{{}}'), %s, %s)", (*params, path, self.version)


def at_version(queryset: QuerySet[_M], key: str, version: int) -> QuerySet[_M]:
    """The rows of `queryset` whose section `key` is at `version` (no entry: version 0)."""
    current = Cast(KT(f"section_versions__{key}"), models.IntegerField())
    matches = Q(section_version=version)
    if version == 0:
        matches |= Q(section_version__isnull=True)
    return queryset.alias(section_version=current).filter(matches)  # type: ignore[return-value]


def set_version(
    owner: Any, key: str, version: int, *, expected: int | None = None, **fields: Any
) -> bool:
    """One UPDATE of the owner row: the section's new version and any of its fields; with
    `expected`, only if the section is still at that version. True if the row was updated."""
    rows = type(owner)._default_manager.filter(pk=owner.pk)
    if expected is not None:
        rows = at_version(rows, key, expected)
    updated: int = rows.update(section_versions=SetVersion(key, version), **fields)
    return updated == 1


def version_of(owner: Any, key: str) -> int:
    version: int = (owner.section_versions or {}).get(key, 0)
    return version


def remember_version(owner: Any, key: str, version: int) -> None:
    """The in-memory owner after a committed write, so that what is rendered next shows it."""
    owner.section_versions = {**(owner.section_versions or {}), key: version}
