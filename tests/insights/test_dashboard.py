"""/insights/: every chart's numbers against values worked out by hand, the CSV against the
table, and a constant number of queries.

The team's incidents, January to June 2026 (NOW is 2026-06-15 12:00 UTC; the target for an
approved postmortem is the default 14 days):

    I1 SEV1 Jan 10 10:00, detected 10:05, acknowledged 10:15, resolved 12:00
       Payment API down; #database; approved 3 days after resolution, published after 10
    I2 SEV2 Jan 25 08:00, times only in the timeline: alert 08:20, acknowledge 08:50,
       resolution 11:00; Payment API degraded; #database #deploy; approved after 20 days
    I3 SEV2 Mar 5 09:00, detected 09:10, acknowledged 09:12, resolved 09:40
       Ledger down; #capacity; a draft postmortem
    I4 SEV3 Jun 10 00:00, detected 00:30, ongoing; Payment API not affected; #deploy
    I5 SEV1 2025-12-20 (before the dates chosen), Ledger down, #capacity: I3 repeats it
    and an incident of another team (tagged #database) that must never be counted.
"""

import csv
import io
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse

from actionitems.models import ActionItem
from incidents.models import Incident, IncidentService, IncidentTag, Service, TimelineEvent
from postmortems.models import Postmortem, ReviewEvent

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
RANGE = {"started_from": "2026-01-01", "started_to": "2026-06-30"}


def at(month, day, hour=0, minute=0, year=2026):
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def status_event(postmortem, to_status, when):
    event = ReviewEvent.objects.create(postmortem=postmortem, kind="status", to_status=to_status)
    ReviewEvent.objects.filter(pk=event.pk).update(at=when)


def item(postmortem, title, created, due=None, completed=None, status="open", **owner):
    made = ActionItem.objects.create(
        postmortem=postmortem,
        title=title,
        due_date=due,
        status=status,
        completed_at=completed,
        **owner,
    )
    ActionItem.objects.filter(pk=made.pk).update(created_at=created)
    return made


