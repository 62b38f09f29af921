"""The notebook side of the public API: frames, figures and HTML summaries of the engine's results.

:mod:`analyzer` re-exports what is meant for users; this module holds the glue that the engine's
modules do not need themselves: profile and explain results as frames, plotting helpers that
return matplotlib figures, the report writers by name, evidence lines read back from the log
files, conversions to pandas, and the HTML that Jupyter shows for a result (``_repr_html_``).

Log text is untrusted here as everywhere: every value rendered into HTML goes through a jinja2
environment with autoescaping, so a host name holding ``<script>`` shows as text in a notebook.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from .check import CheckResult
from .errors import UnknownNameError
from .policy import Policy, Profile, Site, builtin_names, load_policy, load_profile
from .policy import diff_profiles as _diff_profiles
from .policy.explain import explain_host as _explain_host
from .policy.explain import standalone_policy
from .policy.patterns import WILDCARD_MODES
from .reports import notebook

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# matplotlib, pandas and the report writers are imported where they are used: `import analyzer`
# (and so every command) stays as quick as the engine alone.


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
        return notebook.render(
            "explain",
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

    from .reports import charts

    with matplotlib.rc_context(charts.STYLE):
        fig = draw(charts)
        fig.tight_layout()
    notebook.display_figures_inline()
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
    from .reports.lanes import run_writers

    return run_writers(result, folder, names, progress)


# --- pandas --------------------------------------------------------------------------------------
