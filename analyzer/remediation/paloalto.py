"""PAN-OS: a custom URL category per scheme and port, address and service objects for the
servers, and security rules; as ``set`` commands, as XML built with ``pan-os-python`` (objects
only, no device), and a URL list for an External Dynamic List.

PAN-OS URL entries are tokens separated by ``. / ? & = ; +``: ``*`` stands for one or more
tokens, ``^`` for exactly one, and a wildcard must be a whole token. A trailing ``/`` ends the
host, so ``x/`` does not also match ``x.example.net``. Hence (see :data:`URL_SEMANTICS`):

==================================  ===================================  ==============================
profile pattern                     PAN-OS entries                       beyond the list
==================================  ===================================  ==============================
``x`` (exact)                       ``x/``                               nothing
``*.x``, wildcard ``subdomains``    ``*.x/`` (``*`` excludes the apex)   nothing
``*.x``, wildcard ``apex``          ``x/`` and ``*.x/``                  nothing
``kv*.y`` (``*`` inside a label)    ``^.y/``                             any label in place of ``kv*``
==================================  ===================================  ==============================

A category cannot tell http from https: each scheme and port gets its own category and rule,
with App-ID ``web-browsing`` (http) or ``ssl`` (https) on a service of exactly that port.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..policy import Policy
from ..policy.patterns import HostPattern
from .model import (
    Block,
    Device,
    Requirement,
    allow_list_groups,
    blocks_file,
    comment_text,
    config_name,
    describe_fixes,
    fixed_ids,
)

COMMENT = "#"
APP_IDS = {"http": "web-browsing", "https": "ssl"}

URL_SEMANTICS = {
    ("exact", "subdomains"): "x/",
    ("exact", "apex"): "x/",
    ("subdomains", "subdomains"): "*.x/",
    ("subdomains", "apex"): "x/ *.x/",
    ("glob", "subdomains"): "^ for each label holding a '*'",
    ("glob", "apex"): "^ for each label holding a '*'",
}
"""(pattern kind, wildcard mode) → how PAN-OS entries are written (the table above)."""


def url_entries(pattern: HostPattern, wildcard: str) -> tuple[list[str], str | None]:
    """The PAN-OS URL entries for a host pattern, and what they allow beyond it (``None``: nothing)."""
    if pattern.kind == "exact":
        return [pattern.base + "/"], None
    if pattern.kind == "subdomains":
        entries = [f"*.{pattern.base}/"]
        return ([pattern.base + "/", *entries] if wildcard == "apex" else entries), None
    labels = pattern.text.split(".")
    tokens = ["^" if "*" in label else label for label in labels]
    loose = [label for label in labels if "*" in label and label != "*"]
    note = None
    if loose:
        note = f"{pattern.text}: PAN-OS wildcards are whole labels, so ^ allows any label for {', '.join(loose)}"
    return [".".join(tokens) + "/"], note


def _zones(device: Device, servers: list[str], to_server: str | None) -> tuple[list[str], list[str], str | None]:
    """The zones the firewall logged for these servers' flows (to ``to_server``, or elsewhere)."""
    pairs = sorted({p for s in servers for p in device.zones.get((s, to_server), ())})
    if not pairs:
        return ["any"], ["any"], f"no flow of {', '.join(servers)} through this firewall was logged: zones any"
    froms = sorted({f for f, _ in pairs})
    tos = sorted({t for _, t in pairs})
    return froms, tos, None


def _list(values: list[str]) -> str:
    return values[0] if len(values) == 1 else "[ " + " ".join(values) + " ]"


def _quote(text: str) -> str:
    return '"' + comment_text(text).replace('"', "'") + '"'


_RULE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._ -]{0,62}")


def _blocking_rules(found: list[dict], serial: str) -> list[str]:
    """The firewall's own rules named in the findings' ``device_rules`` (``serial: rule``)."""
    out = set()
    for f in found:
        for part in (f.get("device_rules") or "").split("; "):
            dev, _, rule = part.partition(": ")
            if dev == serial and _RULE_NAME.fullmatch(rule):
                out.add(rule)
    return sorted(out)


