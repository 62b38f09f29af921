"""What a finding keeps of ambiguous attribution (:mod:`analyzer.ambiguity`): how its hosts were
known, whether any flow was ambiguous, the candidates, and the worst severity they could have."""

from __future__ import annotations

import polars as pl

from ..verdicts import SEVERITY_RANK

CANDIDATES_MAX = 10
AMBIGUOUS = "ambiguous attribution: the address stood for names that get different verdicts; severity is the worst case"


def rank(column: str) -> pl.Expr:
    """A severity column as its rank (0: the most severe)."""
    return pl.col(column).replace_strict(SEVERITY_RANK, default=None, return_dtype=pl.Int32)


def ambiguity_columns(schema: pl.Schema) -> list[pl.Expr]:
    """What a finding keeps of :func:`analyzer.ambiguity.mark` and of how hosts are known."""
    marked = "attribution" in schema  # judged without the ambiguity step: nothing ambiguous
    none = pl.lit(None, pl.String)
    return [
        pl.col("host_source").cast(pl.String).alias("_src"),
        (pl.col("attribution") == "ambiguous").fill_null(False).alias("_amb")
        if marked
        else pl.lit(False).alias("_amb"),
        (pl.col("candidates") if marked else none).alias("_cand"),
        (pl.col("worst_severity") if marked else none).alias("_worst"),
    ]


def ambiguity_aggs() -> list[pl.Expr]:
    """How a finding's flows' :func:`ambiguity_columns` fold into the finding."""
    return [
        pl.col("_src").drop_nulls().unique().sort().alias("_sources"),
        pl.col("_amb").any().alias("ambiguous"),
        pl.col("_cand").drop_nulls().unique().sort().head(CANDIDATES_MAX).alias("_candidates"),
        pl.col("_worst").sort_by(rank("_worst"), nulls_last=True).first().alias("_worst"),
    ]
