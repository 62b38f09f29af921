"""--since / --until / --last: absolute times in the site's zone, durations, and the errors."""

from datetime import UTC, datetime, timedelta

import pytest

from analyzer.errors import AnalyzerError
from analyzer.timewindow import TimeWindow, parse_duration, parse_time, resolve_window

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2026-03-01", "UTC", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01 08:00", "Europe/Berlin", datetime(2026, 3, 1, 7, 0, tzinfo=UTC)),  # CET = UTC+1
        ("2026-07-01 08:00", "Europe/Berlin", datetime(2026, 7, 1, 6, 0, tzinfo=UTC)),  # CEST = UTC+2
        ("2026-03-01T08:00:30", "Europe/Berlin", datetime(2026, 3, 1, 7, 0, 30, tzinfo=UTC)),
        ("2026-03-01T08:00:00+01:00", "America/New_York", datetime(2026, 3, 1, 7, 0, tzinfo=UTC)),
        ("2026-03-01T07:00Z", "Europe/Berlin", datetime(2026, 3, 1, 7, 0, tzinfo=UTC)),
        (" 2026-03-01 ", "UTC", datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_parse_time(text, tz, expected):
    assert parse_time(text, tz) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "2026-13-01", "01.03.2026", "2026-03-01 25:00"])
def test_parse_time_errors_name_the_option(text):
    with pytest.raises(AnalyzerError, match="--until"):
        parse_time(text, "UTC", option="--until")


def test_unknown_zone_is_one_line_error():
    with pytest.raises(AnalyzerError, match="unknown time zone 'Mars/Base'"):
        parse_time("2026-03-01", "Mars/Base")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("2w", timedelta(weeks=2)),
        ("7D", timedelta(days=7)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "0d", "-1d", "1.5h", "7y", "7 days"])
def test_parse_duration_errors(text):
    with pytest.raises(AnalyzerError, match="--last"):
        parse_duration(text)


def test_last_counts_back_from_now():
    window = resolve_window(last="7d", now=NOW)
    assert window == TimeWindow(since=NOW - timedelta(days=7), until=None)


def test_last_counts_back_from_until():
    window = resolve_window(until="2026-03-02 00:00", last="24h", tz="UTC", now=NOW)
    assert window.since == datetime(2026, 3, 1, tzinfo=UTC)
    assert window.until == datetime(2026, 3, 2, tzinfo=UTC)


def test_since_and_until_in_site_zone():
    window = resolve_window(since="2026-03-01", until="2026-03-02", tz="Europe/Berlin")
    assert window.since == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert window.until == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert window.describe() == "2026-02-28 23:00 UTC to 2026-03-01 23:00 UTC"


def test_no_options_is_an_open_window():
    window = resolve_window()
    assert not window
    assert window.describe() == "the first flow to the last flow"


def test_last_with_since_is_an_error():
    with pytest.raises(AnalyzerError, match="--last and --since"):
        resolve_window(since="2026-03-01", last="7d")


def test_empty_window_is_an_error():
    with pytest.raises(AnalyzerError, match="window is empty"):
        resolve_window(since="2026-03-02", until="2026-03-01")
