"""OUTDIR/findings.ocsf.json: every finding as an OCSF Compliance Finding (class 2003).

A SIEM or SOAR that speaks OCSF reads the findings without knowing this tool. One event per
finding (the rows of ``findings.json``, resolved ones included when there is a baseline), built
as plain data and written with the json module; the tests validate every event of the samples
against the OCSF 1.5.0 models of ``py-ocsf-models`` (at 100,000 findings validating them took
20 s, writing them takes seconds). The mapping (documented in the README, "OCSF findings"):

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

from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

import polars as pl

from .. import __version__
from ..controls import dumps
from ..verdicts import VERDICTS

OCSF_NAME = "findings.ocsf.json"
OCSF_VERSION = "1.5.0"
"""The OCSF schema version of the events: that of the ``py-ocsf-models`` release the tests
validate them with (a test checks the two agree)."""

CLASS_UID, CATEGORY_UID = 2003, 2  # Compliance Finding, in the Findings category

SEVERITY_ID: dict[str, tuple[int, str]] = {
    "high": (4, "High"),
    "medium": (3, "Medium"),
    "low": (2, "Low"),
    "info": (1, "Informational"),
    "none": (1, "Informational"),
}
"""The analyzer's severity → OCSF ``severity_id`` and its caption."""

COMPLIANCE_STATUS: dict[str, tuple[int, str]] = {
    "blocked-required": (3, "Fail"),
    "required-failed": (3, "Fail"),
    "unexpected-allowed": (3, "Fail"),
    "unattributed": (2, "Warning"),  # no host name: the check could not be judged
    "auth-required": (2, "Warning"),  # a 407 challenge is neither a pass nor a block
    "unexpected-blocked": (1, "Pass"),  # the device did what the policy wants
    "required-allowed": (1, "Pass"),
    "permitted": (1, "Pass"),
}
"""Verdict → OCSF ``compliance.status_id`` and its caption (a resolved finding passes)."""

BASELINE_STATUS: dict[str | None, tuple[tuple[int, str], tuple[int, str]]] = {
    None: ((1, "Create"), (1, "New")),
    "new": ((1, "Create"), (1, "New")),
    "persisting": ((2, "Update"), (1, "New")),
    "resolved": ((3, "Close"), (4, "Resolved")),
}
"""Baseline status → (OCSF ``activity_id``, activity name), (finding ``status_id``, status)."""


UNMAPPED = (
    "verdict",
    "severity",
    "direction",
    "host",
    "address",
    "port",
    "scheme",
    "count",
    "bytes",
    "device_rules",
    "status",
)
"""Finding columns kept under ``unmapped`` (``status`` is the baseline status), when not null."""


def _remediation_texts(remediation) -> dict[str, str]:
    """``{finding_id: text}`` from a frame with ``finding_id`` and ``remediation``, or a mapping."""
    if remediation is None:
        return {}
    if isinstance(remediation, pl.DataFrame):
        rows = remediation.select("finding_id", "remediation").drop_nulls().iter_rows()
        return {fid: text for fid, text in rows if text}
    if isinstance(remediation, Mapping):
        return {fid: text for fid, text in remediation.items() if text}
    raise TypeError(f"remediation: expected a DataFrame[finding_id, remediation] or a mapping, not {remediation!r}")


def _server_resource(server) -> dict:
    return {
        "name": server.name,
        "uid": server.fqdn,
        "type": "software update server",
        "labels": [server.role],
        "data": {
            "fqdn": server.fqdn,
            "addresses": list(server.addresses),
            "role": server.role,
            "upstream": server.upstream,
        },
    }


def _columns(findings: pl.DataFrame, policy, policy_wide: str) -> pl.DataFrame:
    """What each event needs from a finding, computed over the whole frame at once."""
    servers = {s.name: s.fqdn for s in policy.servers}
    frame = findings if "status" in findings.columns else findings.with_columns(pl.lit(None, pl.String).alias("status"))
    remote = pl.coalesce("host", "address", pl.lit("(no destination)"))
    # A null port or scheme makes its part null, and the concatenation skips null parts.
    title = pl.concat_str(
        pl.col("verdict"),
        pl.lit(": "),
        pl.col("server"),
        pl.when(pl.col("direction") == "inbound").then(pl.lit(" <- ")).otherwise(pl.lit(" -> ")),
        remote,
        pl.lit(":") + pl.col("port").cast(pl.String),
        pl.lit(" (") + pl.col("scheme") + pl.lit(")"),
        ignore_nulls=True,
    )
    evidence = pl.col("evidence").fill_null([]).list.drop_nulls()
    return frame.select(
        "finding_id",
        "verdict",
        "severity",
        "reason",
        "server",
        pl.col("status").cast(pl.String),
        title.alias("title"),
        pl.coalesce("entry", pl.lit(policy_wide)).alias("requirement"),
        pl.col("first_seen").dt.epoch("ms").alias("first_ms"),
        pl.col("last_seen").dt.epoch("ms").alias("last_ms"),
        pl.col("server").replace_strict(servers, default=None, return_dtype=pl.String).alias("fqdn"),
        evidence.list.eval(pl.element().struct.field("file")).list.unique().list.sort().alias("files"),
        evidence.alias("evidence"),
        pl.struct(*(pl.col(c) for c in UNMAPPED)).alias("unmapped"),
    )


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
    texts = _remediation_texts(remediation)
    profile = policy.profile
    resources = {s.name: [_server_resource(s)] for s in policy.servers}
    standard = [profile.document or profile.title or profile.name]
    product = {"name": "analyzer", "vendor_name": "analyzer", "version": __version__}
    policy_wide = f"{profile.name}: destinations the allow-list does not list are blocked"
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
    ) in _columns(findings, policy, policy_wide).iter_rows():
        (activity_id, activity), (status_id, status_name) = BASELINE_STATUS[status]
        severity_id, severity = SEVERITY_ID[sev]
        check_id, check = (1, "Pass") if status == "resolved" else COMPLIANCE_STATUS[verdict]
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
                        "version": profile.version,
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
    with path.open("w", encoding="utf-8") as file:
        write_events(iter_events(result.findings, result.policy, texts), file)
    return path
