"""The notebook side of the public API: frames, figures and HTML summaries of the engine's results.

:mod:`analyzer` re-exports what is meant for users; this module holds the glue that the engine's
modules do not need themselves: profile and explain results as frames, plotting helpers that
return matplotlib figures, the report writers by name, evidence lines read back from the log
files, conversions to pandas, and the HTML that Jupyter shows for a result (``_repr_html_``).

Log text is untrusted here as everywhere: every value rendered into HTML goes through a jinja2
environment with autoescaping, so a host name holding ``<script>`` shows as text in a notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import polars as pl
from jinja2 import Environment

from .baseline import current_only
from .check import CheckResult
from .controls import html_finalize
from .errors import InputError, UnknownNameError
from .policy import Policy, Profile, Site, builtin_names, load_policy, load_profile
from .policy import diff_profiles as _diff_profiles
from .policy.explain import explain_host as _explain_host
from .policy.explain import standalone_policy
from .policy.patterns import WILDCARD_MODES
from .read import ReadResult
from .sources import expand, iter_chunks
from .verdicts import SEVERITIES, SEVERITY_RANK, VERDICTS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib, pandas and the report writers are imported where they are used: `import analyzer`
# (and so every command) stays as quick as the engine alone.

TOP_FINDINGS = 10
"""How many findings the notebook summary of a check lists (the most severe, then most frequent)."""

EVIDENCE_SCHEMA = pl.Schema({"file": pl.String, "line": pl.Int64, "text": pl.String})


# --- profiles and policy -------------------------------------------------------------------------


def profile_names() -> list[str]:
    """Names of the built-in allow-list profiles, sorted.

    Example::

        >>> "wsus-2025" in profile_names()
        True
    """
    return builtin_names()


def diff_profiles(a: str | Profile, b: str | Profile) -> pl.DataFrame:
    """What changed from profile ``a`` to profile ``b``, per host pattern, as a frame.

    ``a`` and ``b`` are built-in names, profile files or :class:`Profile` objects. Columns:
    ``host`` (the pattern), ``change`` ("added", "removed", "scheme changed"), ``before`` and
    ``after`` (the schemes, "-" when absent); sorted by host. The same rows as
    ``analyzer profiles diff A B``.

    Example::

        drift = diff_profiles("cm2007", "wsus-2025")
        drift.filter(pl.col("change") == "removed")
    """
    pa = a if isinstance(a, Profile) else load_profile(a)
    pb = b if isinstance(b, Profile) else load_profile(b)
    schema = {"host": pl.String, "change": pl.String, "before": pl.String, "after": pl.String}
    return pl.DataFrame(_diff_profiles(pa, pb), schema=schema)


@dataclass(frozen=True)
class HostExplanation:
    """How a policy treats one host: every entry's answer, and notes about the site's servers.

    ``entries`` has one row per host pattern of the policy (covering ones first): ``covers``,
    ``set`` ("profile", "allow", "other-role"), ``profile``, ``entry``, ``scheme``, ``port``,
    ``why``. Example: ``explain_host("download.windowsupdate.com").covering``.
    """

    host: str
    profile: str
    wildcard: str
    entries: pl.DataFrame
    notes: tuple[str, ...]

    @property
    def covering(self) -> pl.DataFrame:
        """The entries that cover the host. Example: ``explanation.covering["entry"].to_list()``."""
        return self.entries.filter(pl.col("covers"))

    def _repr_html_(self) -> str:
        related = self.entries.filter(~pl.col("why").is_in(["different host", "different domain"]))
        return _render(
            _EXPLAIN_HTML,
            host=self.host,
            profile=self.profile,
            wildcard=self.wildcard,
            rows=related.to_dicts(),
            unrelated=self.entries.height - related.height,
            notes=self.notes,
        )


def explain_host(
    host: str,
    site: str | Path | Site | Policy | None = None,
    *,
    profile: str | None = None,
    wildcard: str | None = None,
) -> HostExplanation:
    """Which entries of the policy cover ``host``, over which schemes and ports, and why others do not.

    ``site`` is a site file, a :class:`Site` or a :class:`Policy`; without it the default profile
    (or ``profile``) is explained on its own. ``wildcard`` ("subdomains" or "apex") overrides the
    site's mode. The same answer as ``analyzer policy explain HOST``.

    Example::

        explain_host("sws.update.microsoft.com", "data/samples/site.toml").covering
    """
    if isinstance(site, Policy):
        policy = site if profile is None else load_policy(site.site, profile=profile)
    elif site is None:
        policy = standalone_policy(profile)
    else:
        policy = load_policy(site if isinstance(site, Site) else str(site), profile=profile)
    if wildcard is not None:
        if wildcard not in WILDCARD_MODES:
            raise UnknownNameError("wildcard mode", wildcard, WILDCARD_MODES)
        policy = replace(policy, site=replace(policy.site, wildcard=wildcard))
    folded, rows, notes = _explain_host(host, policy)
    schema = {
        "covers": pl.Boolean,
        "set": pl.String,
        "profile": pl.String,
        "entry": pl.String,
        "scheme": pl.String,
        "port": pl.Int32,
        "why": pl.String,
    }
    frame = pl.DataFrame(
        [(r.covers, r.set, r.profile, r.entry, r.scheme, r.port, r.why) for r in rows], schema=schema, orient="row"
    )
    return HostExplanation(folded, policy.profile.name, policy.wildcard, frame, tuple(notes))


# --- figures -------------------------------------------------------------------------------------


def _figure(draw) -> Figure:
    import matplotlib
    import matplotlib.pyplot as plt

    from .reports import charts

    with matplotlib.rc_context(charts.STYLE):
        fig = draw(charts)
        fig.tight_layout()
    # Closed figures stay drawable; closing keeps Jupyter from showing each one twice (once for
    # pyplot's open figures, once as the cell's value) and frees pyplot's reference.
    plt.close(fig)
    return fig


def plot_timeline(data: CheckResult | pl.DataFrame | pl.LazyFrame, tz: str | None = None) -> Figure:
    """Required traffic per hour, day, week, month or year (by the time range where most flows
    lie), allowed against blocked and failed (a matplotlib Figure).

    ``data`` is a check result (drawn from its aggregates), or judged flows, a frame or a lazy
    frame (e.g. ``result.flows`` filtered to one finding); ``tz`` is the zone of the time axis
    (default: the result's, else UTC). The same chart as the report's ``charts/timeline.png``.

    Example::

        fig = plot_timeline(result)
        fig.savefig("timeline.png")
    """
    zone = tz or (data.timezone if isinstance(data, CheckResult) else "UTC")
    return _figure(lambda charts: charts.timeline(data, zone))


def plot_unexpected(data: CheckResult | pl.DataFrame | pl.LazyFrame) -> Figure:
    """The top destinations of unexpected traffic, allowed and blocked (a matplotlib Figure).

    ``data`` is a check result or judged flows (a frame or a lazy frame).
    Example: ``plot_unexpected(result)``.
    """
    return _figure(lambda charts: charts.unexpected(data, "UTC"))


def plot_coverage(data: CheckResult | pl.DataFrame) -> Figure:
    """Per update server, its required entries seen allowed, seen blocked, never seen (a Figure).

    ``data`` is a check result or its ``coverage`` frame. Example: ``plot_coverage(result)``.
    """
    table = data.coverage if isinstance(data, CheckResult) else data
    return _figure(lambda charts: charts.coverage(table))


# --- reports and evidence ------------------------------------------------------------------------


def write_reports(
    result: CheckResult,
    outdir: str | Path,
    formats: Iterable[str] | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[Path]:
    """Write the reports of a check into ``outdir``, as ``analyzer check -o OUTDIR`` does.

    ``formats`` are names of the report writers (default: all, in order): "findings.json",
    "findings.csv", "coverage.csv", "rejects.csv", "flows.parquet", "findings.ocsf.json", "charts", "report.html",
    "report.md", "remediation" (the folder of device rules, see :mod:`analyzer.remediation`).
    Returns the paths written. An unknown name raises :class:`UnknownNameError`.
    ``progress("reports", done, total)`` hears of each report written.

    Example::

        write_reports(result, "out", formats=["report.html", "findings.json"])
    """
    from .reports import WRITERS

    names = list(WRITERS) if formats is None else [formats] if isinstance(formats, str) else list(formats)
    for name in names:
        if name not in WRITERS:
            raise UnknownNameError("report format", name, WRITERS)
    folder = Path(outdir)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for done, name in enumerate(names):
        if progress is not None:
            progress("reports", done, len(names))
        written.append(WRITERS[name](result, folder))
    if progress is not None:
        progress("reports", len(names), len(names))
    return written


def finding_flows(result: CheckResult, finding: Mapping | str) -> pl.DataFrame:
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
    out = pl.concat(found) if found else pl.DataFrame(schema=EVIDENCE_SCHEMA)
    return out.cast(dict(EVIDENCE_SCHEMA)).sort("file", "line")


# --- pandas --------------------------------------------------------------------------------------


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


def check_frames(result: CheckResult) -> dict[str, pl.DataFrame]:
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


def read_frames(read: ReadResult) -> dict[str, pl.DataFrame]:
    """The frames of a read by name: flows, rejects, files, then one per evidence kind ("dns").

    Example: ``read_frames(read_logs(["data/samples"]))["files"]``.
    """
    return {"flows": read.flows, "rejects": read.rejects, "files": read.files_frame, **read.evidence}


# --- HTML summaries for Jupyter ------------------------------------------------------------------

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True, finalize=html_finalize)


def _render(template: str, **context) -> str:
    return _ENV.from_string(template).render(**context)


def _when(value: datetime | None, zone: ZoneInfo) -> str:
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


_FILES_HTML = """\
<table>
<thead><tr><th>file</th><th>format</th><th>lines</th><th>flows</th><th>rejects</th><th>skipped</th></tr></thead>
<tbody>
{% for f in files %}
<tr><td>{{ f.file }}</td><td>{{ f.format or f.status }}</td><td>{{ "{:,}".format(f.lines) }}</td>\
<td>{% if f.kind == "dns" %}({{ "{:,}".format(f.records) }} DNS answers){% else %}{{ "{:,}".format(f.records) }}\
{% endif %}</td>\
<td>{{ "{:,}".format(f.rejects) }}</td>\
<td>{{ "{:,}".format(f.skipped_total) }}</td></tr>
{% endfor %}
</tbody>
</table>
"""

_CHECK_HTML = (
    """\
<div class="analyzer-check-result">
<p><strong>Check result</strong>: profile <code>{{ profile.name }}</code> ({{ profile.document }}, \
{{ profile.version }}), wildcard {{ wildcard }}, site <code>{{ site }}</code>, times in {{ tz }}\
{% if window %}, window {{ window }} ({{ "{:,}".format(outside) }} flows outside){% endif %}.</p>
<table>
<thead><tr>{% for s in severities %}<th>{{ s }}</th>{% endfor %}</tr></thead>
<tbody><tr>{% for s in severities %}<td>{{ by_severity[s] }}</td>{% endfor %}</tr></tbody>
</table>
<table>
<thead><tr><th>verdict</th><th>severity</th><th>flows</th><th>findings</th></tr></thead>
<tbody>
{% for v in verdicts %}
<tr><td>{{ v.verdict }}</td><td>{{ v.severity }}</td><td>{{ "{:,}".format(v.flows) }}</td><td>{{ v.findings }}</td></tr>
{% endfor %}
</tbody>
</table>
<p><strong>Top findings</strong> ({{ top|length }} of {{ n_findings }} that need action)</p>
{% if top %}
<table>
<thead><tr><th>severity</th><th>verdict</th><th>server</th><th>destination</th><th>port</th><th>scheme</th>\
<th>entry</th><th>count</th><th>first seen</th><th>last seen</th></tr></thead>
<tbody>
{% for f in top %}
<tr><td>{{ f.severity }}</td><td>{{ f.verdict }}</td><td>{{ f.server }}</td><td>{{ f.destination }}</td>\
<td>{{ f.port if f.port is not none }}</td><td>{{ f.scheme or "" }}</td><td>{{ f.entry or "" }}</td>\
<td>{{ f.count }}</td><td>{{ f.first_seen }}</td><td>{{ f.last_seen }}</td></tr>
{% endfor %}
</tbody>
</table>
{% endif %}
<p><strong>Inputs</strong>: {{ files|length }} files, {{ "{:,}".format(lines) }} lines, \
{{ "{:,}".format(rejects) }} rejects</p>
"""
    + _FILES_HTML
    + """\
<p>Frames: <code>.flows</code> ({{ "{:,}".format(n_flows) }} rows, a lazy frame over flows.parquet: filter, then \
<code>.collect()</code>), <code>.findings</code>, <code>.coverage</code>; <code>.to_pandas()</code> for pandas.</p>
</div>
"""
)

_READ_HTML = (
    """\
<div class="analyzer-read-result">
<p><strong>Read result</strong>: {{ files|length }} files, {{ "{:,}".format(lines) }} lines, \
{{ "{:,}".format(n_flows) }} flows, {{ "{:,}".format(rejects) }} rejects\
{% for kind, n in evidence %}, {{ "{:,}".format(n) }} {{ kind }} evidence records{% endfor %}; \
times read as {{ tz }} where a log has no zone.</p>
"""
    + _FILES_HTML
    + "</div>\n"
)

_EXPLAIN_HTML = """\
<div class="analyzer-explanation">
<p><strong>{{ host }}</strong> under <code>{{ profile }}</code> (wildcard {{ wildcard }})</p>
<table>
<thead><tr><th>covers</th><th>list</th><th>entry</th><th>scheme</th><th>port</th><th>why</th></tr></thead>
<tbody>
{% for r in rows %}
<tr><td>{{ "yes" if r.covers else "no" }}</td><td>{{ r.profile }}</td><td>{{ r.entry }}</td><td>{{ r.scheme }}</td>\
<td>{{ r.port }}</td><td>{{ r.why }}</td></tr>
{% endfor %}
</tbody>
</table>
<p>{{ unrelated }} other entries concern other domains.</p>
{% if notes %}<ul>{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
</div>
"""


def check_html(result: CheckResult, top: int = TOP_FINDINGS) -> str:
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
        for v, (s, _) in VERDICTS.items()
    ]
    verdicts.append(
        {"verdict": "out-of-scope", "severity": "", "flows": result.summary.get("out-of-scope", 0), "findings": ""}
    )
    files = result.read.files
    return _render(
        _CHECK_HTML,
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


def read_html(read: ReadResult) -> str:
    """The HTML a notebook shows for a read result: totals and one row per file, escaped.

    Example: ``IPython.display.HTML(read_html(read_logs(["data/samples"])))``.
    """
    files = read.files
    return _render(
        _READ_HTML,
        files=files,
        lines=sum(f.lines for f in files),
        n_flows=read.flows.height,
        rejects=read.rejects.height,
        evidence=[(kind, frame.height) for kind, frame in read.evidence.items()],
        tz=read.options.tz,
    )