@pytest.fixture
def world(team, other_team, author, teammate, outsider):
    api = Service.objects.create(team=team, name="Payment API")
    ledger = Service.objects.create(team=team, name="Ledger")
    make = Incident.objects.create

    i5 = make(title="Ledger lost writes", severity="SEV1", status="resolved", team=team,
              started_at=at(12, 20, 9, year=2025), resolved_at=at(12, 20, 10, year=2025))  # fmt: skip
    IncidentService.objects.create(incident=i5, service=ledger, impact="down")
    IncidentTag.objects.create(incident=i5, name="capacity")

    i1 = make(title="Checkout down", severity="SEV1", status="resolved", team=team,
              started_at=at(1, 10, 10), detected_at=at(1, 10, 10, 5),
              acknowledged_at=at(1, 10, 10, 15), resolved_at=at(1, 10, 12))  # fmt: skip
    IncidentService.objects.create(incident=i1, service=api, impact="down")
    IncidentTag.objects.create(incident=i1, name="database")
    pm1 = Postmortem.objects.create(incident=i1, status="published")
    status_event(pm1, "in_review", at(1, 11))
    status_event(pm1, "approved", at(1, 13, 12))
    status_event(pm1, "published", at(1, 20, 12))

    i2 = make(title="Slow refunds", severity="SEV2", status="monitoring", team=team,
              started_at=at(1, 25, 8))  # fmt: skip
    for kind, when in [("alert", at(1, 25, 8, 20)), ("acknowledge", at(1, 25, 8, 50)),
                       ("acknowledge", at(1, 25, 9, 30)), ("resolution", at(1, 25, 11))]:  # fmt: skip
        TimelineEvent.objects.create(incident=i2, occurred_at=when, kind=kind, description=kind)
    IncidentService.objects.create(incident=i2, service=api, impact="degraded")
    IncidentTag.objects.create(incident=i2, name="database")
    IncidentTag.objects.create(incident=i2, name="deploy")
    pm2 = Postmortem.objects.create(incident=i2, status="approved")
    status_event(pm2, "approved", at(2, 14, 11))

    i3 = make(title="Ledger full", severity="SEV2", status="resolved", team=team,
              started_at=at(3, 5, 9), detected_at=at(3, 5, 9, 10),
              acknowledged_at=at(3, 5, 9, 12), resolved_at=at(3, 5, 9, 40))  # fmt: skip
    IncidentService.objects.create(incident=i3, service=ledger, impact="down")
    IncidentTag.objects.create(incident=i3, name="capacity")
    pm3 = Postmortem.objects.create(incident=i3)

    i4 = make(title="Deploy stuck", severity="SEV3", status="investigating", team=team,
              started_at=at(6, 10), detected_at=at(6, 10, 0, 30))  # fmt: skip
    IncidentService.objects.create(incident=i4, service=api, impact="unaffected")
    IncidentTag.objects.create(incident=i4, name="deploy")

    item(
        pm1,
        "A1",
        at(1, 12),
        due=date(2026, 1, 31),
        completed=at(1, 30),
        status="done",
        owner=author,
    )
    item(
        pm1,
        "A2",
        at(1, 12),
        due=date(2026, 2, 15),
        completed=at(3, 1),
        status="done",
        owner=teammate,
    )
    item(pm2, "A3", at(1, 28), due=date(2026, 2, 28), owner=author)
    item(pm2, "A4", at(2, 2), due=date(2026, 7, 1), owner_name="QA Team")
    item(pm3, "A5", at(3, 6), due=date(2026, 3, 20), owner_name="QA Team")
    item(pm3, "A6", at(3, 6), completed=at(4, 2), status="done")
    item(pm3, "A7", at(3, 7), due=date(2026, 5, 1), completed=at(4, 10), status="wont_do")

    foreign = make(title="Index rebuild", severity="SEV1", status="resolved", team=other_team,
                   started_at=at(2, 1), resolved_at=at(2, 2))  # fmt: skip
    IncidentTag.objects.create(incident=foreign, name="database")
    foreign_pm = Postmortem.objects.create(incident=foreign)
    item(foreign_pm, "Foreign", at(2, 1), due=date(2026, 2, 2), owner=outsider)
    return {"i1": i1, "i2": i2, "i3": i3, "i4": i4, "i5": i5}


def dashboard(client, **params):
    with time_machine.travel(NOW, tick=False):
        return client.get(reverse("insights:dashboard"), {**RANGE, **params})


def table(response, key):
    return response.context["board"].charts[key]


MONTHS = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]


@pytest.mark.django_db
def test_incidents_per_month_by_severity(author_client, world):
    chart = table(dashboard(author_client), "incidents")
    assert chart.header == ["Month", "SEV1", "SEV2", "SEV3", "Total"]
    assert chart.cells == [
        ["2026-01", "1", "1", "0", "2"],
        ["2026-02", "0", "0", "0", "0"],
        ["2026-03", "0", "1", "0", "1"],
        ["2026-04", "0", "0", "0", "0"],
        ["2026-05", "0", "0", "0", "0"],
        ["2026-06", "0", "0", "1", "1"],
    ]
    assert len(chart.svg.rects) == 4  # one bar part per non-zero count


@pytest.mark.django_db
def test_incidents_per_week(author_client, world):
    chart = table(dashboard(author_client, by="week", started_to="2026-01-31"), "incidents")
    assert chart.header[0] == "Week starting"
    assert [row for row in chart.cells if row[-1] != "0"] == [
        ["2026-01-05", "1", "0", "0", "1"],  # Jan 10 is in the week of Monday Jan 5
        ["2026-01-19", "0", "1", "0", "1"],
    ]
    assert chart.cells[0][0] == "2025-12-29"  # the week holding Jan 1
    assert chart.cells[-1][0] == "2026-01-26"


