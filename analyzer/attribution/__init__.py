"""Attribution: give IP-only flows the host names that evidence tied to their destination address.

pfirewall and PAN-OS TRAFFIC logs have addresses but no names, and Microsoft's update hosts sit on
CDNs whose addresses change, so an allow-list of names can only be checked against such flows
when addresses are tied to names by evidence seen around the same time:

- ``dns``: DNS answers (``dnscsv``, ``zeekdns`` readers), following CNAME chains;
- ``proxy``: Squid's next-hop address for a host (``HIER_DIRECT/ip``);
- ``session``: PAN-OS URL logs, which carry host and address on one line, and the PAN-OS session
  id that a TRAFFIC log shares with the URL log of the same connection (the strongest tie).

Time rule: an answer seen at ``t`` supports flows in ``[t, t + window]`` (default 24 hours; with
``use_ttl=True`` the answer's TTL instead, where the answer has one). The most recent answer for
an (address, name) pair before the flow is the one that counts, as in a resolver's cache.

A flow that no evidence explains keeps ``dst_host`` null and ``host_source`` null: visibly
unattributed, with its address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

import polars as pl

from ..flows import IP_LIKE, canonical_addresses, conform_evidence, empty_evidence
from .fill import fill
from .names import DEFAULT_WINDOW, address_names
from .names import dns_window as dns_window
from .sessions import Declared, Sessions, numbered, session_join, session_keyed, url_sessions

IP_ONLY = pl.col("dst_host").is_null() & pl.col("dst_ip").is_not_null()
"""Flows that attribution can name: an address, no host."""


def nameable(declared: Declared) -> pl.Expr:
    """The only flows :func:`attribute_batch` can change: no host, and an address or a session
    (by the keys a format ``declared``) to name it by. Every other flow comes out as it went in,
    whatever the index."""
    sessions = [how.keyed for how in session_keyed(declared).values()]
    return pl.col("dst_host").is_null() & pl.any_horizontal(pl.col("dst_ip").is_not_null(), *sessions)


def carries_evidence(declared: Declared) -> pl.Expr:
    """Flows that may give evidence (a host with its address, or a URL log's session): a
    superset, cheap to test, of what :func:`evidence_from_flows` and the session join use."""
    return (
        pl.col("source_format").is_in(list(declared))
        & (pl.col("host_source") == "log")
        & pl.col("dst_host").is_not_null()
    )


def evidence_from_flows(flows: pl.DataFrame | pl.LazyFrame, declared: Declared) -> pl.DataFrame | pl.LazyFrame:
    """Host/address pairs that flows themselves show, as evidence rows (lazy for a lazy frame).

    Lines of the ``declared`` formats that carry a host with its address tie the two, as the
    declaration's ``host_source`` (Squid's ``HIER_DIRECT/ip`` next hops: ``proxy``; PAN-OS
    URL logs: ``session``). Hosts that are themselves addresses tie nothing and are left out.

    Example: ``evidence_from_flows(read_logs(["data/samples/squid"]).flows, parsers.declared_evidence())``.
    """
    rows = flows.filter(
        pl.col("source_format").is_in(list(declared))
        & (pl.col("host_source") == "log")
        & pl.col("dst_host").is_not_null()
        & pl.col("dst_ip").is_not_null()
        & ~pl.col("dst_host").str.contains(IP_LIKE)
        & (pl.col("dst_host") != pl.col("dst_ip"))
    )
    return conform_evidence(
        rows.select(
            "time",
            pl.col("src_ip").alias("client"),
            pl.col("dst_host").alias("query"),
            pl.when(pl.col("dst_ip").str.contains(":", literal=True))
            .then(pl.lit("AAAA"))
            .otherwise(pl.lit("A"))
            .alias("type"),
            pl.concat_list(pl.col("dst_ip")).alias("answers"),
            pl.concat_list(pl.lit(None, pl.Int64)).alias("ttls"),
            pl.col("source_format")
            .replace_strict({name: e.host_source for name, e in declared.items()}, default=None)
            .alias("host_source"),
            "source_format",
            "source_file",
            "line_no",
        )
    )


@dataclass(frozen=True)
class Index:
    """What attributing IP-only flows needs from all the flows and evidence at once: the sessions
    of lines with a host (PAN-OS URL logs), and which names each address stood for when. Built by :func:`index`, applied
    to any batch of the flows by :func:`attribute_batch`."""

    sessions: dict[tuple[str, ...], tuple[Sessions, pl.DataFrame]]
    """Session keys → (how they tie flows, the lines with a host: see :func:`.sessions.url_sessions`)."""
    pairs: pl.DataFrame | None
    """Names per address and sighting (:func:`address_names`), by time; None without evidence."""
    window: timedelta
    use_ttl: bool

    @cached_property
    def names(self) -> pl.DataFrame:
        """The distinct (address, name) of ``pairs``."""
        return self.pairs.select("address", "name").unique()

    @cached_property
    def sightings(self) -> pl.DataFrame:
        """``pairs`` with the sighting time as ``seen`` (and as ``time``, to join on)."""
        return self.pairs.rename({"time": "seen"}).with_columns(pl.col("seen").alias("time"))


@dataclass
class EvidenceParts:
    """What the index needs from flows, taken from any batches of them and combined
    (:func:`combine`): the host lines of sessions by session keys, the host/address pairs the
    flows show, whether some flow is IP-only and whether some may carry evidence. The parts of
    all batches give the index of all the flows (a Spark engine's tasks each send theirs)."""

    sessions: dict[tuple[str, ...], pl.DataFrame]
    pairs: pl.DataFrame
    ip_only: bool
    carriers: bool


def evidence_parts(flows: pl.DataFrame | pl.LazyFrame, declared: Declared) -> EvidenceParts:
    """:class:`EvidenceParts` of ``flows`` (a frame, or a lazy scan: only the columns it needs are
    read), by the evidence the flow formats ``declared``."""
    flows = flows.lazy()
    keyed = session_keyed(declared)
    pairs, stats, *url = pl.collect_all(
        [
            evidence_from_flows(flows, declared),
            flows.select(IP_ONLY.any().alias("ip_only"), carries_evidence(declared).any().alias("carriers")),
            *(url_sessions(flows, keys, how.keyed) for keys, how in keyed.items()),
        ]
    )
    sessions = dict(zip(keyed, url, strict=True))
    return EvidenceParts(sessions, pairs, bool(stats["ip_only"][0]), bool(stats["carriers"][0]))


def combine(parts: list[EvidenceParts]) -> EvidenceParts:
    """The parts of several batches as one (in any order: the index sorts what it needs)."""
    sessions: dict[tuple[str, ...], list[pl.DataFrame]] = {}
    for p in parts:
        for keys, frame in p.sessions.items():
            sessions.setdefault(keys, []).append(frame)
    return EvidenceParts(
        {keys: pl.concat(frames, how="vertical") for keys, frames in sessions.items()},
        pl.concat([p.pairs for p in parts], how="vertical") if parts else empty_evidence(),
        any(p.ip_only for p in parts),
        any(p.carriers for p in parts),
    )


def index(
    flows: pl.DataFrame | pl.LazyFrame,
    evidence: pl.DataFrame | None = None,
    *,
    declared: Declared,
    window: timedelta = DEFAULT_WINDOW,
    use_ttl: bool = False,
) -> Index | None:
    """The attribution index of ``flows`` (a frame, or a lazy scan of a Parquet file: only the
    columns it needs are read) and DNS ``evidence``, with the evidence the flow formats
    ``declared``; None when nothing could be attributed."""
    return index_of(evidence_parts(flows, declared), evidence, declared=declared, window=window, use_ttl=use_ttl)


def index_of(
    parts: EvidenceParts,
    evidence: pl.DataFrame | None = None,
    *,
    declared: Declared,
    window: timedelta = DEFAULT_WINDOW,
    use_ttl: bool = False,
) -> Index | None:
    """:func:`index` from the flows' :class:`EvidenceParts` (of all batches, :func:`combine`) and
    the DNS ``evidence``."""
    has_dns = evidence is not None and evidence.height > 0
    keyed = session_keyed(declared)
    sessions = {keys: (keyed[keys], numbered(frame, keys)) for keys, frame in parts.sessions.items() if frame.height}
    # Only IP-only flows (an address, no host) can change, and only given some evidence.
    if not (parts.ip_only and (has_dns or parts.carriers)):
        return None
    all_evidence = pl.concat([parts.pairs, conform_evidence(evidence)]) if has_dns else parts.pairs
    if all_evidence.is_empty() and not sessions:
        return None
    pairs = address_names(all_evidence, window).sort("time") if all_evidence.height else None
    return Index(sessions, pairs, window, use_ttl)


def attribute(
    flows: pl.DataFrame,
    evidence: pl.DataFrame | None = None,
    *,
    declared: Declared,
    window: timedelta = DEFAULT_WINDOW,
    use_ttl: bool = False,
) -> pl.DataFrame:
    """Give IP-only flows (``dst_host`` null, ``dst_ip`` set) the names evidence tied to ``dst_ip``.

    ``evidence`` is DNS evidence (``EVIDENCE_SCHEMA``, e.g. ``read_logs(...).evidence["dns"]``);
    pairs the flows themselves show (:func:`evidence_from_flows`) and sessions shared with lines
    that have a host (PAN-OS URL logs) are always used, as the flow formats ``declared`` them
    (:func:`analyzer.attribute` passes the registry's declarations). An answer seen at ``t``
    supports flows in ``[t, t + window]``; with ``use_ttl`` the answer's TTL replaces ``window``
    where known.

    Per attributed flow: ``dst_host`` is the name clients asked for (not a CDN alias), the most
    recently seen one when several fit (then alphabetical); ``host_names`` lists every fitting
    name, chosen first, CNAME-chain names after the asked-for ones, separated by spaces;
    ``host_candidates`` counts the distinct asked-for names (1 = the address meant one name);
    ``host_source`` says ``dns``, ``proxy`` or ``session``. Flows without evidence are unchanged.
    For flows that do not fit in memory, build the :func:`index` once and apply
    :func:`attribute_batch` batch by batch: the result is the same.

    Example::

        result = read_logs(["data/samples/winfirewall", "data/samples/dnscsv"])
        flows = attribute(result.flows, result.evidence.get("dns"), declared=parsers.declared_evidence())
    """
    if "host_names" not in flows.columns:
        flows = flows.with_columns(pl.lit(None, pl.String).alias("host_names"))
    has_dns = evidence is not None and evidence.height > 0
    # Without IP-only flows, or without DNS evidence and flows that carry some (Squid, PAN-OS),
    # return the flows without a copy.
    if not flows.select(IP_ONLY.any() & (has_dns or carries_evidence(declared).any())).item():
        return flows
    found = index(flows, evidence, declared=declared, window=window, use_ttl=use_ttl)
    return flows if found is None else attribute_batch(flows, found)


def attribute_batch(flows: pl.DataFrame, idx: Index) -> pl.DataFrame:
    """:func:`attribute` of ``flows`` (all of them, or any batch of them) with an :func:`index`."""
    if "host_names" not in flows.columns:
        flows = flows.with_columns(pl.lit(None, pl.String).alias("host_names"))
    out_schema = flows.schema
    flows = flows.with_row_index("_row")
    for keys, (how, url) in idx.sessions.items():
        flows = session_join(flows, url, idx.window, keys, how)
    todo = flows.filter(IP_ONLY)
    if todo.is_empty() or idx.pairs is None:
        return flows.drop("_row").cast(out_schema)
    window, use_ttl = idx.window, idx.use_ttl
    todo = todo.select("_row", "time", "dst_ip")
    # Work on distinct (address, time) keys: many flows share them.
    keys = todo.select(pl.col("dst_ip").unique())
    keys = keys.with_columns(canonical_addresses(keys["dst_ip"]).alias("address"))
    todo = todo.join(keys, on="dst_ip", how="left")
    distinct = todo.select("address", "time").unique()
    candidates = (
        distinct.join(idx.names, on="address", how="inner")
        .sort("time")
        .join_asof(
            idx.sightings,
            on="time",
            by=["address", "name"],
            strategy="backward",
            check_sortedness=False,  # both sides are sorted by time just above
        )
    )
    valid_for = pl.duration(seconds=pl.col("ttl")) if use_ttl else pl.lit(window)
    if use_ttl:
        valid_for = pl.when(pl.col("ttl").is_not_null()).then(valid_for).otherwise(pl.lit(window))
    chosen = (
        candidates.filter(pl.col("seen").is_not_null() & (pl.col("time") <= pl.col("seen") + valid_for))
        .sort(["address", "time", "head", "seen", "name"], descending=[False, False, True, True, False])
        .group_by(["address", "time"], maintain_order=True)
        .agg(
            pl.col("name").first().alias("_d_host"),
            pl.col("host_source").first().cast(pl.String).alias("_d_src"),
            pl.col("name").unique(maintain_order=True).alias("_d_all"),
            pl.col("name").filter(pl.col("head")).n_unique().alias("_d_heads"),
        )
        .with_columns(
            # Count names clients asked for; a chain seen only from its CDN end counts its names.
            pl.when(pl.col("_d_heads") > 0).then(pl.col("_d_heads")).otherwise(pl.col("_d_all").list.len())
        )
    )
    found = todo.join(chosen, on=["address", "time"], how="inner").select(
        "_row",
        "_d_host",
        "_d_src",
        pl.col("_d_all").alias("_d_names"),
        pl.col("_d_heads"),
    )
    flows = fill(flows, found, "_d", None)
    return flows.drop("_row").cast(out_schema)


def tally(flows: pl.DataFrame, counts: pl.DataFrame | None = None) -> pl.DataFrame:
    """IP-only flows of ``flows`` by host source (null: unattributed), added to ``counts``."""
    ip_only = flows.filter(
        pl.col("dst_ip").is_not_null() & (pl.col("host_source").is_null() | (pl.col("host_source") != "log"))
    )
    by = ip_only.group_by(
        pl.when(pl.col("dst_host").is_not_null()).then(pl.col("host_source").cast(pl.String)).alias("source")
    ).len()
    if counts is not None:
        by = pl.concat([counts, by]).group_by("source").agg(pl.col("len").sum())
    return by


def summary_line(counts: pl.DataFrame | None) -> str:
    """The line :func:`summary` gives, from :func:`tally` counts."""
    counts = counts if counts is not None else pl.DataFrame(schema={"source": pl.String, "len": pl.UInt32})
    total = int(counts["len"].sum())
    done = counts.filter(pl.col("source").is_not_null()).sort("source")
    parts = ", ".join(f"{src} {n:,}" for src, n in done.iter_rows())
    n_done = int(done["len"].sum())
    return (
        f"attributed {n_done:,} of {total:,} IP-only flows"
        + (f" ({parts})" if parts else "")
        + f"; {total - n_done:,} unattributed"
    )


def summary(flows: pl.DataFrame) -> str:
    """One line on how IP-only flows were attributed, e.g. ``"attributed 12 of 15 IP-only flows
    (dns 10, session 2); 3 unattributed"``."""
    return summary_line(tally(flows))
