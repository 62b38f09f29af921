"""OUTDIR/findings.ocsf.json: every finding as an OCSF Compliance Finding (class 2003).

A SIEM or SOAR that speaks OCSF reads the findings without knowing this tool. One event per
finding (the rows of ``findings.json``, resolved ones included when there is a baseline). The
events exist twice: as plain data here (:func:`ocsf_events`, the reference, which the tests
validate against the OCSF 1.5.0 models of ``py-ocsf-models``), and as JSON text built with polars
expressions in :mod:`analyzer.reports.ocsf_json`, which :func:`write` uses (at 144,000 findings
the data took 6 s to write); a test checks that both give the same events. The values of both
come from :mod:`analyzer.reports.ocsf_mapping`. The mapping (documented in the README, "OCSF findings"):

- ``finding_info.uid`` is the finding id; ``first_seen_time``/``last_seen_time`` (and the event's
  ``start_time``/``end_time``) its first and last flow, in milliseconds since the epoch; ``time``
  is the last flow's time too, so the same input gives the same file (no time of the run).
- ``severity_id`` from the analyzer's severity (high 4, medium 3, low 2, info and none 1).
- ``status_id`` and ``activity_id`` from the baseline comparison: new (or no baseline) is
  New/Create, persisting is New/Update, resolved is Resolved/Close.
- ``compliance``: the profile's document as the standard, the allow-list entry or hierarchy pair
  as the requirement (a policy-wide requirement for findings that no entry covers), and the
  compliance status from the verdict (:data:`COMPLIANCE_STATUS`).
- ``resources``: the update server (name, fqdn, addresses, role, upstream).
- ``remediation.desc``: the remediation text of the finding (the check's writer takes them from
  :func:`analyzer.remediation.finding_remediation`).
- ``evidences``: the log lines kept as evidence (file and line number).
- ``unmapped``: what OCSF has no attribute for in this class: verdict, direction, destination,
  port, scheme, count, device rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

import polars as pl

from ..controls import dumps
from ..verdicts import VERDICTS
from . import ocsf_json
from .ocsf_mapping import (
    BASELINE_STATUS,
    CATEGORY_UID,
    CLASS_UID,
    COMPLIANCE_STATUS,
    OCSF_VERSION,
    RESOLVED_CHECK,
    SEVERITY_ID,
    UNMAPPED,
    Profile,
    columns,
    remediation_frame,
)

OCSF_NAME = "findings.ocsf.json"

__all__ = [
    "BASELINE_STATUS",
    "COMPLIANCE_STATUS",
    "OCSF_NAME",
    "OCSF_VERSION",
    "SEVERITY_ID",
    "UNMAPPED",
    "iter_events",
    "ocsf_events",
    "write",
    "write_events",
]


def _observables(fqdn: str | None, unmapped: dict) -> list[dict]:
    if fqdn is None:
        return []
    out = [{"name": "resources.uid", "type_id": 1, "type": "Hostname", "value": fqdn}]
    if unmapped["host"]:
        out.append({"name": "unmapped.host", "type_id": 1, "type": "Hostname", "value": unmapped["host"]})
    if unmapped["address"]:
        out.append({"name": "unmapped.address", "type_id": 2, "type": "IP Address", "value": unmapped["address"]})
    return out


def ocsf_events(findings: pl.DataFrame, policy, remediation=None) -> list[dict]:
    """The OCSF Compliance Finding events of ``findings`` (a findings frame of a check), as data.

    ``policy`` is the check's :class:`analyzer.policy.Policy`; ``remediation`` the remediation
    texts by finding id (a frame with ``finding_id`` and ``remediation``, or a mapping), or None.
    Example::

        events = ocsf_events(result.findings, result.policy)
        events[0]["finding_info"]["uid"] == result.findings["finding_id"][0]
    """
    return list(iter_events(findings, policy, remediation))


def iter_events(findings: pl.DataFrame, policy, remediation=None) -> Iterator[dict]:
    """The events of :func:`ocsf_events` one at a time (the writer never holds them all)."""
    texts = dict(remediation_frame(remediation).iter_rows())
    parts = Profile.of(policy)
    standard, product, resources = parts.standard, parts.product, parts.resources
    for (
        fid,
        verdict,
        sev,
        reason,
        server,
        status,
        title,
        requirement,
        first,
        last,
        fqdn,
        files,
        evidence,
        unmapped,
    ) in columns(findings, policy, parts.policy_wide).iter_rows():
        (activity_id, activity), (status_id, status_name) = BASELINE_STATUS[status]
        severity_id, severity = SEVERITY_ID[sev]
        check_id, check = RESOLVED_CHECK if status == "resolved" else COMPLIANCE_STATUS[verdict]
        described = VERDICTS[verdict][1]
        finding_info = {"uid": fid, "title": title, "desc": reason, "types": [verdict], "data_sources": files}
        times = {}
        if first is not None and last is not None:
            finding_info["first_seen_time"], finding_info["last_seen_time"] = first, last
            times = {"start_time": first, "end_time": last}
        event = {
            "activity_id": activity_id,
            "activity_name": activity,
            "category_uid": CATEGORY_UID,
            "category_name": "Findings",
            "class_uid": CLASS_UID,
            "class_name": "Compliance Finding",
            "type_uid": CLASS_UID * 100 + activity_id,
            "type_name": f"Compliance Finding: {activity}",
            "severity_id": severity_id,
            "severity": severity,
            "status_id": status_id,
            "status": status_name,
            "time": last if last is not None else 0,
            **times,
            "message": f"{title}: {described}",
            "metadata": {"version": OCSF_VERSION, "product": product, "uid": fid},
            "finding_info": finding_info,
            "compliance": {
                "standards": standard,
                "requirements": [requirement],
                "control": requirement,
                "desc": described,
                "status_id": check_id,
                "checks": [
                    {
                        "uid": requirement,
                        "name": requirement,
                        "desc": reason,
                        "standards": standard,
                        "version": parts.version,
                        "severity": sev,
                        "severity_id": severity_id,
                        "status": check,
                        "status_id": check_id,
                    }
                ],
            },
            "resources": resources.get(server, []),
            "evidences": [{"name": "log line", "data": e} for e in evidence],
            "observables": _observables(fqdn, unmapped),
            "unmapped": {k: v for k, v in unmapped.items() if v is not None},
        }
        if fid in texts:
            event["remediation"] = {"desc": texts[fid]}
        yield event


def write_events(events: Iterable[dict], file: TextIO) -> None:
    """Write ``events`` to ``file`` as a JSON array, one event per line (readable with ``grep``,
    loadable whole), as they come."""
    file.write("[")
    for i, event in enumerate(events):
        file.write(",\n" if i else "\n")
        file.write(dumps(event))  # log text stays inert: no raw DEL, C1 or bidi control in the file
    file.write("\n]\n")


def write(result, outdir: str | Path) -> Path:
    """OUTDIR/findings.ocsf.json: the check's findings as OCSF Compliance Findings, each with the
    remediation text of :func:`analyzer.remediation.finding_remediation`."""
    path = Path(outdir) / OCSF_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    from ..remediation import finding_remediation  # the sentence per finding saying what to change

    texts = finding_remediation(result.findings, result.policy)
    with path.open("wb") as file:
        ocsf_json.write_lines(result.findings, result.policy, texts, file)  # the events of iter_events
    return path