@pytest.mark.django_db
def test_response_times_median_and_p90_use_the_timeline_when_times_are_missing(
    author_client, world
):
    chart = table(dashboard(author_client), "response")
    # Jan: I1 detect 5, ack 10, resolve 115 (from the alert); I2 (timeline) detect 20, ack 30
    # (first acknowledge event), resolve 160. Medians are means of two; p90 = low + 0.9 *
    # (high - low).
    assert chart.cells == [
        ["2026-01", "2", "12.5", "18.5", "20.0", "28.0", "137.5", "155.5"],
        ["2026-02", "0", "", "", "", "", "", ""],
        ["2026-03", "1", "10.0", "10.0", "2.0", "2.0", "30.0", "30.0"],
        ["2026-04", "0", "", "", "", "", "", ""],
        ["2026-05", "0", "", "", "", "", "", ""],
        ["2026-06", "1", "30.0", "30.0", "", "", "", ""],
    ]
    assert len(chart.svg.lines) == 6  # median and p90 of three measures


@pytest.mark.django_db
def test_response_times_match_what_each_incident_page_shows(author_client, world):
    chart = table(dashboard(author_client), "response")
    i2 = Incident.objects.prefetch_related("timeline_events").get(pk=world["i2"].pk)
    assert i2.time_to_detect == timedelta(minutes=20)
    assert i2.time_to_acknowledge == timedelta(minutes=30)
    assert i2.time_to_resolve == timedelta(minutes=160)  # alert 08:20 -> resolution 11:00
    assert i2.duration == timedelta(minutes=180)
    assert chart.cells[0][6:] == ["137.5", "155.5"]  # (115 + 160) / 2, and 115 + 0.9 * 45


@pytest.mark.django_db
def test_top_services_and_tags_by_incidents_and_by_minutes(author_client, world):
    response = dashboard(author_client)
    # Payment API: I1 (120 min) and I2 (180 min); I4 did not affect it. Ledger: I3 (40 min).
    assert table(response, "services_count").cells == [
        ["Payment API", "2", "300.0"],
        ["Ledger", "1", "40.0"],
    ]
    assert table(response, "services_minutes").cells == [
        ["Payment API", "2", "300.0"],
        ["Ledger", "1", "40.0"],
    ]
    # database: I1 + I2; deploy: I2 + I4 (ongoing, no minutes yet); capacity: I3.
    assert table(response, "tags_count").cells == [
        ["#database", "2", "300.0"],
        ["#deploy", "2", "180.0"],
        ["#capacity", "1", "40.0"],
    ]
    assert table(response, "tags_minutes").cells == [
        ["#database", "2", "300.0"],
        ["#deploy", "2", "180.0"],
        ["#capacity", "1", "40.0"],
    ]


@pytest.mark.django_db
def test_repeat_incidents_within_90_days_on_a_service_or_tag(author_client, world):
    response = dashboard(author_client)
    assert table(response, "repeats").cells == [
        ["2026-01", "2", "1", "50.0"],  # I2 after I1: Payment API, #database
        ["2026-02", "0", "0", ""],
        ["2026-03", "1", "1", "100.0"],  # I3 after I5 (before the dates chosen)
        ["2026-04", "0", "0", ""],
        ["2026-05", "0", "0", ""],
        ["2026-06", "1", "0", "0.0"],  # I4's #deploy was 136 days after I2's
    ]
    i1, i2, i3, i5 = (world[k] for k in ("i1", "i2", "i3", "i5"))
    assert table(response, "repeat_list").cells == [
        [
            f"{i3.reference} Ledger full",
            "2026-03-05",
            i5.reference,
            "service Ledger, tag #capacity",
        ],
        [
            f"{i2.reference} Slow refunds",
            "2026-01-25",
            i1.reference,
            "service Payment API, tag #database",
        ],
    ]


@pytest.mark.django_db
def test_action_items_opened_and_closed_per_month(author_client, world):
    assert table(dashboard(author_client), "action_items").cells == [
        ["2026-01", "3", "1"],  # A1 A2 A3 opened; A1 closed
        ["2026-02", "1", "0"],  # A4
        ["2026-03", "3", "1"],  # A5 A6 A7; A2 closed (late)
        ["2026-04", "0", "2"],  # A6, A7 closed
        ["2026-05", "0", "0"],
        ["2026-06", "0", "0"],
    ]


