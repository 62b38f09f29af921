"""PAN-OS: the URL-category semantics (apex, subdomains, a '*' inside a label) against a matcher
written from PAN-OS's documented rules, the XML round trip through pan-os-python, and the fixes
placed before the rule that blocked."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest
from panos.objects import AddressObject, CustomUrlCategory, ServiceObject
from panos.policies import SecurityRule

from analyzer.policy import load_policy
from analyzer.policy.patterns import parse_host
from analyzer.remediation import paloalto
from analyzer.remediation.model import Device, requirements

ROOT = Path(__file__).resolve().parents[2]
SITE = str(ROOT / "data/samples/site.toml")


def panos_matches(entry: str, host: str) -> bool:
    """PAN-OS URL-list matching of a host (path "/"), from its documentation: tokens are split at
    ``. / ? & = ; +``; ``*`` stands for one or more tokens, ``^`` for exactly one; a wildcard is a
    whole token; an entry ending in ``/`` must end the host there."""
    url = host + "/"
    parts = []
    for token in re.split(r"([./?&=;+])", entry):
        if token == "*":
            parts.append(r"[^./?&=;+]+(?:\.[^./?&=;+]+)*")
        elif token == "^":
            parts.append(r"[^./?&=;+]+")
        else:
            parts.append(re.escape(token))
    return re.match("^" + "".join(parts), url) is not None


# (pattern, wildcard mode, host, covered by the analyzer's reading, covered by the PAN-OS entries)
SEMANTICS = [
    ("windowsupdate.microsoft.com", "subdomains", "windowsupdate.microsoft.com", True, True),
    ("windowsupdate.microsoft.com", "subdomains", "fe2.windowsupdate.microsoft.com", False, False),
    ("windowsupdate.microsoft.com", "subdomains", "windowsupdate.microsoft.com.example.net", False, False),
    ("*.update.microsoft.com", "subdomains", "update.microsoft.com", False, False),  # the apex
    ("*.update.microsoft.com", "subdomains", "fe2.update.microsoft.com", True, True),
    ("*.update.microsoft.com", "subdomains", "a.b.update.microsoft.com", True, True),
    ("*.update.microsoft.com", "subdomains", "evilupdate.microsoft.com", False, False),
    ("*.update.microsoft.com", "apex", "update.microsoft.com", True, True),
    ("*.update.microsoft.com", "apex", "fe2.update.microsoft.com", True, True),
    ("*.update.microsoft.com", "apex", "update.microsoft.com.example.net", False, False),
    ("kv*.prod.do.dsp.mp.microsoft.com", "subdomains", "kv01.prod.do.dsp.mp.microsoft.com", True, True),
    # mid-label: PAN-OS cannot say "kv*", so ^ takes any one label: beyond the list, and noted
    ("kv*.prod.do.dsp.mp.microsoft.com", "subdomains", "ab.prod.do.dsp.mp.microsoft.com", False, True),
    ("kv*.prod.do.dsp.mp.microsoft.com", "subdomains", "a.kv1.prod.do.dsp.mp.microsoft.com", False, False),
    ("kv*.prod.do.dsp.mp.microsoft.com", "subdomains", "prod.do.dsp.mp.microsoft.com", False, False),
]


@pytest.mark.parametrize(("text", "wildcard", "host", "ours", "panos"), SEMANTICS)
def test_url_category_semantics(text, wildcard, host, ours, panos):
    pattern = parse_host(text)
    entries, note = paloalto.url_entries(pattern, wildcard)
    assert pattern.matches(host, wildcard) is ours
    assert any(panos_matches(e, host) for e in entries) is panos
    if ours != panos:  # what the entries allow beyond the list is said in a note
        assert note and "^ allows any label" in note
    assert all(e.endswith("/") for e in entries)


def test_the_semantics_table_covers_every_kind_and_mode():
    kinds = {parse_host(t).kind for t, *_ in SEMANTICS}
    assert kinds == {"exact", "subdomains", "glob"}
    assert set(paloalto.URL_SEMANTICS) == {(k, m) for k in kinds for m in ("subdomains", "apex")}


def test_the_matcher_is_panos_not_ours():
    # Without the trailing slash PAN-OS would match beyond the host: the reason every entry has one.
    assert panos_matches("example.com", "example.com.example.net")
    assert not panos_matches("example.com/", "example.com.example.net")
    assert panos_matches("^.example.com/", "a.example.com") and not panos_matches("^.example.com/", "a.b.example.com")


def _objects(policy, found=None, device=None):
    device = device or Device("paloalto", "0123456789AB", {("CAS", None): {("trust", "untrust")}})
    return paloalto.build(policy, requirements(policy), found or {}, device)


@pytest.mark.parametrize("profile", ["cm2007", "wsus-2025"])
def test_xml_round_trips_through_pan_os_python(profile):
    policy = load_policy(SITE, profile=profile)
    objs, _ = _objects(policy)
    originals = paloalto.panos_objects(objs)
    root = ET.fromstring(paloalto.xml_document(originals))
    vsys = root.find("./devices/entry[@name='localhost.localdomain']/vsys/entry[@name='vsys1']")
    containers = {
        AddressObject: vsys.find("address"),
        ServiceObject: vsys.find("service"),
        CustomUrlCategory: vsys.find("profiles/custom-url-category"),
        SecurityRule: vsys.find("rulebase/security/rules"),
    }
    read_back = []
    for cls, container in containers.items():
        assert container is not None, cls.__name__
        read_back += cls().refreshall_from_xml(container)
    assert sorted((type(o).__name__, o.uid) for o in read_back) == sorted((type(o).__name__, o.uid) for o in originals)
    by_key = {(type(o).__name__, o.uid): o for o in read_back}
    for original in originals:  # read back, each object writes the same XML again
        again = by_key[(type(original).__name__, original.uid)]
        assert again.element_str() == original.element_str(), original.uid
    rule = by_key[("SecurityRule", "wsus-http-80")]
    assert rule.fromzone == ["trust"] and rule.tozone == ["untrust"] and rule.application == ["web-browsing"]
    assert rule.service == ["wsus-tcp-80"] and rule.category == ["wsus-http-80"] and rule.source == ["wsus-CAS"]
    category = by_key[("CustomUrlCategory", "wsus-https-443")]
    assert category.type == "URL List" and "*.update.microsoft.com/" in category.url_value


def test_set_commands_match_the_xml_objects():
    policy = load_policy(SITE)
    objs, blocks = _objects(policy)
    text = "\n".join(line for b in blocks for line in b.lines)
    for kind, name, attrs in objs.items:
        if kind == "category":
            assert f"set profiles custom-url-category {name} list [ {' '.join(attrs['urls'])} ]" in text
        elif kind == "service":
            assert f"set service {name} protocol tcp port {attrs['port']}" in text
    # https entries on 443 only, App-ID ssl; the hierarchy on the WSUS ports between the servers
    assert re.search(
        r"rules wsus-https-443 from trust to untrust source wsus-CAS .*application ssl service wsus-tcp-443", text
    )
    sync = "rules wsus-sync-PRI1-CAS-https from any to any source wsus-PRI1 destination wsus-CAS"
    assert f"{sync} application ssl service wsus-tcp-8531" in text


def test_fixes_go_before_the_rule_that_blocked():
    policy = load_policy(SITE)
    req = next(r for r in requirements(policy) if r.entry == "https://*.update.microsoft.com")
    finding = {"finding_id": "abc123", "count": 4, "device_rules": "0123456789AB: deny-all; OTHER: x", "host": "h"}
    hostile = {"finding_id": "def456", "count": 1, "device_rules": '0123456789AB: x"; delete rulebase', "host": "h"}
    _, blocks = paloalto.build(policy, [req], {req.key: [finding, hostile]}, Device("paloalto", "0123456789AB"))
    fixing = [b for b in blocks if b.fixes]
    assert len(fixing) == 1 and fixing[0].fixes == ("abc123", "def456")
    text = fixing[0].text("#")
    assert 'move rulebase security rules wsus-https-443 before "deny-all"' in text
    assert "delete rulebase" not in text  # a rule name from a log is used only when it is a plain name
    assert "# fixes findings abc123 (4 flows), def456 (1 flow)" in text


def test_samples_firewall_zones_come_from_its_logs():
    from analyzer.check import run_check
    from analyzer.remediation import remediation_files

    result = run_check([str(ROOT / "data/samples")], SITE)
    files = remediation_files(result.findings, result.flows, result.policy, device="paloalto")
    assert "rules wsus-http-80 from trust to untrust" in files["paloalto-0123456789AB/policy.set"]
    assert files["paloalto-0123456789AB/edl.txt"].splitlines()[0] == "windowsupdate.microsoft.com/"
    assert not any(k.endswith("fixes.set") for k in files)  # no PAN-OS blocked a required flow here
    assert pl.Series(list(files)).str.contains("paloalto-0123456789AC").any()


def test_zone_names_from_a_log_become_rules_only_when_plain():
    from analyzer.remediation.model import devices

    flows = pl.DataFrame(
        {
            "source_format": ["paloalto", "paloalto"],
            "device": ["0123456789AB", "0123456789AB"],
            "direction": [None, None],
            "src_server": ["CAS", "CAS"],
            "dst_server": [None, None],
            "source_file": ["x.log", "x.log"],
            "extra": ['{"from_zone":"trust","to_zone":"untrust"}', '{"from_zone":"a b\\nset x","to_zone":"dmz"}'],
            "server": ["CAS", "CAS"],
            "direction_to_server": ["outbound", "outbound"],
            "verdict": ["required-allowed", "required-allowed"],
            "dst_host": ["fe2.update.microsoft.com", "fe2.update.microsoft.com"],
            "src_ip": ["192.0.2.10", "192.0.2.10"],
            "dst_ip": [None, None],
            "dst_port": [443, 443],
            "scheme": ["https", "https"],
            "action": ["allowed", "allowed"],
        }
    )
    from analyzer.aggregates import FINDINGS_SCHEMA

    (device,), _ = devices(flows.lazy(), pl.DataFrame(schema=FINDINGS_SCHEMA))
    assert device.zones == {("CAS", None): {("trust", "untrust")}}
