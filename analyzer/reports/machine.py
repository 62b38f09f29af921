"""Machine-readable outputs of a check: findings.json, findings.csv, coverage.csv, rejects.csv,
flows.parquet.

Deterministic: the same input gives byte-identical files (stable sort orders, no time of the run,
times as ISO 8601 UTC). CSV cells that a spreadsheet would evaluate are neutralized.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from ..controls import dumps
from ..output import write_frame
from ..verdicts import VERDICTS

SCHEMA_VERSION = 2


def _iso(value: datetime | None) -> str | None:
    # The convention of every machine output (see analyzer.output.TIME_FORMAT): UTC, colon offset.
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def findings_document(result) -> dict:
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
    findings = []
    for row in result.findings.iter_rows(named=True):
        row = dict(row)
        row["first_seen"] = _iso(row["first_seen"])
        row["last_seen"] = _iso(row["last_seen"])
        row["evidence"] = [{"file": e["file"], "line": e["line"]} for e in row["evidence"] or []]
        findings.append(row)
    coverage = []
    for row in result.coverage.iter_rows(named=True):
        row = dict(row)
        row["first_seen"] = _iso(row["first_seen"])
        row["last_seen"] = _iso(row["last_seen"])
        coverage.append(row)
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
        "verdicts": {v: {"severity": s, "description": d} for v, (s, d) in VERDICTS.items()},
        "findings": findings,
        "coverage": coverage,
    }


def write_findings_json(result, outdir: Path) -> Path:
    """OUTDIR/findings.json: inputs, summary, findings, coverage, policy and timezone."""
    path = Path(outdir) / "findings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(findings_document(result), indent=2)  # control characters as \u escapes
    path.write_text(text + "\n", encoding="utf-8")
    return path


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
