"""The report's charts: matplotlib figures returned as inline SVG text.

Every function returns a string starting with ``<svg`` (no XML prolog, no doctype) that the
HTML template inlines and WeasyPrint renders. Text is drawn as paths (``svg.fonttype =
"path"``), so the PDF never depends on the fonts installed where it is rendered, and the
output is deterministic: a fixed ``svg.hashsalt`` and no date in the metadata give
byte-identical SVG for the same input.

A chart is drawn once per change of what it shows: inside :func:`cached_in` (the draft and
the signed report render so, with a folder per contract year) each public chart function
first looks for the SVG it drew before from equal inputs and the same chart code
(:func:`chart_code`), and draws and keeps it only where there is none (:class:`ChartCache`).

Only the object-oriented API is used (:class:`~matplotlib.figure.Figure` with the SVG
canvas); importing this module never imports ``matplotlib.pyplot`` and never touches
matplotlib's global state outside an ``rc_context``.

All text a reader sees is Danish, numbers are formatted with
:func:`resultatrapport.report.danish.number` (decimal comma, ``.`` between thousands).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import json
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import Formatter, MaxNLocator

from resultatrapport.report.danish import DASH, number
from resultatrapport.report.rounding import UNIT_DECIMALS, decimals_for, own_decimals
from resultatrapport.version import code_identity
from resultatrapport.vocabulary import OPERATOR_SIGN

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

CM = 1 / 2.54  # inches per centimetre
WIDTH_CM = 16.0  # the content width of an A4 portrait page
HEIGHT_CM = 7.0
BAR_CM = 0.45  # height per municipality in the horizontal bar chart
# the plot area of a 16 x 7 cm figure, roughly: for fitting value labels into their bars
AXES_WIDTH_PT = 13.8 * CM * 72
AXES_HEIGHT_PT = 4.0 * CM * 72
HALF_BAR = 0.28  # half the width of a year's bar (one year is 1 on the x axis)

RESULT_BLUE = "#1f4e79"
TARGET_RED = "#a61c1c"
PATH_GREY = "#7f7f7f"
BAND_GREEN = "#d9f0d3"
OUTSIDE_RED = "#c0392b"
DETRACTOR_RED = "#c0392b"
PASSIVE_GREY = "#95a5a6"
PROMOTER_GREEN = "#27ae60"
TEXT_GREY = "#555555"
WITHHELD_GREY = "#9a9a9a"  # the hatching of a figure withheld for confidentiality


_STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",  # bundled with matplotlib: the same glyphs everywhere
    "svg.fonttype": "none",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8,
    "axes.labelcolor": "#333333",
    "axes.edgecolor": "#888888",
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "axes.grid": True,
    "grid.color": "#e3e3e3",
    "grid.linewidth": 0.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.color": "#555555",
    "ytick.color": "#555555",
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.hashsalt": "resultatrapport",
}


# --- drawn once per change of what a chart shows ------------------------------------------

P = ParamSpec("P")


@functools.cache
def chart_code() -> str:
    """The code that draws a chart: the project's code identity (every file of the library
    and the templates, :func:`resultatrapport.version.code_identity`, which a drawn draft
    is kept by too) and matplotlib's version (its fonts and SVG writer come with it)."""
    return f"{code_identity()} matplotlib {matplotlib.__version__}"


def _plain(value: Any) -> Any:
    """A chart's argument as JSON can hold it (a :class:`Bar` as its fields)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {type(value).__name__: dataclasses.asdict(value)}
    return repr(value)


def chart_key(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """What a chart of ``name`` drawn from ``args`` and ``kwargs`` shows, as one hash: its
    inputs and :func:`chart_code`."""
    text = json.dumps([name, list(args), dict(kwargs), chart_code()], sort_keys=True,
                      ensure_ascii=False, default=_plain)  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()


class ChartCache:
    """The charts drawn into ``folder``, one SVG file each, named by :func:`chart_key`: a
    chart asked for again with equal inputs is read from its file, not drawn. ``drawn`` and
    ``reused`` count what it did; :meth:`prune` removes the files no chart asked for since
    the cache was opened (the charts of data that changed since)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.drawn = 0
        self.reused = 0
        self.used: set[str] = set()

    def svg(self, key: str, draw: Callable[[], str]) -> str:
        path = self.folder / f"{key}.svg"
        self.used.add(path.name)
        try:
            kept = path.read_text("utf-8")
        except (OSError, UnicodeError):
            kept = ""
        if kept.startswith("<svg") and kept.rstrip().endswith("</svg>"):  # whole
            self.reused += 1
            return kept
        text = draw()
        self.drawn += 1
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:  # whole or not at all; a cache that cannot be written only costs a drawing
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, "utf-8")
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
        return text

    def prune(self) -> None:
        """Remove every file of the folder that no chart asked for since it was opened."""
        try:
            found = list(self.folder.iterdir())
        except OSError:
            return
        for path in found:
            if path.name not in self.used:
                path.unlink(missing_ok=True)


