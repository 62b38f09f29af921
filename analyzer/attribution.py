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

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

import polars as pl

from .schema import HOST_SOURCES, Column

EVIDENCE_COLUMNS: tuple[Column, ...] = (
    Column("time", pl.Datetime("us", "UTC"), "when the answer was seen, in UTC"),
    Column("client", pl.String, "who asked (address or name), if known"),
    Column("query", pl.String, "the name asked for: lower case, no trailing dot"),
    Column("type", pl.String, "record type: A, AAAA, CNAME (Zeek: the query type)"),
    Column("answers", pl.List(pl.String), "addresses and CNAME targets answered, normalized, in answer order"),
    Column("ttls", pl.List(pl.Int64), "TTL in seconds of each answer (null where unknown)"),
    Column("host_source", pl.Enum(list(HOST_SOURCES)), "what kind of evidence: dns, proxy or session"),
    Column("source_format", pl.String, "the reader (or flow parser) it came from"),
    Column("source_file", pl.String, "the file it came from"),
    Column("line_no", pl.Int64, "its line in that file"),
)
"""One row per line of evidence: a DNS response (Zeek writes every answer of a response on one
line, so answers are lists and one line stays one record) or one host/address pair."""

EVIDENCE_SCHEMA: pl.Schema = pl.Schema({c.name: c.dtype for c in EVIDENCE_COLUMNS})

EVIDENCE_SOURCES = {"squid": "proxy", "paloalto": "session"}
"""Flow formats whose lines carry a host together with its address, and the evidence kind."""

IP_ONLY = pl.col("dst_host").is_null() & pl.col("dst_ip").is_not_null()
"""Flows that attribution can name: an address, no host."""

CARRIES_EVIDENCE = (
    pl.col("source_format").is_in(list(EVIDENCE_SOURCES))
    & (pl.col("host_source") == "log")
    & pl.col("dst_host").is_not_null()
)
"""Flows that may give evidence (a host with its address, or a PAN-OS URL log's session): a
superset, cheap to test, of what :func:`evidence_from_flows` and the session join use."""

DEFAULT_WINDOW = timedelta(hours=24)


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
    from .timewindow import parse_duration

    return parse_duration(text.strip(), option="--dns-window"), False


MAX_CNAME_DEPTH = 8
"""CNAME chains longer than this are not followed (real chains have two or three links)."""

_IP_LIKE = r"^(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)$"


def conform_evidence(frame: pl.DataFrame) -> pl.DataFrame:
    """Return ``frame`` with exactly the evidence columns, in order and typed (missing → null)."""
    schema = frame.collect_schema()
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in EVIDENCE_SCHEMA.items() if n not in schema]
    if missing:
        frame = frame.with_columns(missing)
    return frame.select([pl.col(n).cast(t) for n, t in EVIDENCE_SCHEMA.items()])


def empty_evidence() -> pl.DataFrame:
    """An empty evidence frame. Example: ``empty_evidence().schema == EVIDENCE_SCHEMA``."""
    return pl.DataFrame(schema=EVIDENCE_SCHEMA)


def normalize_name(expr: pl.Expr) -> pl.Expr:
    """DNS name as flows hold it: trimmed, lower case, no trailing dot. ``"WWW.Example.COM."`` →
    ``"www.example.com"``."""
    return expr.str.strip_chars().str.to_lowercase().str.strip_suffix(".")


def _canonical(text: str) -> str:
    try:
        addr = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return text.strip().lower()
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # Windows' DNS client writes IPv4 answers as ::ffff:a.b.c.d
    return str(addr)


def canonical_addresses(values: pl.Series) -> pl.Series:
    """Addresses in one spelling (compressed lower-case IPv6, IPv4-mapped IPv6 as IPv4), so DNS
    answers and flow addresses join. Works on distinct values only; non-addresses are kept
    trimmed and lower-cased. Example: ``"::FFFF:203.0.113.7"`` → ``"203.0.113.7"``."""
    distinct = values.drop_nulls().unique()
    mapping = {v: _canonical(v) for v in distinct.to_list()}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


