"""Explain the policy for one host: which entries cover it, over which schemes and ports, and why
the others do not. Behind ``analyzer policy explain HOST``.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..errors import AnalyzerError
from . import Policy, load_policy
from .patterns import PatternError, fold_host
from .profiles import DEFAULT_PROFILE, load_profile
from .site import MICROSOFT_UPDATE, Site, normalize_address


@dataclass(frozen=True)
class Explanation:
    """One entry's answer for a host: does it cover it, over what, and why (not)."""

    set: str
    profile: str
    entry: str
    covers: bool
    scheme: str
    port: int
    why: str


def explain_host(host: str, policy: Policy) -> tuple[str, list[Explanation], list[str]]:
    """Explain ``host`` against every entry of the policy (profile, site ``[[allow]]``, lists of
    other roles). Returns the folded host, one :class:`Explanation` per entry (covering ones
    first), and notes about the site's servers (hierarchy ports, required or not).

    Example::

        folded, rows, notes = explain_host("evilupdate.microsoft.com", load_policy("site.toml"))
        # rows for *.update.microsoft.com: covers=False, "not on a label boundary ..."
    """
    try:
        folded = fold_host(host)
    except PatternError as exc:
        raise AnalyzerError(f"cannot read host: {exc}") from None
    _check_host(host, folded)
    rows = []
    for kind_set, profile, entry in policy.all_entries():
        covers, why = entry.target.host.explain(folded, policy.wildcard)
        rows.append(Explanation(kind_set, profile, entry.label, covers, entry.scheme, entry.port, why))
    rows.sort(key=lambda r: (not r.covers, ("profile", "allow", "other-role").index(r.set)))
    notes = _server_notes(folded, policy)
    required_by = [s.name for s in policy.site.servers if s.upstream == MICROSOFT_UPDATE]
    in_profile = [r for r in rows if r.covers and r.set == "profile"]
    if in_profile and required_by:
        notes.append(f"required of {', '.join(required_by)} (they synchronize from Microsoft Update)")
    elif in_profile and not policy.site.servers:
        notes.append(
            f"in {policy.profile.name}: required of every server that synchronizes from Microsoft Update "
            "(give --site to see which of yours do)"
        )
    elif in_profile:
        notes.append("no server of the site synchronizes from Microsoft Update, so nothing requires it")
    elif any(r.covers and r.set == "other-role" for r in rows):
        notes.append(f"a Microsoft update endpoint of another role, not in {policy.profile.name}: unexpected")
    elif not any(r.covers for r in rows) and not notes:
        notes.append("no entry covers it: flows from a server to it are unexpected")
    return folded, rows, notes


_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$")


def _check_host(host: str, folded: str) -> None:
    """A host name (letters, digits, hyphens, dots; at most 253 characters, labels of 1-63) or an
    address; anything else (empty, spaces, a URL) is a one-line error rather than an answer."""
    try:
        ipaddress.ip_address(folded)
        return
    except ValueError:
        pass
    labels = folded.split(".")
    if folded and len(folded) <= 253 and all(len(label) <= 63 and _LABEL.match(label) for label in labels):
        return
    why = "it is empty" if not host.strip() else "a host name has only letters, digits, hyphens and dots"
    raise AnalyzerError(f"not a host name or address: '{host}' ({why}; e.g. download.windowsupdate.com)")


def _server_notes(folded: str, policy: Policy) -> list[str]:
    site = policy.site
    try:
        ident = normalize_address(folded)
    except PatternError:
        ident = folded
    notes = []
    for s in site.servers:
        if ident not in (s.fqdn, *s.addresses):
            continue
        ports = " and ".join(f"{sch} {port}" for sch, port in site.wsus_ports.items())
        children = [c.name for c in site.servers if c.upstream == s.name]
        notes.append(f"{folded} is the update server {s.name} ({s.role}, synchronizes from {s.upstream})")
        if children:
            notes.append(
                f"required: {', '.join(children)} -> {s.name} over {ports} (wsus_web_site {site.wsus_web_site})"
            )
        if s.upstream != MICROSOFT_UPDATE:
            notes.append(f"{s.name} -> {s.upstream} is the other direction of its own synchronization")
    return notes


def standalone_policy(profile: str | None = None, wildcard: str = "subdomains") -> Policy:
    """A policy without a site file (no servers): a profile and the adjacent lists, for explain."""
    site = Site(
        file="<no site>",
        profile=profile or DEFAULT_PROFILE,
        wildcard=wildcard,
        wsus_web_site="default",
        timezone="UTC",
        servers=(),
    )
    load_profile(site.profile)  # unknown names fail here, with "did you mean"
    return load_policy(site, profile=profile)
