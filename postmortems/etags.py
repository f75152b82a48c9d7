"""A digest of the templates, part of every ETag and cached row key: a deploy that changes
markup never serves what an older release rendered."""

import hashlib
from functools import cache
from pathlib import Path

from django.conf import settings


@cache
def code_digest() -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    roots = [Path(settings.BASE_DIR) / "templates", *Path(settings.BASE_DIR).glob("*/templates")]
    for root in sorted(roots):
        for path in sorted(root.rglob("*.html")):
            digest.update(str(path.relative_to(settings.BASE_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
