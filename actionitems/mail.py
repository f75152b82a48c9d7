"""A console email backend people can read, for local development (DEBUG with
EMAIL_URL=consolemail://): who, what, the first lines of the text and its links, instead of
raw MIME with quoted-printable subjects and base64 attachments."""

import re
from email.message import EmailMessage as ParsedMessage
from email.parser import BytesParser
from email.policy import default as default_policy

from django.core.mail.backends.console import EmailBackend as ConsoleEmailBackend
from django.core.mail.message import EmailMessage

FIRST_LINES = 14
URL = re.compile(r"https?://\S+")
LABELLED_LINK = re.compile(r"^\s*(?:- )?(?P<label>[^:\n]{1,60}):\s+(?P<url>https?://\S+)\s*$")


def text_part(parsed: ParsedMessage) -> str:
    body = parsed.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


def links(text: str) -> list[tuple[str, str]]:
    """(label, url) for every link of the text, labelled where a line says "Label: url"."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        labelled = LABELLED_LINK.match(line)
        if labelled:
            found.setdefault(labelled["url"], labelled["label"].strip())
            continue
        for url in URL.findall(line):
            found.setdefault(url, "")
    return [(label, url) for url, label in found.items()]


def summary(message: EmailMessage) -> str:
    """One email as a person wants to read it in a terminal."""
    parsed = BytesParser(policy=default_policy).parsebytes(message.message().as_bytes())
    text = text_part(parsed)
    lines = [line.rstrip() for line in text.strip().splitlines()]
    shown = lines[:FIRST_LINES]
    out = ["", "=" * 78]
    for header in ("From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "List-Unsubscribe"):
        if parsed[header]:
            value = " ".join(str(parsed[header]).split())  # unfolded, decoded
            out.append(f"{header + ':':<18}{value}")
    attachments = [
        f"{part.get_filename()} ({part.get_content_type()})" for part in parsed.iter_attachments()
    ]
    if attachments:
        out.append(f"{'Attached:':<18}{', '.join(attachments)}")
    out.append("-" * 78)
    out.extend(f"  {line}" for line in shown)
    if len(lines) > FIRST_LINES:
        out.append(f"  [... {len(lines) - FIRST_LINES} more lines]")
    found = links(text)
    if found:
        out.append("Links:")
        width = max(len(label) for label, _ in found)
        out.extend(
            f"  {label:<{width}}  {url}".rstrip() if width else f"  {url}" for label, url in found
        )
    out.append("=" * 78)
    return "\n".join(out) + "\n"


class ReadableConsoleBackend(ConsoleEmailBackend):
    def write_message(self, message: EmailMessage) -> None:
        self.stream.write(summary(message))
