"""The realistic benchmark generators write what they claim: tens of thousands of hosts under
shared registrable domains, thousands of clients, distinct URL paths, update servers that reach
Microsoft mostly, and lines the parsers read (nothing rejected beyond the planted 0.1 %)."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from analyzer.read import read_logs
from analyzer.reports.domains import registrable

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gen_paloalto_realistic  # noqa: E402 - benchmarks/ is not a package
import gen_squid_realistic  # noqa: E402
import gen_winfirewall_realistic  # noqa: E402
import realistic  # noqa: E402


def test_population():
    pop = realistic.population(0)
    assert len(pop.hosts) >= 50_000 and len(set(pop.clients.tolist())) >= 3_000
    domains = pl.Series([registrable(h) for h in pop.hosts.tolist()]).value_counts()
    assert domains.height < len(pop.hosts) / 4  # subdomains of shared registrable domains
    assert domains["count"].max() > 100


@pytest.fixture(scope="module")
def squid(tmp_path_factory):
    path = tmp_path_factory.mktemp("squid") / "access.log"
    gen_squid_realistic.generate(path, 60_000)
    return read_logs([str(path)], format="squid")


def test_squid_cardinality(squid):
    flows = squid.flows
    assert flows.height + squid.rejects.height == 60_000
    assert squid.rejects.height < 150  # the planted malformed lines, about 0.1 %
    assert flows["dst_host"].n_unique() > 10_000 and flows["src_ip"].n_unique() >= 3_000
    paths = flows["url_path"].drop_nulls()
    assert paths.n_unique() == paths.len()  # every URL path distinct
    servers = flows.filter(pl.col("src_ip").is_in(list(realistic.SERVERS)))
    microsoft = servers["dst_host"].is_in(list(realistic.MICROSOFT)).mean()
    assert 0.6 < microsoft < 0.8  # mostly Microsoft, and many other hosts sometimes
    assert servers.filter(~pl.col("dst_host").is_in(list(realistic.MICROSOFT)))["dst_host"].n_unique() > 800


def test_paloalto_recycles_session_ids(tmp_path, monkeypatch):
    monkeypatch.setattr(gen_paloalto_realistic, "SESSIONS", 5_000)
    path = tmp_path / "pan.log"
    gen_paloalto_realistic.generate(path, 20_000)
    result = read_logs([str(path)], format="paloalto")
    assert result.rejects.is_empty() and result.flows.height == 20_000
    urls = result.flows.filter(pl.col("dst_host").is_not_null())
    assert 1_500 < urls.height < 2_500  # about 10 % URL logs
    sessions = pl.read_csv(path, has_header=False, columns=[22], infer_schema=False).to_series()
    assert sessions.n_unique() == 5_000  # ids start over after SESSIONS sessions


def test_winfirewall_with_dns(tmp_path):
    path = tmp_path / "pfirewall.log"
    gen_winfirewall_realistic.generate_with_dns(path, 20_000)
    dns = pl.read_csv(path.with_name(path.name + ".dns.csv"))
    assert dns["query"].n_unique() > 2_000
    result = read_logs([str(path)], format="winfirewall")
    assert result.rejects.is_empty() and result.flows["dst_ip"].n_unique() > 2_000
