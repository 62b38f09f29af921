"""What a notebook shows: the HTML summaries of results (``_repr_html_``) and their frames as
pandas.

The HTML is rendered from ``templates/notebook-*.html.j2`` by a jinja2 environment with
autoescaping: log text is untrusted, so a host name holding ``<script>`` shows as text.
Results are read by their attributes (a check result, a read result): this module imports no
stage of the pipeline.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from jinja2 import Environment, FileSystemLoader

from ..baseline import current_only
from ..controls import html_finalize
from ..verdicts import SEVERITIES, SEVERITY_RANK, VERDICTS

TOP_FINDINGS = 10
"""How many findings the notebook summary of a check lists (the most severe, then most frequent)."""

TEMPLATES = Path(__file__).parent / "templates"


# Nullable integer columns (ports, status) stay integers in pandas instead of turning into floats.
@cache
def _pandas_integers() -> dict:
    import pandas as pd
    import pyarrow as pa

    return {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
    }


def frames_to_pandas(frames: Mapping[str, pl.DataFrame]) -> dict:
    """Convert named polars frames to pandas, keeping the names (the conversion behind ``to_pandas``).

    Times stay time-zone aware (UTC), integers stay integers (nullable ``Int32``/``Int64``),
    enumerations become pandas categoricals, lists (evidence) become Python objects.

    Example: ``frames_to_pandas({"flows": result.flows})["flows"].dtypes``.
    """
    return {name: frame.to_pandas(types_mapper=_pandas_integers().get) for name, frame in frames.items()}


def check_frames(result) -> dict[str, pl.DataFrame]:
    """The frames of a check by name: flows (read from the flows file: all of them in memory),
    findings, coverage, files (inputs), rejects.

    Example: ``check_frames(result)["findings"].height``.
    """
    return {
        "flows": result.flows.lazy().collect(),
        "findings": result.findings,
        "coverage": result.coverage,
        "files": result.read.files_frame,
        "rejects": result.read.rejects,
    }


def read_frames(read) -> dict[str, pl.DataFrame]:
    """The frames of a read by name: flows, rejects, files, then one per evidence kind ("dns").

    Example: ``read_frames(read_logs(["data/samples"]))["files"]``.
    """
    return {"flows": read.flows, "rejects": read.rejects, "files": read.files_frame, **read.evidence}


_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    finalize=html_finalize,
)


def render(template: str, **context) -> str:
    """``templates/notebook-{template}.html.j2`` rendered with ``context``, every value escaped."""
    return _ENV.get_template(f"notebook-{template}.html.j2").render(**context)


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def check_html(result, top: int = TOP_FINDINGS) -> str:
    """The HTML a notebook shows for a check result: policy, findings by severity, flows and
    findings per verdict, the ``top`` findings that need action, and the inputs. Every value is
    escaped. Example: ``IPython.display.HTML(check_html(result, top=5))``.
    """
    zone = ZoneInfo(result.timezone)
    current = current_only(result.findings)
    per_verdict = dict(current.group_by("verdict").len().iter_rows())
    actionable = current.filter(pl.col("severity").is_in(list(SEVERITIES)))
    by_severity = dict.fromkeys(SEVERITIES, 0) | dict(actionable.group_by("severity").len().iter_rows())
    rank = pl.col("severity").replace_strict(SEVERITY_RANK, default=len(SEVERITY_RANK), return_dtype=pl.Int32)
    ordered = actionable.sort([rank, pl.col("count"), pl.col("finding_id")], descending=[False, True, False])
    rows = []
    for f in ordered.head(top).iter_rows(named=True):
        f["destination"] = f["host"] or f["address"] or ""
        f["first_seen"], f["last_seen"] = _when(f["first_seen"], zone), _when(f["last_seen"], zone)
        rows.append(f)
    verdicts = [
        {"verdict": v, "severity": s, "flows": result.summary.get(v, 0), "findings": per_verdict.get(v, 0)}
        for v, s in ((v, k.severity) for v, k in VERDICTS.items())
    ]
    verdicts.append(
        {"verdict": "out-of-scope", "severity": "", "flows": result.summary.get("out-of-scope", 0), "findings": ""}
    )
    files = result.read.files
    return render(
        "check",
        profile=result.policy.profile,
        wildcard=result.policy.wildcard,
        site=result.policy.site.file,
        tz=result.timezone,
        window=result.window.describe() if result.window else None,
        outside=result.outside_window,
        severities=SEVERITIES,
        by_severity=by_severity,
        verdicts=verdicts,
        top=rows,
        n_findings=actionable.height,
        files=files,
        lines=sum(f.lines for f in files),
        rejects=sum(f.rejects for f in files),
        n_flows=result.flow_count,
    )


def read_html(read) -> str:
    """The HTML a notebook shows for a read result: totals and one row per file, escaped.

    Example: ``IPython.display.HTML(read_html(read_logs(["data/samples"])))``.
    """
    files = read.files
    return render(
        "read",
        files=files,
        lines=sum(f.lines for f in files),
        n_flows=read.flows.height,
        rejects=read.rejects.height,
        evidence=[(kind, frame.height) for kind, frame in read.evidence.items()],
        tz=read.options.tz,
    )


def display_figures_inline() -> None:
    """In IPython, show matplotlib figures as PNG: the charts are drawn without pyplot, whose
    inline backend would otherwise register that display. Called when a figure is made, never at
    import. Example: ``display_figures_inline()`` (a no-op outside IPython)."""
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        from matplotlib.figure import Figure as _Figure

        def png(fig) -> bytes:
            buffer = io.BytesIO()
            fig.savefig(buffer, format="png")
            return buffer.getvalue()

        shell.display_formatter.formatters["image/png"].for_type(_Figure, png)
