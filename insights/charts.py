"""Charts drawn on the server as SVG geometry: no JavaScript, no library, no build step.

A chart here is plain data (rectangles, paths, labels in SVG user units), drawn as markup
by `render`. Text and axes use the page's text colour (currentColor)
and series colours come from CSS variables (--series-1..4), so a chart follows the page's
light or dark colours and prints like the page. Every chart is shown with its numbers in a
table; the SVG is a picture of that table, not the only way to read it.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 720
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 16, 44
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    style: int = 1  # --series-<style>
    dashed: bool = False


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    style: int
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Line:
    d: str
    style: int
    dashed: bool
    title: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    style: int
    title: str


@dataclass(frozen=True)
class GridLine:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass
class Svg:
    width: int = WIDTH
    height: int = HEIGHT
    grid: list[GridLine] = field(default_factory=list)
    axis_labels: list[Label] = field(default_factory=list)
    rects: list[Rect] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    value_labels: list[Label] = field(default_factory=list)
    legend: list[Series] = field(default_factory=list)
    empty: bool = False


def nice_ceiling(value: float) -> float:
    """The axis maximum: 1, 2, 2.5 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover


def fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _y_axis(svg: Svg, top_value: float, unit: str) -> float:
    plot_height = svg.height - TOP - BOTTOM
    ceiling = nice_ceiling(top_value)
    for n in range(5):
        value = ceiling * n / 4
        y = TOP + plot_height - plot_height * n / 4
        svg.grid.append(GridLine(LEFT, y, svg.width - RIGHT, y))
        svg.axis_labels.append(Label(LEFT - 6, y + 4, fmt(value) + unit, "end"))
    return ceiling


def _x_labels(svg: Svg, labels: Sequence[str], band: float) -> None:
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for n, label in enumerate(labels):
        if n % every == 0:
            svg.axis_labels.append(Label(LEFT + band * (n + 0.5), svg.height - BOTTOM + 18, label))


def bars(
    labels: Sequence[str], series: Sequence[Series], stacked: bool = True, unit: str = ""
) -> Svg:
    """Vertical bars per label: stacked (parts of a total) or side by side."""
    svg = Svg(legend=list(series))
    values = [[v or 0 for v in s.values] for s in series]
    totals = [sum(column) for column in zip(*values, strict=True)] if values else []
    top = max(totals if stacked else [v for row in values for v in row], default=0)
    if not labels or top <= 0:
        svg.empty = True
    ceiling = _y_axis(svg, top, unit)
    plot_height = svg.height - TOP - BOTTOM
    band = (svg.width - LEFT - RIGHT) / max(len(labels), 1)
    width = band * 0.7 if stacked else band * 0.8 / max(len(series), 1)
    for n, label in enumerate(labels):
        base: float = TOP + plot_height
        for k, (s, row) in enumerate(zip(series, values, strict=True)):
            value = row[n]
            height = plot_height * value / ceiling
            x = LEFT + band * n + (band * 0.15 if stacked else band * 0.1 + width * k)
            y = base - height if stacked else TOP + plot_height - height
            if value:
                svg.rects.append(
                    Rect(x, y, width, height, s.style, f"{label}: {fmt(value)} {s.name}")
                )
            if stacked:
                base -= height
    _x_labels(svg, labels, band)
    return svg


def lines(labels: Sequence[str], series: Sequence[Series], unit: str = "") -> Svg:
    """A line per series across the labels; a missing value breaks the line."""
    svg = Svg(legend=list(series))
    known = [v for s in series for v in s.values if v is not None]
    if not labels or not known:
        svg.empty = True
    ceiling = _y_axis(svg, max(known, default=0), unit)
    plot_height = svg.height - TOP - BOTTOM
    band = (svg.width - LEFT - RIGHT) / max(len(labels), 1)
    for s in series:
        commands: list[str] = []
        pen_down = False
        for n, value in enumerate(s.values):
            if value is None:
                pen_down = False
                continue
            x = LEFT + band * (n + 0.5)
            y = TOP + plot_height - plot_height * value / ceiling
            commands.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
            pen_down = True
            svg.points.append(Point(x, y, s.style, f"{labels[n]}: {fmt(value)}{unit} {s.name}"))
        if commands:
            svg.lines.append(Line(" ".join(commands), s.style, s.dashed, s.name))
    _x_labels(svg, labels, band)
    return svg


