"""Remediation over the samples: which devices get rules, the fixes they carry, the golden files
(Squid, PAN-OS set commands and EDL, Windows Firewall PowerShell), the sentence per finding, and
the files the check writes into OUTDIR/remediation/."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import polars as pl
import pytest

from analyzer.pipeline.check import run_check
from analyzer.policy import load_policy
from analyzer.remediation import DEVICES, finding_remediation, remediate, remediation_files, write_remediation
from analyzer.remediation import text as remediation_text
from analyzer.remediation.model import comment_text, config_name

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="module")
def result():
    here = Path.cwd()
    os.chdir(ROOT)  # evidence paths as the README's command gives them
    try:
        return run_check(["data/samples"], "data/samples/site.toml")
    finally:
        os.chdir(here)


@pytest.fixture(scope="module")
def files(result):
    everything = remediation_files(result.findings, result.flows, result.policy)
    windows = remediation_files(result.findings, result.flows, result.policy, device="winfirewall")
    return everything | {k: v for k, v in windows.items() if k != "README.md"}


GOLDEN_FILES = {
    "squid-fixes.conf": "squid/fixes.conf",
    "squid-policy.conf": "squid/policy.conf",
    "paloalto-policy.set": "paloalto-0123456789AB/policy.set",
    "paloalto-edl.txt": "paloalto-0123456789AB/edl.txt",
    "winfirewall-CAS-fixes.ps1": "winfirewall-CAS/fixes.ps1",
    "winfirewall-CAS-policy.ps1": "winfirewall-CAS/policy.ps1",
    "winfirewall-PRI1-policy.ps1": "winfirewall-PRI1/policy.ps1",
    "winfirewall-IBSUP-policy.ps1": "winfirewall-IBSUP/policy.ps1",
    "README.md": "README.md",
}


@pytest.mark.parametrize("golden", sorted(GOLDEN_FILES))
def test_golden(files, golden):
    produced = files[GOLDEN_FILES[golden]]
    path = GOLDEN / golden
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(produced, encoding="utf-8", newline="\n")
    assert path.exists(), f"{path} is missing; run with UPDATE_GOLDEN=1 to create it"
    assert produced == path.read_text(encoding="utf-8"), f"{golden} differs (UPDATE_GOLDEN=1 to accept)"


def test_devices_are_those_that_logged_a_decision(files):
    folders = {k.split("/")[0] for k in files if "/" in k}
    assert folders == {
        "squid",
        "paloalto-0123456789AB",
        "paloalto-0123456789AC",
        "winfirewall-CAS",
        "winfirewall-PRI1",  # asked for with device="winfirewall": every server's own firewall
        "winfirewall-IBSUP",
    }


def test_fixes_name_exactly_the_blocked_required_findings_their_device_logged(result):
    rules = remediate(result.findings, result.flows, result.policy)
    fixes = rules.filter(pl.col("part") == "fixes").explode("fixes").drop_nulls("fixes")
    by_device = {k: set(v) for k, v in fixes.group_by("device_kind").agg("fixes").iter_rows()}
    blocked = result.findings.filter(pl.col("verdict") == "blocked-required")
    ids = dict(zip(blocked["host"].to_list(), blocked["finding_id"].to_list(), strict=True))
    # The proxy blocked download.microsoft.com (http) and IBSUP's sync to PRI1; CAS's own Windows
    # Firewall dropped ctldl.windowsupdate.com.
    assert by_device == {
        "squid": {ids["download.microsoft.com"], ids["sup-pri1.corp.example.com"]},
        "winfirewall": {ids["ctldl.windowsupdate.com"]},
    }
    assert set().union(*by_device.values()) == set(blocked["finding_id"])


def test_windows_rules_never_open_anything_to_the_internet(files, result):
    """No RemoteAddress of an inbound rule covers an address that reached a server from outside."""
    outsiders = result.findings.filter(pl.col("direction") == "inbound", pl.col("reason").str.contains("outside"))
    addresses = [ipaddress.ip_address(a) for a in outsiders["address"].to_list()]
    assert addresses  # the samples have such connections (203.0.113.201 -> CAS:8531, ...)
    for name, text in files.items():
        if not name.startswith("winfirewall-"):
            continue
        for line in text.splitlines():
            if "-Direction Inbound" not in line:
                continue
            remote = re.search(r"-RemoteAddress (\S+)", line)
            assert remote, f"{name}: an inbound rule without remote addresses opens the port to everyone: {line}"
            nets = [ipaddress.ip_network(n, strict=False) for n in remote.group(1).split(",")]
            for addr in addresses:
                assert not any(addr in n for n in nets), f"{name}: {line} lets {addr} in"


def test_an_internet_client_network_is_left_out_with_a_note(result, tmp_path):
    site = (ROOT / "data/samples/site.toml").read_text(encoding="utf-8")
    site = site.replace('role = "internet-sup"', 'role = "internet-sup"\nclient_networks = ["0.0.0.0/0", "::/0"]')
    (tmp_path / "site.toml").write_text(site, encoding="utf-8")
    policy = load_policy(str(tmp_path / "site.toml"))
    text = remediation_files(_no_findings(), result.flows.clear(), policy, device="winfirewall", server="IBSUP")
    ps = text["winfirewall-IBSUP/policy.ps1"]
    assert "not suggested: 0.0.0.0/0 reaches into the Internet" in ps
    assert "not suggested: ::/0 reaches into the Internet" in ps
    assert "0.0.0.0/0" not in "\n".join(line for line in ps.splitlines() if not line.startswith("#"))


def _no_findings() -> pl.DataFrame:
    from analyzer.aggregates import FINDINGS_SCHEMA

    return pl.DataFrame(schema=FINDINGS_SCHEMA)


def test_server_and_device_options_narrow_the_rules(result):
    only = remediation_files(result.findings, result.flows, result.policy, device="squid", server="IBSUP")
    assert sorted(only) == ["README.md", "squid/fixes.conf", "squid/policy.conf"]
    text = only["squid/policy.conf"]
    assert "IBSUP -> PRI1" in text and "PRI1 -> CAS" not in text and "dstdomain" in text
    assert "windowsupdate" not in text  # CAS's allow-list rules are not IBSUP's


def test_unknown_device_or_server_is_a_one_line_error(result):
    from analyzer.errors import AnalyzerError

    with pytest.raises(AnalyzerError, match="unknown device 'cisco'"):
        remediate(result.findings, result.flows, result.policy, device="cisco")
    with pytest.raises(AnalyzerError, match=r"unknown server 'NOPE' \(the site's servers: CAS, PRI1, IBSUP\)"):
        remediate(result.findings, result.flows, result.policy, server="NOPE")


def test_registry_is_a_plain_dict_of_modules():
    assert isinstance(DEVICES, dict) and set(DEVICES) == {"squid", "paloalto", "winfirewall"}
    for module in DEVICES.values():
        assert callable(module.render) and callable(module.files)


def test_finding_remediation_gives_one_sentence_per_finding(result):
    text = finding_remediation(result.findings, result.policy)
    assert text.columns == ["finding_id", "remediation"]
    assert text["finding_id"].to_list() == result.findings["finding_id"].to_list()
    by_id = dict(text.iter_rows())
    rows = {r["finding_id"]: r for r in result.findings.iter_rows(named=True)}
    for fid, sentence in by_id.items():
        assert sentence and "\n" not in sentence and sentence.isascii(), sentence
        verdict = rows[fid]["verdict"]
        if verdict == "blocked-required":
            assert sentence.startswith("Allow ") and (rows[fid]["entry"] in sentence)
        if verdict == "unexpected-allowed" and rows[fid]["direction"] == "inbound":
            assert sentence.startswith("Deny connections from ") and "WSUS initiates all its traffic" in sentence
    ibsup = next(f for f in rows.values() if f["verdict"] == "blocked-required" and f["server"] == "IBSUP")
    assert by_id[ibsup["finding_id"]] == (
        "Allow IBSUP (198.51.100.30) to reach its upstream server PRI1 (sup-pri1.corp.example.com, 192.0.2.20) "
        "over http on port 8530 (hierarchy pair IBSUP -> PRI1); OUTDIR/remediation/ has the rule for each device."
    )


def reference_remediation(findings: pl.DataFrame, policy) -> list[tuple[str, str]]:
    """The sentences one finding at a time, as plain Python: what finding_remediation computes over the frame."""
    return [
        (f["finding_id"], comment_text(remediation_text.sentence(f, policy))) for f in findings.iter_rows(named=True)
    ]


def test_finding_remediation_is_the_sentence_of_each_finding_on_the_samples(result):
    assert finding_remediation(result.findings, result.policy).rows() == reference_remediation(
        result.findings, result.policy
    )


HOSTILE = "evil\x1b[31m\u202e\x7f\x85\u00e9\u4f8b\U0001f600\nhttp_access allow all"
CHANGES = [  # over a sample finding, for each verdict (and no verdict, one that is not known)
    {},
    {c: None for c in ("host", "address", "port", "scheme", "reason", "entry", "device_rules", "server")},
    {"host": "", "address": "", "scheme": "", "device_rules": "", "reason": ""},
    {"host": HOSTILE, "reason": HOSTILE, "device_rules": HOSTILE, "entry": HOSTILE},
    {"host": None, "address": HOSTILE, "direction": "inbound", "port": 0},
    {"server": "NOT-IN-POLICY"},
    {"server": "IBSUP", "scheme": None},
    {"server": "IBSUP", "port": None, "entry": None},
]


def test_finding_remediation_is_the_sentence_of_each_finding_for_awkward_values(result):
    base = result.findings.row(0, named=True)
    verdicts = [*{f["verdict"] for f in result.findings.iter_rows(named=True)}, "required-failed", "odd", None]
    rows = [
        base | change | {"verdict": v, "direction": change.get("direction", "outbound"), "finding_id": f"f{i}-{j}"}
        for i, change in enumerate(CHANGES)
        for j, v in enumerate(verdicts)
    ]
    findings = pl.DataFrame(rows, schema=result.findings.schema, orient="row")
    texts = finding_remediation(findings, result.policy)
    assert texts.schema == pl.Schema({"finding_id": pl.String, "remediation": pl.String})
    assert texts.rows() == reference_remediation(findings, result.policy)
    without_rules = findings.drop("device_rules")  # optional: the sentence reads it with f.get
    assert finding_remediation(without_rules, result.policy).rows() == reference_remediation(
        without_rules, result.policy
    )
    assert finding_remediation(findings.clear(), result.policy).height == 0


def test_log_text_cannot_leave_a_comment_or_a_name():
    assert comment_text("a\nhttp_access allow all\x1b[31m") == "a?http_access allow all?[31m"
    assert config_name("CAS\nacl x src all") == "CAS_acl_x_src_all"


def test_the_check_writes_the_remediation_folder(result, tmp_path):
    (tmp_path / "remediation" / "stale").mkdir(parents=True)
    folder = write_remediation(result, tmp_path)
    written = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert "squid/policy.conf" in written and "README.md" in written and "stale" not in written
    assert (folder / "squid/fixes.conf").read_text(encoding="utf-8") == remediation_files(
        result.findings, result.flows, result.policy
    )["squid/fixes.conf"]


def test_rules_read_the_flows_lazily_or_in_memory(result):
    """The check's flows are a lazy frame over flows.parquet; a frame in memory gives the same."""
    assert isinstance(result.flows, pl.LazyFrame)
    in_memory = remediation_files(result.findings, result.flows.collect(), result.policy)
    assert in_memory == remediation_files(result.findings, result.flows, result.policy)


