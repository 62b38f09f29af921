"""Machine-readable outputs of a check: findings.json, findings.csv, coverage.csv, rejects.csv,
flows.parquet.

Deterministic: the same input gives byte-identical files (stable sort orders, no time of the run,
times as ISO 8601 UTC). CSV cells that a spreadsheet would evaluate are neutralized.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ..controls import dumps, json_inert
from ..output import write_frame
from ..verdicts import VERDICTS

SCHEMA_VERSION = 2


ISO_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f+00:00"
"""Times in findings.json: ISO 8601 UTC with microseconds and a colon offset (polars' notation), as
:func:`_iso` writes them and as every machine output does (see analyzer.output.TIME_FORMAT)."""


def _iso(value: datetime | None) -> str | None:
    # The convention of every machine output (see analyzer.output.TIME_FORMAT): UTC, colon offset.
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


_PLACEHOLDER = "\x00findings\x00"
"""Stands for the findings list in the document that :func:`write_findings_json` writes around it."""
ROWS_PER_SLICE = 20_000


def _rows(frame: pl.DataFrame) -> Iterator[list[dict]]:
    """The rows of ``frame`` as plain dicts, a slice at a time (times as ISO 8601 UTC text,
    evidence as ``{"file", "line"}`` dicts): converted by polars, not value by value."""
    times = [pl.col(n).dt.strftime(ISO_FORMAT) for n, t in frame.schema.items() if isinstance(t, pl.Datetime)]
    for part in frame.iter_slices(ROWS_PER_SLICE):
        yield part.with_columns(times).to_dicts()


def findings_document(result, *, with_findings: bool = True) -> dict:
    """The content of findings.json as plain data (see the README for the fields)."""
    policy = result.policy
    inputs = [
        {
            "file": f.file,
            "format": f.format,
            "kind": f.kind,
            "status": f.status,
            "lines": f.lines,
            "flows": f.records if f.kind == "flows" else 0,
            "records": f.records,
            "rejects": f.rejects,
            "skipped": f.skipped_total,
            "lost_events": f.lost_events,
            "decode_errors": f.decode_errors,
            "damage": f.damage,
            "evidence_gaps": f.gaps,
        }
        for f in result.read.files
    ]
    findings = [row for rows in _rows(result.findings) for row in rows] if with_findings else _PLACEHOLDER
    coverage = [row for rows in _rows(result.coverage) for row in rows]
    window = result.window
    return {
        "schema_version": SCHEMA_VERSION,
        "policy": {
            "profile": policy.profile.name,
            "title": policy.profile.title,
            "document": policy.profile.document,
            "version": policy.profile.version,
            "url": policy.profile.url,
            "wildcard": policy.wildcard,
            "wsus_web_site": policy.site.wsus_web_site,
            "site": policy.site.file,
            "servers": [
                {"name": s.name, "fqdn": s.fqdn, "addresses": list(s.addresses), "role": s.role, "upstream": s.upstream}
                for s in policy.site.servers
            ],
        },
        "timezone": result.timezone,
        "window": {"since": _iso(window.since), "until": _iso(window.until), "outside": result.outside_window},
        "inputs": inputs,
        "summary": dict(result.summary),
        "verdicts": {v: {"severity": k.severity, "description": k.description} for v, k in VERDICTS.items()},
        "findings": findings,
        "coverage": coverage,
    }


def write_findings_json(result, outdir: Path) -> Path:
    """OUTDIR/findings.json: inputs, summary, findings, coverage, policy and timezone. Each finding
    is one compact JSON object on a line of its own (``grep`` finds a finding, a diff shows one
    line per finding changed)."""
    path = Path(outdir) / "findings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    # The document around the findings is small: json.dumps. The findings are serialized by
    # polars a slice at a time (json.dumps of 144,000 findings' dicts took 4.7 s, this 0.4 s),
    # then made inert as every JSON output is (polars escapes C0 controls, not DEL, C1 or bidi).
    head, tail = _dumps(findings_document(result, with_findings=False)).split(_dumps(_PLACEHOLDER))
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(head)
        first = True
        for lines in _json_lines(result.findings):
            fh.write("[\n    " if first else ",\n    ")
            fh.write(lines.replace("\n", ",\n    "))
            first = False
        fh.write("[]" if first else "\n  ]")
        fh.write(tail + "\n")
    return path


def _json_lines(frame: pl.DataFrame) -> Iterator[str]:
    """The rows of ``frame`` as inert JSON objects, one per line (no trailing newline), a slice at
    a time; times as ISO 8601 UTC text (what :func:`_rows` gives, serialized)."""
    times = [pl.col(n).dt.strftime(ISO_FORMAT) for n, t in frame.schema.items() if isinstance(t, pl.Datetime)]
    for part in frame.iter_slices(ROWS_PER_SLICE):
        if part.height:
            yield json_inert(part.with_columns(times).write_ndjson().rstrip("\n"))


def _dumps(value) -> str:
    return dumps(value, indent=2)  # control characters as \u escapes


def write_findings_csv(result, outdir: Path) -> Path:
    """OUTDIR/findings.csv: one finding per row; evidence as ``file:line`` separated by spaces."""
    path = Path(outdir) / "findings.csv"
    frame = result.findings.with_columns(
        pl.col("evidence")
        .list.eval(pl.element().struct.field("file") + ":" + pl.element().struct.field("line").cast(pl.String))
        .list.join(" ")
        .alias("evidence")
    )
    write_frame(frame, path)
    return path


def write_coverage_csv(result, outdir: Path) -> Path:
    """OUTDIR/coverage.csv: every required entry and hierarchy pair per server, with its status."""
    path = Path(outdir) / "coverage.csv"
    write_frame(result.coverage, path)
    return path


def write_rejects_csv(result, outdir: Path) -> Path:
    """OUTDIR/rejects.csv: every line that is not a flow (file, line, parser, reason, the line as
    read), in file and line order; formula-safe and with control characters made visible like
    every CSV. Only the header when every line was read."""
    path = Path(outdir) / "rejects.csv"
    rejects = result.read.rejects
    write_frame(rejects.sort("source_file", "line_no") if rejects.height else rejects, path)
    return path


def write_flows_parquet(result, outdir: Path) -> Path:
    """OUTDIR/flows.parquet: every flow with its server, verdict, reason, severity and entry.

    The check wrote the file as it judged; here it is copied when the result's file lies
    elsewhere (a temporary file, another folder), and left alone when it is already there."""
    path = Path(outdir) / "flows.parquet"
    stored = getattr(result, "flows_file", None)
    if stored is None:  # flows in memory (a hand-made result)
        write_frame(result.flows, path)
    elif not (path.exists() and path.samefile(stored.path)):
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(stored.path, path)
    return path
