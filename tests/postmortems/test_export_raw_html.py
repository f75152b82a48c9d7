"""The Markdown export keeps raw HTML as typed, as a download only; the page sanitizes it."""

import pytest

PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.mark.django_db
def test_raw_html_is_exported_verbatim_as_an_attachment_and_never_live_on_the_page(
    author_client, postmortem
):
    postmortem.root_cause = f"The pool ran dry. {PAYLOAD}"
    postmortem.save()
    export = author_client.get(postmortem.get_export_url())
    assert export["Content-Disposition"].startswith("attachment;")
    assert export["Content-Type"] == "text/markdown; charset=utf-8"
    assert export["X-Content-Type-Options"] == "nosniff"
    assert PAYLOAD in export.content.decode()  # verbatim: it is Markdown for another editor
    page = author_client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert "The pool ran dry." in page
    assert "onerror" not in page and "<script>alert(2)" not in page