FIELDS = (
    "date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode"
)
PFIREWALL = f"""#Version: 1.5
#Software: Microsoft Windows Firewall
#Time Format: UTC
#Fields: {FIELDS} info path
2026-11-03 10:00:00 DROP TCP 192.0.2.20 192.0.2.10 49901 8530 52 S 1 0 64240 - - - RECEIVE
2026-11-03 10:00:01 DROP TCP 192.0.2.150 192.0.2.10 49902 8531 52 S 1 0 64240 - - - RECEIVE
2026-11-03 10:00:02 DROP TCP 203.0.113.201 192.0.2.10 55012 8531 52 S 1 0 64240 - - - RECEIVE
"""


def test_drops_at_a_server_get_inbound_rules_there_and_never_from_the_internet(tmp_path):
    """CAS's own firewall dropped PRI1's synchronization and a client: CAS's fixes open its WSUS
    port to PRI1 and to the client network, and to nothing else."""
    log = tmp_path / "pfirewall.log"
    log.write_text(PFIREWALL, encoding="utf-8")
    result = run_check([str(log)], str(ROOT / "data/samples/site.toml"))
    ids = {(r["server"], r["address"] or r["host"]): r["finding_id"] for r in result.findings.iter_rows(named=True)}
    fixes = remediation_files(result.findings, result.flows, result.policy)["winfirewall-CAS/fixes.ps1"]
    rules = [line for line in fixes.splitlines() if line.startswith("New-NetFirewallRule")]
    assert rules == [
        "New-NetFirewallRule -DisplayName 'WSUS http from PRI1 (PRI1 -> CAS)' -Group 'WSUS (analyzer)' "
        "-Direction Inbound -Protocol TCP -LocalPort 8530 -RemoteAddress 192.0.2.20 -Action Allow "
        "-Description 'PRI1 synchronizes from CAS over http'",
        "New-NetFirewallRule -DisplayName 'WSUS clients of CAS' -Group 'WSUS (analyzer)' -Direction Inbound "
        "-Protocol TCP -LocalPort 8530,8531 -RemoteAddress 192.0.2.0/24 -Action Allow "
        "-Description 'update clients of CAS'",
    ]
    assert f"# fixes finding {ids[('PRI1', '192.0.2.10')]} (1 flow)" in fixes  # IP-only: by the upstream's address
    assert f"# fixes finding {ids[('CAS', '192.0.2.150')]} (1 flow)" in fixes
    assert "203.0.113.201" not in fixes


