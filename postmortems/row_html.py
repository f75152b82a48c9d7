"""The read-only markup of list rows, cached per row version.

A row's markup depends on the row (its id and version; updated_at too where the model has
one, so that a change made without the services still shows), on whether the reader may edit
(the Edit link), on the day (an action item becomes overdue), on the section it depends on
(timeline times are shown without their date on the incident's first day) and on the row
template itself. All of that is in the cache key, so a cached row is never stale and never
needs invalidating: a change makes a new key. Rows carry no per-user data (no CSRF token:
HTMX sends it in a header), so one entry serves everyone who may edit; the rows that name
another team's incident only to its members (related incidents) are kept per reader.

The cache is Django's default cache: Redis when REDIS_URL is set (shared by every web
process), local memory otherwise (each process keeps its own, which is as correct, only
colder).
"""

import hashlib
from functools import cache as memoize
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import mark_safe


@memoize
def _template(name: str) -> tuple[Any, str]:
    """The compiled row template and a digest of its source: a deploy that changes the markup
    changes every key."""
    template = get_template(name)
    source = getattr(getattr(template, "template", None), "source", "")
    return template, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()[:10]


def _context_tag(section: Any) -> str:
    document = section.document
    parts = [
        document.access_tag,
        timezone.localdate().isoformat(),
        *(document.tag(key) for key in section.editable.depends_on),
        document.viewer_tag if section.editable.viewer_dependent else "",
    ]
    return ":".join(parts)


def _row_key(section: Any, row: Any, context: str, digest: str) -> str:
    changed = getattr(row, "updated_at", None)
    stamp = f"{changed.timestamp():.6f}" if changed else ""
    return f"pm:row:{digest}:{section.key}:{row.pk}:{row.version}:{stamp}:{context}"


def render_rows(section: Any, rows: list[Any]) -> str:
    """The markup of these rows, in order, rendering only those not cached."""
    if not rows:
        return ""
    template, digest = _template(section.editable.row_template)
    context = _context_tag(section)
    keys = [_row_key(section, row, context, digest) for row in rows]
    use_cache = settings.ROW_CACHE_SECONDS > 0
    cached = cache.get_many(keys) if use_cache else {}
    missing = {}
    parts = []
    for key, row in zip(keys, rows, strict=True):
        html = cached.get(key)
        if html is None:
            # No request: rows must not depend on who reads them beyond `can_edit`.
            html = template.render({"section": section, "row": row})
            missing[key] = html
        parts.append(html)
    if missing and use_cache:
        cache.set_many(missing, timeout=settings.ROW_CACHE_SECONDS)
    return mark_safe("".join(parts))  # each row rendered by an autoescaping template
