"""Pure pieces: the words indexed from Markdown, and chart geometry."""

from hypothesis import given
from hypothesis import strategies as st

from insights.charts import Series, bars, hbars, lines, nice_ceiling
from insights.indexing import plain_text
from insights.search import START, STOP, marked, snippet_around, words_of


def test_plain_text_keeps_the_words_and_drops_the_marks():
    markdown = (
        "## Root cause\n\n"
        "The **retry loop** kept `conn` open; see [the runbook](https://x.example/rb).\n\n"
        "| Time | Event |\n|------|-------|\n| 14:02 | Paged *Jane* |\n\n"
        "- [x] Added an alert\n1. First\n> quoted\n"
        "```python\nconn.close()\n```\n![graph](g.png)"
    )
    assert plain_text(markdown) == (
        "Root cause\n"
        "The retry loop kept conn open; see the runbook.\n"
        "Time Event\n"
        "14:02 Paged Jane\n"
        "Added an alert\n"
        "First\n"
        "quoted\n"
        "conn.close()\n"
        "graph"
    )
    assert plain_text("snake_case_name stays") == "snake_case_name stays"
    assert plain_text(None) == ""


@given(st.text())
def test_plain_text_never_carries_the_snippet_markers(text):
    assert START not in plain_text(text) and STOP not in plain_text(text)


@given(st.lists(st.from_regex(r"[a-z]{3,10}", fullmatch=True), min_size=1, max_size=8))
def test_plain_words_survive(words):
    assert plain_text(" ".join(words)) == " ".join(words)


def test_snippets_escape_the_text_and_mark_the_words():
    assert marked(f"a <b> {START}leak{STOP} & c") == "a &lt;b&gt; <mark>leak</mark> &amp; c"
    snippet = snippet_around("x " * 200 + "the Leak <here>", ["leak"])
    assert "<mark>Leak</mark> &lt;here&gt;" in snippet
    assert snippet.startswith("…")
    assert words_of('"connection pool" or -redis') == ["connection", "pool", "redis"]


def test_axis_maxima_are_round_numbers():
    assert [nice_ceiling(v) for v in (0, 0.7, 1, 3, 7, 12, 180, 999)] == [
        1, 1, 1, 5, 10, 20, 200, 1000,
    ]  # fmt: skip


def test_stacked_bars_are_as_tall_as_their_total():
    svg = bars(["Jan", "Feb"], [Series("a", [1, 0], 1), Series("b", [3, 2], 2)], stacked=True)
    jan = [r for r in svg.rects if r.title.startswith("Jan")]
    feb = [r for r in svg.rects if r.title.startswith("Feb")]
    assert len(svg.rects) == 3  # no rectangle for a zero
    assert sum(r.height for r in jan) == 2 * sum(r.height for r in feb)  # 4 against 2
    assert jan[0].title == "Jan: 1 a"
    assert not svg.empty


def test_a_line_breaks_where_a_value_is_missing():
    svg = lines(["1", "2", "3", "4"], [Series("m", [1.0, None, 2.0, 3.0], 1)])
    assert svg.lines[0].d.count("M") == 2  # two runs: [1] and [3, 4]
    assert len(svg.points) == 3


def test_empty_charts_say_so():
    assert bars([], []).empty
    assert lines(["a"], [Series("m", [None], 1)]).empty
    assert hbars([], []).empty


def test_horizontal_bars_scale_to_the_longest():
    svg = hbars(["a very long service name that goes on", "b"], [10, 5])
    assert svg.rects[0].width == 2 * svg.rects[1].width
    assert svg.axis_labels[0].text.endswith("…")
    assert svg.value_labels[1].text == "5"
