"""The timeline's series and the top destinations, read from merged aggregates: the main time
range (outlying timestamps left out), its bins, and the unexpected destinations ranked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from .partial import REQUIRED_KINDS

MAIN_QUANTILES = (0.05, 0.95)
"""The middle of the flows in time; the main range reaches one such span beyond each end."""
MIN_SPAN = timedelta(hours=1)
MAX_BINS = 400
BUCKETS: tuple[tuple[str, str, timedelta, timedelta], ...] = (
    ("1h", "hour", timedelta(hours=1), timedelta(days=3)),
    ("1d", "day", timedelta(days=1), timedelta(days=120)),
    ("1w", "week", timedelta(weeks=1), timedelta(days=3 * 365)),
    ("1mo", "month", timedelta(days=30.44), timedelta(days=25 * 365)),
)
"""(every, unit, width, longest span) of the time bins, finest first; beyond them, years."""


@dataclass(frozen=True)
class TimeRange:
    """Where most flows lie in time, and how many lie outside (see :func:`main_range`)."""

    first: datetime | None
    last: datetime | None
    outside: int = 0
    """Flows (any verdict) outside [first, last]."""
    outside_required: int = 0
    """Required flows among them (not drawn in the timeline)."""


def main_range(minutes: pl.DataFrame) -> TimeRange:
    """The time range the charts draw: the middle 90 % of the flows (by the per-minute counts
    of :class:`Partial`), widened by its own span (at least an hour) on each side, within the
    first and last flow. A stray timestamp (a clock reset to 1970, a line dated 2286) falls
    outside it, so it neither stretches the axis over centuries nor squeezes the real traffic
    into one bar; the flows outside are counted, for the report to say so.

    Example: ``main_range(result.aggregates.minutes).outside``.
    """
    if minutes.is_empty():
        return TimeRange(None, None)
    ordered = minutes.sort("minute").with_columns(pl.col("flows").cum_sum().alias("_cum"))
    total = int(ordered["_cum"][-1])

    def at(q: float) -> datetime:
        # The minute holding the flow of rank ceil(q * total): a weighted quantile, exact on counts.
        rank = max(1, -(-int(q * total * 1_000_000) // 1_000_000))
        return ordered.filter(pl.col("_cum") >= rank)["minute"][0]

    low, high = at(MAIN_QUANTILES[0]), at(MAIN_QUANTILES[1])
    span = max(high - low, MIN_SPAN)
    start = max(low - span, ordered["minute"][0])
    end = min(high + span, ordered["minute"][-1])
    outside = ordered.filter((pl.col("minute") < start) | (pl.col("minute") > end))
    required = int(sum(outside[k].sum() for k in ("allowed", "blocked", "failed")))
    return TimeRange(
        start, end + timedelta(minutes=1) - timedelta(microseconds=1), int(outside["flows"].sum()), required
    )


def bucket_of(span: timedelta) -> tuple[str, str, timedelta]:
    """The bin for a time range: hours up to 3 days, days up to 120 days, weeks up to 3 years,
    months up to 25 years, then as many years per bin as keep the bins under :data:`MAX_BINS`.

    Example: ``bucket_of(timedelta(days=7))[:2] == ("1d", "day")``.
    """
    for every, unit, width, longest in BUCKETS:
        if span <= longest:
            return every, unit, width
    years = max(1, -(-span.days // (365 * MAX_BINS)))
    return f"{years}y", "year" if years == 1 else f"{years} years", timedelta(days=365.25 * years)


def bin_width(unit: str) -> timedelta:
    """The width of a bin of ``unit`` (as :func:`bucket_of` names it): ``"day"`` → one day."""
    for _every, name, width, _longest in BUCKETS:
        if name == unit:
            return width
    years = int(unit.split()[0]) if unit != "year" else 1
    return timedelta(days=365.25 * years)


def timeline_series(minutes: pl.DataFrame, tz: str, within: TimeRange | None = None) -> tuple[pl.DataFrame, str]:
    """Required flows per time bin in ``tz`` within the main range: ``bucket``, allowed, blocked,
    failed, and the bin's unit. Bins without traffic are present with zeros, so a gap in the logs
    shows as a gap. At most :data:`MAX_BINS` bins (a few more at the edges of a month or year).
    """
    within = within or main_range(minutes)
    columns = list(dict.fromkeys(REQUIRED_KINDS.values()))
    schema = {"bucket": pl.Datetime("us", tz), **dict.fromkeys(columns, pl.UInt32)}
    required = minutes.filter(pl.sum_horizontal(columns) > 0)
    if within.first is not None:
        required = required.filter(pl.col("minute").is_between(within.first, within.last))
    if required.is_empty():
        return pl.DataFrame(schema=schema), "hour"
    local = required.with_columns(pl.col("minute").dt.convert_time_zone(tz).alias("local"))
    every, unit, _width = bucket_of(local["local"].max() - local["local"].min())
    counts = (
        local.group_by(pl.col("local").dt.truncate(every).alias("bucket"))
        .agg(pl.col(c).sum() for c in columns)
        .sort("bucket")
    )
    frame = pl.DataFrame(
        {"bucket": pl.datetime_range(counts["bucket"].min(), counts["bucket"].max(), every, eager=True, time_zone=tz)}
    )
    frame = frame.join(counts, on="bucket", how="left")
    return frame.select("bucket", *(pl.col(c).fill_null(0).cast(pl.UInt32) for c in columns)).sort("bucket"), unit


def top_destinations(destinations: pl.DataFrame, top: int) -> pl.DataFrame:
    """The ``top`` destinations of unexpected traffic: destination, allowed, blocked, total;
    ties broken by name so the order is stable."""
    schema = {"destination": pl.String, "allowed": pl.UInt32, "blocked": pl.UInt32, "total": pl.UInt32}
    counts = destinations.with_columns((pl.col("allowed") + pl.col("blocked")).alias("total"))
    return counts.sort(["total", "destination"], descending=[True, False]).head(top).select(list(schema)).cast(schema)
