"""Sessions: flows without a host (PAN-OS TRAFFIC) take the host of a line with one (a PAN-OS URL
log) of the same connection, by the session keys the format declares (``Evidence.session_keys``).

Session ids are recycled, so the span a session line covers (its ``time`` is the end, the
declared ``Evidence.session_seconds`` field of ``extra`` its length), not the id alone, tells
the session; each flow is matched by two as-of joins to the range of host lines in its span, so
memory grows with the lines, not with how often an id repeats.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import NamedTuple

import polars as pl

from ..flows import Evidence
from .fill import fill

Declared = Mapping[str, Evidence]
"""Flow format → the evidence its lines yield, as its parser declares it (``Parser.evidence``;
the pipeline passes the registry's declarations), so attribution names no format."""

SESSION_SLACK = timedelta(seconds=2)
"""How far outside a session's span (``end - length`` to ``end``) a host line of it may be
stamped: times are whole seconds, and the two logs are written by different parts of the device."""
MAX_URLS_PER_SESSION = 64
"""Host lines of one session looked at, the latest first (a session rarely holds more)."""


class Sessions(NamedTuple):
    """How one family of session keys ties flows: which flows have the keys (``keyed``) and the
    field of ``extra`` with a session's length (``seconds``, None when not declared)."""

    keyed: pl.Expr
    seconds: str | None


def session_keyed(declared: Declared) -> dict[tuple[str, ...], Sessions]:
    """Session keys → the flows of the formats that declare them, with every key set."""
    by_keys: dict[tuple[str, ...], list[str]] = {}
    seconds: dict[tuple[str, ...], str | None] = {}
    for name, e in declared.items():
        if e.session_keys:
            by_keys.setdefault(e.session_keys, []).append(name)
            seconds[e.session_keys] = seconds.get(e.session_keys) or e.session_seconds
    return {
        keys: Sessions(
            pl.col("source_format").is_in(names) & pl.all_horizontal([pl.col(k).is_not_null() for k in keys]),
            seconds[keys],
        )
        for keys, names in by_keys.items()
    }


def url_sessions(flows: pl.DataFrame | pl.LazyFrame, keys: tuple[str, ...], keyed: pl.Expr) -> pl.LazyFrame:
    """Lines with a host (PAN-OS URL logs): their session keys, address, time, host, decision
    and line (``file:line``). Those of any batches together, :func:`numbered`, are what
    :func:`session_join` reads."""
    return (
        flows.lazy()
        .filter(keyed & (pl.col("host_source") == "log") & pl.col("dst_host").is_not_null())
        .select(
            *keys,
            pl.col("dst_ip").alias("_uip"),
            pl.col("time").alias("_ut"),
            "dst_host",
            (pl.col("action") == "blocked").fill_null(False).alias("_ublock"),
            # concat_str rather than pl.format, which can panic on filtered chunks (polars 2.1).
            pl.concat_str(pl.col("source_file"), pl.lit(":"), pl.col("line_no").cast(pl.String)).alias("_uline"),
        )
    )


def numbered(url: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """:func:`url_sessions` lines ordered by keys and time (``_r``: the position in that order)."""
    return (
        url.sort(*keys, "_ut", "dst_host", "_uline")
        .with_row_index("_r")
        .with_columns(pl.col("_r").cast(pl.Int64))  # signed: ranges subtract from it
    )


def session_join(
    flows: pl.DataFrame, url: pl.DataFrame, window: timedelta, keys: tuple[str, ...], how: Sessions
) -> pl.DataFrame:
    """Flows (with a ``_row`` number) without a host take the host of the lines with one (``url``,
    :func:`url_sessions` then :func:`numbered`) of their session: same keys, stamped within the session's span
    (without a declared length, within ``window`` of the flow), and to the same address where
    both lines have one.

    A session the security policy allowed but a host line of it blocked (URL filtering ends it,
    the TRAFFIC line still says ``allow``) is blocked: the device's decision for a session is
    its URL log's, and ``decided_by`` names that line."""
    if url.is_empty():
        return flows
    length = (
        pl.col("extra").str.extract(rf'"{how.seconds}":(\d+)').cast(pl.Int64) if how.seconds else pl.lit(None, pl.Int64)
    )
    target = flows.filter(how.keyed & pl.col("dst_host").is_null()).select(
        "_row", *keys, "dst_ip", "time", length.alias("_el")
    )
    if target.is_empty():
        return flows
    span = pl.duration(seconds=pl.col("_el"))
    known = pl.col("_el").is_not_null()
    target = target.with_columns(
        pl.when(known).then(pl.col("time") - span - SESSION_SLACK).otherwise(pl.col("time") - window).alias("_lo"),
        pl.when(known).then(pl.col("time") + SESSION_SLACK).otherwise(pl.col("time") + window).alias("_hi"),
    )
    # The as-of joins need both sides sorted by time (by groups, polars cannot check it).
    by_time = url.select(*keys, "_ut", "_r").sort("_ut")

    def url_at(frame: pl.DataFrame, bound: str, name: str, strategy: str) -> pl.DataFrame:
        """``name``: the position of the host line of the flow's session nearest ``bound``."""
        right = by_time.rename({"_r": name})
        joined = frame.sort(bound).join_asof(
            right, left_on=bound, right_on="_ut", by=list(keys), strategy=strategy, check_sortedness=False
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
        ranges.join(url.drop(*keys), on="_r", how="inner")
        .filter(pl.col("_uip").is_null() | pl.col("dst_ip").is_null() | (pl.col("_uip") == pl.col("dst_ip")))
        .sort("_row", (pl.col("time") - pl.col("_ut")).abs(), "dst_host")
        .group_by("_row", maintain_order=True)
        .agg(
            pl.col("dst_host").first().alias("_s_host"),
            pl.col("dst_host").unique(maintain_order=True).alias("_s_names"),
            pl.col("_uline").filter(pl.col("_ublock")).first().alias("_s_blocked_by"),
        )
    )
    return _decided_by_host_line(fill(flows, matched.drop("_s_blocked_by"), "_s", "session"), matched)


def _decided_by_host_line(flows: pl.DataFrame, matched: pl.DataFrame) -> pl.DataFrame:
    """Allowed flows whose session a host line blocked: blocked, ``decided_by`` that line."""
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
