"""The report's charts, drawn with matplotlib: deterministic PNGs, also embedded in the HTML.

Three charts answer the report's questions at a glance:

- ``timeline``: required traffic per hour, day or week (chosen by the time range), allowed
  against blocked and failed, so a block that started on Tuesday shows as a step;
- ``unexpected``: the destinations that unexpected traffic went to most, allowed or blocked;
- ``coverage``: per update server, how many required entries were seen allowed, seen blocked or
  never seen.

Rendering is deterministic (fixed size, resolution and font, no timestamps or software version in
the PNG metadata) so two runs over the same input write the same bytes. Labels come from logs, so
matplotlib's math parsing is switched off: a host name with ``$`` is text, not a formula.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules:  # in Jupyter keep the inline backend, so figures of the API display
    matplotlib.use("Agg")  # no display; must precede pyplot

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import polars as pl
from matplotlib.figure import Figure

from ..controls import inert

COLORS = {
    "allowed": "#2e7d32",
    "blocked": "#c62828",
    "failed": "#ef6c00",
    "never-seen": "#9e9e9e",
}
REQUIRED = {"required-allowed": "allowed", "blocked-required": "blocked", "required-failed": "failed"}
UNEXPECTED = {"unexpected-allowed": "allowed", "unexpected-blocked": "blocked"}
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


def _short(label: str) -> str:
    label = inert(label)  # log text: its control characters shown, never drawn as boxes or reordered
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1] + "…"


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="#555555")
    ax.set_axis_off()


def bucket_of(span: timedelta) -> tuple[str, str]:
    """The bucket for a time range: hours up to 3 days, days up to 120 days, else weeks.

    Example: ``bucket_of(timedelta(days=7)) == ("1d", "day")``.
    """
    if span <= timedelta(days=3):
        return "1h", "hour"
    if span <= timedelta(days=120):
        return "1d", "day"
    return "1w", "week"


def timeline_counts(flows: pl.DataFrame, tz: str) -> tuple[pl.DataFrame, str]:
    """Required flows per time bucket in ``tz``: columns ``bucket``, allowed, blocked, failed.

    Buckets without traffic are present with zeros, so a gap in the logs is visible as a gap.
    Example: ``timeline_counts(result.flows, "Europe/Berlin")[1] == "hour"``.
    """
    required = flows.filter(pl.col("verdict").is_in(list(REQUIRED))).select(
        pl.col("time").dt.convert_time_zone(tz).alias("local"),
        pl.col("verdict").replace_strict(REQUIRED, return_dtype=pl.String).alias("kind"),
    )
    columns = list(dict.fromkeys(REQUIRED.values()))
    if required.is_empty():
        return pl.DataFrame(schema={"bucket": pl.Datetime("us", tz), **dict.fromkeys(columns, pl.UInt32)}), "hour"
    low, high = required["local"].min(), required["local"].max()
    every, unit = bucket_of(high - low)
    counts = (
        required.with_columns(pl.col("local").dt.truncate(every).alias("bucket"))
        .group_by("bucket", "kind")
        .len()
        .pivot("kind", index="bucket", values="len")
    )
    start, end = counts["bucket"].min(), counts["bucket"].max()
    frame = pl.DataFrame({"bucket": pl.datetime_range(start, end, every, eager=True, time_zone=tz)})
    frame = frame.join(counts, on="bucket", how="left")
    return (
        frame.with_columns(
            [
                pl.col(c).fill_null(0).cast(pl.UInt32) if c in frame.columns else pl.lit(0, pl.UInt32).alias(c)
                for c in columns
            ]
        )
        .select("bucket", *columns)
        .sort("bucket"),
        unit,
    )


def timeline(flows: pl.DataFrame, tz: str) -> Figure:
    """Stacked bars of required traffic allowed, blocked and failed per hour, day or week."""
    counts, unit = timeline_counts(flows, tz)
    fig, ax = plt.subplots(figsize=SIZE)
    if counts.is_empty():
        _empty(ax, "no required traffic in the logs")
        return fig
    times = [t.replace(tzinfo=None) for t in counts["bucket"].to_list()]  # wall clock of the zone
    width = {"hour": 1 / 24, "day": 1.0, "week": 7.0}[unit] * 0.85
    bottom = [0] * counts.height
    for kind in ("allowed", "blocked", "failed"):
        values = counts[kind].to_list()
        ax.bar(times, values, width=width, bottom=bottom, color=COLORS[kind], label=kind, align="edge")
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(f"Required traffic per {unit} ({tz})", loc="left")
    ax.set_ylabel("flows")
    ax.yaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    locator = mdates.AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.legend(loc="upper left", frameon=False, ncols=3, bbox_to_anchor=(0, -0.12))
    return fig


def unexpected_counts(flows: pl.DataFrame, top: int = TOP) -> pl.DataFrame:
    """The ``top`` destinations of unexpected traffic: destination, allowed, blocked, total.

    A destination is the host name, or the address where no name is known; for inbound traffic
    (to a server) the destination is the server itself, so the remote party is shown instead, as
    ``from ADDRESS``. Ties are broken by name so the order is stable.
    Example: ``unexpected_counts(result.flows, 5)``.
    """
    outbound = pl.coalesce("dst_host", "dst_ip", pl.lit("(unknown)"))
    if "direction_to_server" in flows.columns:
        inbound = pl.lit("from ") + pl.coalesce("src_ip", pl.lit("(unknown)"))
        label = pl.when(pl.col("direction_to_server") == "inbound").then(inbound).otherwise(outbound)
    else:
        label = outbound
    unexpected = flows.filter(pl.col("verdict").is_in(list(UNEXPECTED))).select(
        label.alias("destination"),
        pl.col("verdict").replace_strict(UNEXPECTED, return_dtype=pl.String).alias("kind"),
    )
    schema = {"destination": pl.String, "allowed": pl.UInt32, "blocked": pl.UInt32, "total": pl.UInt32}
    if unexpected.is_empty():
        return pl.DataFrame(schema=schema)
    counts = unexpected.group_by("destination").agg(
        (pl.col("kind") == "allowed").sum().cast(pl.UInt32).alias("allowed"),
        (pl.col("kind") == "blocked").sum().cast(pl.UInt32).alias("blocked"),
    )
    counts = counts.with_columns((pl.col("allowed") + pl.col("blocked")).alias("total"))
    return counts.sort(["total", "destination"], descending=[True, False]).head(top).select(list(schema))


def unexpected(flows: pl.DataFrame, tz: str) -> Figure:
    """Horizontal bars: the top destinations of unexpected traffic, allowed and blocked."""
    counts = unexpected_counts(flows)
    fig, ax = plt.subplots(figsize=SIZE)
    if counts.is_empty():
        _empty(ax, "no unexpected traffic")
        return fig
    counts = counts.reverse()  # largest at the top
    labels = [_short(d) for d in counts["destination"].to_list()]
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
    fig, ax = plt.subplots(figsize=SIZE)
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
    ax.set_yticks(positions, labels=[_short(s) for s in counts["server"].to_list()])
    ax.set_xlabel("required entries")
    ax.xaxis.set_major_locator(mticker.MaxNLocator(integer=True))
    ax.set_title("Coverage of required entries per server", loc="left")
    ax.legend(loc="upper left", frameon=False, ncols=3, bbox_to_anchor=(0, -0.18))
    return fig


CHARTS: dict[str, tuple[str, Callable]] = {
    "timeline": ("Required traffic over time: allowed, blocked and failed", lambda r: timeline(r.flows, r.timezone)),
    "unexpected": ("Top destinations of unexpected traffic", lambda r: unexpected(r.flows, r.timezone)),
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
            try:
                fig.tight_layout()
                buffer = io.BytesIO()
                fig.savefig(buffer, format="png", metadata=PNG_METADATA)
                images[name] = buffer.getvalue()
            finally:
                plt.close(fig)
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