def test_hostile_device_names_from_a_log_stay_inert(result):
    hostile = "0123456789AB\nhttp_access allow all\x1b]0;x\x07<script>"
    flows = result.flows.with_columns(
        pl.when(pl.col("device") == "0123456789AB").then(pl.lit(hostile)).otherwise(pl.col("device")).alias("device")
    )
    findings = result.findings.with_columns(pl.col("device_rules").str.replace_all("0123456789AB", hostile))
    files = remediation_files(findings, flows, result.policy)
    assert "<script>" not in files["README.md"]  # Markdown-escaped there
    for name, text in files.items():
        assert "/" not in name.split("/")[0] and name.isascii(), name
        assert all(line.isascii() and line.isprintable() for line in text.splitlines()), name
        assert "http_access allow all" not in [line.strip() for line in text.splitlines()], name


def test_the_ocsf_findings_carry_the_remediation_sentence(result, tmp_path):
    import json

    from analyzer.reports import WRITERS

    events = json.loads(WRITERS["findings.ocsf.json"](result, tmp_path).read_text(encoding="utf-8"))
    texts = dict(finding_remediation(result.findings, result.policy).iter_rows())
    assert len(events) == len(texts)
    for event in events:
        assert event["remediation"] == {"desc": texts[event["finding_info"]["uid"]]}
