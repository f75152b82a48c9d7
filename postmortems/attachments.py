"""Files pasted or dropped into a postmortem: checked, stored, recorded.

The size is checked against settings.ATTACHMENT_MAX_BYTES and the type read from the content
(filetypes.sniff), never from the name or the browser's Content-Type. The file goes through
Django's default storage (disk or an S3-compatible bucket, see settings.STORAGES).
"""

import math
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .filetypes import RefusedType, safe_name, sniff
from .models import Attachment, Postmortem

HEAD_BYTES = 4096


class AttachmentRefused(Exception):
    """Why a file was not attached, in words for the writer, and the HTTP status to say it."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _megabytes(size: int, up: bool = False) -> str:
    """ "10", "10.5": rounded up for a file's size, so that a file over the limit never reads
    as the limit."""
    tenths = size * 10 / (1024 * 1024)
    tenths = math.ceil(tenths) if up else round(tenths)
    return f"{tenths / 10:.1f}".removesuffix(".0")


def add_attachment(postmortem: Postmortem, upload: UploadedFile[bytes], *, by: Any) -> Attachment:
    """Store an uploaded file for a postmortem; AttachmentRefused if it is empty, too large
    or not an allowed type."""
    size = upload.size or 0
    if size == 0:
        raise AttachmentRefused("The file is empty.", 400)
    limit = settings.ATTACHMENT_MAX_BYTES
    if size > limit:
        raise AttachmentRefused(
            f"“{upload.name}” is {_megabytes(size, up=True)} MB; "
            f"files can be up to {_megabytes(limit)} MB.",
            413,
        )
    head = upload.read(HEAD_BYTES)
    upload.seek(0)
    try:
        kind = sniff(head)
    except RefusedType as refused:
        raise AttachmentRefused(str(refused), 415) from None
    attachment = Attachment(
        postmortem=postmortem,
        name=safe_name(upload.name or "", kind),
        content_type=kind.content_type,
        size=size,
        uploaded_by=by,
    )
    attachment.file.save(attachment.name, upload, save=False)
    try:
        attachment.save()
    except Exception:
        attachment.file.delete(save=False)  # no file left behind without its row
        raise
    return attachment


@receiver(post_delete, sender=Attachment)
def remove_file(sender: type[Attachment], instance: Attachment, **kwargs: Any) -> None:
    """A deleted attachment (in the admin, or with its postmortem) leaves no file behind; once
    the deletion is committed, so a rollback keeps both."""
    storage, name = instance.file.storage, instance.file.name
    if name:
        transaction.on_commit(lambda: storage.delete(name))
