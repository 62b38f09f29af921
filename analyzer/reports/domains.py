"""Group findings by registrable domain, so a report stays short at 100,000 findings.

The registrable domain of a host is the label just left of its public suffix, per the Public
Suffix List as the ``publicsuffixlist`` package ships it (read from the package, never fetched):
``cdn3.shop42.co.uk`` and ``img.shop42.co.uk`` both belong to ``shop42.co.uk``. Only the ICANN
section of the list is used, so the hosts of one provider's shared domains group together
(``d1.cloudfront.net`` and ``d2.cloudfront.net`` under ``cloudfront.net``), which is what a
reader asking "who are the servers talking to" wants; the hosts themselves are listed in each
group. Hosts that are themselves a public suffix or a single label keep their own name;
addresses without a host name group by network (IPv4 /24, IPv6 /48).

The suffix list is consulted once per distinct host, not per finding, and answers are kept
(about 15 us a host; the HTML and Markdown reports of one run ask for the same hosts).
"""

from __future__ import annotations

import ipaddress
from functools import cache, lru_cache

import polars as pl


@cache
def _psl():
    # Imported and loaded on first use (about 0.1 s): only reports with findings need it.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList(only_icann=True)


@lru_cache(maxsize=2**18)
def registrable(host: str | None) -> str | None:
    """The registrable domain of ``host`` (``"a.b.example.co.uk"`` -> ``"example.co.uk"``), the
    host itself when it has none (``"localhost"``, ``"co.uk"``), None for no host.

    Example: ``registrable("fe2.update.microsoft.com") == "microsoft.com"``.
    """
    if not host:
        return None
    name = host.rstrip(".").lower()
    return _psl().privatesuffix(name) or name


def network(address: str | None) -> str | None:
    """The network an address groups under: its /24 (IPv4) or /48 (IPv6); the text itself when
    it is not an address. Example: ``network("198.51.100.7") == "198.51.100.0/24"``."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


NO_DESTINATION = "(no destination)"
"""The group of findings whose lines name no destination at all (proxy error lines)."""


def with_group(findings: pl.DataFrame) -> pl.DataFrame:
    """``findings`` with a ``group`` column: the registrable domain of ``host``, or the network
    of ``address`` where there is no host. Computed per distinct host and address."""
    hosts = findings.select(pl.col("host").drop_nulls().unique()).to_series()
    addresses = findings.filter(pl.col("host").is_null()).select(pl.col("address").drop_nulls().unique()).to_series()
    host_group = dict(zip(hosts.to_list(), map(registrable, hosts.to_list()), strict=True))
    address_group = dict(zip(addresses.to_list(), map(network, addresses.to_list()), strict=True))
    return findings.with_columns(
        pl.when(pl.col("host").is_not_null())
        .then(pl.col("host").replace_strict(host_group, default=None, return_dtype=pl.String))
        .otherwise(pl.col("address").replace_strict(address_group, default=None, return_dtype=pl.String))
        .fill_null(NO_DESTINATION)
        .alias("group")
    )


TOP_HOSTS = 5
"""Hosts (or addresses) listed per group, those with the most flows first."""


def groups(findings: pl.DataFrame) -> pl.DataFrame:
    """One row per (verdict, group) of ``findings`` (see :func:`with_group`): the number of
    findings, distinct hosts, flows and bytes, servers involved, first and last seen, and the
    ``TOP_HOSTS`` destinations with most flows (``top``: list of {destination, flows}).

    Sorted by verdict severity order as given, then flows, descending; the group name breaks
    ties so the order is the same in every run.
    """
    grouped = with_group(findings).with_columns(pl.coalesce("host", "address", pl.lit("")).alias("_dest"))
    per_dest = grouped.group_by("verdict", "group", "_dest").agg(pl.col("count").sum().alias("_flows"))
    top = (
        per_dest.sort(["_flows", "_dest"], descending=[True, False])
        .group_by("verdict", "group", maintain_order=True)
        .agg(
            pl.struct(pl.col("_dest").alias("destination"), pl.col("_flows").alias("flows"))
            .head(TOP_HOSTS)
            .alias("top"),
            pl.len().alias("hosts"),
        )
    )
    has_bytes = "bytes" in grouped.columns
    summary = grouped.group_by("verdict", "group").agg(
        pl.len().alias("findings"),
        pl.col("count").sum().alias("flows"),
        (pl.col("bytes").sum() if has_bytes else pl.lit(None, pl.Int64)).alias("bytes"),
        pl.col("server").drop_nulls().unique().sort().alias("servers"),
        pl.col("first_seen").min(),
        pl.col("last_seen").max(),
    )
    return summary.join(top, on=["verdict", "group"], how="left").sort(
        ["flows", "group"], descending=[True, False], nulls_last=True
    )