class Objects:
    """The PAN-OS objects of one rule set, in order: (kind, name, attributes)."""

    def __init__(self):
        self.items: list[tuple[str, str, dict]] = []
        self.names: set[tuple[str, str]] = set()

    def add(self, kind: str, name: str, **attrs) -> str:
        name = name[:63]  # PAN-OS names are at most 63 characters
        if (kind, name) not in self.names:
            self.names.add((kind, name))
            self.items.append((kind, name, attrs))
        return name


def _address(objs: Objects, server) -> list[str]:
    names = []
    for i, addr in enumerate(sorted(server.addresses)):
        suffix = "" if len(server.addresses) == 1 else f"-{i + 1}"
        mask = "128" if ":" in addr else "32"
        name = f"wsus-{config_name(server.name)}{suffix}"
        names.append(objs.add("address", name, value=f"{addr}/{mask}", description=f"update server {server.name}"))
    return names


def _service(objs: Objects, port: int) -> str:
    return objs.add("service", f"wsus-tcp-{port}", port=port)


def _set_lines(kind: str, name: str, attrs: dict) -> list[str]:
    if kind == "address":
        return [
            f"set address {name} ip-netmask {attrs['value']}",
            f"set address {name} description {_quote(attrs['description'])}",
        ]
    if kind == "service":
        return [f"set service {name} protocol tcp port {attrs['port']}"]
    if kind == "category":
        return [
            f'set profiles custom-url-category {name} type "URL List"',
            f"set profiles custom-url-category {name} list {_list(attrs['urls'])}",
            f"set profiles custom-url-category {name} description {_quote(attrs['description'])}",
        ]
    rule = f"set rulebase security rules {name}"
    return [
        f"{rule} from {_list(attrs['from'])} to {_list(attrs['to'])} source {_list(attrs['source'])} "
        f"destination {_list(attrs['destination'])} application {_list(attrs['application'])} "
        f"service {_list(attrs['service'])} category {_list(attrs['category'])} action allow",
        f"{rule} description {_quote(attrs['description'])}",
    ]


def build(policy: Policy, reqs: list[Requirement], found: dict, device: Device) -> tuple[Objects, list[Block]]:
    """The objects and the ``set`` blocks for ``reqs`` on one firewall."""
    objs = Objects()
    blocks = [
        Block(
            (
                f"PAN-OS rules for the update servers (profile {policy.profile.name}, "
                f"wildcard mode {policy.wildcard}),",
                f"firewall {device.name}. URL entries end in '/' so that x/ does not also match x.example.net.",
            ),
            (),
        )
    ]
    for scheme, port, servers, group in allow_list_groups(reqs):
        start = len(objs.items)
        sources = [n for s in servers for n in _address(objs, s)]
        service = _service(objs, port)
        urls, notes = [], []
        for r in group:
            entries, note = url_entries(r.pattern, policy.wildcard)
            urls += [u for u in entries if u not in urls]
            if note and note not in notes:
                notes.append(note)
        category = objs.add(
            "category",
            f"wsus-{scheme}-{port}",
            urls=urls,
            description=f"{policy.profile.name} {scheme} entries (port {port})",
        )
        froms, tos, zone_note = _zones(device, [s.name for s in servers], None)
        done = [f for r in group for f in found.get(r.key, [])]
        name = objs.add(
            "rule",
            f"wsus-{scheme}-{port}",
            **{
                "from": froms,
                "to": tos,
                "source": sources,
                "destination": ["any"],
                "application": [APP_IDS[scheme]],
                "service": [service],
                "category": [category],
                "description": f"{', '.join(s.name for s in servers)} to the {scheme} entries of {policy.profile.name}",
            },
        )
        comments = [f"{scheme} entries on port {port}, for {', '.join(s.name for s in servers)}:"]
        comments += [f"  {r.entry}" for r in group]
        comments += [f"  beyond the list: {n}" for n in notes]
        comments += [zone_note] if zone_note else []
        blocks.append(_block(objs, start, comments, name, done, device))
    for r in reqs:
        if r.kind != "hierarchy":
            continue
        start = len(objs.items)
        sources = _address(objs, r.server)
        dests = _address(objs, r.upstream)
        service = _service(objs, r.port)
        froms, tos, zone_note = _zones(device, [r.server.name], r.upstream.name)
        done = found.get(r.key, [])
        name = objs.add(
            "rule",
            f"wsus-sync-{config_name(r.server.name)}-{config_name(r.upstream.name)}-{r.scheme}",
            **{
                "from": froms,
                "to": tos,
                "source": sources,
                "destination": dests,
                "application": [APP_IDS[r.scheme]],
                "service": [service],
                "category": ["any"],
                "description": f"{r.entry} over {r.scheme} on port {r.port}",
            },
        )
        comments = [f"{r.entry}: {r.server.name} synchronizes from {r.upstream.name} over {r.scheme} on port {r.port}"]
        comments += [zone_note] if zone_note else []
        blocks.append(_block(objs, start, comments, name, done, device))
    return objs, blocks