_CACHE: ContextVar[ChartCache | None] = ContextVar("chart_cache", default=None)


@contextmanager
def cached_in(folder: Path) -> Iterator[ChartCache]:
    """Within it, each chart is drawn once per change of what it shows, kept in ``folder``."""
    cache = ChartCache(folder)
    token = _CACHE.set(cache)
    try:
        yield cache
    finally:
        _CACHE.reset(token)


def _cached(draw: Callable[P, str]) -> Callable[P, str]:
    """The chart function ``draw``, reading what it drew before from the open cache."""

    @functools.wraps(draw)
    def chart(*args: P.args, **kwargs: P.kwargs) -> str:
        cache = _CACHE.get()
        if cache is None:
            return draw(*args, **kwargs)
        key = chart_key(draw.__name__, args, kwargs)
        return cache.svg(key, lambda: draw(*args, **kwargs))

    return chart


class DanishFormatter(Formatter):
    """Tick labels in Danish: the fewest decimals that show every tick exactly."""

    def __init__(self, signed: bool = False) -> None:
        self.signed = signed
        self.decimals = 0

    def set_locs(self, locs: Any) -> None:
        super().set_locs(locs)
        self.decimals = _tick_decimals(list(locs))

    def __call__(self, x: float, pos: int | None = None) -> str:
        return _signed(x, self.decimals) if self.signed else _fmt(x, self.decimals)


def _tick_decimals(locs: Sequence[float]) -> int:
    for decimals in range(5):
        if all(abs(round(v, decimals) - v) <= 1e-9 * max(1.0, abs(v)) for v in locs):
            return decimals
    return 4


def _fmt(value: float, decimals: int) -> str:
    """Danish number; a value that rounds to zero is printed as 0, never -0."""
    if abs(value) < 0.5 * 10**-decimals:
        value = 0.0
    return number(value, decimals)


def _signed(value: float, decimals: int) -> str:
    text = _fmt(value, decimals)
    return "+" + text if value > 0 and text.strip("0,") else text


def _clean(value: float | None) -> float | None:
    """None for a missing value (None or NaN), else the value as a float."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _value_decimals(values: Sequence[float], unit: str | None = None) -> int:
    if unit in UNIT_DECIMALS:
        return UNIT_DECIMALS[unit]
    if all(float(v).is_integer() for v in values):
        return 0
    largest = max((abs(v) for v in values), default=0.0)
    return 0 if largest >= 100 else 1 if largest >= 10 else 2


@contextmanager
def _style() -> Iterator[None]:
    with matplotlib.rc_context(_STYLE):
        yield


def _figure(height_cm: float = HEIGHT_CM) -> Figure:
    layout = ConstrainedLayoutEngine(w_pad=0.2 * CM, h_pad=0.2 * CM)  # 2 mm round the edge
    fig = Figure(figsize=(WIDTH_CM * CM, height_cm * CM), layout=layout)
    FigureCanvasSVG(fig)
    return fig


def _to_svg(fig: Figure, alt: str) -> str:
    """The figure as SVG text without the XML prolog and doctype (call inside ``_style``),
    ``alt`` its text alternative: the SVG's <title>, which WeasyPrint writes as the /Alt of
    the chart's Figure in the tagged PDF (what a screen reader reads instead of the chart)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue().decode("utf-8")
    text = text[text.index("<svg") :]
    start = text.index(">") + 1  # the end of the <svg ...> tag
    return f"{text[:start]}\n<title>{escape(alt)}</title>{text[start:]}"


def _sentence(title: str, *parts: str) -> str:
    """A chart's text alternative: its title and what it shows, as sentences."""
    return " ".join(f"{p.rstrip('.')}." for p in (title, *parts) if p)


def _no_data(title: str) -> str:
    """A small figure saying there is nothing to show."""
    with _style():
        fig = _figure(height_cm=2.5)
        ax = fig.add_subplot()
        ax.set_axis_off()
        if title:
            ax.set_title(title)
        ax.text(0.5, 0.45, "Ingen data", ha="center", va="center", color=TEXT_GREY, style="italic")
        return _to_svg(fig, _sentence(title, "Ingen data"))


def _check_lengths(what: str, expected: int, **columns: Sequence[Any] | None) -> None:
    for name, column in columns.items():
        if column is not None and len(column) != expected:
            raise ValueError(f"{what}: {name} has {len(column)} entries, expected {expected}")


