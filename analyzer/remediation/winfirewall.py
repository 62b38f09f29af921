"""Windows Firewall: ``New-NetFirewallRule`` lines for one update server's own firewall.

Inbound, on the WSUS ports of the site's ``wsus_web_site`` (8530/8531 or 80/443): from each
child server that synchronizes from this one, and from the update clients' networks. Outbound:
to the upstream server on its WSUS ports, or, for a server that synchronizes from Microsoft
Update, to the ports of the allow-list entries (Windows Firewall matches addresses, not host
names, and Microsoft's addresses change, so that rule cannot name the hosts: the proxy or the
perimeter firewall has to). WSUS initiates all its traffic: no inbound rule from the Internet is
ever suggested, and a client network that reaches into the Internet (``0.0.0.0/0``, a public
range) is left out with a note.
"""

from __future__ import annotations

import ipaddress

from ..policy import MICROSOFT_UPDATE, Policy
from .model import CLIENTS, Block, Device, Requirement, blocks_file, comment_text, describe_fixes, fixed_ids

COMMENT = "#"
GROUP = "WSUS (analyzer)"


def _ps(text: str) -> str:
    """A PowerShell single-quoted string (nothing inside is expanded; ``'`` is doubled)."""
    return "'" + comment_text(text).replace("'", "''") + "'"


def internet_network(network: str) -> bool:
    """Whether a network reaches into the Internet: the whole address space or a public range."""
    net = ipaddress.ip_network(network, strict=False)
    return net.prefixlen == 0 or net.is_global


def _rule(name: str, direction: str, port_param: str, ports: list[int], remote: list[str], description: str) -> str:
    parts = [
        "New-NetFirewallRule",
        f"-DisplayName {_ps(name)}",
        f"-Group {_ps(GROUP)}",
        f"-Direction {direction}",
        "-Protocol TCP",
        f"-{port_param} {','.join(str(p) for p in ports)}",
    ]
    if remote:
        parts.append(f"-RemoteAddress {','.join(remote)}")
    parts += ["-Action Allow", f"-Description {_ps(description)}"]
    return " ".join(parts)


def render(policy: Policy, reqs: list[Requirement], found: dict, device: Device, part: str = "policy") -> list[Block]:
    """The blocks for the firewall of the server named ``device.name``; the complete set
    (``part="policy"``) adds the update clients' inbound rule."""
    host = policy.site.servers_by_name.get(device.name)
    head = Block(
        (
            f"Windows Firewall rules for {device.name} (profile {policy.profile.name}, WSUS web site "
            f"{policy.site.wsus_web_site}).",
            "WSUS initiates all its network traffic: no inbound rule from the Internet is suggested.",
            "Windows Firewall allows outbound traffic unless its default outbound action is Block;",
            "the outbound rules matter only there.",
        ),
        (),
    )
    if host is None:
        note = f"{device.name} is not one of the site's update servers: no rule for it"
        return [head, Block((note,), ())]
    blocks = [head]
    ports = policy.site.wsus_ports
    for r in reqs:
        if r.kind != "hierarchy":
            continue
        done = found.get(r.key, [])
        if r.upstream.name == host.name:  # a child synchronizing from this server: inbound here
            name = f"WSUS {r.scheme} from {r.server.name} ({r.entry})"
            desc = f"{r.server.name} synchronizes from {host.name} over {r.scheme}"
            line = _rule(name, "Inbound", "LocalPort", [r.port], sorted(r.server.addresses), desc)
        elif r.server.name == host.name:  # this server synchronizing from its upstream: outbound
            name = f"WSUS {r.scheme} to {r.upstream.name} ({r.entry})"
            desc = f"{host.name} synchronizes from {r.upstream.name} over {r.scheme}"
            line = _rule(name, "Outbound", "RemotePort", [r.port], sorted(r.upstream.addresses), desc)
        else:
            continue
        comments = [f"{r.entry}: {r.scheme} on port {r.port}"] + ([describe_fixes(done)] if done else [])
        blocks.append(Block(tuple(comments), (line,), fixed_ids(done)))
    dropped = found.get(CLIENTS, [])
    if part == "policy" or dropped:  # the update clients (in the fixes when this firewall dropped them)
        nets = [n for n in host.client_networks if not internet_network(n)]
        left_out = [n for n in host.client_networks if internet_network(n)]
        comments = [f"update clients connecting to {host.name}'s WSUS ports"]
        comments += [f"  not suggested: {n} reaches into the Internet" for n in left_out]
        comments += [describe_fixes(dropped)] if dropped else []
        lines = []
        if nets:
            desc = f"update clients of {host.name}"
            wsus = sorted(set(ports.values()))
            lines.append(_rule(f"WSUS clients of {host.name}", "Inbound", "LocalPort", wsus, nets, desc))
        blocks.append(Block(tuple(comments), tuple(lines), fixed_ids(dropped)))
    if host.upstream == MICROSOFT_UPDATE:
        mine = [r for r in reqs if r.kind == "allow-list" and r.server.name == host.name]
        remote_ports = sorted({r.port for r in mine})
        done = [f for r in mine for f in found.get(r.key, [])]
        if remote_ports:
            comments = [
                f"{host.name} synchronizes from Microsoft Update: outbound to the entries' ports {remote_ports}.",
                "Windows Firewall cannot match host names, and Microsoft's addresses change (do not use",
                "address ranges): this allows any destination on these ports, beyond the list; the proxy",
                "or perimeter firewall enforces the host names.",
            ]
            comments += [describe_fixes(done)] if done else []
            name = f"WSUS to Microsoft Update (tcp {','.join(map(str, remote_ports))})"
            line = _rule(name, "Outbound", "RemotePort", remote_ports, [], f"{host.name} to Microsoft Update")
            blocks.append(Block(tuple(comments), (line,), fixed_ids(done)))
    return blocks


def files(policy: Policy, reqs: list[Requirement], found: dict, device: Device, part: str) -> dict[str, str]:
    """``{part}.ps1``: PowerShell to run on the server (NetSecurity module)."""
    return {f"{part}.ps1": blocks_file(render(policy, reqs, found, device, part), COMMENT)}
