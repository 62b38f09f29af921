"""Scope: which flows concern the site's update servers.

A flow is in scope when its source is a server (by address or name) or its destination is one.
Flows between other hosts are out of scope and produce no findings. Server identification works
on the distinct addresses and names only, joined back, so its cost grows with distinct values.
"""

from __future__ import annotations

import functools
import ipaddress

import polars as pl

from .policy import Site

SCOPE_COLUMNS = ("server", "direction_to_server", "src_server", "dst_server")


def _normalize_addresses(values: pl.Series) -> pl.DataFrame:
    """Distinct address texts → the form the site file uses (compressed, IPv4-mapped unwrapped)."""
    distinct = values.drop_nulls().unique()
    plain = pl.DataFrame(
        {"raw": distinct, "norm": distinct.str.to_lowercase().str.strip_prefix("::ffff:").str.strip_suffix(".")}
    )
    # Only IPv6 texts can be written several ways; fold those through ipaddress, and only those
    # (a loop over every distinct host name of a proxy log cost more than the rest of the check).
    is_v6 = pl.col("norm").str.contains(":", literal=True)
    v6 = plain.filter(is_v6)
    if v6.is_empty():
        return plain
    folded = v6.with_columns(pl.Series("norm", [_fold_v6(t) for t in v6["norm"].to_list()], dtype=pl.String))
    return pl.concat([plain.filter(~is_v6), folded])


@functools.lru_cache(maxsize=1 << 16)
def _fold_v6(text: str) -> str:
    # Cached: a proxy's IPv6 clients come back in every chunk, and ipaddress takes ~25 µs a text.
    try:
        return str(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return text


def identities(site: Site) -> pl.DataFrame:
    """Every address and FQDN of every server: ``ident, server``."""
    rows = [(ident, s.name) for s in site.servers for ident in (*s.addresses, s.fqdn)]
    return pl.DataFrame(rows, schema={"ident": pl.String, "server": pl.String}, orient="row")


def _lookup(flows: pl.DataFrame, column: str, ids: pl.DataFrame, alias: str) -> pl.Expr:
    """An expression naming the server whose address or FQDN is in ``column`` (else null)."""
    table = _normalize_addresses(flows[column]).join(ids, left_on="norm", right_on="ident", how="inner")
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
