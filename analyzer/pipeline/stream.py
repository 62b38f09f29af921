"""Parse logs straight to a flows file (``analyzer parse``), in bounded memory.

Flows stream to a temporary Parquet file chunk by chunk, so memory stays bounded whatever the
size of the logs. Only when some flows are IP-only, and evidence exists (DNS records, or flows
that carry some: Squid next hops, PAN-OS URL logs), does a second pass run: what attribution
needs from all flows is read from the streamed file (a few columns), then the flows are
attributed and written batch by batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl

from .. import attribution
from ..flows import FLOW_SCHEMA
from ..output import FrameWriter, format_of
from ..parsers.base import ParseOptions
from . import evidence
from .read import ReadResult, read_logs

BATCH_ROWS = 256 * 1024
"""Rows per batch of the attribution pass (and of a CSV conversion)."""


@dataclass
class Streamed:
    """What :func:`parse_to_file` did: the read (its rejects and per-file summaries; its flows
    are in the file, not here), the rows written, and one line on attribution."""

    read: ReadResult
    rows: int
    attributed: str


def parse_to_file(
    paths: Iterable[str],
    output: str | Path,
    *,
    format: str | None = None,
    options: ParseOptions | None = None,
    dns: Iterable[str] = (),
    dns_window: str | timedelta | None = None,
    progress: Callable | None = None,
) -> Streamed:
    """Read ``paths`` (and ``dns`` evidence), attribute IP-only flows, write the flows to
    ``output`` (``.parquet`` or ``.csv``). ``dns_window``: how long an answer names later flows
    (``"24h"`` by default, ``"ttl"``: each answer's TTL).
    Example: ``parse_to_file(["access.log"], "flows.parquet")``."""
    window, use_ttl = attribution.dns_window(dns_window)  # a bad option fails before reading
    out = Path(output)
    format_of(out)
    dns = list(dns)
    found_dns = evidence.read_evidence(dns, options) if dns else None
    partial = out.with_name(f".{out.name}.partial.parquet")
    found: list[pl.DataFrame] = [found_dns.evidence["dns"]] if found_dns and "dns" in found_dns.evidence else []
    counts = {"ip_only": 0, "carriers": 0}
    carries = evidence.carries_evidence()

    def sink(kind: str, frame: pl.DataFrame) -> None:
        if kind == "flows":
            row = frame.select(attribution.IP_ONLY.sum().alias("ip_only"), carries.sum().alias("carriers")).row(0)
            counts["ip_only"] += int(row[0])
            counts["carriers"] += int(row[1])
            writer.write(frame)
        else:
            found.append(frame)

    try:
        with FrameWriter(partial, FLOW_SCHEMA) as writer:
            result = read_logs(list(paths), format=format, options=options, progress=progress, sink=sink)
        if found_dns:
            result.files.extend(found_dns.files)
        ip_only = counts["ip_only"]
        # Without evidence (DNS records, or flows that carry some), IP-only flows stay
        # unattributed and need no second pass.
        wanted = bool(ip_only and (found or counts["carriers"]))
        dns_frame = pl.concat(found) if found else None
        scan = pl.scan_parquet(partial, glob=False)
        idx = evidence.index(scan, dns_frame, window=window, use_ttl=use_ttl) if wanted else None
        if idx is not None:
            tally = None
            with FrameWriter(out, FLOW_SCHEMA) as final:
                for batch in pl.scan_parquet(partial, glob=False).collect_batches(chunk_size=BATCH_ROWS):
                    flows = attribution.attribute_batch(batch, idx)
                    final.write(flows)
                    tally = attribution.tally(flows, tally)
            attributed = attribution.summary_line(tally)
        elif wanted:  # evidence, but none about these flows
            attributed = attribution.summary_line(pl.DataFrame({"source": [None], "len": [ip_only]}))
            _move(partial, out)
        else:
            attributed = (
                f"no evidence to attribute {ip_only:,} IP-only flows (give DNS evidence with --dns)"
                if ip_only
                else "no IP-only flows to attribute"
            )
            _move(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return Streamed(result, writer.rows, attributed)


def _move(partial: Path, out: Path) -> None:
    """Put the streamed flows at ``out``: a rename for Parquet, a batched conversion for CSV."""
    if format_of(out) == "parquet":
        partial.replace(out)
        return
    import pyarrow.parquet as pq

    with FrameWriter(out, FLOW_SCHEMA) as final:
        for batch in pq.ParquetFile(partial).iter_batches(batch_size=BATCH_ROWS):
            final.write(pl.from_arrow(batch).cast(FLOW_SCHEMA))
