"""report.html in a real headless browser: sections and charts render, hostile log text stays text.

Uses Debian's chromium (``.ci/run`` installs it when missing). The hostile values try to run
script, create an element, set an attribute and change the title; the dumped DOM must show them
only as text.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from analyzer.pipeline.check import run_check
from analyzer.reports import charts, html
from tests.conftest import ROOT

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TITLE = "Update server traffic compliance report"
HOST = "<img src=x onerror=\"document.title='pwned-img'\">.evil.test"
RULE = "<script>document.body.setAttribute('data-pwned','script')</script>"
FILE = "<svg onload=document.body.appendChild(document.createElement('blink'))>.log"
HOSTILE_LINES = [
    "1793754100.000    150 192.0.2.10 TCP_MISS/200 1234 GET http://evil.test/<script>alert(1)</script> "
    "<img/src=x/onerror=alert(1)> HIER_DIRECT/203.0.113.80 text/html",
    "1793754101.000    150 192.0.2.10 TCP_TUNNEL/200 1234 CONNECT evil.test|[x](javascript:alert(1)):443 - "
    "HIER_DIRECT/203.0.113.81 -",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium is not installed (.ci/run installs it)"
)


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    command = [
        CHROMIUM or "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=90, check=True)


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory) -> Path:
    """A real check over a sample log (renamed hostile, with hostile lines) and hostile findings."""
    logs = tmp_path_factory.mktemp("logs")
    sample = (ROOT / "data/samples/squid/access.log").read_text(encoding="utf-8")
    (logs / FILE).write_text(sample + "\n".join(HOSTILE_LINES) + "\n", encoding="utf-8")
    result = run_check([str(logs)], str(ROOT / "data/samples/site.toml"))
    # Parsers refuse such host names, but device rule names (PAN-OS) and future formats may not:
    # put the payloads where the report shows log text.
    first = pl.int_range(pl.len()) == 0
    result.findings = result.findings.with_columns(
        pl.when(first).then(pl.lit(HOST)).otherwise(pl.col("host")).alias("host"),
        pl.when(first).then(pl.lit(RULE)).otherwise(pl.col("device_rules")).alias("device_rules"),
    )
    outdir = tmp_path_factory.mktemp("report")
    return html.write(result, outdir)


@pytest.fixture(scope="module")
def dom(hostile_report, tmp_path_factory) -> str:
    return chromium("--dump-dom", hostile_report.as_uri(), profile=tmp_path_factory.mktemp("profile")).stdout


def test_sections_and_charts_are_there(dom):
    ids = re.findall(r'<section id="([a-z]+)">', dom)
    assert ids == ["glance", "blocked", "unexpected", "coverage", "inputs", "policy"]
    images = re.findall(r"<img [^>]*>", dom)
    assert len(images) == len(charts.CHARTS)
    assert all('src="data:image/png;base64,' in img for img in images)


def test_hostile_content_did_not_execute(dom):
    assert f"<title>{TITLE}</title>" in dom  # the title was not changed
    assert "pwned-img" not in re.sub(r"&lt;img src=x onerror=.*?&gt;", "", dom)  # only inside the escaped text
    assert not re.search(r"<body[^>]*data-pwned", dom)  # no attribute was set
    assert "<blink" not in dom and "<svg" not in dom and "<script" not in dom  # no element was created
    assert len(re.findall(r"<img ", dom)) == len(charts.CHARTS)


def test_hostile_content_is_shown_as_text(dom):
    dom = dom.replace("<wbr>", "")  # break hints after dots and slashes
    assert "&lt;img src=x onerror=\"document.title='pwned-img'\"&gt;.evil.test" in dom
    assert "&lt;script&gt;document.body.setAttribute('data-pwned','script')&lt;/script&gt;" in dom
    assert "&lt;svg onload=document.body.appendChild(document.createElement('blink'))&gt;.log" in dom


def test_screenshot(hostile_report, tmp_path):
    shot = tmp_path / "report.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2400", hostile_report.as_uri(), profile=tmp_path / "profile")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 50_000  # a page with content, not blank
