"""The report's charts, drawn with matplotlib: deterministic PNGs, also embedded in the HTML.

Three charts answer the report's questions at a glance:

- ``timeline``: required traffic per hour, day, week, month or year (chosen by the main time
  range, where most flows lie), allowed against blocked and failed, so a block that started on
  Tuesday shows as a step;
- ``unexpected``: the destinations that unexpected traffic went to most, allowed or blocked;
- ``coverage``: per update server, how many required entries were seen allowed, seen blocked or
  never seen.

Rendering is deterministic (fixed size, resolution and font, no timestamps or software version in
the PNG metadata) so two runs over the same input write the same bytes. Labels come from logs, so
matplotlib's math parsing is switched off: a host name with ``$`` is text, not a formula.
Figures are :class:`matplotlib.figure.Figure` objects drawn without pyplot: no global figure
state, no backend chosen for the process.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import matplotlib
import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import polars as pl
from matplotlib.figure import Figure

from .. import aggregates
from ..controls import inert

COLORS = {
    "allowed": "#2e7d32",
    "blocked": "#c62828",
    "failed": "#ef6c00",
    "never-seen": "#9e9e9e",
}
COVERAGE = {"seen-allowed": "allowed", "seen-blocked": "blocked", "never-seen": "never-seen"}
TOP = 10
LABEL_MAX = 48

# Everything that could vary between machines or runs is pinned here.
STYLE = {
    "font.family": "DejaVu Sans",  # shipped with matplotlib, so the same glyphs everywhere
    "font.size": 9,
    "text.parse_math": False,  # "$" in a host name is text
    "svg.hashsalt": "analyzer",
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
SIZE = (8.0, 3.2)
PNG_METADATA = {"Software": None}


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_axis_off()


def bucket_of(span: timedelta) -> tuple[str, str]:
    """The bin for a time range: hours up to 3 days, days up to 120 days, weeks, months, then
    years (see :func:`analyzer.aggregates.bucket_of`).

    Example: ``bucket_of(timedelta(days=7)) == ("1d", "day")``.
    """
    every, unit, _width = aggregates.bucket_of(span)
    return every, unit


def _minutes(data) -> pl.DataFrame:
    """The per-minute series of a result's aggregates, or of flows (a frame or a lazy frame)."""
    if isinstance(data, pl.DataFrame | pl.LazyFrame):
        return aggregates.fold(data).minutes
    return data.aggregates.minutes


def timeline_counts(flows: pl.DataFrame | pl.LazyFrame, tz: str) -> tuple[pl.DataFrame, str]:
    """Required flows per time bucket in ``tz``: columns ``bucket``, allowed, blocked, failed.

    Buckets without traffic are present with zeros, so a gap in the logs is visible as a gap; only
    the main range is binned (:func:`analyzer.aggregates.main_range`), so a stray timestamp
    neither adds centuries of bins nor squeezes the traffic into one.
    Example: ``timeline_counts(result.flows, "Europe/Berlin")[1] == "hour"``.
    """
    return aggregates.timeline_series(_minutes(flows), tz)


def _label(text: str) -> str:
    """A label from log text: control and bidi characters shown as escapes (matplotlib has no
    glyph for them and warned; a bidi override would reorder the label), long labels shortened."""
    text = inert(text)
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _date_locator() -> mdates.AutoDateLocator:
    """Date ticks for any span without a warning on stderr. With at most 8 ticks matplotlib's
    default steps leave gaps (a span of 3 to 4 days fits no hourly step and it warned "unable to
    pick an appropriate interval"): 3 ticks are enough, and every frequency gets larger steps."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    larger = {
        mdates.MONTHLY: [1, 2, 3, 4, 6, 12],
        mdates.DAILY: [1, 2, 3, 7, 14, 21, 28],
        mdates.HOURLY: [1, 2, 3, 4, 6, 12, 24],
        mdates.MINUTELY: [1, 5, 10, 15, 30, 60],
        mdates.SECONDLY: [1, 5, 10, 15, 30, 60],
    }
    for frequency, steps in larger.items():
        locator.intervald[frequency] = sorted({*locator.intervald[frequency], *steps})
    return locator


def timeline(data, tz: str) -> Figure:
    """Stacked bars of required traffic allowed, blocked and failed per bin of the main range;
    ``data`` is a check result or judged flows. Flows outside the main range are counted in the
    title's note, not drawn."""
    minutes = _minutes(data)
    within = aggregates.main_range(minutes)
    counts, unit = aggregates.timeline_series(minutes, tz, within)
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    if counts.is_empty():
        _empty(ax, "no required traffic in the logs")
        return fig
    times = [t.replace(tzinfo=None) for t in counts["bucket"].to_list()]  # wall clock of the zone
    bar = aggregates.bin_width(unit).total_seconds() / 86400  # matplotlib's dates are in days
    bottom = [0] * counts.height
    for kind in ("allowed", "blocked", "failed"):
        values = counts[kind].to_list()
        ax.bar(times, values, width=bar * 0.85, bottom=bottom, color=COLORS[kind], label=kind, align="edge")
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    title = f"Required traffic per {unit} ({tz})"
    if within.outside:
        title += f"; {within.outside:,} flows outside this range not drawn"
    ax.set_title(title, loc="left")
    ax.set_ylabel("flows")
    ax.yaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    locator = _date_locator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(loc="upper left", frameon=False, ncols=3, bbox_to_anchor=(0, -0.12))
    return fig


