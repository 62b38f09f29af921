"""Writing attributed hosts into the flows that still have none: one step, whatever the evidence
(DNS answers, proxy next hops, sessions)."""

from __future__ import annotations

import polars as pl


def fill(flows: pl.DataFrame, found: pl.DataFrame, prefix: str, source: str | None) -> pl.DataFrame:
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
