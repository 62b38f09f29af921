"""Squid: ``acl`` and ``http_access`` lines for the update servers' required flows.

Host patterns map to ``dstdomain`` with Squid's leading-dot semantics: ``.x`` matches ``x`` and
every subdomain, ``x`` only ``x``. So ``*.x`` becomes ``.x`` when the apex may be reached too (the
site's wildcard mode is ``apex``, or the list names ``x`` itself); otherwise the exact form is a
``dstdom_regex`` that needs at least one label before ``x``. Entries that another entry of the
same scheme and port already covers are left out, as Squid 5 refuses overlapping ``dstdomain``
values (5.7 stops at ``ERROR: '.x' is a subdomain of 'x'`` and warns that ``'a.x' is a
subdomain of '.x'``). https entries are allowed as ``CONNECT`` to their
port (443) only, http entries as plain requests to theirs (80), never as tunnels. The lines go
before the site's ``http_access deny`` rules.
"""

from __future__ import annotations

from ..policy import Policy
from ..policy.patterns import HostPattern
from .model import Block, Device, Requirement, allow_list_groups, blocks_file, config_name, describe_fixes, fixed_ids

COMMENT = "#"
FILE = "squid.conf"


def covers(a: HostPattern, b: HostPattern, wildcard: str) -> bool:
    """Whether every host ``b`` matches is matched by ``a`` too (label boundaries respected)."""
    if a.kind == "exact":
        return b.kind == "exact" and b.base == a.base
    if a.kind == "glob":
        return b.kind == "exact" and a.matches(b.base, wildcard)
    if b.kind == "exact":
        return a.matches(b.base, wildcard)
    return b.base == a.base or b.base.endswith("." + a.base)


def reduce_patterns(patterns: list[HostPattern], wildcard: str) -> tuple[list[HostPattern], dict[str, str]]:
    """The patterns no other one covers, and ``covered text → the pattern covering it``."""
    unique = list({p.text: p for p in patterns}.values())
    kept, covered = [], {}
    for p in unique:
        by = next((q for q in unique if q.text != p.text and covers(q, p, wildcard)), None)
        if by is None:
            kept.append(p)
        else:
            covered[p.text] = by.text
    return kept, covered


def squid_values(patterns: list[HostPattern], wildcard: str) -> list[tuple[str, str, list[str], str]]:
    """Patterns (already reduced) → ``(acl type, value, patterns it stands for, note)``."""
    kept, _ = reduce_patterns(patterns, wildcard)
    exact = {p.base for p in kept if p.kind == "exact"}
    out = []
    for p in kept:
        if p.kind == "exact":
            if wildcard == "subdomains" and any(q.kind == "subdomains" and q.base == p.base for q in kept):
                continue  # written once, as ".x" with its "*.x"
            out.append(("dstdomain", p.base, [p.text], "exactly this host"))
        elif p.kind == "subdomains":
            if wildcard == "apex":
                out.append(("dstdomain", "." + p.base, [p.text], f"{p.base} and its subdomains (wildcard mode apex)"))
            elif p.base in exact:
                note = f"{p.base} and its subdomains: Squid's leading dot covers the apex, which the list names too"
                out.append(("dstdomain", "." + p.base, [p.base, p.text], note))
            else:
                regex = r"\." + _ere(p.base) + "$"
                note = f"subdomains of {p.base} only (Squid's .{p.base} would also allow {p.base} itself)"
                out.append(("dstdom_regex", regex, [p.text], note))
        else:
            out.append(("dstdom_regex", f"^{_ere(p.text)}$", [p.text], "each '*' within its own label"))
    return out


def _ere(host: str) -> str:
    """A host pattern as a POSIX extended regex (Squid's): dots literal, each ``*`` within its label.
    Host names hold only letters, digits, ``-`` and ``_`` besides, none of them special."""
    return host.replace(".", r"\.").replace("*", "[^.]*")


class _Acls:
    """ACL definitions in order of first use, each defined once."""

    def __init__(self):
        self.defined: set[str] = set()

    def need(self, name: str, lines: list[str]) -> list[str]:
        if name in self.defined:
            return []
        self.defined.add(name)
        return lines


