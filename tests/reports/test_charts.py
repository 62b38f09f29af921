"""Charts: the counts behind them, the bucket choice, deterministic PNGs, hostile labels."""

import warnings
from datetime import timedelta

import polars as pl
import pytest

from analyzer import aggregates
from analyzer.reports import charts
from tests.reports.report_fakes import coverage_row, flow, make_result

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("span", "unit"),
    [
        (timedelta(hours=5), "hour"),
        (timedelta(days=3), "hour"),
        (timedelta(days=7), "day"),
        (timedelta(days=200), "week"),
    ],
)
def test_bucket_follows_the_time_range(span, unit):
    assert charts.bucket_of(span)[1] == unit


def test_timeline_counts_per_hour_with_gaps_filled(small_result):
    counts, unit = charts.timeline_counts(small_result.flows, "Europe/Berlin")
    assert unit == "hour"
    # 06:00-11:00 UTC is 07:00-12:00 CET; only required verdicts count (unexpected at 10 and 11 UTC do not).
    assert [t.hour for t in counts["bucket"].to_list()] == [7, 8, 9, 10, 11, 12]
    assert counts["allowed"].to_list() == [1, 1, 1, 1, 1, 1]
    assert counts["blocked"].to_list() == [0, 0, 1, 1, 0, 0]
    assert counts["failed"].to_list() == [0] * 6


def test_timeline_per_day_in_the_site_zone():
    rows = [flow("required-allowed", "download.windowsupdate.com", hours=24 * d) for d in (0, 0, 5)]
    rows.append(flow("blocked-required", "download.windowsupdate.com", hours=24 * 9 + 23))  # 05:00 UTC next day
    counts, unit = charts.timeline_counts(make_result(rows).flows, "Europe/Berlin")
    assert unit == "day"
    assert counts.height == 11  # day 0 to day 10 in Berlin, empty days included
    assert counts["allowed"].sum() == 3 and counts["blocked"].to_list()[-1] == 1


def test_unexpected_top_destinations_sorted_with_stable_ties():
    rows = [flow("unexpected-allowed", "b.test", line=i) for i in range(3)]
    rows += [
        flow("unexpected-blocked", "b.test"),
        flow("unexpected-blocked", "a.test"),
        flow("unexpected-allowed", "c.test"),
    ]
    rows += [flow("required-allowed", "download.windowsupdate.com")]
    counts = charts.unexpected_counts(make_result(rows).flows)
    assert counts.rows() == [("b.test", 3, 1, 4), ("a.test", 0, 1, 1), ("c.test", 1, 0, 1)]
    assert charts.unexpected_counts(make_result(rows).flows, top=1).height == 1


def test_unexpected_inbound_traffic_is_labelled_by_its_remote_party():
    """Item 23: an inbound flow's destination is the server itself; the chart names who came in."""
    inbound = flow("unexpected-allowed", "sup-cas.corp.example.com") | {
        "direction_to_server": "inbound",
        "src_ip": "203.0.113.9",
        "dst_ip": "192.0.2.10",
    }
    rows = [inbound, flow("unexpected-allowed", "c.test"), flow("required-allowed", "download.windowsupdate.com")]
    counts = charts.unexpected_counts(make_result(rows).flows)
    assert sorted(counts["destination"].to_list()) == ["c.test", "from 203.0.113.9"]


def test_coverage_counts_per_server(small_result):
    assert charts.coverage_counts(small_result.coverage).rows() == [("CAS", 1, 1, 1)]


def test_render_is_deterministic_png(small_result):
    first = charts.render(small_result)
    second = charts.render(small_result)
    assert set(first) == {"timeline", "unexpected", "coverage"}
    assert all(png.startswith(PNG) for png in first.values())
    assert first == second
    assert b"Software" not in first["timeline"]  # no matplotlib version in the file


def test_empty_result_still_draws_every_chart():
    result = make_result([flow("unexpected-blocked", "x.test")])
    result.flows = result.flows.clear()
    result.aggregates = aggregates.empty()
    result.coverage = result.coverage.clear()
    images = charts.render(result)
    assert set(images) == {"timeline", "unexpected", "coverage"}


def test_hostile_labels_are_plain_text():
    # "$...$" would be mathtext, and an unknown command a ValueError; long labels are shortened.
    names = ["$\\nosuchcommand$.evil.test", "x" * 300 + ".test", "<script>alert(1)</script>.test"]
    rows = [flow("unexpected-allowed", n) for n in names]
    rows.append(flow("required-allowed", "download.windowsupdate.com"))
    result = make_result(rows, [coverage_row("$x$", "never-seen", server="$\\bad")])
    images = charts.render(result)
    assert all(png.startswith(PNG) for png in images.values())


def test_no_matplotlib_warning_for_control_characters_or_centuries(recwarn):
    # An ESC in a host name had no glyph ("Glyph 27 missing"); a range of centuries made the
    # date locator give up ("AutoDateLocator was unable to pick an appropriate interval").
    rows = [flow("unexpected-allowed", "\x1b[31mred\x07.evil.test")]
    rows += [flow("required-allowed", "download.windowsupdate.com", hours=h * 24 * 365 * 40, line=h) for h in range(9)]
    result = make_result(rows)
    warnings.simplefilter("always")
    images = charts.render(result)
    assert all(png.startswith(PNG) for png in images.values())
    assert [str(w.message) for w in recwarn] == []
    assert charts._label("a\x1bb") == "a\\x1bb"


@pytest.mark.parametrize("hours", [0.75, 30, 77, 80, 24 * 200, 24 * 1100, 24 * 9000])
def test_no_date_locator_warning_whatever_the_span(hours, recwarn):
    # 77 hours (3 days 5 h) fit none of matplotlib's default hourly steps at 8 ticks: it warned.
    rows = [flow("required-allowed", "download.windowsupdate.com", hours=hours * i / 10, line=i) for i in range(11)]
    warnings.simplefilter("always")
    images = charts.render(make_result(rows))
    assert images["timeline"].startswith(PNG)
    assert [str(w.message) for w in recwarn] == []


def test_write_puts_pngs_in_charts_folder(small_result, tmp_path):
    folder = charts.write(small_result, tmp_path)
    assert folder == tmp_path / "charts"
    assert sorted(p.name for p in folder.iterdir()) == ["coverage.png", "timeline.png", "unexpected.png"]
    assert pl.Series([p.stat().st_size for p in folder.iterdir()]).min() > 1000
