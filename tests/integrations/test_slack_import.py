"""The Slack parser: plain inputs in, plain records out (no database)."""

import io
import json
import time
import zipfile
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrations.slack_import import (
    SlackImportError,
    authors,
    parse,
    parse_export,
    parse_text,
)

USERS = [
    {"id": "U01JANE", "name": "jane", "real_name": "Jane Park",
     "profile": {"real_name": "Jane Park", "display_name": "jane", "email": "jane@example.com"}},
    {"id": "U02MIKE", "name": "mike",
     "profile": {"real_name": "Mike Alvarez", "display_name": "", "email": "mike@example.com"}},
]  # fmt: skip


def ts(moment):
    return f"{moment.timestamp():.6f}"


def export(days, users=USERS, channel="inc-checkout", extra=None):
    """A Slack export zip as Slack makes it: users.json, channels.json, channel/day.json."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if users is not None:
            archive.writestr("users.json", json.dumps(users))
        archive.writestr("channels.json", json.dumps([{"id": "C1", "name": channel}]))
        for day, messages in days.items():
            archive.writestr(f"{channel}/{day}.json", json.dumps(messages))
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return buffer.getvalue()


def message(moment, user="U01JANE", text="hello", **fields):
    return {"type": "message", "ts": ts(moment), "user": user, "text": text, **fields}


def test_an_export_becomes_records_in_utc_in_order_with_names_and_markup_resolved():
    t = lambda h, m, d=2: datetime(2026, 3, d, h, m, tzinfo=UTC)  # noqa: E731
    data = export({
        "2026-03-02": [
            message(t(14, 2), text="Checkout errors &gt; 5% <!here>"),
            {"type": "message", "subtype": "channel_join", "ts": ts(t(14, 3)), "user": "U02MIKE",
             "text": "<@U02MIKE> has joined the channel"},
            message(t(14, 5), user="U02MIKE", text="<@U01JANE> rolling back <https://ci.example.com/b/9|build 9> in <#C1|inc-checkout>",
                    user_profile={"real_name": "Mike Alvarez", "display_name": "mikea"}),
            {"type": "message", "subtype": "bot_message", "ts": ts(t(14, 1)), "bot_id": "B9",
             "username": "PagerDuty", "text": "", "attachments": [{"fallback": "Triggered #123"}]},
            message(t(14, 7), text="", files=[{"name": "graph.png"}]),
            message(t(14, 8), text="ok", thread_ts=ts(t(14, 5))),
        ],
        "2026-03-03": [message(t(0, 10, 3), text="all clear")],
    })  # fmt: skip
    result = parse_export(data)
    assert result.skipped == 1 and result.problems == []
    assert [(r.occurred_at.strftime("%d %H:%M"), r.author, r.text) for r in result.records] == [
        ("02 14:01", "PagerDuty", "Triggered #123"),
        ("02 14:02", "Jane Park", "Checkout errors > 5% @here"),
        ("02 14:05", "Mike Alvarez", "@jane rolling back build 9 (https://ci.example.com/b/9) in #inc-checkout"),
        ("02 14:07", "Jane Park", "(shared graph.png)"),
        ("02 14:08", "Jane Park", "ok"),
        ("03 00:10", "Jane Park", "all clear"),
    ]  # fmt: skip
    first = result.records[1]
    assert first.occurred_at.tzinfo == UTC
    assert (first.user_id, first.handle, first.email) == ("U01JANE", "jane", "jane@example.com")
    assert first.reference == f"inc-checkout/2026-03-02.json ts={ts(t(14, 2))}"
    assert result.records[0].subtype == "bot_message"
    assert result.records[4].thread_ts == ts(t(14, 5))
    assert result.users == {"U01JANE": "Jane Park", "U02MIKE": "Mike Alvarez"}
    assert authors(result.records)["U02MIKE"] == ("Mike Alvarez", "mikea", "mike@example.com")


def test_problems_are_kept_beside_the_records_not_fatal():
    moment = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    data = export(
        {"2026-03-02": [
            message(moment, user="U99GONE", text="who am I <@U98ALSO>"),
            {"type": "message", "ts": "not-a-time", "user": "U01JANE", "text": "x"},
            message(moment, text=""),
            "not a message",
        ]},
        users=None,
        extra={"inc-checkout/2026-03-03.json": "{broken"},
    )  # fmt: skip
    result = parse_export(data)
    assert [r.problems for r in result.records] == [
        ("unknown Slack user U99GONE", "mentions an unknown Slack user U98ALSO"),
        ("unknown Slack user U01JANE", "empty message"),  # no users.json, no profile
    ]
    assert result.records[0].author == "U99GONE"
    assert result.problems == [
        ("inc-checkout/2026-03-02.json #2", "has no readable time (ts='not-a-time')"),
        ("inc-checkout/2026-03-02.json #4", "is not a message"),
        ("inc-checkout/2026-03-03.json", "is not valid JSON; skipped"),
    ]


def test_a_channel_is_picked_from_a_workspace_export():
    moment = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    data = export({"2026-03-02": [message(moment, text="in checkout")]},
                  extra={"general/2026-03-02.json": json.dumps([message(moment, text="lunch?")])})  # fmt: skip
    assert len(parse_export(data).records) == 2
    assert [r.text for r in parse_export(data, channel="inc-checkout").records] == ["in checkout"]
    with pytest.raises(SlackImportError, match="No channel messages"):
        parse_export(data, channel="random")


def test_what_is_not_an_export_is_refused_with_a_reason():
    with pytest.raises(SlackImportError, match="not a Slack export"):
        parse_export(b"PK\x03\x04 but broken")
    with pytest.raises(SlackImportError, match="No channel messages"):
        parse_export(export({}, extra={"readme.txt": "hi"}))


def test_a_5000_message_export_parses_quickly():
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()
    users = [{"id": f"U{n:03d}", "name": f"user{n}",
              "profile": {"real_name": f"User {n}", "display_name": f"user{n}"}}
             for n in range(40)]  # fmt: skip
    days = {}
    for n in range(5000):
        moment = datetime.fromtimestamp(start + n * 61, tz=UTC)
        days.setdefault(f"{moment:%Y-%m-%d}", []).append(
            {"type": "message", "ts": f"{start + n * 61:.6f}", "user": f"U{n % 40:03d}",
             "text": f"Message {n}: checked <@U{(n + 1) % 40:03d}> &amp; <https://grafana.example.com/d/{n}|graph>"}
        )  # fmt: skip
    data = export(days, users=users)
    began = time.perf_counter()
    result = parse_export(data)
    elapsed = time.perf_counter() - began
    print(f"\nslack_import: {len(result.records)} messages from {len(days)} day files "
          f"({len(data) // 1024} KiB zip) parsed in {elapsed:.3f} s")  # fmt: skip
    assert len(result.records) == 5000 and result.problems == []
    assert (
        result.records[0].text
        == "Message 0: checked @user1 & graph (https://grafana.example.com/d/0)"
    )
    assert elapsed < 5  # the whole import must stay under 30 s; parsing is a small part


# Text copied from a channel.

COPIED = """\
Jane Park  2:02 PM
Seeing 500s on checkout
error rate 12%
2:03 PM
paging payments on-call
Mike Alvarez  2:10 PM
rolling back build 9
PagerDuty APP  11:58 PM
Resolved: checkout errors
Jane Park  12:05 AM
all clear
"""


def test_copied_text_in_the_copier_s_time_zone_comes_back_in_utc():
    result = parse_text(COPIED, date(2026, 3, 2), ZoneInfo("America/New_York"))
    assert result.problems == []
    assert [(f"{r.occurred_at:%m-%d %H:%M}", r.author, r.text) for r in result.records] == [
        ("03-02 19:02", "Jane Park", "Seeing 500s on checkout\nerror rate 12%"),
        ("03-02 19:03", "Jane Park", "paging payments on-call"),
        ("03-02 19:10", "Mike Alvarez", "rolling back build 9"),
        ("03-03 04:58", "PagerDuty", "Resolved: checkout errors"),
        ("03-03 05:05", "Jane Park", "all clear"),  # past midnight: the next day
    ]
    assert result.records[0].reference == "line 1" and result.records[0].user_id == ""


def test_log_style_lines_and_day_lines():
    text = """\