def unexpected_counts(flows: pl.DataFrame | pl.LazyFrame, top: int = TOP) -> pl.DataFrame:
    """The ``top`` destinations of unexpected traffic: destination, allowed, blocked, total.

    A destination is the host name, or the address where no name is known; for inbound traffic
    (to a server) the destination is the server itself, so the remote party is shown instead, as
    ``from ADDRESS``. Ties are broken by name so the order is stable.
    Example: ``unexpected_counts(result.flows, 5)``.
    """
    return aggregates.top_destinations(aggregates.fold(flows).destinations, top)


def unexpected(data, tz: str) -> Figure:
    """Horizontal bars: the top destinations of unexpected traffic, allowed and blocked; ``data``
    is a check result or judged flows."""
    if isinstance(data, pl.DataFrame | pl.LazyFrame):
        counts = unexpected_counts(data)
    else:
        counts = aggregates.top_destinations(data.aggregates.destinations, TOP)
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    if counts.is_empty():
        _empty(ax, "no unexpected traffic")
        return fig
    counts = counts.reverse()  # largest at the top
    labels = [_label(d) for d in counts["destination"].to_list()]
    positions = list(range(counts.height))
    ax.barh(positions, counts["allowed"].to_list(), color=COLORS["allowed"], label="allowed")
    ax.barh(
        positions,
        counts["blocked"].to_list(),
        left=counts["allowed"].to_list(),
        color=COLORS["blocked"],
        label="blocked",
    )
    ax.set_yticks(positions, labels=labels)
    ax.set_xlabel("flows")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.set_title(f"Top {counts.height} destinations of unexpected traffic", loc="left")
    ax.legend(loc="upper left", frameon=False, ncols=2, bbox_to_anchor=(0, -0.18))
    return fig


def coverage_counts(coverage: pl.DataFrame) -> pl.DataFrame:
    """Per server: how many required entries were seen allowed, seen blocked, never seen.

    Example: ``coverage_counts(result.coverage).columns == ["server", "allowed", "blocked", "never-seen"]``.
    """
    schema = {"server": pl.String, **dict.fromkeys(COVERAGE.values(), pl.UInt32)}
    if coverage.is_empty():
        return pl.DataFrame(schema=schema)
    return (
        coverage.group_by("server")
        .agg(
            [
                (pl.col("status").cast(pl.String) == status).sum().cast(pl.UInt32).alias(kind)
                for status, kind in COVERAGE.items()
            ]
        )
        .sort("server")
        .select(list(schema))
    )


def coverage(table: pl.DataFrame) -> Figure:
    """Horizontal stacked bars per server of its required entries by status."""
    counts = coverage_counts(table)
    fig = Figure(figsize=SIZE)
    ax = fig.subplots()
    if counts.is_empty():
        _empty(ax, "no required entries")
        return fig
    counts = counts.reverse()
    positions = list(range(counts.height))
    left = [0] * counts.height
    for kind in COVERAGE.values():
        values = counts[kind].to_list()
        ax.barh(positions, values, left=left, color=COLORS[kind], label=kind.replace("-", " "))
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_yticks(positions, labels=[_label(s) for s in counts["server"].to_list()])
    ax.set_xlabel("required entries")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.set_title("Coverage of required entries per server", loc="left")
    ax.legend(loc="upper left", frameon=False, ncols=3, bbox_to_anchor=(0, -0.18))
    return fig


CHARTS: dict[str, tuple[str, Callable]] = {
    "timeline": ("Required traffic over time: allowed, blocked and failed", lambda r: timeline(r, r.timezone)),
    "unexpected": ("Top destinations of unexpected traffic", lambda r: unexpected(r, r.timezone)),
    "coverage": ("Coverage of required entries per server", lambda r: coverage(r.coverage)),
}
"""name → (alt text, function(result) → Figure)."""


def render(result) -> dict[str, bytes]:
    """Every chart of ``result`` (a :class:`~analyzer.check.CheckResult`) as PNG bytes, by name.

    Example: ``render(result)["timeline"][:8] == b"\\x89PNG\\r\\n\\x1a\\n"``.
    """
    images: dict[str, bytes] = {}
    with matplotlib.rc_context(STYLE):
        for name, (_alt, draw) in CHARTS.items():
            fig = draw(result)
            fig.tight_layout()
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png", metadata=PNG_METADATA)
            images[name] = buffer.getvalue()
    return images


def write(result, outdir: str | Path) -> Path:
    """Write ``charts/<name>.png`` for every chart into ``outdir``; returns the charts folder.

    Example: ``write(result, "out")`` → ``out/charts`` holding timeline.png, unexpected.png, coverage.png.
    """
    folder = Path(outdir) / "charts"
    folder.mkdir(parents=True, exist_ok=True)
    for name, png in render(result).items():
        (folder / f"{name}.png").write_bytes(png)
    return folder