def _under_year(ax: Any, x: float, row: int, text: str, colour: str) -> None:
    """Text on a row under a year's tick label (row 0 first), clear of everything drawn."""
    ax.annotate(
        text,
        xy=(x, 0),
        xycoords=("data", "axes fraction"),
        xytext=(0, -16 - 10 * row),
        textcoords="offset points",
        ha="center",
        va="top",
        fontsize=7.5,
        color=colour,
        annotation_clip=False,
    )


@_cached
def kpi_over_years(
    years: list[int],
    values: list[float | None],
    targets: list[float | None],
    operator_by_year: list[str | None],
    path: list[float | None],
    unit: str,
    title: str,
    *,
    low: list[float | None] | None = None,
    high: list[float | None] | None = None,
    decimals: int | None = None,
    withheld: list[bool] | None = None,
    report_year: int | None = None,
    height_cm: float = HEIGHT_CM,
) -> str:
    """A KPI's result per contract year as bars, with the year's target and the path.

    A missing value draws no bar but a small "ikke målbar" at the base (the table beside the
    chart says why) ("endnu ikke opgjort"
    for a year after ``report_year``); a value withheld for
    confidentiality (``withheld`` true for its year) "– diskretioneret" instead, never a 0. A target is a short
    dark red dashed marker over its year; under the year it is spelt out with its operator
    ("Mål ≥ 550", or "Intet mål" for a year without one). The path (the straight line
    towards a later target) is a grey dotted line with markers, labelled as not being a
    target and spelt out under its year ("Sti 458"). ``low``/``high`` draw an interval where both are given for a
    measured year. ``decimals`` overrides the decimals of the value labels (default: by
    unit as the tables print them). When a figure reaches a million, everything is shown
    in millions on a "Mio. kr." (or "<Unit> (mio.)") axis. Every list has one entry per
    year; a list of another length is a ValueError. ``height_cm``: the figure's height.
    """
    if not years:
        return _no_data(title)
    n = len(years)
    _check_lengths(
        "kpi_over_years",
        n,
        values=values,
        targets=targets,
        operator_by_year=operator_by_year,
        path=path,
        low=low,
        high=high,
        withheld=withheld,
    )
    vals = [_clean(v) for v in values]
    hidden = withheld if withheld is not None else [False] * n
    columns: tuple[_Column, ...] = (
        vals,
        [_clean(t) for t in targets],
        [_clean(p) for p in path],
        [_clean(v) for v in low] if low is not None else [None] * n,
        [_clean(v) for v in high] if high is not None else [None] * n,
    )
    (vals, tgts, paths, lows, highs), shown, axis_label, decimals = _scaled(columns, unit, decimals)

    with _style():
        fig = _figure(height_cm)
        ax = fig.add_subplot()
        ax.grid(axis="x", visible=False)
        xs = list(range(n))
        handles: list[Any] = []
        _draw_bars(ax, xs, vals, handles)
        _draw_intervals(ax, xs, vals, lows, highs, handles)
        has_targets = _draw_targets(ax, xs, tgts, operator_by_year, decimals, handles)
        _draw_path(ax, xs, paths, decimals, 1 if has_targets else 0, handles)

        bottom, top = value_limits(shown, [t for t in tgts if t is not None])
        ax.set_ylim(bottom, top)
        ax.axhline(0, color="#888888", linewidth=0.6, zorder=2)

        x_margin = 0.6 if n > 1 else 1.1  # a single year gets a bar of ordinary width
        missing = [
            f"{DASH} diskretioneret"
            if hidden[x]
            else "endnu ikke opgjort"
            if report_year is not None and years[x] > report_year
            else "ikke målbar"
            for x in xs
        ]
        for x, v in zip(xs, vals, strict=True):
            if v is None:
                _missing_label(ax, x, missing[x])
            else:
                # as the tables print it: more decimals where fewer would read as the
                # other status against the year's target
                shown_decimals = decimals_for(v, tgts[x], operator_by_year[x], decimals)
                _value_label(ax, x, v, _fmt(v, shown_decimals), n, x_margin)

        ax.set_xlim(-x_margin, n - 1 + x_margin)
        ax.set_xticks(xs, [str(y) for y in years])
        ax.tick_params(axis="x", length=0)
        ax.yaxis.set_major_locator(value_ticks())
        ax.yaxis.set_major_formatter(DanishFormatter())
        ax.set_ylabel(axis_label)
        if title:
            ax.set_title(title)
        if handles:
            fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        # the unit as the figures are given: the KPI's, or the axis's in millions
        shown_unit = unit if axis_label == unit[:1].upper() + unit[1:] else axis_label
        alt = _over_years_alt(
            years, vals, tgts, operator_by_year, paths, lows, highs, missing, shown_unit, decimals
        )
        return _to_svg(fig, _sentence(title, alt))