def evidence_from_flows(flows: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    """Host/address pairs that flows themselves show, as evidence rows (lazy for a lazy frame).

    Squid lines whose next hop is the origin (``HIER_DIRECT/ip``: the parser then sets
    ``dst_ip``) tie ``dst_host`` to ``dst_ip`` (kind ``proxy``); PAN-OS URL-log lines carry both
    (kind ``session``). Hosts that are themselves addresses tie nothing and are left out.

    Example: ``evidence_from_flows(read_logs(["data/samples/squid"]).flows)``.
    """
    rows = flows.filter(
        pl.col("source_format").is_in(list(EVIDENCE_SOURCES))
        & (pl.col("host_source") == "log")
        & pl.col("dst_host").is_not_null()
        & pl.col("dst_ip").is_not_null()
        & ~pl.col("dst_host").str.contains(_IP_LIKE)
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
            pl.col("source_format").replace_strict(EVIDENCE_SOURCES, default=None).alias("host_source"),
            "source_format",
            "source_file",
            "line_no",
        )
    )


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
    is_addr = pl.col("answer").str.contains(_IP_LIKE)
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


_PAN_SESSION = (
    (pl.col("source_format") == "paloalto") & pl.col("device").is_not_null() & pl.col("session_id").is_not_null()
)
"""PAN-OS flows with the firewall and session id the session join keys on."""

NAMEABLE = pl.col("dst_host").is_null() & (pl.col("dst_ip").is_not_null() | _PAN_SESSION)
"""The only flows :func:`attribute_batch` can change: no host, and an address or a PAN-OS session
to name it by. Every other flow comes out as it went in, whatever the index."""


