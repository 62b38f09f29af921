"""Buckets of a partial with disjoint keys, for a long check to merge a bucket at a time."""

from __future__ import annotations

import polars as pl

from .partial import _KEY, Partial, empty


def split(partial: Partial, n: int) -> list[Partial]:
    """``partial`` cut into ``n`` partials whose findings and destinations have disjoint keys (by
    a hash of the key); the small frames go to the first. ``merge(*split(p, n))`` is ``p``.

    A long check keeps its aggregates as such buckets and merges each new partial bucket by
    bucket: a merge then copies an eighth of the findings, not all of them (at 20M lines and
    360,000 findings, each merge of the whole took a few hundred MB on top of the reading).
    """
    if n <= 1:
        return [partial]
    findings = partial.findings.with_columns(pl.struct(list(_KEY)).hash().mod(n).alias("_bucket"))
    destinations = partial.destinations.with_columns(pl.col("destination").hash().mod(n).alias("_bucket"))
    by_findings = {k[0]: f.drop("_bucket") for k, f in findings.partition_by("_bucket", as_dict=True).items()}
    by_dest = {k[0]: f.drop("_bucket") for k, f in destinations.partition_by("_bucket", as_dict=True).items()}
    none = empty()
    return [
        Partial(
            findings=by_findings.get(i, none.findings),
            coverage=partial.coverage if i == 0 else none.coverage,
            verdicts=partial.verdicts if i == 0 else none.verdicts,
            minutes=partial.minutes if i == 0 else none.minutes,
            destinations=by_dest.get(i, none.destinations),
            files=partial.files if i == 0 else none.files,
            outside_window=partial.outside_window if i == 0 else 0,
        )
        for i in range(n)
    ]
