"""Scope: flows from or to a server (by address or name) are in scope, others are not."""

from __future__ import annotations

import polars as pl

from analyzer.flows import conform_flows
from analyzer.policy import load_site
from analyzer.scope import identities, scope
from tests.conftest import SAMPLES


def test_scope_by_source_destination_address_and_name():
    site = load_site(SAMPLES / "site.toml")
    flows = conform_flows(
        pl.DataFrame(
            {
                "src_ip": [
                    "192.0.2.10",
                    "::ffff:192.0.2.20",
                    "192.0.2.150",
                    "203.0.113.9",
                    "192.0.2.150",
                    "192.0.2.20",
                ],
                "dst_ip": [None, None, "198.51.100.30", None, "203.0.113.1", "192.0.2.10"],
                "dst_host": ["a.test", "b.test", None, "sup-cas.corp.example.com", "c.test", None],
            }
        )
    )
    scoped = scope(flows, site)
    assert scoped.select("server", "direction_to_server", "src_server", "dst_server").rows() == [
        ("CAS", "outbound", "CAS", None),
        ("PRI1", "outbound", "PRI1", None),
        ("IBSUP", "inbound", None, "IBSUP"),
        ("CAS", "inbound", None, "CAS"),
        (None, None, None, None),
        ("PRI1", "outbound", "PRI1", "CAS"),
    ]
    assert scoped.columns[: len(flows.columns)] == flows.columns


def test_ipv6_servers_match_any_spelling():
    site = load_site(SAMPLES / "site.toml")
    from dataclasses import replace

    v6 = replace(site, servers=(replace(site.servers[0], addresses=("2001:db8::10",)),))
    flows = conform_flows(pl.DataFrame({"src_ip": ["2001:DB8:0:0::10", "2001:db8::11"]}))
    assert scope(flows, v6)["server"].to_list() == ["CAS", None]
    assert set(identities(v6)["ident"]) == {"2001:db8::10", "sup-cas.corp.example.com"}


def test_empty_flows():
    site = load_site(SAMPLES / "site.toml")
    assert scope(conform_flows(pl.DataFrame()), site).height == 0