def _url_sessions(flows: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """PAN-OS URL logs' (device, session id) with their address, time, host, decision and line
    (``file:line``), ordered by device, session id and time (``_r``: the position in that order)."""
    return (
        flows.lazy()
        .filter(_PAN_SESSION & (pl.col("host_source") == "log") & pl.col("dst_host").is_not_null())
        .select(
            "device",
            "session_id",
            pl.col("dst_ip").alias("_uip"),
            pl.col("time").alias("_ut"),
            "dst_host",
            (pl.col("action") == "blocked").fill_null(False).alias("_ublock"),
            # concat_str rather than pl.format, which can panic on filtered chunks (polars 2.1).
            pl.concat_str(pl.col("source_file"), pl.lit(":"), pl.col("line_no").cast(pl.String)).alias("_uline"),
        )
        .sort("device", "session_id", "_ut", "dst_host")
        .with_row_index("_r")
        .with_columns(pl.col("_r").cast(pl.Int64))  # signed: ranges subtract from it
    )


SESSION_SLACK = timedelta(seconds=2)
"""How far outside a TRAFFIC session's span (``end - elapsed`` to ``end``) a URL log of it may be
stamped: times are whole seconds, and the two logs are written by different parts of the device."""
MAX_URLS_PER_SESSION = 64
"""URL logs of one session looked at, the latest first (a session rarely holds more)."""
_ELAPSED = pl.col("extra").str.extract(r'"elapsed_sec":(\d+)').cast(pl.Int64)


def _session_join(flows: pl.DataFrame, url: pl.DataFrame, window: timedelta) -> pl.DataFrame:
    """PAN-OS TRAFFIC flows take the host of the URL logs (``url``, see :func:`_url_sessions`)
    of their session: same device and session id, stamped within the session's span (``time``
    is its end, ``elapsed_sec`` in ``extra`` its length; without it, within ``window``), and to
    the same address where both lines have one. Session ids are recycled, so the span, not the
    id alone, tells the session; each flow is matched by two as-of joins to the range of URL
    logs in its span, so memory grows with the lines, not with how often an id repeats.

    A session the security policy allowed but a URL log of it blocked (URL filtering ends it,
    the TRAFFIC line still says ``allow``) is blocked: the device's decision for a session is
    its URL log's, and ``decided_by`` names that line."""
    if url.is_empty():
        return flows
    target = flows.filter(_PAN_SESSION & pl.col("dst_host").is_null()).select(
        "_row", "device", "session_id", "dst_ip", "time", _ELAPSED.alias("_el")
    )
    if target.is_empty():
        return flows
    span = pl.duration(seconds=pl.col("_el"))
    target = target.with_columns(
        pl.when(pl.col("_el").is_not_null())
        .then(pl.col("time") - span - SESSION_SLACK)
        .otherwise(pl.col("time") - window)
        .alias("_lo"),
        pl.when(pl.col("_el").is_not_null())
        .then(pl.col("time") + SESSION_SLACK)
        .otherwise(pl.col("time") + window)
        .alias("_hi"),
    )
    # The as-of joins need both sides sorted by time (by groups, polars cannot check it).
    by_time = url.select("device", "session_id", "_ut", "_r").sort("_ut")

    def url_at(frame: pl.DataFrame, bound: str, name: str, strategy: str) -> pl.DataFrame:
        """``name``: the position of the URL log of the flow's session nearest ``bound``."""
        right = by_time.rename({"_r": name})
        joined = frame.sort(bound).join_asof(
            right, left_on=bound, right_on="_ut", by=["device", "session_id"], strategy=strategy, check_sortedness=False
        )
        return joined.drop("_ut")

    ranges = (
        url_at(url_at(target, "_hi", "_last", "backward"), "_lo", "_first", "forward")
        .filter(pl.col("_first").is_not_null() & pl.col("_last").is_not_null() & (pl.col("_first") <= pl.col("_last")))
        .select(
            "_row",
            "dst_ip",
            "time",
            pl.int_ranges(
                pl.max_horizontal("_first", pl.col("_last") - (MAX_URLS_PER_SESSION - 1)), pl.col("_last") + 1
            ).alias("_r"),
        )
        .explode("_r")
    )
    matched = (
        ranges.join(url.drop("device", "session_id"), on="_r", how="inner")
        .filter(pl.col("_uip").is_null() | pl.col("dst_ip").is_null() | (pl.col("_uip") == pl.col("dst_ip")))
        .sort("_row", (pl.col("time") - pl.col("_ut")).abs(), "dst_host")
        .group_by("_row", maintain_order=True)
        .agg(
            pl.col("dst_host").first().alias("_s_host"),
            pl.col("dst_host").unique(maintain_order=True).alias("_s_names"),
            pl.col("_uline").filter(pl.col("_ublock")).first().alias("_s_blocked_by"),
        )
    )
    return _decided_by_url_log(_fill(flows, matched.drop("_s_blocked_by"), "_s", "session"), matched)


def _decided_by_url_log(flows: pl.DataFrame, matched: pl.DataFrame) -> pl.DataFrame:
    """Allowed TRAFFIC flows whose session a URL log blocked: blocked, ``decided_by`` that log."""
    blocked = matched.filter(pl.col("_s_blocked_by").is_not_null()).select("_row", "_s_blocked_by")
    if blocked.is_empty():
        return flows
    found = flows.select("_row").join(blocked, on="_row", how="left", maintain_order="left")["_s_blocked_by"]
    take = found.is_not_null() & (flows["action"] == "allowed").fill_null(False)
    own = pl.col("decided_by") if "decided_by" in flows.columns else pl.lit(None, pl.String)
    return flows.with_columns(
        pl.when(take).then(pl.lit("blocked")).otherwise(pl.col("action").cast(pl.String)).alias("action"),
        pl.when(take).then(found).otherwise(own).alias("decided_by"),
    )


def _fill(flows: pl.DataFrame, found: pl.DataFrame, prefix: str, source: str | None) -> pl.DataFrame:
    """Write attributed hosts (``{prefix}_host``, ``{prefix}_names``, optional ``{prefix}_src``
    and ``{prefix}_heads``) into rows of ``flows`` that still have no host."""
    # Join on the narrow row number alone, then put the found columns beside the wide frame.
    found_cols = [c for c in found.columns if c != "_row"]
    matched = flows.select("_row").join(found, on="_row", how="left", maintain_order="left")
    joined = flows.hstack(matched.select(found_cols).get_columns())
    take = pl.col("dst_host").is_null() & pl.col(f"{prefix}_host").is_not_null()
    src = pl.col(f"{prefix}_src") if f"{prefix}_src" in found.columns else pl.lit(source)
    # How many names the address stood for: the asked-for ones where counted, else all.
    names = pl.col(f"{prefix}_names").list.len()
    candidates = pl.col(f"{prefix}_heads") if f"{prefix}_heads" in found.columns else names
    return joined.with_columns(
        pl.when(take).then(pl.col(f"{prefix}_host")).otherwise(pl.col("dst_host")).alias("dst_host"),
        pl.when(take).then(src.cast(pl.String)).otherwise(pl.col("host_source").cast(pl.String)).alias("host_source"),
        pl.when(take).then(candidates.cast(pl.Int32)).otherwise(pl.col("host_candidates")).alias("host_candidates"),
        pl.when(take)
        .then(pl.col(f"{prefix}_names").list.join(" "))
        .otherwise(pl.col("host_names"))
        .alias("host_names"),
    ).drop(found_cols)


@dataclass(frozen=True)
class Index:
    """What attributing IP-only flows needs from all the flows and evidence at once: PAN-OS URL
    logs' sessions, and which names each address stood for when. Built by :func:`index`, applied
    to any batch of the flows by :func:`attribute_batch`."""

    sessions: pl.DataFrame
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


def index(
    flows: pl.DataFrame | pl.LazyFrame,
    evidence: pl.DataFrame | None = None,
    *,
    window: timedelta = DEFAULT_WINDOW,
    use_ttl: bool = False,
) -> Index | None:
    """The attribution index of ``flows`` (a frame, or a lazy scan of a Parquet file: only the
    columns it needs are read) and DNS ``evidence``; None when nothing could be attributed."""
    flows = flows.lazy()
    has_dns = evidence is not None and evidence.height > 0
    sessions, from_flows, stats = pl.collect_all(
        [
            _url_sessions(flows),
            evidence_from_flows(flows),
            flows.select(IP_ONLY.any().alias("ip_only"), CARRIES_EVIDENCE.any().alias("carriers")),
        ]
    )
    # Only IP-only flows (an address, no host) can change, and only given some evidence.
    if not (stats["ip_only"][0] and (has_dns or stats["carriers"][0])):
        return None
    all_evidence = pl.concat([from_flows, conform_evidence(evidence)]) if has_dns else from_flows
    if all_evidence.is_empty() and sessions.is_empty():
        return None
    pairs = address_names(all_evidence, window).sort("time") if all_evidence.height else None
    return Index(sessions, pairs, window, use_ttl)


def attribute(
    flows: pl.DataFrame,
    evidence: pl.DataFrame | None = None,
    *,
    window: timedelta = DEFAULT_WINDOW,
    use_ttl: bool = False,
) -> pl.DataFrame:
    """Give IP-only flows (``dst_host`` null, ``dst_ip`` set) the names evidence tied to ``dst_ip``.

    ``evidence`` is DNS evidence (``EVIDENCE_SCHEMA``, e.g. ``read_logs(...).evidence["dns"]``);
    pairs the flows themselves show (:func:`evidence_from_flows`) and PAN-OS sessions shared with
    URL logs are always used. An answer seen at ``t`` supports flows in ``[t, t + window]``; with
    ``use_ttl`` the answer's TTL replaces ``window`` where known.

    Per attributed flow: ``dst_host`` is the name clients asked for (not a CDN alias), the most
    recently seen one when several fit (then alphabetical); ``host_names`` lists every fitting
    name, chosen first, CNAME-chain names after the asked-for ones, separated by spaces;
    ``host_candidates`` counts the distinct asked-for names (1 = the address meant one name);
    ``host_source`` says ``dns``, ``proxy`` or ``session``. Flows without evidence are unchanged.
    For flows that do not fit in memory, build the :func:`index` once and apply
    :func:`attribute_batch` batch by batch: the result is the same.

    Example::

        result = read_logs(["data/samples/winfirewall", "data/samples/dnscsv"])
        flows = attribute(result.flows, result.evidence.get("dns"))
    """
    if "host_names" not in flows.columns:
        flows = flows.with_columns(pl.lit(None, pl.String).alias("host_names"))
    has_dns = evidence is not None and evidence.height > 0
    # Without IP-only flows, or without DNS evidence and flows that carry some (Squid, PAN-OS),
    # return the flows without a copy.
    if not flows.select(IP_ONLY.any() & (has_dns or CARRIES_EVIDENCE.any())).item():
        return flows
    found = index(flows, evidence, window=window, use_ttl=use_ttl)
    return flows if found is None else attribute_batch(flows, found)


def attribute_batch(flows: pl.DataFrame, idx: Index) -> pl.DataFrame:
    """:func:`attribute` of ``flows`` (all of them, or any batch of them) with an :func:`index`."""
    if "host_names" not in flows.columns:
        flows = flows.with_columns(pl.lit(None, pl.String).alias("host_names"))
    out_schema = flows.schema
    flows = _session_join(flows.with_row_index("_row"), idx.sessions, idx.window)
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
    flows = _fill(flows, found, "_d", None)
    return flows.drop("_row").cast(out_schema)


def normalize_answer_lists(answers: pl.Series) -> pl.Series:
    """Normalize every answer of a list column: addresses canonical (see
    :func:`canonical_addresses`), names lower case without trailing dot. Distinct values are
    normalized once and joined back. Example: ``[["WWW.X.COM.", "::ffff:192.0.2.1"]]`` →
    ``[["www.x.com", "192.0.2.1"]]``."""
    flat = pl.DataFrame({"_a": answers}).with_row_index("_r").explode("_a")
    distinct = flat.select(pl.col("_a").unique()).drop_nulls()
    is_addr = pl.col("_a").str.strip_chars().str.strip_chars("[]").str.contains(_IP_LIKE)
    distinct = distinct.with_columns(
        pl.when(is_addr).then(pl.lit(None, pl.String)).otherwise(normalize_name(pl.col("_a"))).alias("_n")
    )
    addr = distinct.filter(pl.col("_n").is_null())
    addr = addr.with_columns(canonical_addresses(addr["_a"]).alias("_n"))
    mapping = pl.concat([distinct.filter(pl.col("_n").is_not_null()), addr])
    grouped = (
        flat.join(mapping, on="_a", how="left", maintain_order="left")
        .group_by("_r", maintain_order=True)
        .agg(pl.col("_n").drop_nulls())
    )
    # Rows whose list was empty or null still get one (empty) list back.
    rows = pl.DataFrame({"_r": pl.int_range(answers.len(), dtype=pl.UInt32, eager=True)})
    out = rows.join(grouped, on="_r", how="left", maintain_order="left")
    return out["_n"].fill_null(pl.lit([], pl.List(pl.String))).alias(answers.name)


def read_evidence(paths: list[str], options=None):
    """Read DNS evidence files (``--dns``) with their format sniffed; every file must be a DNS
    evidence format. Returns the :class:`~analyzer.read.ReadResult` (evidence in
    ``.evidence["dns"]``, per-file summaries in ``.files``).

    Example: ``read_evidence(["data/samples/dnscsv"]).evidence["dns"]``.
    """
    from .errors import InputError
    from .read import read_logs  # read imports the parsers, which import this module

    result = read_logs(paths, options=options)
    for f in result.files:
        if f.kind is not None and f.kind != "dns":
            raise InputError(
                f"not DNS evidence (it reads as {f.format}); --dns takes dnscsv or zeekdns files", file=f.file
            )
    return result


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
