"""Which names each address stood for, and when: DNS answers and host/address pairs as
(address, name, sighting) rows, CNAME chains followed."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from ..flows import IP_LIKE, canonical_addresses
from ..timewindow import parse_duration

DEFAULT_WINDOW = timedelta(hours=24)
"""An answer seen at ``t`` supports flows in ``[t, t + window]``."""


def dns_window(text: str | timedelta | None) -> tuple[timedelta, bool]:
    """``(window, use_ttl)`` from the ``--dns-window`` option: a duration (``30m``, ``24h``,
    ``7d``), or ``ttl`` for each answer's own TTL (answers without one: the 24 h default).
    None gives the default. Example: ``dns_window("ttl") == (timedelta(hours=24), True)``."""
    if text is None:
        return DEFAULT_WINDOW, False
    if isinstance(text, timedelta):
        return text, False
    if text.strip().lower() == "ttl":
        return DEFAULT_WINDOW, True
    return parse_duration(text.strip(), option="--dns-window"), False


MAX_CNAME_DEPTH = 8
"""CNAME chains longer than this are not followed (real chains have two or three links)."""


def address_names(evidence: pl.DataFrame, window: timedelta = DEFAULT_WINDOW) -> pl.DataFrame:
    """Which names each address stood for, and when: one row per (address, name, sighting).

    Columns: ``address``, ``name``, ``time``, ``ttl``, ``head`` (the name is one clients ask for,
    not a CNAME target such as a CDN name), ``host_source``. CNAME chains are followed: an
    address answered for ``a.nsatc.net`` that ``www.update.microsoft.com`` is an alias of (a
    CNAME seen within ``window`` of the address answer) stands for both names; CNAME targets
    answered in the same response as the address (Zeek, Windows DNS client) are chain names too.
    """
    answers = (
        evidence.filter(pl.col("query").is_not_null())
        .select(
            "time",
            "client",
            "query",
            "host_source",
            "source_file",
            pl.col("answers").alias("answer"),
            pl.int_ranges(pl.col("answers").list.len()).alias("_pos"),
            "ttls",
        )
        .explode("answer", "_pos")
        # A TTL list shorter than the answers (or null) gives null TTLs, not a failed explode.
        .with_columns(pl.col("ttls").list.get(pl.col("_pos"), null_on_oob=True).alias("ttl"))
        .drop("_pos", "ttls")
        .filter(pl.col("answer").is_not_null() & (pl.col("answer") != ""))
    )
    is_addr = pl.col("answer").str.contains(IP_LIKE)
    addr_rows = answers.filter(is_addr)
    addr_rows = addr_rows.with_columns(canonical_addresses(addr_rows["answer"]).alias("address"))
    edges = (
        answers.filter(~is_addr)
        .select(pl.col("query").alias("parent"), pl.col("answer").alias("name"), pl.col("time").alias("_ct"))
        .unique()
    )
    response = ["source_file", "time", "client", "query"]
    base = addr_rows.select("address", pl.col("query").alias("name"), "time", "ttl", "host_source", *response[:1])
    # Chain names written in the same response as the address (CNAME targets of the query).
    siblings = addr_rows.join(
        answers.filter(~is_addr).select(*response, pl.col("answer").alias("name")),
        on=response,
        how="inner",
        nulls_equal=True,
    ).select("address", "name", "time", "ttl", "host_source", "source_file")
    pairs = pl.concat([base, siblings]).unique()
    # Parents of each name, then per (pair, parent) the CNAME sighting nearest in time: an
    # as-of join, so a CNAME answered every few minutes for a day does not multiply the pairs.
    links = edges.select("parent", "name").unique()
    edges = edges.sort("_ct")
    frontier = pairs
    for _ in range(MAX_CNAME_DEPTH):
        if frontier.is_empty() or edges.is_empty():
            break
        up = (
            frontier.join(links, on="name", how="inner")
            .sort("time")
            .join_asof(
                edges.with_columns(pl.col("_ct").alias("time")),
                on="time",
                by=["name", "parent"],
                strategy="nearest",
                tolerance=window,
                check_sortedness=False,  # both sides sorted by time just above
            )
            .filter(pl.col("_ct").is_not_null())
            # The chain is as old as its oldest link: the name was asked when its CNAME was answered.
            .select(
                "address",
                pl.col("parent").alias("name"),
                pl.min_horizontal("time", "_ct").alias("time"),
                "ttl",
                "host_source",
                "source_file",
            )
            .unique()
        )
        frontier = up.join(pairs, on=["address", "name", "time", "source_file"], how="anti")
        pairs = pl.concat([pairs, frontier])
    targets = edges.select(pl.col("name").unique())
    return pairs.select(
        "address",
        "name",
        "time",
        "ttl",
        (~pl.col("name").is_in(targets["name"].implode())).alias("head"),
        "host_source",
    ).unique()