_Column = list[float | None]


def _over_years_alt(
    years: list[int],
    vals: _Column,
    tgts: _Column,
    operators: list[str | None],
    paths: _Column,
    lows: _Column,
    highs: _Column,
    missing: list[str],
    unit: str,
    decimals: int,
) -> str:
    """What ``kpi_over_years`` draws, in words, from the same (scaled, rounded) figures as the
    bars and labels: each year's result (its interval, its path), and the target, once when every
    year has the same one, else with each year ("intet mål" for a year without one)."""

    def fmt(v: float) -> str:
        return _fmt(v, decimals)

    targets = [
        f"mål {OPERATOR_SIGN.get(op or '', op or '')} {fmt(t)}".replace("  ", " ")
        if t is not None
        else "intet mål"
        for t, op in zip(tgts, operators, strict=True)
    ]
    one_target = len(set(targets)) == 1 and tgts[0] is not None
    any_target = any(t is not None for t in tgts)  # none: the chart draws no target either
    shown = []
    for x, year in enumerate(years):
        v, low, high, path = vals[x], lows[x], highs[x], paths[x]
        if v is None:
            text = f"{year}: {missing[x]}"
        else:  # with the decimals of its label on the chart
            text = f"{year}: {_fmt(v, decimals_for(v, tgts[x], operators[x], decimals))}"
        notes = []
        if v is not None and low is not None and high is not None:
            notes.append(f"usikkerhedsinterval {fmt(low)} til {fmt(high)}")
        if any_target and not one_target:
            notes.append(targets[x])
        if path is not None:
            notes.append(f"sti {fmt(path)}")
        shown.append(f"{text} ({', '.join(notes)})" if notes else text)
    if one_target:
        shown.append(f"{targets[0]} i alle år" if len(years) > 1 else targets[0])
    return f"Resultat pr. år ({unit}): " + "; ".join(shown)


def value_ticks() -> MaxNLocator:
    """The ticks of a KPI chart's value axis."""
    return MaxNLocator(nbins=5, min_n_ticks=3)


def value_limits(shown: list[float], targets: list[float]) -> tuple[float, float]:
    """The value axis: always zero, every figure and target with head room for the labels
    over the bars, up to the next tick above the highest (so a target line is never above
    the axis's last labelled value), and below a target on the axis's lowest value a margin,
    so its dashed line is not hidden in the axis line (a target of 0)."""
    lowest = min([0.0, *shown, *targets])
    highest = max([0.0, *shown, *targets])
    span = (highest - lowest) or 1.0
    bottom = lowest - (0.08 * span if lowest < 0 else 0)
    if any(t <= bottom + 0.02 * span for t in targets):
        bottom -= 0.06 * span
    top = highest + 0.12 * span
    for _ in range(3):  # the top up to the axis's own next tick at or above the highest
        ticks = [t for t in value_ticks().tick_values(bottom, top) if t >= highest]
        if not ticks or ticks[0] <= top:
            break
        top = float(ticks[0])
    return bottom, top


def _scaled(
    columns: tuple[_Column, ...], unit: str, decimals: int | None
) -> tuple[tuple[_Column, ...], list[float], str, int]:
    """The columns, every figure shown, the axis label and the decimals of the labels: in
    millions when a figure reaches a million (millions of kroner read better as "44,8" on a
    "Mio. kr." axis than as 44.815.000), with one decimal unless ``decimals`` says."""
    axis_label = unit[:1].upper() + unit[1:]
    shown = [v for column in columns for v in column if v is not None]
    if max((abs(v) for v in shown), default=0.0) >= 1_000_000:
        columns = tuple(
            [None if v is None else v / 1_000_000 for v in column] for column in columns
        )
        shown = [v / 1_000_000 for v in shown]
        axis_label = "Mio. kr." if unit == "kr." else f"{axis_label} (mio.)"
        decimals = 1 if decimals is None else decimals
    if decimals is None:
        decimals = _value_decimals(shown, unit)
    return columns, shown, axis_label, decimals


def _draw_bars(ax: Any, xs: list[int], vals: _Column, handles: list[Any]) -> None:
    bar_x = [x for x, v in zip(xs, vals, strict=True) if v is not None]
    bar_v = [v for v in vals if v is not None]
    if bar_x:
        ax.bar(bar_x, bar_v, width=2 * HALF_BAR, color=RESULT_BLUE, zorder=2)
        handles.append(Patch(color=RESULT_BLUE, label="Resultat"))


