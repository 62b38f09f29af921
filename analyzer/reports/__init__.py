"""Report writers: one plain registry from name to ``function(result, outdir) -> Path``.

Each writer takes a :class:`analyzer.check.CheckResult` and an output folder and writes one file.
``analyzer check`` runs every registered writer. The machine-readable writers live in
:mod:`analyzer.reports.machine`; human reports (HTML, Markdown) register here the same way.

Example::

    for name, write in WRITERS.items():
        write(result, Path("out"))
"""

from __future__ import annotations

from ..remediation import write_remediation
from . import charts, html, machine, markdown, ocsf

WRITERS = {
    "findings.json": machine.write_findings_json,
    "findings.csv": machine.write_findings_csv,
    "coverage.csv": machine.write_coverage_csv,
    "rejects.csv": machine.write_rejects_csv,
    "flows.parquet": machine.write_flows_parquet,
    "findings.ocsf.json": ocsf.write,
    "charts": charts.write,
    "report.html": html.write,
    "report.md": markdown.write,
    "remediation": write_remediation,
}

__all__ = ["WRITERS"]
