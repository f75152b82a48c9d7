"""Files pasted or dropped into a postmortem: checked by their content, stored through the
storage API, served only to people who may read the postmortem, linked from the export."""

import base64
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from postmortems.export import export_markdown
from postmortems.filetypes import GIF, JPEG, PDF, PNG, TEXT, WEBP, RefusedType, safe_name, sniff
from postmortems.markdown import render_markdown
from postmortems.models import Attachment
from tests.conftest import HTMX, browser_of

# A 1x1 PNG.
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def upload(client, postmortem, name, content, content_type="image/png"):
    return client.post(
        reverse("postmortems:attachment_upload", args=[postmortem.incident.reference]),
        {"file": SimpleUploadedFile(name, content, content_type=content_type)},
        **HTMX,
    )


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (PNG_BYTES, PNG),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
        (b"GIF89a\x01\x00", GIF),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", WEBP),
        (b"%PDF-1.7\n", PDF),
        (b"2026-03-02 14:00 ERROR pool exhausted\n", TEXT),
        ("Zeitüberschreitung".encode()[:13], TEXT),  # cut inside a character
    ],
)
def test_the_type_is_read_from_the_content(head, kind):
    assert sniff(head) == kind


@pytest.mark.parametrize(
    "head",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'\n  <?xml version="1.0"?><svg/>',
        b"<!DOCTYPE html><html><script>alert(1)</script>",
        b"PK\x03\x04 a zip file",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff",
        b"",
    ],
)
def test_markup_and_binaries_are_refused(head):
    with pytest.raises(RefusedType):
        sniff(head)


def test_the_name_keeps_the_writers_words_and_the_true_extension():
    assert safe_name("C:\\Users\\jane\\Grafana p99 (latency).PNG", PNG) == "Grafana-p99-latency.png"
    assert safe_name("evil.svg", PNG) == "evil.png"
    assert safe_name("../../", PNG) == "image.png"
    assert safe_name("notes", TEXT) == "notes.txt"


@pytest.mark.django_db
def test_a_pasted_screenshot_is_stored_and_its_markdown_shows_it(
    author_client, author, postmortem, media
):
    response = upload(author_client, postmortem, "image.png", PNG_BYTES)
    assert response.status_code == 201
    data = json.loads(response.content)
    attachment = Attachment.objects.get()
    url = f"/incidents/{postmortem.incident.reference}/attachments/{attachment.pk}/image.png"
    assert data["url"] == url
    assert data["markdown"] == f"![image.png]({url})"
    assert (attachment.content_type, attachment.size, attachment.uploaded_by) == (
        "image/png",
        len(PNG_BYTES),
        author,
    )
    # Stored through the storage API, under MEDIA_ROOT, by a name nobody can guess.
    assert attachment.file.path.startswith(str(media))
    assert "image" not in attachment.file.name.rsplit("/", 1)[-1]

    served = author_client.get(url)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == PNG_BYTES
    assert served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served["Content-Security-Policy"]
    assert "private" in served["Cache-Control"]

    # The link renders as an image in the section, through the sanitizer.
    html = render_markdown(data["markdown"])
    assert f'<img alt="image.png" src="{url}">' in html


@pytest.mark.django_db
def test_only_readers_get_the_file_and_only_editors_upload(
    author_client, postmortem, outsider, teammate
):
    upload(author_client, postmortem, "graph.png", PNG_BYTES)
    attachment = Attachment.objects.get()
    url = attachment.get_absolute_url()
    outsider_browser = browser_of(outsider)
    assert outsider_browser.get(url).status_code == 404
    assert upload(outsider_browser, postmortem, "x.png", PNG_BYTES).status_code == 404
    assert browser_of(teammate).get(url).status_code == 200
    # Logged out: the login page, never the file.
    anonymous = author_client.__class__()
    assert anonymous.get(url).status_code == 302
    # Another name for the same id is not the file.
    assert author_client.get(url.replace("graph.png", "other.png")).status_code == 404
    assert Attachment.objects.count() == 1


@pytest.mark.django_db
def test_a_file_that_only_claims_to_be_an_image_is_refused(author_client, postmortem):
    response = upload(
        author_client, postmortem, "graph.png", b"<svg onload=alert(1)></svg>", "image/png"
    )
    assert response.status_code == 415
    assert "SVG and HTML cannot be attached" in json.loads(response.content)["error"]
    response = upload(author_client, postmortem, "a.zip", b"PK\x03\x04\x14\x00", "image/png")
    assert response.status_code == 415
    assert json.loads(response.content)["error"] == (
        "Only PNG, JPEG, GIF or WebP images, PDF, or plain text can be attached."
    )
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_too_large_and_empty_files_are_refused_with_a_reason(author_client, postmortem, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    big = PNG_BYTES + b"\x00" * (1024 * 1024)
    response = upload(author_client, postmortem, "huge.png", big)
    assert response.status_code == 413
    assert json.loads(response.content)["error"] == (
        "“huge.png” is 1.1 MB; files can be up to 1 MB."
    )
    assert upload(author_client, postmortem, "empty.png", b"").status_code == 400
    missing = author_client.post(
        reverse("postmortems:attachment_upload", args=[postmortem.incident.reference]), **HTMX
    )
    assert missing.status_code == 400
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_text_and_pdf_are_linked_not_shown(author_client, postmortem):
    data = json.loads(upload(author_client, postmortem, "pool.log", b"ERROR pool\n").content)
    assert data["markdown"].startswith("[pool.txt](")
    served = author_client.get(data["url"])
    assert served["Content-Type"] == "text/plain; charset=utf-8"
    data = json.loads(upload(author_client, postmortem, "report", b"%PDF-1.4\n%...").content)
    assert data["markdown"].startswith("[report.pdf](")
    assert author_client.get(data["url"])["Content-Type"] == "application/pdf"


@pytest.mark.django_db
def test_the_export_keeps_the_links_with_the_sites_address(author_client, postmortem, settings):
    settings.SITE_URL = "https://studio.example.com"
    data = json.loads(upload(author_client, postmortem, "graph.png", PNG_BYTES).content)
    postmortem.supporting_info = f"Monitoring graphs:\n\n{data['markdown']}"
    postmortem.save()
    exported = export_markdown(postmortem)
    assert f"![graph.png](https://studio.example.com{data['url']})" in exported
    assert export_markdown(postmortem).count("https://studio.example.com/incidents/") == 1


@pytest.mark.django_db(transaction=True)
def test_a_deleted_attachment_leaves_no_file(author_client, postmortem):
    upload(author_client, postmortem, "graph.png", PNG_BYTES)
    attachment = Attachment.objects.get()
    path = Path(attachment.file.path)
    assert path.exists()
    attachment.delete()
    assert not path.exists()