def _error_bars(
    ax: Any,
    rows: list[tuple[int, float, float, float]],
    handles: list[Any],
    *,
    across: bool,
    capsize: float,
) -> None:
    """The 95 % intervals of ``rows`` (position, value, low, high) as error bars, upright over
    the years' bars or ``across`` the hubs' horizontal bars, with their legend entry."""
    if not rows:
        return
    at = [r[0] for r in rows]
    values = [r[1] for r in rows]
    spread = [
        [max(0.0, v - lo) for _, v, lo, _ in rows],
        [max(0.0, hi - v) for _, v, _, hi in rows],
    ]
    bars = {"xerr": spread} if across else {"yerr": spread}
    ax.errorbar(
        *((values, at) if across else (at, values)),
        **bars,
        fmt="none",
        ecolor="#333333",
        elinewidth=0.9,
        capsize=capsize,
        capthick=0.9,
        zorder=4,
    )
    handles.append(Line2D([], [], color="#333333", linewidth=0.9, label="Usikkerhedsinterval"))


def _draw_intervals(
    ax: Any, xs: list[int], vals: _Column, lows: _Column, highs: _Column, handles: list[Any]
) -> None:
    """An interval where both ends are given for a measured year."""
    intervals = [
        (x, v, lo, hi)
        for x, v, lo, hi in zip(xs, vals, lows, highs, strict=True)
        if v is not None and lo is not None and hi is not None
    ]
    _error_bars(ax, intervals, handles, across=False, capsize=4)


def _draw_targets(
    ax: Any,
    xs: list[int],
    tgts: _Column,
    operator_by_year: list[str | None],
    decimals: int,
    handles: list[Any],
) -> bool:
    """Each year's target as a dashed marker over its bar and in words on a row under the
    year, where it never collides with the bars, the interval or the path. False when no
    year has a target (nothing drawn)."""
    target_x = [x for x, t in zip(xs, tgts, strict=True) if t is not None]
    if not target_x:
        return False
    half = HALF_BAR + 0.06
    ax.hlines(
        [t for t in tgts if t is not None],
        [x - half for x in target_x],
        [x + half for x in target_x],
        colors=TARGET_RED,
        linestyles=(0, (4, 2)),
        linewidth=1.6,
        zorder=5,
    )
    for x, t, op in zip(xs, tgts, operator_by_year, strict=True):
        if t is None:
            text, colour = "Intet mål", TEXT_GREY
        else:
            sign = OPERATOR_SIGN.get(op or "", op or "")
            prefix = "Mål " if len(xs) <= 6 else ""
            shown = _fmt(t, max(decimals, own_decimals(t)))  # a target is never rounded
            text, colour = f"{prefix}{sign} {shown}".strip(), TARGET_RED
        _under_year(ax, x, 0, text, colour)
    handles.append(
        Line2D([], [], color=TARGET_RED, linestyle=(0, (4, 2)), linewidth=1.6, label="Mål")
    )
    return True


def _draw_path(
    ax: Any, xs: list[int], paths: _Column, decimals: int, row: int, handles: list[Any]
) -> None:
    """The path as a grey dotted line with markers, spelt out on ``row`` under its years."""
    if all(p is None for p in paths):
        return
    path_style: dict[str, Any] = {
        "color": PATH_GREY,
        "linestyle": ":",
        "linewidth": 1.3,
        "marker": "o",
        "markersize": 4.5,
        "markeredgecolor": "white",
        "markeredgewidth": 0.8,
    }
    ax.plot(xs, [p if p is not None else math.nan for p in paths], zorder=5, **path_style)
    handles.append(Line2D([], [], label="Sti (ikke et mål)", **path_style))
    for x, p in zip(xs, paths, strict=True):
        if p is not None:
            _under_year(ax, x, row, f"Sti {_fmt(p, decimals)}", PATH_GREY)


def _missing_label(ax: Any, x: int, text: str) -> None:
    """Why a year has no bar, small at the base."""
    ax.annotate(
        text,
        xy=(x, 0),
        xytext=(0, 3),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=7,
        style="italic",
        color=TEXT_GREY,
    )