def _src(acls: _Acls, servers) -> tuple[str, list[str]]:
    name = "wsus_src_" + "_".join(config_name(s.name) for s in servers)
    addrs = sorted({a for s in servers for a in s.addresses})
    return name, acls.need(name, [f"acl {name} src {' '.join(addrs)}"])


def _port(acls: _Acls, port: int) -> tuple[str, list[str]]:
    name = f"wsus_port_{port}"
    return name, acls.need(name, [f"acl {name} port {port}"])


def _allow(scheme: str, src: str, dst: str, port: str) -> str:
    if scheme == "https":
        return f"http_access allow wsus_connect {src} {dst} {port}"
    return f"http_access allow {src} {dst} {port} !wsus_connect"


def render(policy: Policy, reqs: list[Requirement], found: dict, device: Device, part: str = "policy") -> list[Block]:
    """The Squid blocks for ``reqs``; ``found`` (requirement key → findings) annotates the fixes."""
    acls = _Acls()
    wildcard = policy.wildcard
    head_lines = [
        f"Squid rules for the update servers (profile {policy.profile.name}, wildcard mode {wildcard},",
        f"WSUS web site {policy.site.wsus_web_site}). Place them before the first 'http_access deny' line",
        "of squid.conf.",
    ]
    if policy.site.wsus_ports["https"] != 443:
        port = policy.site.wsus_ports["https"]
        head_lines.append(f"(The default 'http_access deny CONNECT !SSL_ports' would refuse CONNECT to {port}.)")
    head = Block(
        tuple(head_lines),
        tuple(acls.need("wsus_connect", ["acl wsus_connect method CONNECT"])),
    )
    blocks = [head]
    for scheme, port, servers, group in allow_list_groups(reqs):
        src, lines = _src(acls, servers)
        port_acl, port_lines = _port(acls, port)
        lines += port_lines
        comments = [f"{scheme} entries on port {port}, for {', '.join(s.name for s in servers)}:"]
        _, covered = reduce_patterns([r.pattern for r in group], wildcard)
        for text, by in covered.items():
            comments.append(f"  {text} is covered by {by} (one dstdomain value may not overlap another)")
        rules = []
        for acl_type, suffix in (("dstdomain", "dom"), ("dstdom_regex", "re")):
            values = [v for v in squid_values([r.pattern for r in group], wildcard) if v[0] == acl_type]
            if not values:
                continue
            name = f"wsus_{scheme}_{port}_{suffix}"
            for _, value, texts, note in values:
                flag = "-i " if acl_type == "dstdom_regex" else ""
                lines.append(f"acl {name} {acl_type} {flag}{value}")
                comments.append(f"  {value}: {', '.join(texts)}: {note}")
            rules.append(_allow(scheme, src, name, port_acl))
        done = [f for r in group for f in found.get(r.key, [])]
        if done:
            comments.append(describe_fixes(done))
        blocks.append(Block(tuple(comments), tuple(lines + rules), fixed_ids(done)))
    for r in reqs:
        if r.kind != "hierarchy":
            continue
        up = r.upstream
        src, lines = _src(acls, [r.server])
        port_acl, port_lines = _port(acls, r.port)
        lines += port_lines
        dom = f"wsus_upstream_{config_name(up.name)}"
        lines += acls.need(dom, [f"acl {dom} dstdomain {up.fqdn}"])
        ip = f"{dom}_ip"
        lines += acls.need(ip, [f"acl {ip} dst {' '.join(sorted(up.addresses))}"])
        comments = [f"{r.entry}: {r.server.name} synchronizes from {up.name} over {r.scheme} on port {r.port}"]
        done = found.get(r.key, [])
        if done:
            comments.append(describe_fixes(done))
        rules = [_allow(r.scheme, src, dom, port_acl), _allow(r.scheme, src, ip, port_acl)]
        blocks.append(Block(tuple(comments), tuple(lines + rules), fixed_ids(done)))
    return blocks


def files(policy: Policy, reqs: list[Requirement], found: dict, device: Device, part: str) -> dict[str, str]:
    """``{part}.conf``: a fragment to include in squid.conf."""
    return {f"{part}.conf": blocks_file(render(policy, reqs, found, device, part), COMMENT)}