def _block(objs: Objects, start: int, comments: list[str], rule: str, done: list[dict], device: Device) -> Block:
    lines = [line for kind, name, attrs in objs.items[start:] for line in _set_lines(kind, name, attrs)]
    blocking = _blocking_rules(done, device.name)
    if blocking:
        lines += [f'move rulebase security rules {rule} before "{b}"' for b in blocking]
    elif done:
        lines.append(f"move rulebase security rules {rule} top")
    if done:
        comments = [*comments, describe_fixes(done)]
    return Block(tuple(comments), tuple(lines), fixed_ids(done))


def render(policy: Policy, reqs: list[Requirement], found: dict, device: Device, part: str = "policy") -> list[Block]:
    """The ``set`` command blocks for ``reqs`` on one firewall."""
    return build(policy, reqs, found, device)[1]


def panos_objects(objs: Objects, vsys: str = "vsys1") -> list:
    """The rule set as ``pan-os-python`` objects under a (never contacted) ``Firewall``."""
    from panos.firewall import Firewall
    from panos.objects import AddressObject, CustomUrlCategory, ServiceObject
    from panos.policies import Rulebase, SecurityRule

    fw = Firewall()
    fw.vsys = vsys
    rulebase = Rulebase()
    fw.add(rulebase)
    out = []
    for kind, name, a in objs.items:
        if kind == "address":
            obj = AddressObject(name, a["value"], type="ip-netmask", description=a["description"])
        elif kind == "service":
            obj = ServiceObject(name, protocol="tcp", destination_port=str(a["port"]))
        elif kind == "category":
            obj = CustomUrlCategory(name, url_value=a["urls"], type="URL List", description=a["description"])
        else:
            obj = SecurityRule(
                name,
                fromzone=a["from"],
                tozone=a["to"],
                source=a["source"],
                destination=a["destination"],
                application=a["application"],
                service=a["service"],
                category=a["category"],
                action="allow",
                description=a["description"],
            )
        (rulebase if kind == "rule" else fw).add(obj)
        out.append(obj)
    return out


def xml_document(objects: list) -> str:
    """The objects placed at their configuration paths in one ``<config>`` document."""
    root = ET.Element("config")
    for obj in objects:
        parent = root
        for step in obj.xpath().strip("/").split("/")[1:-1]:  # below <config>, down to the container
            tag, _, rest = step.partition("[")
            name = re.search(r"@name='([^']*)'", rest).group(1) if rest else None
            found = next((c for c in parent if c.tag == tag and c.get("name") == name), None)
            if found is None:
                found = ET.SubElement(parent, tag, {"name": name} if name else {})
            parent = found
        parent.append(obj.element())
    ET.indent(root)
    return ET.tostring(root, encoding="unicode") + "\n"


def files(policy: Policy, reqs: list[Requirement], found: dict, device: Device, part: str) -> dict[str, str]:
    """``{part}.set`` and ``{part}.xml``, plus ``edl.txt`` for the complete rule set."""
    objs, blocks = build(policy, reqs, found, device)
    out = {
        f"{part}.set": blocks_file(blocks, COMMENT),
        f"{part}.xml": xml_document(panos_objects(objs)),
    }
    if part == "policy":
        urls = [u for kind, _, a in objs.items if kind == "category" for u in a["urls"]]
        out["edl.txt"] = "\n".join(dict.fromkeys(urls)) + "\n"
    return out