def _value_label(ax: Any, x: int, v: float, text: str, n: int, x_margin: float) -> None:
    """The value sits inside its bar at the base, clear of the target, path and interval
    near the top: across the bar when it fits, else along it, else outside its end (call
    with the value axis' limits set)."""
    y_span = ax.get_ylim()[1] - ax.get_ylim()[0]
    bar_pt = 2 * HALF_BAR * AXES_WIDTH_PT / (n - 1 + 2 * x_margin)
    text_pt = 0.62 * 8 * len(text)  # DejaVu Sans digits are about 0.62 em wide
    height_pt = abs(v) / y_span * AXES_HEIGHT_PT
    across = text_pt + 4 <= bar_pt and height_pt >= 14
    along = not across and height_pt >= text_pt + 8 and bar_pt >= 12
    inside = across or along
    ax.annotate(
        text,
        xy=(x, 0 if inside else v),
        xytext=(0, 3 if v >= 0 else -3),
        textcoords="offset points",
        ha="center",
        va="bottom" if v >= 0 else "top",
        rotation=90 if along else 0,
        fontsize=8,
        fontweight="bold" if inside else "normal",
        color="white" if inside else "#222222",
        zorder=6,
    )


@_cached
def nps_distribution(counts: Mapping[int, int | None], title: str) -> str:
    """The answers to the recommendation question (0-10) as bars coloured by NPS group.

    Keys are the answers 0..10 (a missing key counts 0); a key outside 0..10 is an error.
    A count of None is withheld for confidentiality: it is drawn as withheld, never as 0 (a
    light hatched column over the whole height with "–" at its foot, and "Diskretioneret"
    in the legend). No answers at all give the "Ingen data" figure.
    """
    bad = sorted(k for k in counts if k not in range(11))
    if bad:
        raise ValueError(f"nps_distribution: answers outside 0-10: {bad}")
    withheld = [a for a in range(11) if a in counts and counts[a] is None]
    shown = {a: int(v) for a, v in counts.items() if v is not None}
    if not any(shown.values()) and not withheld:
        return _no_data(title)
    top = max([*shown.values(), 1]) * 1.15
    groups = [
        ("Kritikere (0-6)", range(0, 7), DETRACTOR_RED),
        ("Passive (7-8)", range(7, 9), PASSIVE_GREY),
        ("Anbefalere (9-10)", range(9, 11), PROMOTER_GREEN),
    ]
    with _style():
        fig = _figure()
        ax = fig.add_subplot()
        ax.grid(axis="x", visible=False)
        handles: list[Any] = []
        for label, answers, colour in groups:
            xs = [a for a in answers if a not in withheld]
            heights = [shown.get(a, 0) for a in xs]
            bars = ax.bar(xs, heights, width=0.7, color=colour, zorder=2)
            ax.bar_label(bars, labels=[number(h) for h in heights], padding=2, fontsize=7.5)
            handles.append(Patch(color=colour, label=label))
        if withheld:
            hatch: dict[str, Any] = {
                "facecolor": "none",
                "edgecolor": WITHHELD_GREY,
                "hatch": "////",
            }
            ax.bar(withheld, [top] * len(withheld), width=0.7, linewidth=0, zorder=1, **hatch)
            for a in withheld:
                ax.annotate(
                    DASH,
                    xy=(a, 0),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=9,
                    fontweight="bold",
                    color="#222222",
                    bbox={"boxstyle": "square,pad=0.15", "facecolor": "white", "linewidth": 0},
                    zorder=3,
                )
            handles.append(Patch(linewidth=0.6, label=f"Diskretioneret ({DASH})", **hatch))
        ax.set_xlim(-0.6, 10.6)
        ax.set_xticks(range(11), [str(a) for a in range(11)])
        ax.tick_params(axis="x", length=0)
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
        ax.yaxis.set_major_formatter(DanishFormatter())
        ax.set_xlabel("Svar på 'Anbefaling (0-10)'")
        ax.set_ylabel("Antal besvarelser")
        if title:
            ax.set_title(title)
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        each = "; ".join(
            f"{a}: {DASH} (diskretioneret)" if a in withheld else f"{a}: {number(shown.get(a, 0))}"
            for a in range(11)
        )
        named = ", ".join(group[0] for group in groups)
        alt = _sentence(
            title, f"Antal besvarelser pr. svar fra 0 til 10: {each}", f"Grupper: {named}"
        )
        return _to_svg(fig, alt)


