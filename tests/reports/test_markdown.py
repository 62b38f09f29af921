"""report.md: same structure as the HTML, every untrusted value escaped, tables intact."""

import re

import polars as pl
from markdown_it import MarkdownIt
from report_fakes import flow, make_result

from analyzer.baseline import compare
from analyzer.reports import markdown

HOSTILE = {
    "host": "evil.test|[click](javascript:alert(1))",
    "rule": "<img src=x onerror=alert(1)>",
    "user": "![x](http://evil.test/pixel.png)",
}


def test_sections_in_reading_order(small_result):
    text = markdown.render(small_result)
    headings = re.findall(r"^## (.+)$", text, flags=re.M)
    assert headings == [
        "Verdict at a glance",
        "Required traffic blocked or failing",
        "Unexpected traffic",
        "Coverage of required entries",
        "Inputs",
        "Policy",
    ]
    assert "![Required traffic over time: allowed, blocked and failed](charts/timeline.png)" in text


def test_blocked_finding_row(small_result):
    text = markdown.render(small_result)
    row = next(line for line in text.splitlines() if "dl.delivery.mp.microsoft.com" in line)
    assert "`*.delivery.mp.microsoft.com`" in row
    assert "squid/access.log:12, squid/access.log:13" in row
    assert "DENY\\_ALL" in row  # escaped, shows as DENY_ALL


def render_like_github(text: str) -> str:
    # GitHub links http(s)://, www. and e-mail addresses by themselves, not bare domains
    # (markdown-it's "fuzzy" links would turn every sup-cas.corp.example.com into one).
    parser = MarkdownIt("gfm-like")
    parser.linkify.set({"fuzzy_link": False})
    return parser.render(text)


def table_rows(html: str) -> list[list[str]]:
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
    ]


def test_hostile_values_cannot_break_tables_or_inject():
    rows = [flow("unexpected-allowed", HOSTILE["host"], rule=HOSTILE["rule"], user=HOSTILE["user"])]
    rows.append(flow("required-allowed", "download.windowsupdate.com"))
    text = markdown.render(make_result(rows))
    html = render_like_github(text)
    assert "javascript:" not in re.sub(r"<td>.*?</td>", "", html, flags=re.S)  # only as cell text
    assert "<a " not in html  # no link at all: the report has none, and log text could add none
    assert "<img src=x" not in html and 'src="http://evil.test' not in html
    images = re.findall(r'<img src="([^"]+)"', html)
    assert images == ["charts/timeline.png", "charts/unexpected.png", "charts/coverage.png"]
    for cells in table_rows(html):  # every row has as many cells as its header
        assert cells == [] or len(cells) in {2, 4, 5, 7, 9, 10, 13}, cells
    unexpected = next(cells for cells in table_rows(html) if cells and cells[1] == "unexpected-allowed")
    assert len(unexpected) == 13
    group = next(cells for cells in table_rows(html) if len(cells) == 9 and cells[5] == "CAS")
    assert group[0] == "<strong>evil.test|[click](javascript:alert(1))</strong>"  # its own domain, as text
    assert group[6] == "evil.test|[click](javascript:alert(1))"
    assert unexpected[3] == "evil.test|[click](javascript:alert(1))"
    assert unexpected[7] == "&lt;img src=x onerror=alert(1)&gt;"


def test_baseline_statuses_and_resolved(small_result):
    before = small_result.findings
    now = before.filter(pl.col("verdict") != "unexpected-blocked")
    small_result.findings = compare(now, before.filter(pl.col("verdict") != "unexpected-allowed"))
    text = markdown.render(small_result)
    assert "Since the baseline: **1** new, **1** resolved, 1 persisting." in text
    assert "## Resolved since the baseline" in text
    resolved = text[text.index("## Resolved since the baseline") : text.index("## Coverage")]
    assert "tracker.test" in resolved and "| resolved |" in resolved
    assert "| new |" in text and "| persisting |" in text


def test_write(small_result, tmp_path):
    path = markdown.write(small_result, tmp_path)
    assert path.read_text(encoding="utf-8") == markdown.render(small_result)
