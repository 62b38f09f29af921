"""`policy explain`: which entries cover a host, over which scheme and port, and why others do not."""

from __future__ import annotations

import pytest

from analyzer.errors import AnalyzerError, UnknownNameError
from analyzer.policy import load_policy
from analyzer.policy.explain import explain_host, standalone_policy
from tests.conftest import SAMPLES


def _covering(rows):
    return {(r.profile, r.entry, r.scheme, r.port) for r in rows if r.covers}


def test_covering_entries_with_schemes_and_ports():
    folded, rows, notes = explain_host("Au.Download.WindowsUpdate.com.", load_policy(str(SAMPLES / "site.toml")))
    assert folded == "au.download.windowsupdate.com"
    assert _covering(rows) >= {
        ("cm2007", "http://*.windowsupdate.com", "http", 80),
        ("cm2007", "http://*.download.windowsupdate.com", "http", 80),
        ("delivery-optimization", "*.download.windowsupdate.com (payloads)", "http", 80),
    }
    why = {r.entry: r.why for r in rows if not r.covers}
    assert (
        why["http://download.windowsupdate.com"]
        == "exact entry: covers download.windowsupdate.com only, not its subdomains"
    )
    assert rows[0].covers  # covering entries first
    assert any("required of CAS" in n for n in notes)


def test_near_misses_say_why():
    _, rows, notes = explain_host("evilupdate.microsoft.com", standalone_policy())
    assert not _covering(rows)
    assert any("label boundary" in r.why for r in rows if r.entry == "https://*.update.microsoft.com")
    assert any("unexpected" in n for n in notes)


def test_apex_depends_on_the_wildcard_mode():
    _, rows, _ = explain_host("update.microsoft.com", standalone_policy())
    assert not _covering(rows)
    _, rows, _ = explain_host("update.microsoft.com", standalone_policy(wildcard="apex"))
    assert ("cm2007", "https://*.update.microsoft.com", "https", 443) in _covering(rows)


def test_other_role_and_servers():
    _, rows, notes = explain_host("kv7.prod.do.dsp.mp.microsoft.com", standalone_policy("wsus-2025"))
    assert ("delivery-optimization", "kv*.prod.do.dsp.mp.microsoft.com (443)", "https", 443) in _covering(rows)
    assert any("another role" in n for n in notes)
    _, _, notes = explain_host("192.0.2.10", load_policy(str(SAMPLES / "site.toml")))
    assert "required: PRI1 -> CAS over http 8530 and https 8531 (wsus_web_site custom)" in notes


def test_errors():
    with pytest.raises(UnknownNameError):
        standalone_policy("cm2070")
    with pytest.raises(AnalyzerError, match="cannot read host"):
        explain_host("host.example.com:port", standalone_policy())