@_cached
def municipal_deviation(
    names: list[str], deviations_pct: list[float], band_pct: float, title: str
) -> str:
    """Each municipality's deviation (%) from its population-proportional måltal.

    Horizontal bars in the order given (the first at the top); the band from -band_pct to
    +band_pct is shaded, a bar outside it is red, inside it blue. The figure grows with the
    number of municipalities (about 0.45 cm per bar).
    """
    if not names:
        return _no_data(title)
    _check_lengths("municipal_deviation", len(names), deviations_pct=deviations_pct)
    devs = [float(d) for d in deviations_pct]
    band = abs(float(band_pct))
    band_decimals = 0 if band.is_integer() else 1
    decimals = 0 if all(d.is_integer() for d in devs) else 1
    outside = [abs(d) > band for d in devs]
    n = len(names)

    with _style():
        fig = _figure(height_cm=max(5.0, 2.6 + BAR_CM * n))
        ax = fig.add_subplot()
        ax.grid(axis="y", visible=False)
        ys = list(range(n))
        ax.axvspan(-band, band, color=BAND_GREEN, zorder=0, linewidth=0)
        ax.barh(
            ys,
            devs,
            height=0.62,
            color=[OUTSIDE_RED if o else RESULT_BLUE for o in outside],
            zorder=2,
        )
        ax.axvline(0, color="#555555", linewidth=0.7, zorder=3)

        lowest = min(-band, *devs)
        highest = max(band, *devs)
        pad = 0.18 * (highest - lowest or 1.0)
        ax.set_xlim(lowest - pad, highest + pad)
        for y, d in zip(ys, devs, strict=True):
            ax.annotate(
                _signed(d, decimals) + " %",
                xy=(d, y),
                xytext=(3 if d >= 0 else -3, 0),
                textcoords="offset points",
                ha="left" if d >= 0 else "right",
                va="center",
                fontsize=7,
                color="#222222",
            )

        ax.set_yticks(ys, names)
        ax.set_ylim(n - 0.4, -0.6)  # first municipality at the top
        ax.tick_params(axis="y", length=0)
        ax.xaxis.set_major_formatter(DanishFormatter(signed=True))
        ax.set_xlabel("Afvigelse fra måltal (%)")
        if title:
            ax.set_title(title)

        handles: list[Any] = [
            Patch(color=BAND_GREEN, label=f"Spænd ±{number(band, band_decimals)} %")
        ]
        if not all(outside):
            handles.append(Patch(color=RESULT_BLUE, label="Inden for spændet"))
        if any(outside):
            handles.append(Patch(color=OUTSIDE_RED, label="Uden for spændet"))
        fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        each = "; ".join(
            f"{name}: {_signed(d, decimals)} %" for name, d in zip(names, devs, strict=True)
        )
        spread = f"Spænd ±{number(band, band_decimals)} %; uden for spændet: {sum(outside)} af {n}"
        return _to_svg(fig, _sentence(title, f"Afvigelse fra måltal pr. kommune: {each}", spread))


# --- figures side by side (the national overview: one bar per hub) -------------------------

POOLED_BLUE = "#0b2a45"  # the pooled figure beside the hubs' (RESULT_BLUE)
ROW_CM = 0.58  # height per bar of figures side by side
SIDE_AXES_WIDTH_PT = 10.0 * CM * 72  # the plot area's width beside the names and targets


@dataclass(frozen=True)
class Bar:
    """One row of :func:`side_by_side`: a named figure as printed, its interval and target.

    ``text`` is the value as every table prints it, or why there is none ("ikke modtaget",
    "– diskretioneret"); ``interval`` the printed interval ("49,0 til 55,6") where ``low``
    and ``high`` are given; ``target_text`` the target in words ("Mål ≥ 50", "Intet mål").
    ``emphasis`` marks the pooled figure, drawn darker below a rule."""

    label: str
    value: float | None
    text: str
    low: float | None = None
    high: float | None = None
    interval: str = ""
    target: float | None = None
    target_text: str = ""
    emphasis: bool = False


