"""What each attribute of an OCSF Compliance Finding is made of, shared by both builders.

:mod:`analyzer.reports.ocsf` builds the events as Python data (the reference, and the public
``ocsf_events``); :mod:`analyzer.reports.ocsf_json` builds the same events as JSON text with polars
expressions (the writer). Both take their values from :func:`columns` and the tables here, so the
two can only differ in how they write a value, which the tests compare.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from .. import __version__

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

RESOLVED_CHECK = (1, "Pass")
"""The compliance status of a resolved finding, whatever its verdict: no longer seen failing."""

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


@dataclass(frozen=True)
class Profile:
    """The parts of every event that come from the policy's profile, not from a finding."""

    standard: list[str]
    version: str | None
    product: dict
    policy_wide: str
    resources: dict[str, list[dict]]  # server name → the event's ``resources``

    @classmethod
    def of(cls, policy) -> Profile:
        profile = policy.profile
        return cls(
            standard=[profile.document or profile.title or profile.name],
            version=profile.version,
            product={"name": "analyzer", "vendor_name": "analyzer", "version": __version__},
            policy_wide=f"{profile.name}: destinations the allow-list does not list are blocked",
            resources={s.name: [server_resource(s)] for s in policy.servers},
        )


def server_resource(server) -> dict:
    """The OCSF resource of an update server."""
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


REMEDIATION_SCHEMA = pl.Schema({"finding_id": pl.String, "remediation": pl.String})


def remediation_frame(remediation) -> pl.DataFrame:
    """``finding_id, remediation``: one non-empty text per finding id (the last one given wins),
    from a frame with those columns, a ``{finding_id: text}`` mapping, or None (no texts)."""
    if remediation is None:
        return pl.DataFrame(schema=REMEDIATION_SCHEMA)
    if isinstance(remediation, pl.DataFrame):
        frame = remediation.select(pl.col("finding_id", "remediation").cast(pl.String))
    elif isinstance(remediation, Mapping):
        frame = pl.DataFrame([list(remediation), list(remediation.values())], schema=REMEDIATION_SCHEMA)
    else:
        raise TypeError(f"remediation: expected a DataFrame[finding_id, remediation] or a mapping, not {remediation!r}")
    frame = frame.drop_nulls().filter(pl.col("remediation") != "")
    return frame.unique("finding_id", keep="last", maintain_order=True)


def columns(findings: pl.DataFrame, policy, policy_wide: str) -> pl.DataFrame:
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
