"""Ambiguous attribution: an IP-only flow whose address stood for several names at the time.

Attribution names such a flow after one of the names (the most recently seen, see
:func:`analyzer.attribution.attribute`); when the names would get different verdicts (a shared
CDN address answering for an allow-listed name and for one that is not), that choice must not
pass silently. :func:`mark` judges every candidate name as if it were the flow's host and marks
the flows where the verdicts differ:

- ``attribution``: ``"ambiguous"`` there (null elsewhere);
- ``candidates``: each candidate with its verdict, ``name (verdict)``, separated by ``; ``, the
  chosen name first;
- ``worst_severity``: the most severe of the candidates' severities: the worst plausible case.

It is a step of its own after judging, on judged flows (any batch of them: it looks at one flow
at a time), so a streaming check can apply it per batch; :func:`analyzer.verdicts.findings` then
carries it into findings (``ambiguous``, ``candidates``, a severity raised to the worst case).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from .flows import conform_flows

COLUMNS: dict[str, pl.DataType] = {"attribution": pl.String, "candidates": pl.String, "worst_severity": pl.String}
"""The columns :func:`mark` adds to judged flows."""

ATTRIBUTED = ("dns", "proxy", "session")
"""Host sources where a name was inferred from evidence, so that several could fit."""

# What judging a flow depends on (scope, match, verdict); the rest of a flow is not looked at.
_JUDGED_BY = ("src_ip", "dst_ip", "direction", "scheme", "dst_port", "protocol", "action", "source_format")
_KEY = (*_JUDGED_BY, "dst_host", "host_names", "host_candidates")


def mark(judged: pl.DataFrame, judge: Callable[[pl.DataFrame], pl.DataFrame]) -> pl.DataFrame:
    """``judged`` with :data:`COLUMNS` (see the module). ``judge`` turns flows into judged flows
    (``analyzer.check.check_flows`` with the policy)."""
    none = [pl.lit(None, dtype).alias(name) for name, dtype in COLUMNS.items()]
    several = (
        pl.col("verdict").is_not_null()
        & (pl.col("host_candidates") > 1)
        & pl.col("host_source").cast(pl.String).is_in(ATTRIBUTED)
        & pl.col("host_names").is_not_null()
    ).fill_null(False)
    keys = judged.lazy().filter(several).select(_KEY).unique().collect()
    if keys.is_empty():
        return judged.with_columns(none)
    # The asked-for names come first in host_names, and host_candidates counts them.
    alts = (
        keys.with_row_index("_k")
        .with_columns(
            pl.col("host_names").str.split(" ").list.head(pl.col("host_candidates")).alias("_cand"),
        )
        .explode("_cand")
        .with_columns(pl.int_range(pl.len()).over("_k").alias("_pos"))
        .with_row_index("_alt")
    )
    # Each candidate as a flow of its own; line_no carries its row through the judging.
    flows = conform_flows(
        alts.select(*_JUDGED_BY, pl.col("_cand").alias("dst_host"), pl.col("_alt").cast(pl.Int64).alias("line_no"))
    )
    verdicts = judge(flows).select(pl.col("line_no").alias("_alt"), "verdict", "severity")
    from .verdicts import SEVERITY_RANK  # verdicts imports match, which this module need not

    rank = pl.col("severity").replace_strict(SEVERITY_RANK, default=len(SEVERITY_RANK), return_dtype=pl.Int32)
    per_key = (
        alts.select(pl.col("_alt").cast(pl.Int64), "_k", "_pos", "_cand")
        .join(verdicts, on="_alt", how="left")
        .with_columns(rank.alias("_rank"))
        # The chosen name (dst_host) first, then the others in host_names' order.
        .sort("_k", "_pos")
        .group_by("_k", maintain_order=True)
        .agg(
            (pl.col("verdict").n_unique() > 1).alias("_differ"),
            # concat_str rather than pl.format, which can panic on filtered chunks (polars 2.1).
            pl.concat_str(pl.col("_cand"), pl.lit(" ("), pl.col("verdict").fill_null("out of scope"), pl.lit(")"))
            .str.join("; ")
            .alias("candidates"),
            pl.col("severity").sort_by("_rank").first().alias("worst_severity"),
        )
        .filter(pl.col("_differ"))
    )
    if per_key.is_empty():
        return judged.with_columns(none)
    table = keys.with_row_index("_k").join(per_key, on="_k", how="inner").drop("_k", "_differ")
    table = table.with_columns(pl.lit("ambiguous").alias("attribution"))
    marked = judged.select(_KEY).join(table, on=list(_KEY), how="left", nulls_equal=True, maintain_order="left")
    return judged.with_columns(marked.select(*COLUMNS).get_columns())