@_cached
def side_by_side(
    bars: Sequence[Bar], unit: str, title: str, pooled_label: str = "Alle erhvervshuse"
) -> str:
    """Figures of several units (the hubs, and the pooled figure last) as horizontal bars in
    the order given, the first at the top: each with its interval, its target as a short
    dark red dashed mark across its bar, spelt out at the right ("Mål ≥ 50"), and its value
    as printed. A row without a value draws no bar but says why at the base, never a 0."""
    if not bars:
        return _no_data(title)
    n = len(bars)
    values = [_clean(b.value) for b in bars]
    shown = [v for v in values if v is not None]
    shown += [x for b in bars for x in (_clean(b.low), _clean(b.high)) if x is not None]
    targets = [t for b in bars if (t := _clean(b.target)) is not None]
    lowest, highest = min([0.0, *shown, *targets]), max([0.0, *shown, *targets])
    span = (highest - lowest) or 1.0
    with _style():
        fig = _figure(height_cm=1.9 + ROW_CM * n)
        ax = fig.add_subplot()
        ax.grid(axis="y", visible=False)
        ys = list(range(n))
        colours = [POOLED_BLUE if b.emphasis else RESULT_BLUE for b in bars]
        drawn = [(y, v, c) for y, v, c in zip(ys, values, colours, strict=True) if v is not None]
        if drawn:
            ax.barh([d[0] for d in drawn], [d[1] for d in drawn], height=0.62,
                    color=[d[2] for d in drawn], zorder=2)  # fmt: skip
        handles: list[Any] = [Patch(color=RESULT_BLUE, label="Resultat")]
        if any(b.emphasis for b in bars):
            handles.append(Patch(color=POOLED_BLUE, label=pooled_label))
            first = next(y for y, b in zip(ys, bars, strict=True) if b.emphasis)
            ax.axhline(first - 0.5, color="#888888", linewidth=0.6, zorder=1)
        _side_intervals(ax, ys, bars, handles)
        _side_targets(ax, ys, bars, handles)
        ax.axvline(0, color="#555555", linewidth=0.7, zorder=3)
        left, right_end = lowest - (0.08 * span if lowest < 0 else 0), highest + 0.1 * span
        ax.set_xlim(left, right_end)
        for y, b, v in zip(ys, bars, values, strict=True):
            _side_label(ax, y, b, v, (right_end - left) / SIDE_AXES_WIDTH_PT)
        ax.set_yticks(ys, [b.label for b in bars])
        ax.set_ylim(n - 0.4, -0.6)  # the first at the top
        ax.tick_params(axis="y", length=0)
        right = ax.secondary_yaxis("right")
        right.set_yticks(ys, [b.target_text for b in bars])
        right.tick_params(axis="y", length=0, colors=TARGET_RED)
        right.spines["right"].set_visible(False)
        ax.xaxis.set_major_locator(value_ticks())
        ax.xaxis.set_major_formatter(DanishFormatter())
        ax.set_xlabel(unit[:1].upper() + unit[1:])
        if title:
            ax.set_title(title)
        if len(handles) > 1:  # a legend of "Resultat" alone says nothing
            fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
        return _to_svg(fig, _sentence(title, _side_alt(bars, unit)))


def _side_label(ax: Any, y: int, b: Bar, v: float | None, per_pt: float) -> None:
    """The value inside its bar at the base (white) where it fits, else beyond everything
    drawn on its row (bar, interval, target); why there is no value at the base."""
    text_pt = 0.62 * 7.5 * len(b.text) + 6  # DejaVu Sans digits are about 0.62 em wide
    inside = v is not None and v > 0 and v / per_pt >= text_pt
    if v is None:
        x, colour = 0.0, TEXT_GREY
    elif inside:
        x, colour = 0.0, "white"
    else:
        ends = [x for x in (v, _clean(b.high), _clean(b.target)) if x is not None]
        x, colour = max([0.0, *ends]), "#222222"
    ax.annotate(
        b.text,
        xy=(x, y),
        xytext=(3, 0),
        textcoords="offset points",
        ha="left",
        va="center",
        fontsize=7.5,
        fontweight="bold" if v is not None else "normal",
        style="normal" if v is not None else "italic",
        color=colour,
        zorder=6,
    )


def _side_intervals(ax: Any, ys: list[int], bars: Sequence[Bar], handles: list[Any]) -> None:
    rows: list[tuple[int, float, float, float]] = []
    for y, b in zip(ys, bars, strict=True):
        v, lo, hi = _clean(b.value), _clean(b.low), _clean(b.high)
        if v is not None and lo is not None and hi is not None:
            rows.append((y, v, lo, hi))
    _error_bars(ax, rows, handles, across=True, capsize=3)


def _side_targets(ax: Any, ys: list[int], bars: Sequence[Bar], handles: list[Any]) -> None:
    marks = [(y, t) for y, b in zip(ys, bars, strict=True) if (t := _clean(b.target)) is not None]
    if not marks:
        return
    ax.vlines(
        [t for _, t in marks],
        [y - 0.38 for y, _ in marks],
        [y + 0.38 for y, _ in marks],
        colors=TARGET_RED,
        linestyles=(0, (3, 1.5)),
        linewidth=1.6,
        zorder=5,
    )
    handles.append(
        Line2D([], [], color=TARGET_RED, linestyle=(0, (3, 1.5)), linewidth=1.6, label="Mål")
    )


def _side_alt(bars: Sequence[Bar], unit: str) -> str:
    """What :func:`side_by_side` draws, in words: each figure as printed, its interval and
    its target."""
    shown = []
    for b in bars:
        notes = []
        if b.value is not None and b.interval:
            notes.append(f"usikkerhedsinterval {b.interval}")
        if b.target_text:
            notes.append(b.target_text[:1].lower() + b.target_text[1:])
        text = f"{b.label}: {b.text}"
        shown.append(f"{text} ({'; '.join(notes)})" if notes else text)
    return f"Resultat pr. erhvervshus ({unit}): " + "; ".join(shown)
