"""What an uploaded file is, read from its first bytes rather than its name or the browser's
word for it (both are typed by whoever uploads). No Django here: plain bytes in, a verdict out.

Allowed: PNG, JPEG, GIF and WebP screenshots, PDF, and plain UTF-8 text. Refused: everything
else, SVG and HTML in particular (they carry script and would run on our origin).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


PNG = FileType("image/png", ".png")
JPEG = FileType("image/jpeg", ".jpg")
GIF = FileType("image/gif", ".gif")
WEBP = FileType("image/webp", ".webp")
PDF = FileType("application/pdf", ".pdf")
TEXT = FileType("text/plain", ".txt")

ALLOWED_DESCRIPTION = "PNG, JPEG, GIF or WebP images, PDF, or plain text"
# Text that a browser (or an image viewer) would read as markup: refused even as "text".
MARKUP_STARTS = (b"<svg", b"<?xml", b"<!doctype", b"<html", b"<script", b"<!--")


class RefusedType(ValueError):
    """The content is none of the allowed types; the message says what is accepted."""


def sniff(head: bytes) -> FileType:
    """The type of a file from its first bytes (a few kilobytes are enough for text)."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(b"%PDF-"):
        return PDF
    if head and _is_plain_text(head):
        return TEXT
    raise RefusedType(f"Only {ALLOWED_DESCRIPTION} can be attached.")


CONTROL = bytes(set(range(32)) - {9, 10, 12, 13}) + b"\x7f"


def _is_plain_text(head: bytes) -> bool:
    if any(byte in CONTROL for byte in head):
        return False  # NUL and other control bytes: a binary, whatever else it is
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        # The head may end in the middle of a character: only that is forgiven.
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    start = text.lstrip("\ufeff \t\r\n").encode().lower()
    if start.startswith(MARKUP_STARTS):
        raise RefusedType(f"SVG and HTML cannot be attached; only {ALLOWED_DESCRIPTION}.")
    return True


def safe_name(name: str, file_type: FileType, limit: int = 80) -> str:
    """A file name for links and downloads: the uploader's name without its path or odd
    characters, ending in the extension of what the file really is."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    kept = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-_")
    while "--" in kept:
        kept = kept.replace("--", "-")
    stem = (kept or ("image" if file_type.is_image else "file"))[: limit - len(file_type.extension)]
    return stem + file_type.extension
