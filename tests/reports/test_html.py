"""report.html: sections, self-contained, escaped, charts embedded, baseline status."""

import re

import polars as pl

from analyzer.baseline import compare
from analyzer.reports import html
from tests.reports.report_fakes import flow, make_result

HOSTILE_HOST = "evil.test<script>document.title='pwned'</script>"
HOSTILE_RULE = "<img src=x onerror=\"document.body.setAttribute('data-pwned',1)\">"


def text_of(page: str) -> str:
    """The page without the <wbr> break hints the report puts after dots and slashes."""
    return page.replace("<wbr>", "")


def test_sections_in_reading_order(small_result):
    page = html.render(small_result)
    ids = re.findall(r'<section id="([a-z]+)">', page)
    assert ids == ["glance", "blocked", "unexpected", "coverage", "inputs", "policy"]


def test_blocked_finding_shows_entry_counts_times_and_evidence(small_result):
    page = text_of(html.render(small_result))
    blocked = page[page.index('<section id="blocked">') : page.index('<section id="unexpected">')]
    assert "dl.delivery.mp.microsoft.com" in blocked
    assert "*.delivery.mp.microsoft.com" in blocked  # the allow-list entry
    assert "squid/access.log:12" in blocked and "squid/access.log:13" in blocked
    assert "2026-03-02 09:00:00 CET" in blocked and "2026-03-02 10:00:00 CET" in blocked  # site zone
    assert "DENY_ALL" in blocked


def test_self_contained(small_result):
    page = html.render(small_result)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r'(src|href)="(?!data:)', page)  # every image is inline data
    assert len(re.findall(r'<img id="chart-[a-z]+" alt="[^"]+" src="data:image/png;base64,', page)) == 3
    assert "default-src 'none'" in page  # CSP: no scripts, no remote content even if escaping failed
    assert "@media print" in page


def test_hostile_text_is_escaped():
    rows = [flow("unexpected-allowed", HOSTILE_HOST, rule=HOSTILE_RULE, url="/<b>x</b>")]
    rows.append(flow("required-allowed", "download.windowsupdate.com"))
    page = text_of(html.render(make_result(rows)))
    assert "<script>document" not in page and "<img src=x" not in page
    assert "evil.test&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&#34;document.body.setAttribute(&#39;data-pwned&#39;,1)&#34;&gt;" in page


def test_empty_sections_say_so():
    page = html.render(make_result([flow("required-allowed", "download.windowsupdate.com")]))
    assert "No required traffic was blocked or failed." in page
    assert "No unexpected traffic to or from the update servers." in page
    assert '<section id="resolved">' not in page


def test_baseline_counts_and_resolved_section(small_result):
    before = small_result.findings
    gone = before.filter(pl.col("verdict") == "unexpected-blocked")
    now = before.filter(pl.col("verdict") != "unexpected-blocked")
    small_result.findings = compare(now, before.filter(pl.col("verdict") != "unexpected-allowed"))
    page = text_of(html.render(small_result))
    assert '<section id="resolved">' in page
    resolved = page[page.index('<section id="resolved">') : page.index('<section id="coverage">')]
    assert "tracker.test" in resolved and gone.height == 1
    assert '<div class="n">1</div>new since baseline' in page
    assert '<div class="n">1</div>resolved since baseline' in page
    assert 'class="badge st-new"' in page and 'class="badge st-persisting"' in page


def test_write(small_result, tmp_path):
    path = html.write(small_result, tmp_path)
    assert path == tmp_path / "report.html"
    assert path.read_bytes() == html.render(small_result).encode("utf-8")


def test_break_hints_come_after_escaping():
    assert html.breakable("a.b/<c>") == "a.<wbr>b/<wbr>&lt;c&gt;"
    assert html.breakable(None) == ""
