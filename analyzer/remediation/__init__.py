"""Remediation: the rules each device needs, from a check's findings and flows.

For each device that logged a decision about the update servers (the Squid proxy, a PAN-OS
firewall by serial, a server's own Windows Firewall) two parts: ``fixes``, the rules that fix
this run's blocked-required findings (each says which findings), and ``policy``, the complete
rule set the site's policy needs (profile entries with their schemes and ports, hierarchy pairs
on the WSUS ports). ``DEVICES`` maps a device kind (a parser name) to its module; each module
has ``render`` (the rules as :class:`~analyzer.remediation.model.Block` objects) and ``files``.

Example::

    result = run_check(["data/samples"], "data/samples/site.toml")
    rules = remediate(result.findings, result.flows, result.policy)
    rules.filter(pl.col("part") == "fixes").select("device_kind", "device", "text", "fixes")
"""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from ..errors import AnalyzerError
from ..policy import Policy
from ..verdicts import REASONS
from . import paloalto, squid, winfirewall
from .model import CLIENTS, PANOS, SQUID, WINFIREWALL, Device, config_name, devices, fixes, requirements
from .text import finding_remediation

DEVICES = {SQUID: squid, PANOS: paloalto, WINFIREWALL: winfirewall}
"""Device kind → module with ``render(policy, reqs, found, device, part)`` and ``files(...)``."""

PARTS = ("fixes", "policy")

RULES_SCHEMA = pl.Schema(
    {
        "device_kind": pl.String,
        "device": pl.String,
        "part": pl.String,
        "block": pl.Int32,
        "text": pl.String,
        "fixes": pl.List(pl.String),
    }
)

__all__ = ["DEVICES", "RULES_SCHEMA", "finding_remediation", "remediate", "remediation_files", "write_remediation"]


def _plan(findings: pl.DataFrame, flows, policy: Policy, device: str | None, server: str | None):
    """(device, requirements, fixes of this device) for every device to write rules for."""
    if device is not None and device not in DEVICES:
        raise AnalyzerError(f"unknown device '{device}' (known: {', '.join(DEVICES)})")
    if server is not None and server not in policy.site.servers_by_name:
        known = ", ".join(policy.site.servers_by_name)
        raise AnalyzerError(f"unknown server '{server}' (the site's servers: {known})")
    reqs = requirements(policy)
    if server is not None:
        reqs = [r for r in reqs if server in (r.server.name, r.upstream.name if r.upstream else None)]
    seen, linked = devices(flows.lazy(), findings)
    chosen = [d for d in seen if device in (None, d.kind)]
    if device == WINFIREWALL:  # asked for: every server has a firewall of its own, logged or not
        logged = {d.name for d in chosen}
        chosen += [Device(device, n) for n in policy.site.servers_by_name if n not in logged]
    elif device is not None and not chosen:  # asked for a device the logs do not show: its rules still
        chosen = [Device(device, device)]
    if server is not None:
        chosen = [d for d in chosen if d.kind != WINFIREWALL or d.name == server]
    found_all = fixes(findings, reqs)
    client_reason = REASONS["client-service"]
    plan = []
    clients = findings.filter(
        (pl.col("verdict") == "permitted") & (pl.col("direction") == "inbound") & (pl.col("reason") == client_reason)
    )
    for d in chosen:
        logged = linked.filter((pl.col("device_kind") == d.kind) & (pl.col("device_name") == d.name))
        mine = set(logged["finding_id"])
        found = {k: [f for f in fs if f["finding_id"] in mine] for k, fs in found_all.items()}
        found = {k: fs for k, fs in found.items() if fs}
        dropped = set(logged.filter(pl.col("blocked"))["finding_id"])
        if d.kind == WINFIREWALL and (at := clients.filter(pl.col("finding_id").is_in(dropped))).height:
            found[CLIENTS] = list(at.iter_rows(named=True))  # dropped at this server: its clients' rule
        plan.append((d, reqs, found))
    return plan


def _parts(reqs: list, found: dict) -> list[tuple[str, list]]:
    """(part, its requirements): ``fixes`` only when the device logged something to fix."""
    fix_reqs = [r for r in reqs if r.key in found]
    return ([("fixes", fix_reqs)] if found else []) + [("policy", reqs)]


