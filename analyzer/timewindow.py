"""The time window of a run: ``--since``/``--until`` absolute times and ``--last`` durations.

Absolute times are ISO 8601 (``2026-03-01T08:00:00+01:00``, ``2026-03-01T07:00Z``) or the short
forms ``YYYY-MM-DD`` and ``YYYY-MM-DD HH:MM[:SS]``; a time without an offset is read in the site's
time zone, because that is the clock the people who ask for "since Monday 8:00" live by.
Durations are a number and a unit: ``30m``, ``24h``, ``7d``, ``2w``. Everything is returned in
UTC, the time of the flow schema.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import AnalyzerError
from .flows import zone_error

UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class TimeWindow:
    """A half-open interval [since, until) in UTC; either end may be open (None)."""

    since: datetime | None = None
    until: datetime | None = None

    def __bool__(self) -> bool:
        return self.since is not None or self.until is not None

    def describe(self) -> str:
        """Human text, e.g. ``2026-03-01 07:00 UTC to 2026-03-08 07:00 UTC``."""
        fmt = "%Y-%m-%d %H:%M UTC"
        start = self.since.strftime(fmt) if self.since else "the first flow"
        end = self.until.strftime(fmt) if self.until else "the last flow"
        return f"{start} to {end}"


def _zone(tz: str) -> zoneinfo.ZoneInfo:
    if (problem := zone_error(tz)) is not None:
        raise AnalyzerError(problem)
    return zoneinfo.ZoneInfo(tz)


def parse_time(text: str, tz: str = "UTC", *, option: str = "--since") -> datetime:
    """Parse an absolute time; without an offset it is local time in ``tz``. Returns UTC.

    Example: ``parse_time("2026-03-01 08:00", "Europe/Berlin")`` is 07:00 UTC.
    """
    value = text.strip()
    if not value:
        raise AnalyzerError(f"{option}: empty time")
    iso = value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        raise AnalyzerError(
            f"{option}: cannot read '{text}' as a time; use ISO 8601 (2026-03-01T08:00:00+01:00) "
            "or 'YYYY-MM-DD[ HH:MM]' in the site's time zone"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(tz))
    return parsed.astimezone(UTC)


def parse_duration(text: str, option: str = "--last") -> timedelta:
    """Parse ``30m``, ``24h``, ``7d`` or ``2w``. Example: ``parse_duration("7d").days == 7``.
    ``option`` names the option in the error."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise AnalyzerError(f"{option}: cannot read '{text}' as a duration; use a number and m, h, d or w (e.g. 7d)")
    return int(match.group(1)) * UNITS[match.group(2).lower()]


def resolve_window(
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    last: str | None = None,
    tz: str = "UTC",
    *,
    now: datetime | None = None,
) -> TimeWindow:
    """The window of a run from the command-line options (``since``/``until`` may also be
    aware datetimes, as the Python API takes them: then the window is exactly those).

    ``last`` counts back from ``until`` when given, else from ``now`` (the wall clock, so a
    weekly job with ``--last 7d`` sees the past week). ``last`` and ``since`` together are an
    error, and so is a window that ends before it starts.

    Example: ``resolve_window(last="24h", now=datetime(2026, 3, 2, tzinfo=UTC)).since``
    is 2026-03-01 00:00 UTC.
    """
    if isinstance(since, datetime) or isinstance(until, datetime):  # the Python API's aware datetimes
        return TimeWindow(since=since, until=until)  # type: ignore[arg-type]
    if last and since:
        raise AnalyzerError("--last and --since both say where the window starts; give one of them")
    end = parse_time(until, tz, option="--until") if until else None
    start = parse_time(since, tz, option="--since") if since else None
    if last:
        duration = parse_duration(last)
        anchor = end or (now or datetime.now(UTC)).astimezone(UTC)
        start = anchor - duration
    if start is not None and end is not None and start >= end:
        raise AnalyzerError(
            f"the window is empty: it starts at {start:%Y-%m-%d %H:%M} UTC and ends at {end:%Y-%m-%d %H:%M} UTC"
        )
    return TimeWindow(since=start, until=end)