@pytest.mark.django_db
def test_closure_rate_by_due_date(author_client, world):
    assert table(dashboard(author_client), "closure").cells == [
        ["2026-01", "1", "1", "0", "0", "100.0"],  # A1 on time
        ["2026-02", "2", "0", "1", "1", "0.0"],  # A2 late, A3 still open
        ["2026-03", "1", "0", "0", "1", "0.0"],  # A5 still open
        ["2026-04", "0", "0", "0", "0", ""],
        ["2026-05", "1", "1", "0", "0", "100.0"],  # A7 dropped before its date
        ["2026-06", "0", "0", "0", "0", ""],  # A4 is due in July
    ]


@pytest.mark.django_db
def test_overdue_by_team_and_owner_person_or_name(author_client, world):
    assert table(dashboard(author_client), "overdue").cells == [
        ["Payments", "Jane Park", "1", "2026-02-28"],
        ["Payments", "QA Team", "1", "2026-03-20"],
    ]


@pytest.mark.django_db
def test_days_from_resolution_to_published_postmortem(author_client, world):
    assert table(dashboard(author_client), "publish").cells == [
        ["2026-01", "2", "1", "10.0"],  # I1 published 10 days after; I2 not published
        ["2026-02", "0", "0", ""],
        ["2026-03", "1", "0", ""],
        ["2026-04", "0", "0", ""],
        ["2026-05", "0", "0", ""],
        ["2026-06", "0", "0", ""],
    ]


@pytest.mark.django_db
def test_share_approved_within_the_teams_target(author_client, world, team):
    response = dashboard(author_client)
    # I1 approved after 3 days (in time), I2 after 20 (late), I3 not approved 102 days on.
    assert table(response, "approval").cells[:3] == [
        ["2026-01", "2", "2", "1", "50.0"],
        ["2026-02", "0", "0", "0", ""],
        ["2026-03", "1", "1", "0", "0.0"],
    ]
    kpis = {label: value for label, value, _ in response.context["board"].kpis}
    assert kpis == {
        "Incidents": "4",
        "Repeat incidents": "2",
        "Action items overdue": "2",
        "Approved in time": "33.3 %",
    }
    team.approval_target_days = 30
    team.save()
    assert table(dashboard(author_client), "approval").cells[0] == [
        "2026-01",
        "2",
        "2",
        "2",
        "100.0",
    ]


@pytest.mark.django_db
def test_an_approval_still_within_its_target_is_not_counted_yet(author_client, team):
    Incident.objects.create(
        title="Fresh", team=team, status="resolved", started_at=NOW - timedelta(days=3),
        resolved_at=NOW - timedelta(days=2),
    )  # fmt: skip
    assert table(dashboard(author_client), "approval").cells[-1] == ["2026-06", "1", "0", "0", ""]


@pytest.mark.django_db
def test_filters_choose_the_incidents_every_chart_describes(author_client, world):
    response = dashboard(author_client, severity="SEV2")
    assert [row[-1] for row in table(response, "incidents").cells] == ["1", "0", "1", "0", "0", "0"]
    assert table(response, "overdue").cells == [
        ["Payments", "Jane Park", "1", "2026-02-28"],  # A3 of I2
        ["Payments", "QA Team", "1", "2026-03-20"],  # A5 of I3
    ]
    tagged = dashboard(author_client, tag="deploy")
    assert [row[-1] for row in table(tagged, "incidents").cells] == ["1", "0", "0", "0", "0", "1"]
    march = dashboard(author_client, started_from="2026-03-01", started_to="2026-03-31")
    assert table(march, "incidents").cells[0] == ["2026-03", "0", "1", "0", "1"]
    # Items of March incidents, opened in March and closed in April: the months run on.
    assert table(march, "action_items").cells == [["2026-03", "3", "0"], ["2026-04", "0", "2"]]


@pytest.mark.django_db
def test_per_team_and_across_the_users_teams(author_client, author, world, other_team):
    other_team.memberships.create(user=author)  # now the foreign incident is the author's too
    across = dashboard(author_client)
    assert table(across, "incidents").cells[1] == ["2026-02", "1", "0", "0", "1"]
    payments = dashboard(author_client, team=world["i1"].team_id)
    assert table(payments, "incidents").cells[1] == ["2026-02", "0", "0", "0", "0"]


