"""Scope: which flows concern the site's update servers.

A flow is in scope when its source is a server (by address or name) or its destination is one.
Flows between other hosts are out of scope and produce no findings. Server identification works
on the distinct addresses and names only, joined back, so its cost grows with distinct values.
"""

from __future__ import annotations

import polars as pl

from .flows import canonical_addresses
from .policy import Site

SCOPE_COLUMNS = ("server", "direction_to_server", "src_server", "dst_server")


def _normalize_addresses(values: pl.Series) -> pl.DataFrame:
    """Distinct address texts → the form the site file uses (compressed, IPv4-mapped unwrapped)."""
    distinct = values.drop_nulls().unique()
    return pl.DataFrame({"raw": distinct, "norm": canonical_addresses(distinct.str.strip_suffix("."))})


def identities(site: Site) -> pl.DataFrame:
    """Every address and FQDN of every server: ``ident, server``."""
    rows = [(ident, s.name) for s in site.servers for ident in (*s.addresses, s.fqdn)]
    return pl.DataFrame(rows, schema={"ident": pl.String, "server": pl.String}, orient="row")


def _lookup(flows: pl.DataFrame, column: str, ids: pl.DataFrame, alias: str) -> pl.Expr:
    """An expression naming the server whose address or FQDN is in ``column`` (else null)."""
    distinct = flows[column].drop_nulls().unique()
    # Only a value that is an identity once trimmed, lower-cased and without a trailing dot, or
    # an IPv6 or bracketed text (folded in Python), can name a server: the tens of thousands of
    # other hosts of a proxy log are dropped before the fold and the join.
    simple = distinct.str.strip_suffix(".").str.strip_chars().str.to_lowercase()
    maybe = distinct.filter(simple.is_in(ids["ident"].implode()) | distinct.str.contains(r"[:\[]"))
    table = _normalize_addresses(maybe).join(ids, left_on="norm", right_on="ident", how="inner")
    if table.is_empty():
        return pl.lit(None, pl.String).alias(alias)
    mapping = dict(zip(table["raw"].to_list(), table["server"].to_list(), strict=True))
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String).alias(alias)


def scope(flows: pl.DataFrame, site: Site) -> pl.DataFrame:
    """Add ``src_server``, ``dst_server``, ``server`` and ``direction_to_server`` to flows.

    ``server`` is the source's server when the source is one (``direction_to_server`` =
    ``"outbound"``), else the destination's (``"inbound"``); both are null out of scope. The
    destination is a server by ``dst_ip`` or by ``dst_host`` (its FQDN or an address literal).

    Example::

        scoped = scope(flows, load_site("data/samples/site.toml"))
        scoped.filter(pl.col("server").is_not_null())
    """
    ids = identities(site)
    src = _lookup(flows, "src_ip", ids, "src_server")
    dst_by_ip = _lookup(flows, "dst_ip", ids, "_dst_ip_server")
    dst_by_host = _lookup(flows, "dst_host", ids, "_dst_host_server")
    out = flows.with_columns(src, pl.coalesce(dst_by_ip, dst_by_host).alias("dst_server"))
    return out.with_columns(
        pl.coalesce("src_server", "dst_server").alias("server"),
        pl.when(pl.col("src_server").is_not_null())
        .then(pl.lit("outbound"))
        .when(pl.col("dst_server").is_not_null())
        .then(pl.lit("inbound"))
        .otherwise(pl.lit(None, pl.String))
        .alias("direction_to_server"),
    )
