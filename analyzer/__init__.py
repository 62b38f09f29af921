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
:func:`plot_coverage`, :func:`write_reports`. Acting on it: :func:`remediate` (device rules),
:func:`whatif` and :class:`WhatIf` (the same flows under another policy). Data: :data:`FLOW_SCHEMA`, :data:`VERDICTS`,
:data:`SEVERITIES`. Errors: :class:`AnalyzerError` and its kinds :class:`InputError`,
:class:`PolicyError`, :class:`UnknownNameError`. Everything else is internal and may change.
"""

# First: allocator settings must be in place before polars is imported (see allocator.py).
from . import allocator  # noqa: F401

# The public names are loaded on first use, so a command (or a script) that needs only part of
# the package does not pay for importing all of it.
_EXPORTS = {
    "HostExplanation": "api",
    "diff_profiles": "api",
    "evidence_lines": "api",
    "explain_host": "api",
    "finding_flows": "api",
    "plot_coverage": "api",
    "plot_timeline": "api",
    "plot_unexpected": "api",
    "profile_names": "api",
    "write_reports": "api",
    "attribute": "attribution",
    "CheckResult": "check",
    "check_flows": "check",
    "run_check": "check",
    "AnalyzerError": "errors",
    "InputError": "errors",
    "PolicyError": "errors",
    "UnknownNameError": "errors",
    "Policy": "policy",
    "Profile": "policy",
    "Site": "policy",
    "load_policy": "policy",
    "load_profile": "policy",
    "load_site": "policy",
    "ReadResult": "read",
    "read_logs": "read",
    "FLOW_SCHEMA": "schema",
    "SEVERITIES": "verdicts",
    "VERDICTS": "verdicts",
    "remediate": "remediation",
    "WhatIf": "whatif",
    "whatif": "whatif",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'analyzer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


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
    "WhatIf",
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
    "remediate",
    "run_check",
    "whatif",
    "write_reports",
]
