"""Match: host matching over distinct hosts, and classification over distinct keys joined back."""

from __future__ import annotations

import polars as pl

from analyzer.flows import conform_flows
from analyzer.match import fold_hosts, match, match_hosts
from analyzer.policy import load_policy
from analyzer.scope import scope
from tests.conftest import SAMPLES


def test_fold_hosts_idna_case_and_dot():
    folded = dict(fold_hosts(pl.Series(["Bücher.Example.", "WWW.Update.Microsoft.COM.", None])).iter_rows())
    assert folded == {
        "Bücher.Example.": "xn--bcher-kva.example",
        "WWW.Update.Microsoft.COM.": "www.update.microsoft.com",
    }


def test_match_hosts_against_the_policy_tables():
    policy = load_policy(str(SAMPLES / "site.toml"))
    hits = match_hosts(pl.Series(["download.windowsupdate.com", "nothing.test"]), policy.entries, policy.wildcard)
    labels = set(hits.join(policy.entries, on="entry_id")["entry"])
    assert {"http://download.windowsupdate.com", "http://*.windowsupdate.com"} <= labels
    assert "http://*.download.windowsupdate.com" not in labels  # the apex of *.download...
    assert set(hits["host"]) == {"download.windowsupdate.com"}


def test_match_is_pure_and_keeps_rows_and_order():
    policy = load_policy(str(SAMPLES / "site.toml"))
    n = 3000
    flows = conform_flows(
        pl.DataFrame(
            {
                "src_ip": ["192.0.2.10", "192.0.2.150", "192.0.2.10"] * (n // 3),
                "dst_host": ["www.update.microsoft.com", "www.update.microsoft.com", "x.test"] * (n // 3),
                "dst_port": [443] * n,
                "scheme": ["https"] * n,
                "line_no": list(range(n)),
            }
        )
    )
    scoped = scope(flows, policy.site)
    before = scoped.clone()
    matched = match(scoped, policy)
    assert scoped.equals(before)
    assert matched["line_no"].to_list() == list(range(n))
    assert matched["reason_code"].to_list()[:3] == ["required-entry", None, "not-listed"]
    assert matched.columns == [*scoped.columns, "reason_code", "entry"]