[14:02] jane: checkout is failing
[14:05] Mike Alvarez: looking
--- Tuesday, March 3rd ---
[09:00] jane: follow-up call
[2026-03-04 10:00] sarah: review booked
"""
    result = parse_text(text, date(2026, 3, 2))
    assert [(f"{r.occurred_at:%m-%d %H:%M}", r.author, r.text) for r in result.records] == [
        ("03-02 14:02", "jane", "checkout is failing"),
        ("03-02 14:05", "Mike Alvarez", "looking"),
        ("03-03 09:00", "jane", "follow-up call"),
        ("03-04 10:00", "sarah", "review booked"),
    ]


def test_copied_text_problems_name_their_lines():
    text = "before anyone\nToday\nJane Park  2:02 PM\n\nJane Park  25:99\nhi\n"
    result = parse_text(text, date(2026, 3, 2))
    assert result.problems == [
        ("line 1", "comes before any author and time; skipped"),
        ("line 2", '"Today" names no date; the messages keep the day given'),
        ("line 5", "has a time that is not a time of day"),
    ]
    assert [(r.text, r.problems) for r in result.records] == [("hi", ())]
    with pytest.raises(SlackImportError, match="No messages found"):
        parse_text("just some words", date(2026, 3, 2))


def test_parse_tells_a_zip_from_copied_text():
    moment = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
    assert parse(export({"2026-03-02": [message(moment)]})).records[0].text == "hello"
    assert parse(b"[14:02] jane: hi", day=date(2026, 3, 2)).records[0].author == "jane"
    with pytest.raises(SlackImportError, match="needs the day"):
        parse(b"[14:02] jane: hi")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_any_text_gives_records_in_utc_or_a_reason(text):
    try:
        result = parse_text(text, date(2026, 3, 2), ZoneInfo("Europe/Berlin"))
    except SlackImportError:
        return
    for record in result.records:
        assert record.occurred_at.tzinfo == UTC
        assert record.reference.startswith("line ")
