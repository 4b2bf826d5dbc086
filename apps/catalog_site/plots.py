"""The catalog's plots: SVG drawn by leather, wrapped so that a screen reader can read them.

Why leather (https://github.com/wireservice/leather): it writes static SVG and nothing
else (no JavaScript, no fonts or files to fetch), it is pure Python with no dependencies
of its own, and it is already installed and pinned with dbt (agate, dbt's table library,
depends on it). It is also fast enough for a catalog of 200 views x 20 features: a chart
costs about 2 ms here, against about 10 ms for pygal and 45 ms for matplotlib's SVG
backend (measured on this project's machine; see bench/catalog.py).

Two of leather's extension points are used, nothing is drawn by hand:

- a ``Scale`` subclass with the ticks given (``_Axis``): leather's own tick search
  scores hundreds of candidates per chart and was 60% of a chart's time; the ticks here
  are the usual 1-2-5 steps (or round times), chosen once per chart;
- the chart's SVG group (``Chart.to_svg_group``) is placed in our own ``<svg>`` root
  with ``role="img"``, a ``<title>`` and a ``<desc>``: the text alternative. Each plot
  also carries its numbers as rows for a data table under the figure.

Every label that comes from data (category values, feature names) is cleaned of what no
XML document may hold and shortened; ElementTree escapes the rest.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import unicodedata
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
SMALL_WIDTH, SMALL_HEIGHT = 420, 220
# Okabe and Ito's palette: told apart with every common colour-vision deficiency.
TRAINING, SERVING, THRESHOLD = "#0072B2", "#E69F00", "#D55E00"
LINES = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#000000")
TRAINING_FILL, SERVING_FILL = "rgba(0,114,178,0.55)", "rgba(230,159,0,0.55)"
LABEL_CHARS = 22

THEME = {
    "background_color": "#ffffff", "margin": 0.02,
    "title_font_family": "system-ui, sans-serif", "legend_font_family": "system-ui, sans-serif",
    "axis_title_font_family": "system-ui, sans-serif",
    "tick_font_family": "system-ui, sans-serif", "title_font_size": 13,
    "title_font_char_height": 13, "title_font_char_width": 7, "legend_font_size": 12,
    "legend_font_char_height": 12, "legend_font_char_width": 6.5, "tick_font_size": 11,
    "tick_font_char_height": 11, "tick_font_char_width": 6.5, "axis_title_font_size": 11,
    "axis_title_font_char_height": 11, "axis_title_font_char_width": 6.5,
    "axis_title_gap": 10, "label_color": "#444", "legend_color": "#222",
    "axis_title_color": "#444", "tick_color": "#ddd", "zero_color": "#888",
}


@dataclass
class Plot:
    """One figure: its SVG (with ``<title>`` and ``<desc>``), and the same facts as text."""

    svg: str
    title: str
    summary: str
    header: tuple[str, ...] = ()
    rows: list[tuple] = field(default_factory=list)
    plain_rows: bool = False  # rows are times and numbers this module formatted

    @property
    def table_body(self) -> Markup:
        """The data table's rows as HTML, every cell escaped: built here in one join, as a
        template loop over a year of points costs more than drawing the chart."""
        from html import escape

        from markupsafe import Markup

        if self.plain_rows:
            return Markup("\n".join(
                "<tr><th scope=\"row\">" + row[0] + "</th><td>" + "</td><td>".join(row[1:])
                + "</td></tr>" for row in self.rows))
        return Markup("\n".join(
            "<tr><th scope=\"row\">" + escape(str(row[0])) + "</th>"
            + "".join("<td>" + escape(str(cell)) + "</td>" for cell in row[1:]) + "</tr>"
            for row in self.rows))


@dataclass
class Series:
    """A line over time: ``times`` (naive UTC) and ``values`` of equal length."""

    name: str
    times: list[dt.datetime]
    values: list[float | None]


def clean_label(text: object, limit: int = LABEL_CHARS) -> str:
    """``text`` as a label: control characters, surrogates and other code points no XML
    document may hold become U+FFFD, and a long label ends in an ellipsis."""
    cleaned = "".join(
        "\ufffd" if unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp") else c
        for c in str(text))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "\u2026"


@contextlib.contextmanager
def _theme():
    """leather's style lives in module globals: set ours for one chart, then put them back,
    so nothing else in the process (agate) draws in our style."""
    from leather import theme

    saved = {name: getattr(theme, name) for name in THEME}
    for name, value in THEME.items():
        setattr(theme, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(theme, name, value)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 times a power of ten) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = [first]
    while ticks[-1] < high - step * 1e-9:
        ticks.append(first + step * len(ticks))
    return [round(t, 12) for t in ticks]


_TIME_STEPS = [1, 5, 15, 60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400,
               2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400]
_EPOCH = dt.datetime(1970, 1, 1)


def _seconds(moment: dt.datetime) -> float:
    return (moment - _EPOCH).total_seconds()


def time_ticks(start: dt.datetime, end: dt.datetime, count: int = 5) -> list[float]:
    """Epoch seconds of round moments (whole minutes, hours, days, weeks) across the span."""
    low, high = _seconds(start), _seconds(end)
    span = max(high - low, 1.0)
    step = next((s for s in _TIME_STEPS if span / s <= count), _TIME_STEPS[-1])
    first = math.ceil(low / step) * step
    ticks = [first + i * step for i in range(int((high - first) // step) + 1)]
    return ticks or [low]


def time_format(ticks: list[float]):
    """A tick formatter naming dates; times of day when the span is under two days, with
    seconds under ten minutes."""
    span = (ticks[-1] - ticks[0]) if len(ticks) > 1 else 0
    pattern = ("%H:%M:%S" if span < 600 else "%m-%d %H:%M" if span < 2 * 86400
               else "%Y-%m-%d")
    return lambda value, index, count: (_EPOCH + dt.timedelta(seconds=float(value))).strftime(
        pattern)


def _axis_scale(ticks: list[float]):
    """A leather Linear scale over exactly ``ticks``, projected with floats."""
    from leather.scales.linear import Linear

    class _Ticker:
        def __init__(self, values):
            self.ticks = values
            self.min, self.max = values[0], values[-1]
            if self.max == self.min:
                self.max = self.min + 1

    class _Axis(Linear):
        def __init__(self, values):  # noqa: D107 - no tick search: the ticks are given
            self._ticker = _Ticker(values)
            self._data_min, self._data_max = self._ticker.min, self._ticker.max

        def contains(self, v):  # ticks are rounded to 12 places: allow for that much
            slack = (self._data_max - self._data_min) * 1e-9
            return self._data_min - slack <= v <= self._data_max + slack

        def project(self, value, range_min, range_max):
            position = (float(value) - self._ticker.min) / (self._ticker.max - self._ticker.min)
            return round((range_max - range_min) * position + range_min, 2)

        def format_tick(self, value, i, count):
            return format_number(value)

    return _Axis(ticks)


def _ordinal_scale(labels: list[str]):
    """leather's Ordinal scale over ``labels``, projected with floats (its own Decimal
    arithmetic writes 28-digit coordinates into the SVG)."""
    from leather.scales.ordinal import Ordinal

    class _Ordinal(Ordinal):
        def project(self, value, range_min, range_max):
            size = (range_max - range_min) / len(self._domain)
            return round(range_min + self._domain.index(value) * size + size / 2, 2)

        def project_interval(self, value, range_min, range_max):
            size = (range_max - range_min) / len(self._domain)
            start = range_min + self._domain.index(value) * size
            return round(start + size / 20, 2), round(start + size - size / 20, 2)

    return _Ordinal(labels)


def format_number(value: float) -> str:
    """A tick or table number: short, without float noise (0.30000000000000004)."""
    value = float(value)
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    if magnitude >= 1:
        return f"{value:.4g}"
    return f"{value:.3g}"


def _render(chart, plot_id: str, title: str, summary: str, width: int, height: int) -> str:
    """The chart inside an accessible ``<svg>`` root (title and desc, role img)."""
    with _theme():
        group = chart.to_svg_group(width, height)
    root = ET.Element("svg", {
        "xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {width} {height}",
        "width": str(width), "height": str(height), "role": "img", "class": "plot",
        "aria-labelledby": f"{plot_id}-title {plot_id}-desc", "focusable": "false"})
    ET.SubElement(root, "title", {"id": f"{plot_id}-title"}).text = clean_label(title, 300)
    ET.SubElement(root, "desc", {"id": f"{plot_id}-desc"}).text = clean_label(summary, 2000)
    root.append(group)
    out: list[str] = []
    _serialize(root, out)
    return "".join(out)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(value: str) -> str:
    return (_escape_text(value).replace('"', "&quot;").replace("\n", "&#10;")
            .replace("\r", "&#13;").replace("\t", "&#09;"))


def _serialize(element, out: list[str]) -> None:
    """ElementTree's serialization for the plain elements leather writes (no namespaces,
    comments or processing instructions): the same escaping as ``ET.tostring``, in a
    quarter of the time (its namespace pass over every element cost more than drawing)."""
    out.append("<" + element.tag)
    for name, value in element.attrib.items():
        out.append(f' {name}="{_escape_attribute(str(value))}"')
    if element.text is None and not len(element):
        out.append(" />")
    else:
        out.append(">")
        if element.text:
            out.append(_escape_text(element.text))
        for child in element:
            _serialize(child, out)
        out.append(f"</{element.tag}>")
    if element.tail:
        out.append(_escape_text(element.tail))


def time_series(plot_id: str, title: str, series: list[Series], *, unit: str = "",
                threshold: float | None = None, threshold_name: str = "threshold",
                summary: str = "") -> Plot:
    """Lines over time (at most a few), with a dashed threshold across the whole span."""
    import leather

    series = [s for s in series if any(v is not None and math.isfinite(v) for v in s.values)]
    if not series:
        raise ValueError(f"{title}: no finite value to plot")
    points = [(t, v) for s in series for t, v in zip(s.times, s.values, strict=True)
              if v is not None and math.isfinite(v)]
    times = [t for s in series for t in s.times]
    start, end = min(times), max(times)
    if start == end:
        start, end = start - dt.timedelta(minutes=30), end + dt.timedelta(minutes=30)
    x_ticks = time_ticks(start, end)
    low_x, high_x = _seconds(start), _seconds(end)
    values = [v for _, v in points] + ([threshold] if threshold is not None else [])
    y_ticks = nice_ticks(min([0.0, *values]), max([*values, 0.0]) or 1.0)

    chart = leather.Chart()
    chart.set_x_scale(_axis_scale([low_x, high_x]))
    chart.set_y_scale(_axis_scale(y_ticks))
    chart.add_x_axis(ticks=[t for t in x_ticks if low_x <= t <= high_x],
                     tick_formatter=time_format(x_ticks))
    chart.add_y_axis(ticks=y_ticks, name=unit or None)
    for index, line in enumerate(series):
        data = [(_seconds(t), v if v is not None and math.isfinite(v) else None)
                for t, v in zip(line.times, line.values, strict=True)]
        if len(data) == 1:
            chart.add_dots(data, name=clean_label(line.name, 40),
                           fill_color=LINES[index % len(LINES)], radius=4)
        else:
            chart.add_line(data, name=clean_label(line.name, 40),
                           stroke_color=LINES[index % len(LINES)], width=2)
    if threshold is not None:
        chart.add_line([(low_x, threshold), (high_x, threshold)],
                       name=clean_label(threshold_name, 40), stroke_color=THRESHOLD,
                       width=1.5, stroke_dasharray="6 4")
    header = ("time (UTC)", *(clean_label(s.name, 60) for s in series))
    by_time: dict[dt.datetime, list] = {}
    for index, line in enumerate(series):
        for t, v in zip(line.times, line.values, strict=True):
            by_time.setdefault(t, [None] * len(series))[index] = v
    rows = [(t.isoformat(" ", "seconds"),
             *("" if v is None else format_number(v) for v in row))
            for t, row in sorted(by_time.items())]
    return Plot(_render(chart, plot_id, title, summary, WIDTH, HEIGHT), title, summary,
                header, rows, plain_rows=True)


def histogram(plot_id: str, title: str, labels: list[str], training: list[float] | None,
              serving: list[float] | None, *, summary: str = "",
              ranges: list[str] | None = None) -> Plot:
    """Shares of values per bin, training and serving overlaid (translucent columns)."""
    import leather

    labels = _unique([clean_label(label, 12) for label in labels])
    shares = [s for s in (training, serving) if s is not None]
    chart = leather.Chart(_only_one(training, serving))
    y_ticks = nice_ticks(0.0, max(max(s) for s in shares) or 1.0, 4)
    chart.set_y_scale(_axis_scale(y_ticks))
    chart.add_y_axis(ticks=y_ticks, tick_formatter=lambda v, i, c: f"{float(v):.0%}"
                     if float(v) >= 0.1 or float(v) == 0 else f"{float(v):.1%}")
    if training is not None:
        chart.add_columns(list(zip(labels, training, strict=True)), name="training",
                          fill_color=TRAINING_FILL)
    if serving is not None:
        chart.add_columns(list(zip(labels, serving, strict=True)), name="serving",
                          fill_color=SERVING_FILL)
    header = ("bin", "training", "serving")
    rows = [((ranges or labels)[i],
             "" if training is None else f"{training[i]:.1%}",
             "" if serving is None else f"{serving[i]:.1%}") for i in range(len(labels))]
    return Plot(_render(chart, plot_id, title, summary, SMALL_WIDTH, SMALL_HEIGHT), title,
                summary, header, rows)


def top_values(plot_id: str, title: str, labels: list[str], training: list[float] | None,
               serving: list[float] | None, *, summary: str = "") -> Plot:
    """Shares of the most frequent values, as horizontal bars, training and serving."""
    import leather

    full = [clean_label(label, 200) for label in labels]
    labels = _unique([clean_label(label) for label in labels])
    shares = [s for s in (training, serving) if s is not None]
    x_ticks = nice_ticks(0.0, max(max(s) for s in shares) or 1.0, 4)
    chart = leather.Chart(_only_one(training, serving))
    chart.set_x_scale(_axis_scale(x_ticks))
    chart.set_y_scale(_ordinal_scale(list(reversed(labels))))
    chart.add_x_axis(ticks=x_ticks, tick_formatter=lambda v, i, c: f"{float(v):.0%}")
    if training is not None:
        chart.add_bars(list(zip(training, labels, strict=True)), name="training",
                       fill_color=TRAINING_FILL)
    if serving is not None:
        chart.add_bars(list(zip(serving, labels, strict=True)), name="serving",
                       fill_color=SERVING_FILL)
    height = max(SMALL_HEIGHT, 60 + 22 * len(labels))
    header = ("value", "training", "serving")
    rows = [(full[i], "" if training is None else f"{training[i]:.1%}",
             "" if serving is None else f"{serving[i]:.1%}") for i in range(len(labels))]
    return Plot(_render(chart, plot_id, title, summary, SMALL_WIDTH, height), title, summary,
                header, rows)


def _only_one(training, serving) -> str | None:
    """A chart of one side has no legend in leather: its title says which side it is."""
    if training is None:
        return "serving"
    return "training" if serving is None else None


def _unique(labels: list[str]) -> list[str]:
    """Labels made distinct (an ordinal scale merges equal ones): a suffix on repeats,
    as two long values cut to the same prefix would otherwise be one bar."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        count = seen.get(label, 0)
        seen[label] = count + 1
        out.append(label if not count else f"{label} ({count + 1})")
    return out
