"""What stands behind a finding: the flows it counts, and the log lines read back from their
files (compressed and rotated files read as the check read them, so line numbers agree)."""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from ..errors import InputError, UnknownNameError
from ..sources import expand, iter_chunks

LINES_SCHEMA = pl.Schema({"file": pl.String, "line": pl.Int64, "text": pl.String})
"""The log lines of :func:`evidence_lines`: file, line number, the untrusted text unchanged."""


def finding_flows(result, finding: Mapping | str) -> pl.DataFrame:
    """The flows behind one finding, oldest first: every flow it counts, with all its columns.

    ``finding`` is a row of ``result.findings`` (``findings.row(i, named=True)``) or its
    ``finding_id``. The flows are selected by what groups them into the finding: server,
    direction, verdict, destination host (or address; the source address for inbound findings),
    port and scheme, so their number equals the finding's ``count``.

    Example::

        finding = result.findings.filter(pl.col("verdict") == "blocked-required").row(0, named=True)
        finding_flows(result, finding).select("time", "device", "rule", "vendor_action")
    """
    if isinstance(finding, str):
        rows = result.findings.filter(pl.col("finding_id") == finding)
        if rows.is_empty():
            raise UnknownNameError("finding", finding, result.findings["finding_id"].to_list())
        finding = rows.row(0, named=True)
    where = (
        pl.col("server").eq_missing(pl.lit(finding["server"], pl.String))
        & pl.col("direction_to_server").eq_missing(pl.lit(finding["direction"], pl.String))
        & (pl.col("verdict") == finding["verdict"])
        & pl.col("dst_port").eq_missing(pl.lit(finding["port"], pl.Int32))
        & pl.col("scheme").eq_missing(pl.lit(finding["scheme"], pl.String))
    )
    if finding["direction"] == "inbound":
        where &= pl.col("src_ip") == finding["address"]
    elif finding["host"] is not None:
        where &= pl.col("dst_host") == finding["host"]
    else:
        where &= pl.col("dst_host").is_null() & pl.col("dst_ip").eq_missing(pl.lit(finding["address"], pl.String))
    # Scanned from flows.parquet: only the row groups that can hold the finding's flows are read.
    return result.flows.lazy().filter(where).sort("time", "source_file", "line_no", nulls_last=True).collect()


def _evidence_keys(evidence) -> pl.DataFrame:
    """``file, line`` pairs from the shapes evidence comes in (see :func:`evidence_lines`)."""
    if isinstance(evidence, pl.Series):
        evidence = evidence.to_list()
    if isinstance(evidence, Mapping):
        evidence = evidence.get("evidence") if "evidence" in evidence else [evidence]
    if isinstance(evidence, pl.DataFrame):
        if "evidence" in evidence.columns:
            frame = evidence.select(pl.col("evidence").explode()).unnest("evidence")
        elif {"source_file", "line_no"} <= set(evidence.columns):
            frame = evidence.select(pl.col("source_file").alias("file"), pl.col("line_no").alias("line"))
        elif {"file", "line"} <= set(evidence.columns):
            frame = evidence.select("file", "line")
        else:
            raise InputError("evidence needs columns file and line, source_file and line_no, or evidence")
    else:
        rows = [e for e in (evidence or []) if e]
        if any(not isinstance(e, Mapping) or "file" not in e or "line" not in e for e in rows):
            raise InputError("evidence items must be {'file': ..., 'line': ...}")
        frame = pl.DataFrame(
            [{"file": e["file"], "line": e["line"]} for e in rows], schema={"file": pl.String, "line": pl.Int64}
        )
    frame = frame.select(pl.col("file").cast(pl.String), pl.col("line").cast(pl.Int64))
    return frame.drop_nulls().unique().sort("file", "line")


def evidence_lines(evidence) -> pl.DataFrame:
    """The log lines behind a finding or some flows, read back from their files: ``file, line, text``.

    ``evidence`` is a finding's evidence list (``[{"file": ..., "line": ...}]``), a finding row
    (a dict with ``evidence``), a findings frame (every row's evidence), or flows (their
    ``source_file`` and ``line_no``). Compressed and rotated files are read as the check read
    them, so line numbers agree. The text is the untrusted log line, unchanged. A file that is
    gone or a line past its end raises :class:`InputError` (the file changed since the check).

    Example::

        finding = result.findings.filter(pl.col("verdict") == "blocked-required").row(0, named=True)
        evidence_lines(finding["evidence"])
    """
    keys = _evidence_keys(evidence)
    found = []
    for (file,), wanted in keys.group_by("file", maintain_order=True):
        sources = expand([file])
        if len(sources) != 1:
            raise InputError("evidence must name one file, not a folder or pattern", file=file)
        lines = wanted["line"].implode()
        hits = [chunk.lines.filter(pl.col("line_no").is_in(lines)) for chunk in iter_chunks(sources[0])]
        hit = pl.concat(hits) if hits else pl.DataFrame(schema={"line_no": pl.Int64, "text": pl.String})
        missing = wanted.filter(~pl.col("line").is_in(hit["line_no"].implode()))
        if missing.height:
            raise InputError("line not in the file; has it changed since the check?", file=file, line=missing[0, 1])
        found.append(hit.select(pl.lit(file, pl.String).alias("file"), pl.col("line_no").alias("line"), "text"))
    out = pl.concat(found) if found else pl.DataFrame(schema=LINES_SCHEMA)
    return out.cast(dict(LINES_SCHEMA)).sort("file", "line")