def remediate(
    findings: pl.DataFrame, flows, policy: Policy, *, device: str | None = None, server: str | None = None
) -> pl.DataFrame:
    """The rules as data: one row per rule block, ``device_kind, device, part`` (``fixes`` or
    ``policy``), ``block`` (its order), ``text`` (comments and configuration lines) and ``fixes``
    (the finding ids it fixes). ``flows`` are a check's flows (a frame, lazy or not);
    ``device`` limits to one kind of :data:`DEVICES`, ``server`` to the rules of one server.

    Example: ``remediate(result.findings, result.flows, result.policy, device="squid")``.
    """
    rows = []
    for d, reqs, found in _plan(findings, flows, policy, device, server):
        module = DEVICES[d.kind]
        for part, part_reqs in _parts(reqs, found):
            for i, block in enumerate(module.render(policy, part_reqs, found, d, part)):
                rows.append((d.kind, d.name, part, i, block.text(module.COMMENT), list(block.fixes)))
    return pl.DataFrame(rows, schema=RULES_SCHEMA, orient="row")


def device_folder(d: Device) -> str:
    """``squid``, ``paloalto-0123456789AB``, ``winfirewall-CAS``: one folder per device."""
    return d.kind if d.name == d.kind else f"{d.kind}-{config_name(d.name)}"


def remediation_files(
    findings: pl.DataFrame,
    flows,
    policy: Policy,
    *,
    device: str | None = None,
    server: str | None = None,
    index: bool = True,
) -> dict[str, str]:
    """Relative path → text of every file of OUTDIR/remediation/ (see :func:`write_remediation`);
    ``index=False`` leaves out README.md (the Markdown index, which loads the report package)."""
    out: dict[str, str] = {}
    index_rows = []
    for d, reqs, found in _plan(findings, flows, policy, device, server):
        module = DEVICES[d.kind]
        folder = device_folder(d)
        for part, part_reqs in _parts(reqs, found):
            for name, text in module.files(policy, part_reqs, found, d, part).items():
                out[f"{folder}/{name}"] = text
        ids = sorted({f["finding_id"] for fs in found.values() for f in fs})
        index_rows.append((d, folder, ids))
    if index:
        out["README.md"] = _index(policy, index_rows, findings)
    return out


def _index(policy: Policy, index: list, findings: pl.DataFrame) -> str:
    from ..reports.escape import md, md_code

    lines = [
        "# Remediation",
        "",
        f"Rules for the update servers under profile {md_code(policy.profile.name)} (wildcard mode "
        f"{md_code(policy.wildcard)}, WSUS web site {md_code(policy.site.wsus_web_site)}). Per device, "
        "`fixes.*` holds the rules that fix this run's blocked-required findings and `policy.*` the complete "
        "rule set the policy needs.",
        "",
        "| device | folder | blocked-required findings fixed |",
        "| --- | --- | --- |",
    ]
    for d, folder, ids in index:
        fixed = ", ".join(md_code(i) for i in ids) or "none logged by this device"
        name = md(d.kind) if d.name == d.kind else f"{md(d.kind)} {md(d.name)}"
        lines.append(f"| {name} | {md_code(folder + '/')} | {fixed} |")
    if not index:
        lines.append("| no device logged a decision about the update servers | | |")
    blocked = findings.filter(pl.col("verdict") == "blocked-required")
    if blocked.height:
        where = {i: [folder for _, folder, ids in index if i in ids] for i in blocked["finding_id"]}
        sentences = dict(finding_remediation(blocked, policy).iter_rows())
        lines += [
            "",
            "## Blocked-required findings",
            "",
            "| finding | what to change | rules in |",
            "| --- | --- | --- |",
        ]
        for f in blocked.iter_rows(named=True):
            folders = ", ".join(md_code(w + "/") for w in where[f["finding_id"]]) or "no device logged it"
            lines.append(f"| {md_code(f['finding_id'])} | {md(sentences[f['finding_id']])} | {folders} |")
    return "\n".join(lines) + "\n"


def write_remediation(result, outdir) -> Path:
    """OUTDIR/remediation/: per device its fixes and complete rule set, and a README.md index."""
    folder = Path(outdir) / "remediation"
    if folder.is_dir():  # ours alone: a device no longer in the logs must not leave its old rules
        shutil.rmtree(folder)
    for rel, text in remediation_files(result.findings, result.flows, result.policy).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