def hbars(labels: Sequence[str], values: Sequence[float], style: int = 1, unit: str = "") -> Svg:
    """One horizontal bar per label, longest first as given, its value at its end."""
    row = 24
    label_width = 190
    svg = Svg(height=int(max(len(labels), 1) * row + TOP + 8))
    top = max(values, default=0)
    svg.empty = not labels or top <= 0
    room = svg.width - label_width - RIGHT - 56
    for n, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = TOP + n * row
        length = room * value / top if top else 0
        short = label if len(label) <= 28 else label[:27] + "…"
        svg.axis_labels.append(Label(label_width - 8, y + 15, short, "end"))
        svg.rects.append(
            Rect(label_width, y + 3, length, row - 8, style, f"{label}: {fmt(value)}{unit}")
        )
        svg.value_labels.append(Label(label_width + length + 6, y + 15, fmt(value) + unit, "start"))
    return svg


def _n(value: float) -> str:
    return f"{value:.1f}"


def render(svg: Svg, key: str, title: str, summary: str) -> SafeString:
    """The SVG markup of a chart, every text escaped. Written here rather than in a template:
    a chart is hundreds of small elements, and a template loop costs ten times as much."""
    e = escape
    parts = [
        f'<svg class="chart" viewBox="0 0 {svg.width} {svg.height}" role="img" '
        f'aria-labelledby="{e(key)}-svg-title {e(key)}-svg-desc" '
        'preserveAspectRatio="xMinYMin meet">',
        f'<title id="{e(key)}-svg-title">{e(title)}</title>',
        f'<desc id="{e(key)}-svg-desc">{e(summary)} The table below has every number.</desc>',
        '<g class="grid">',
        *(
            f'<line x1="{_n(g.x1)}" y1="{_n(g.y1)}" x2="{_n(g.x2)}" y2="{_n(g.y2)}"/>'
            for g in svg.grid
        ),
        '</g><g class="axis">',
        *(
            f'<text x="{_n(t.x)}" y="{_n(t.y)}" text-anchor="{t.anchor}">{e(t.text)}</text>'
            for t in svg.axis_labels
        ),
        '</g><g class="marks">',
        *(
            f'<rect class="series-{r.style}" x="{_n(r.x)}" y="{_n(r.y)}" '
            f'width="{_n(r.width)}" height="{_n(r.height)}"><title>{e(r.title)}</title></rect>'
            for r in svg.rects
        ),
        *(
            f'<path class="line series-{line.style}{" dashed" if line.dashed else ""}" '
            f'd="{e(line.d)}"><title>{e(line.title)}</title></path>'
            for line in svg.lines
        ),
        *(
            f'<circle class="series-{p.style}" cx="{_n(p.x)}" cy="{_n(p.y)}" r="3">'
            f"<title>{e(p.title)}</title></circle>"
            for p in svg.points
        ),
        '</g><g class="values">',
        *(
            f'<text x="{_n(t.x)}" y="{_n(t.y)}" text-anchor="{t.anchor}">{e(t.text)}</text>'
            for t in svg.value_labels
        ),
        "</g>",
    ]
    if svg.empty:
        parts.append(
            f'<text class="empty" x="{svg.width // 2}" y="{svg.height // 2}" '
            'text-anchor="middle">No data for these filters</text>'
        )
    parts.append("</svg>")
    if len(svg.legend) > 1:
        parts.append('<ul class="legend" aria-hidden="true">')
        for s in svg.legend:
            dashed = " dashed" if s.dashed else ""
            parts.append(
                f'<li><svg width="22" height="10" aria-hidden="true"><line '
                f'class="series-{s.style}{dashed}" x1="1" y1="5" x2="21" y2="5"/></svg>'
                f"{e(s.name)}</li>"
            )
        parts.append("</ul>")
    return mark_safe("".join(parts))
