"""Every verdict and every reason, table-driven, through scope → match → judge; findings, coverage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analyzer.aggregates import coverage, findings, summarize
from analyzer.check import check_flows
from analyzer.policy import load_policy, load_site
from analyzer.schema import conform_flows
from analyzer.verdicts import REASONS, SEVERITIES, VERDICTS, judge

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CAS, PRI1, IBSUP, CLIENT, OUTSIDE, PROXY = (
    "192.0.2.10",
    "192.0.2.20",
    "198.51.100.30",
    "192.0.2.150",
    "203.0.113.9",
    "192.0.2.5",
)


def policy(**site_changes):
    site = load_site(SAMPLES / "site.toml")
    return load_policy(replace(site, **site_changes) if site_changes else site)


def flows(*rows: dict) -> pl.DataFrame:
    """Flows from partial rows: defaults fill time, tcp, allowed, file and line."""
    full = []
    for i, row in enumerate(rows):
        base = {
            "time": T0 + timedelta(minutes=i),
            "protocol": "tcp",
            "action": "allowed",
            "source_file": "test.log",
            "line_no": i + 1,
        }
        base.update(row)
        full.append(base)
    return conform_flows(pl.from_dicts(full, infer_schema_length=None))


def out(src, host=None, port=443, scheme="https", action="allowed", ip=None, protocol="tcp"):
    return {
        "src_ip": src,
        "dst_host": host,
        "dst_port": port,
        "scheme": scheme,
        "action": action,
        "dst_ip": ip,
        "protocol": protocol,
    }


# description, flow, verdict, reason code, entry
TABLE = [
    (
        "required, allowed",
        out(CAS, "www.update.microsoft.com"),
        "required-allowed",
        "required-entry",
        "https://*.update.microsoft.com",
    ),
    (
        "required, blocked; the exact entry is the most specific",
        out(CAS, "download.windowsupdate.com", 80, "http", "blocked"),
        "blocked-required",
        "required-entry",
        "http://download.windowsupdate.com",
    ),
    (
        "required, failed beyond the device",
        out(CAS, "au.download.windowsupdate.com", 80, "http", "failed"),
        "required-failed",
        "required-entry",
        "http://*.download.windowsupdate.com",
    ),
    (
        "IP-only flow attributed by DNS: no scheme, port decides",
        out(CAS, "fe2.update.microsoft.com", 443, None),
        "required-allowed",
        "required-entry",
        "https://*.update.microsoft.com",
    ),
    (
        "IPv4-mapped source address",
        out("::ffff:192.0.2.10", "sws.update.microsoft.com"),
        "required-allowed",
        "required-entry",
        "https://*.update.microsoft.com",
    ),
    ("not listed, allowed", out(CAS, "www.example.net"), "unexpected-allowed", "not-listed", None),
    ("not listed, blocked", out(CAS, "pastebin.test", 80, "http", "blocked"), "unexpected-blocked", "not-listed", None),
    ("label boundary", out(CAS, "evilupdate.microsoft.com"), "unexpected-allowed", "not-listed", None),
    ("apex not covered in subdomains mode", out(CAS, "update.microsoft.com"), "unexpected-allowed", "not-listed", None),
    (
        "listed host, other scheme",
        out(CAS, "download.windowsupdate.com", 443, "https"),
        "unexpected-allowed",
        "scheme-port",
        "http://download.windowsupdate.com",
    ),
    (
        "listed host, other port",
        out(CAS, "fe2.update.microsoft.com", 8080, "http", "blocked"),
        "unexpected-blocked",
        "scheme-port",
        "http://*.update.microsoft.com",
    ),
    (
        "another role's endpoint",
        out(CAS, "dl.delivery.mp.microsoft.com", action="blocked"),
        "unexpected-blocked",
        "other-role",
        "*.delivery.mp.microsoft.com (HTTPS)",
    ),
    (
        "another role, wildcard inside a label",
        out(CAS, "kv5.prod.do.dsp.mp.microsoft.com"),
        "unexpected-allowed",
        "other-role",
        "kv*.prod.do.dsp.mp.microsoft.com (443)",
    ),
    (
        "Delivery Optimization peer port, IP only",
        out(CAS, None, 7680, None, ip="203.0.113.77"),
        "unexpected-allowed",
        "other-role",
        "delivery-optimization: tcp/7680 (peer-to-peer)",
    ),
    ("IP-only without evidence", out(CAS, None, 443, None, ip="203.0.113.77"), "unattributed", "no-evidence", None),
    ("no destination at all (a proxy error line)", out(CAS, None, None, None), "unattributed", "no-destination", None),
    (
        "IP-only without evidence, blocked: still not judged",
        out(CAS, None, 80, None, "blocked", ip="203.0.113.78"),
        "unattributed",
        "no-evidence",
        None,
    ),
    (
        "the site's [[allow]] by name",
        out(CAS, "proxy.corp.example.com", 8080, "http"),
        "permitted",
        "permitted",
        "http://proxy.corp.example.com:8080",
    ),
    (
        "the site's [[allow]] by address",
        out(CAS, None, 8080, None, ip=PROXY),
        "permitted",
        "permitted",
        "http://proxy.corp.example.com:8080",
    ),
    (
        "the site's [[allow]] host on another port",
        out(CAS, "proxy.corp.example.com", 3128, "http"),
        "unexpected-allowed",
        "scheme-port",
        "http://proxy.corp.example.com:8080",
    ),
    (
        "client to its update point's WSUS port",
        out(CLIENT, None, 8530, None, ip=CAS),
        "permitted",
        "client-service",
        None,
    ),
    ("client to a server's other port", out(CLIENT, None, 3389, None, ip=CAS), "unexpected-allowed", "inbound", None),
    ("opened from outside, allowed", out(OUTSIDE, None, 8531, None, ip=CAS), "unexpected-allowed", "inbound", None),
    (
        "opened from outside, blocked",
        out(OUTSIDE, "ibsup.dmz.example.com", 8531, "https", "blocked"),
        "unexpected-blocked",
        "inbound",
        None,
    ),
    (
        "child to parent, http 8530",
        out(PRI1, None, 8530, None, ip=CAS),
        "required-allowed",
        "required-hierarchy",
        "PRI1 -> CAS",
    ),
    (
        "child to parent by FQDN, https 8531, blocked",
        out(PRI1, "sup-cas.corp.example.com", 8531, "https", "blocked"),
        "blocked-required",
        "required-hierarchy",
        "PRI1 -> CAS",
    ),
    (
        "child to parent on the default port of a custom site",
        out(PRI1, None, 443, None, ip=CAS),
        "unexpected-allowed",
        "scheme-port",
        "PRI1 -> CAS",
    ),
    (
        "child to parent, http over the https port",
        out(PRI1, "sup-cas.corp.example.com", 8531, "http"),
        "unexpected-allowed",
        "scheme-port",
        "PRI1 -> CAS",
    ),
    (
        "parent to child: against synchronization",
        out(CAS, None, 8530, None, "blocked", ip=PRI1),
        "unexpected-blocked",
        "against-sync",
        "PRI1 -> CAS",
    ),
    (
        "Internet-based update point to its site's update point",
        out(IBSUP, None, 8531, None, ip=PRI1),
        "required-allowed",
        "required-hierarchy",
        "IBSUP -> PRI1",
    ),
    (
        "Internet-based update point to the top server: not its upstream",
        out(IBSUP, None, 8531, None, ip=CAS),
        "unexpected-allowed",
        "not-listed",
        None,
    ),
    (
        "a downstream server reaching Microsoft directly",
        out(PRI1, "www.update.microsoft.com"),
        "unexpected-allowed",
        "not-required-here",
        "https://*.update.microsoft.com",
    ),
    (
        "proxy challenge",
        out(CAS, "www.update.microsoft.com", action="auth-required"),
        "auth-required",
        "auth",
        "https://*.update.microsoft.com",
    ),
    ("not a server's flow", out(CLIENT, "www.update.microsoft.com"), None, "out-of-scope", None),
]


@pytest.mark.parametrize(("what", "flow", "verdict", "code", "entry"), TABLE, ids=[t[0] for t in TABLE])
def test_every_verdict_and_reason(what, flow, verdict, code, entry):
    judged = check_flows(flows(flow), policy())
    row = judged.row(0, named=True)
    assert (row["verdict"], row["reason_code"], row["entry"]) == (verdict, code, entry)
    assert row["reason"] == REASONS[code]
    assert row["severity"] == (VERDICTS[verdict][0] if verdict else "none")


def test_the_table_covers_every_verdict_and_reason():
    assert {t[2] for t in TABLE} - {None} == set(VERDICTS)
    assert {t[3] for t in TABLE} == set(REASONS)


def test_one_pass_over_many_flows_gives_the_same_answers():
    judged = check_flows(flows(*[t[1] for t in TABLE]), policy())
    assert judged["verdict"].to_list() == [t[2] for t in TABLE]
    assert judged["entry"].to_list() == [t[4] for t in TABLE]
    assert judged["line_no"].to_list() == list(range(1, len(TABLE) + 1))  # order kept


@pytest.mark.parametrize(
    ("port", "scheme", "code"),
    [(80, "http", "required-hierarchy"), (443, None, "required-hierarchy"), (8530, None, "scheme-port")],
)
def test_hierarchy_on_the_default_web_site(port, scheme, code):
    judged = check_flows(flows(out(PRI1, None, port, scheme, ip=CAS)), policy(wsus_web_site="default"))
    assert judged["reason_code"][0] == code


def test_apex_mode():
    judged = check_flows(flows(out(CAS, "update.microsoft.com")), policy(wildcard="apex"))
    assert judged["verdict"][0] == "required-allowed"


def test_severities_are_declared_once():
    assert SEVERITIES == ("high", "medium", "low", "info")
    assert {v: s for v, (s, _) in VERDICTS.items()} == {
        "blocked-required": "high",
        "required-failed": "medium",
        "unexpected-allowed": "medium",
        "unattributed": "low",
        "unexpected-blocked": "info",
        "required-allowed": "none",
        "permitted": "none",
        "auth-required": "none",
    }
    assert all(desc for _, desc in VERDICTS.values())


def test_summary_counts_every_kind():
    judged = check_flows(flows(*[t[1] for t in TABLE]), policy())
    summary = summarize(judged)
    assert set(summary) == {*VERDICTS, "out-of-scope"}
    assert sum(summary.values()) == len(TABLE)
    assert summary["out-of-scope"] == 1 and summary["auth-required"] == 1


def test_findings_group_count_and_keep_five_evidence_lines():
    many = [out(CAS, "www.example.net") | {"device": "fw1", "rule": "allow-web"} for _ in range(7)]
    many += [out(CAS, "www.example.net", 80, "http")]
    many += [out(CAS, "download.windowsupdate.com", 80, "http", "blocked") | {"rule": "deny-all"}]
    many += [out(OUTSIDE, None, 8531, None, ip=CAS), out("203.0.113.10", None, 8531, None, ip=CAS)]
    f = findings(check_flows(flows(*many), policy()))
    assert f["verdict"].to_list() == [
        "blocked-required",
        "unexpected-allowed",
        "unexpected-allowed",
        "unexpected-allowed",
        "unexpected-allowed",
    ]
    first = f.row(0, named=True)
    assert first["severity"] == "high" and first["entry"] == "http://download.windowsupdate.com"
    assert first["device_rules"] == "deny-all" and first["count"] == 1
    web = f.filter((pl.col("host") == "www.example.net") & (pl.col("port") == 443)).row(0, named=True)
    assert web["count"] == 7 and web["device_rules"] == "fw1: allow-web"
    assert web["evidence"] == [{"file": "test.log", "line": n} for n in range(1, 6)]
    assert web["first_seen"] == T0 and web["last_seen"] == T0 + timedelta(minutes=6)
    inbound = f.filter(pl.col("direction") == "inbound")
    assert inbound["address"].to_list() == ["203.0.113.10", OUTSIDE]  # sorted as text
    assert inbound["host"].null_count() == 2
    assert f["finding_id"].n_unique() == f.height
    again = findings(check_flows(flows(*many), policy()))
    assert again.equals(f)  # stable order and ids


def test_coverage_counts_every_entry_a_flow_exercises():
    rows = [
        out(CAS, "download.windowsupdate.com", 80, "http"),
        out(CAS, "download.windowsupdate.com", 80, "http", "blocked"),
        out(CAS, "fe2.update.microsoft.com", 443, "https", "blocked"),
        out(CAS, "au.download.windowsupdate.com", 80, "http", "failed"),
        out(PRI1, None, 8531, None, ip=CAS),
        out(CAS, "www.update.microsoft.com", 443, "https", "auth-required"),  # not counted
    ]
    pol = policy()
    cov = coverage(check_flows(flows(*rows), pol), pol)
    status = {(r["server"], r["entry"], r["scheme"]): r for r in cov.iter_rows(named=True)}
    assert cov.height == pol.required.height
    exact = status[("CAS", "http://download.windowsupdate.com", "http")]
    assert (exact["status"], exact["allowed"], exact["blocked"], exact["failed"]) == ("seen-allowed", 1, 1, 0)
    wide = status[("CAS", "http://*.windowsupdate.com", "http")]
    assert (wide["allowed"], wide["blocked"], wide["failed"]) == (1, 1, 1)  # all three hosts are under it
    assert status[("CAS", "https://*.update.microsoft.com", "https")]["status"] == "seen-blocked"
    assert status[("CAS", "http://ntservicepack.microsoft.com", "http")]["status"] == "never-seen"
    assert status[("PRI1", "PRI1 -> CAS", "https")]["status"] == "seen-allowed"
    assert status[("PRI1", "PRI1 -> CAS", "http")]["status"] == "never-seen"
    assert status[("IBSUP", "IBSUP -> PRI1", "https")]["status"] == "never-seen"


def test_judge_leaves_out_of_scope_flows_unjudged():
    judged = judge(
        pl.DataFrame(
            {"server": [None], "action": ["allowed"], "reason_code": [None]},
            schema={"server": pl.String, "action": pl.String, "reason_code": pl.String},
        )
    )
    assert judged.row(0, named=True) == {
        "server": None,
        "action": "allowed",
        "reason_code": "out-of-scope",
        "verdict": None,
        "reason": REASONS["out-of-scope"],
        "severity": "none",
    }
