"""Attribution wired to the parsers' registry: the evidence each flow format declares, and the
DNS evidence files of ``--dns``.

:mod:`analyzer.attribution` knows no format: it is handed the declarations
(:func:`analyzer.parsers.declared_evidence`) here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import polars as pl

from .. import attribution, parsers
from ..errors import InputError
from ..parsers.base import ParseOptions
from .read import ReadResult, read_logs


def attribute(
    flows: pl.DataFrame,
    evidence: pl.DataFrame | None = None,
    *,
    window: timedelta = attribution.DEFAULT_WINDOW,
    use_ttl: bool = False,
) -> pl.DataFrame:
    """Give IP-only flows the names that evidence tied to their address (see
    :func:`analyzer.attribution.attribute`), with the evidence every registered format declares.

    Example::

        result = read_logs(["data/samples/winfirewall", "data/samples/dnscsv"])
        flows = attribute(result.flows, result.evidence.get("dns"))
    """
    declared = parsers.declared_evidence()
    return attribution.attribute(flows, evidence, declared=declared, window=window, use_ttl=use_ttl)


def index(
    flows: pl.DataFrame | pl.LazyFrame,
    evidence: pl.DataFrame | None = None,
    *,
    window: timedelta = attribution.DEFAULT_WINDOW,
    use_ttl: bool = False,
) -> attribution.Index | None:
    """:func:`analyzer.attribution.index` with the registry's declarations."""
    return attribution.index(flows, evidence, declared=parsers.declared_evidence(), window=window, use_ttl=use_ttl)


def nameable() -> pl.Expr:
    """Flows attribution may name (:func:`analyzer.attribution.nameable`), by the registry's
    declarations."""
    return attribution.nameable(parsers.declared_evidence())


def carries_evidence() -> pl.Expr:
    """Flows whose lines may give evidence, by the registry's declarations."""
    return attribution.carries_evidence(parsers.declared_evidence())


def read_evidence(paths: Iterable[str], options: ParseOptions | None = None) -> ReadResult:
    """Read DNS evidence files (``--dns``) with their format sniffed; every file must be a DNS
    evidence format. Returns the :class:`~analyzer.pipeline.read.ReadResult` (evidence in
    ``.evidence["dns"]``, per-file summaries in ``.files``).

    Example: ``read_evidence(["data/samples/dnscsv"]).evidence["dns"]``.
    """
    result = read_logs(list(paths), options=options)
    dns_formats = [name for name, p in parsers.REGISTRY.items() if p.kind == "dns"]
    for f in result.files:
        if f.kind is not None and f.kind != "dns":
            raise InputError(
                f"not DNS evidence (it reads as {f.format}); --dns takes {' or '.join(dns_formats)} files", file=f.file
            )
    return result