@pytest.mark.django_db
def test_without_dates_the_last_twelve_months_month_by_month(author_client, world):
    with time_machine.travel(NOW, tick=False):
        response = author_client.get(reverse("insights:dashboard"))
    rows = table(response, "incidents").cells
    assert [rows[0][0], rows[-1][0], len(rows)] == ["2025-07", "2026-06", 12]
    assert rows[5] == ["2025-12", "1", "0", "0", "1"]  # I5
    assert 'value="2025-07-01"' in response.content.decode()


class Cells(HTMLParser):
    """The text of each cell of one table, row by row."""

    def __init__(self, table_id):
        super().__init__()
        self.table_id, self.inside, self.rows, self.cell = table_id, False, [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


@pytest.mark.django_db
def test_each_csv_has_exactly_the_numbers_of_its_table(author_client, world):
    page = dashboard(author_client)
    body = page.content.decode()
    keys = list(page.context["board"].charts)
    assert len(keys) == 13
    for key in keys:
        parser = Cells(f"{key}-table")
        parser.feed(body)
        assert parser.rows, key
        with time_machine.travel(NOW, tick=False):
            download = author_client.get(reverse("insights:chart_csv", args=[key]), RANGE)
        assert download["Content-Type"] == "text/csv; charset=utf-8"
        assert f'filename="{key}.csv"' in download["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(download.content.decode())))
        if parser.rows[1:] == [["Nothing for these filters."]]:
            assert rows == [parser.rows[0]], key
        else:
            assert rows == parser.rows, key
        assert (
            f'href="/insights/{key}.csv?started_from=2026-01-01&amp;started_to=2026-06-30"' in body
        )


@pytest.mark.django_db
def test_every_chart_is_an_accessible_svg_with_its_table(author_client, world):
    body = dashboard(author_client).content.decode()
    assert body.count('<svg class="chart"') == 12  # every chart but the list of repeats
    assert body.count('role="img" aria-labelledby="') == 12
    assert '<title id="incidents-svg-title">Incidents per month by severity</title>' in body
    assert body.count('<caption class="visually-hidden">') == 13


@pytest.mark.django_db
def test_the_page_takes_a_fixed_number_of_queries(
    author_client, world, team, django_assert_max_num_queries
):
    with django_assert_max_num_queries(25) as few:
        dashboard(author_client)
    for n in range(30):
        incident = Incident.objects.create(
            title=f"More {n}", team=team, severity="SEV3", started_at=at(2, 1 + n % 27),
            resolved_at=at(2, 1 + n % 27, 5),
        )  # fmt: skip
        IncidentTag.objects.create(incident=incident, name=f"tag-{n}")
        postmortem = Postmortem.objects.create(incident=incident)
        item(postmortem, "More", at(2, 1), due=date(2026, 2, 10))
    with django_assert_max_num_queries(len(few)):
        response = dashboard(author_client)
    assert table(response, "incidents").cells[1] == ["2026-02", "0", "0", "30", "30"]


@pytest.mark.django_db
def test_an_unknown_chart_is_404_and_bad_filters_are_no_500(author_client, world):
    assert author_client.get(reverse("insights:chart_csv", args=["nope"])).status_code == 404
    response = dashboard(author_client, started_from="yesterday", by="year")
    assert response.status_code == 200
    assert "Some filters were not understood" in response.content.decode()


@pytest.mark.django_db
def test_an_outsider_sees_none_of_the_teams_numbers(client, outsider, world):
    client.force_login(outsider)
    response = dashboard(client)
    assert [row[-1] for row in table(response, "incidents").cells] == ["0", "1", "0", "0", "0", "0"]
    assert table(response, "overdue").cells == [["Search", "Ravi Rao", "1", "2026-02-02"]]


@pytest.mark.django_db
def test_an_end_date_alone_shows_the_twelve_months_before_it(author_client, world):
    with time_machine.travel(NOW, tick=False):
        response = author_client.get(reverse("insights:dashboard"), {"started_to": "2026-02-28"})
    rows = table(response, "incidents").cells
    assert [rows[0][0], rows[-1][0], len(rows)] == ["2025-03", "2026-02", 12]
    assert sum(int(row[-1]) for row in rows) == 3  # I5, I1, I2
