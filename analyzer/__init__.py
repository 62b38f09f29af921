"""analyzer: compliance analysis of firewall and proxy logs around software update servers.

The public API, the same engine as the ``analyzer`` command, with results as polars frames::

    import analyzer as az

    result = az.run_check(["data/samples"], "data/samples/site.toml")
    result                                   # in Jupyter: a summary of the verdicts and findings
    result.findings                          # one row per finding (polars); result.to_pandas() for pandas
    az.plot_timeline(result)                 # matplotlib figures
    az.write_reports(result, "out")          # report.html, report.md, findings.json, ...

Reading: :func:`read_logs`, :class:`ReadResult`, :func:`attribute`. Policy: :func:`load_site`,
:func:`load_profile`, :func:`load_policy`, :func:`profile_names`, :func:`diff_profiles`,
:func:`explain_host`. Checking: :func:`run_check`, :func:`check_flows`, :class:`CheckResult`,
:func:`finding_flows`, :func:`evidence_lines`. Output: :func:`plot_timeline`, :func:`plot_unexpected`,
:func:`plot_coverage`, :func:`write_reports`. Data: :data:`FLOW_SCHEMA`, :data:`VERDICTS`,
:data:`SEVERITIES`. Errors: :class:`AnalyzerError` and its kinds :class:`InputError`,
:class:`PolicyError`, :class:`UnknownNameError`. Everything else is internal and may change.
"""

# First: allocator settings must be in place before polars is imported (see allocator.py).
from . import allocator  # noqa: F401
from .api import (
    HostExplanation,
    diff_profiles,
    evidence_lines,
    explain_host,
    finding_flows,
    plot_coverage,
    plot_timeline,
    plot_unexpected,
    profile_names,
    write_reports,
)
from .attribution import attribute
from .check import CheckResult, check_flows, run_check
from .errors import AnalyzerError, InputError, PolicyError, UnknownNameError
from .policy import Policy, Profile, Site, load_policy, load_profile, load_site
from .read import ReadResult, read_logs
from .schema import FLOW_SCHEMA
from .verdicts import SEVERITIES, VERDICTS

__version__ = "0.1.0"

__all__ = [
    "FLOW_SCHEMA",
    "SEVERITIES",
    "VERDICTS",
    "AnalyzerError",
    "CheckResult",
    "HostExplanation",
    "InputError",
    "Policy",
    "PolicyError",
    "Profile",
    "ReadResult",
    "Site",
    "UnknownNameError",
    "attribute",
    "check_flows",
    "diff_profiles",
    "evidence_lines",
    "explain_host",
    "finding_flows",
    "load_policy",
    "load_profile",
    "load_site",
    "plot_coverage",
    "plot_timeline",
    "plot_unexpected",
    "profile_names",
    "read_logs",
    "run_check",
    "write_reports",
]
