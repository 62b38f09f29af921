"""The site file: which update servers exist, who synchronizes from whom, and the local policy.

TOML, read with :mod:`tomllib`::

    profile = "cm2007"             # a built-in profile, or a path to a profile file (relative to this file)
    wildcard = "subdomains"        # or "apex": does "*.x" also cover "x"?
    wsus_web_site = "default"      # "default": WSUS on 80/443; "custom": 8530/8531
    timezone = "Europe/Berlin"     # for logs that record local time (default UTC)
    client_networks = ["10.0.0.0/8"]   # where update clients live (default: the private ranges)

    [[server]]
    name = "CAS"
    fqdn = "sup-cas.corp.example.com"
    addresses = ["192.0.2.10"]
    role = "sup"                   # "sup" or "internet-sup"
    upstream = "microsoft-update"  # or the name of the server it synchronizes from
    client_networks = ["0.0.0.0/0"]    # optional, per server (an Internet-based update point)

    [[allow]]                      # destinations the organization adds (allowed, not required)
    url = "http://proxy.corp.example.com:8080"
    addresses = ["192.0.2.5"]      # optional: lets IP-only flows (firewall logs) match too

Every error names the file, the key and what is wrong.
"""

from __future__ import annotations

import difflib
import ipaddress
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import PolicyError
from ..sources import decode_text, undecodable
from .patterns import WILDCARD_MODES, PatternError, fold_host, parse_host
from .profiles import DEFAULT_PROFILE, Entry, Source, parse_entry

MICROSOFT_UPDATE = "microsoft-update"
SERVER_ROLES = ("sup", "internet-sup")
WSUS_PORTS = {"default": {"http": 80, "https": 443}, "custom": {"http": 8530, "https": 8531}}
DEFAULT_CLIENT_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")

_SITE_KEYS = {"name", "profile", "wildcard", "wsus_web_site", "timezone", "client_networks", "server", "allow"}
_SERVER_KEYS = {"name", "fqdn", "addresses", "role", "upstream", "client_networks", "description"}


@dataclass(frozen=True)
class Server:
    """An update server of the site. ``addresses`` are normalized (``ipaddress`` compressed form)."""

    name: str
    fqdn: str
    addresses: tuple[str, ...]
    role: str
    upstream: str
    client_networks: tuple[str, ...]
    description: str | None = None

    def __post_init__(self):
        if self.role not in SERVER_ROLES:
            raise PatternError(f"role '{self.role}' is not one of {', '.join(SERVER_ROLES)}")


@dataclass(frozen=True)
class Allow:
    """An organization's extra allowed destination (``[[allow]]``): an entry, optionally with
    the addresses it resolves to, so IP-only flows can match it."""

    entry: Entry
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Site:
    """A parsed, validated site file. Load with :func:`load_site`.

    Example: ``site = load_site("data/samples/site.toml"); [s.name for s in site.servers], site.wsus_ports``.
    """

    file: str
    profile: str
    wildcard: str
    wsus_web_site: str
    timezone: str
    servers: tuple[Server, ...]
    allow: tuple[Allow, ...] = ()
    client_networks: tuple[str, ...] = DEFAULT_CLIENT_NETWORKS
    name: str = ""
    """What mail subjects and chat messages call the site (optional; they use the file name without it)."""
    servers_by_name: dict[str, Server] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "servers_by_name", {s.name: s for s in self.servers})

    @property
    def wsus_ports(self) -> dict[str, int]:
        """Scheme → port of the WSUS web site (``{"http": 8530, "https": 8531}`` when custom)."""
        return WSUS_PORTS[self.wsus_web_site]

    def hierarchy(self) -> list[tuple[Server, Server]]:
        """(child, parent) pairs: each server that synchronizes from another, with that server."""
        return [(s, self.servers_by_name[s.upstream]) for s in self.servers if s.upstream != MICROSOFT_UPDATE]


def _err(message: str, file: str, key: str) -> PolicyError:
    return PolicyError(message, file=file, key=key)


def _text(table: dict, key: str, file: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise _err("missing", file, f"{where}{key}")
    if not isinstance(value, str) or not value.strip():
        raise _err(f"must be non-empty text, not {value!r}", file, f"{where}{key}")
    return value.strip()


def _choice(table: dict, key: str, choices, file: str, where: str, default: str) -> str:
    value = _text(table, key, file, where, default)
    if value not in choices:
        raise _err(f"'{value}' is not one of: {', '.join(choices)}", file, f"{where}{key}")
    return value


def _addresses(value, file: str, key: str, *, networks: bool = False) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _err("must be a list of text", file, key)
    out = []
    for i, text in enumerate(value):
        try:
            text = text.strip()
            parsed = ipaddress.ip_network(text, strict=False) if networks else ipaddress.ip_address(text)
        except ValueError:
            what = "network (e.g. 192.0.2.0/24)" if networks else "IP address"
            raise _err(f"'{text}' is not a valid {what}", file, f"{key}[{i}]") from None
        out.append(str(parsed))
    return tuple(out)


def _unknown(table: dict, known: set[str], file: str, where: str) -> None:
    for key in table:
        if key not in known:
            raise _err(f"unknown key (known: {', '.join(sorted(known))})", file, f"{where}{key}")


def load_site(path: str | Path) -> Site:
    """Read and validate a site file. Raises :class:`PolicyError` naming file, key and problem.

    Example: ``load_site("data/samples/site.toml").servers[0].name == "CAS"``.
    """
    file = str(path)
    try:
        text = decode_text(Path(path).read_bytes())
    except OSError as exc:
        raise PolicyError(f"cannot read site file: {exc.strerror}", file=file) from None
    except UnicodeDecodeError as exc:
        raise PolicyError(undecodable(exc), file=file) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}", file=file) from None
    return parse_site(data, file)


def parse_site(data: dict, file: str = "<site>") -> Site:
    """Validate the parsed TOML of a site file (see :func:`load_site`)."""
    _unknown(data, _SITE_KEYS, file, "")
    name = _text(data, "name", file, "") if "name" in data else ""
    profile = _text(data, "profile", file, "", DEFAULT_PROFILE)
    wildcard = _choice(data, "wildcard", WILDCARD_MODES, file, "", "subdomains")
    wsus_web_site = _choice(data, "wsus_web_site", tuple(WSUS_PORTS), file, "", "default")
    tz = _text(data, "timezone", file, "", "UTC")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise _err(f"unknown time zone '{tz}' (use an IANA name such as 'Europe/Berlin')", file, "timezone") from None
    site_networks = DEFAULT_CLIENT_NETWORKS
    if "client_networks" in data:
        site_networks = _addresses(data["client_networks"], file, "client_networks", networks=True)
    raw_servers = data.get("server")
    if not isinstance(raw_servers, list) or not raw_servers:
        raise _err("a site needs at least one [[server]]", file, "server")
    servers = [_server(raw, i, file, site_networks) for i, raw in enumerate(raw_servers)]
    _check_servers(servers, file)
    allow = tuple(_allow(raw, i, file) for i, raw in enumerate(data.get("allow", [])))
    return Site(
        file=file,
        profile=profile,
        wildcard=wildcard,
        wsus_web_site=wsus_web_site,
        timezone=tz,
        servers=tuple(servers),
        allow=allow,
        client_networks=site_networks,
        name=name,
    )


def _server(raw, i: int, file: str, site_networks) -> Server:
    where = f"server[{i}]."
    if not isinstance(raw, dict):
        raise _err("must be a table", file, f"server[{i}]")
    _unknown(raw, _SERVER_KEYS, file, where)
    name = _text(raw, "name", file, where)
    fqdn_text = _text(raw, "fqdn", file, where)
    try:
        fqdn = parse_host(fqdn_text)
    except PatternError as exc:
        raise _err(str(exc), file, f"{where}fqdn") from None
    if fqdn.kind != "exact":
        raise _err(f"'{fqdn_text}' must be one host name, not a pattern", file, f"{where}fqdn")
    if "addresses" not in raw:
        raise _err("missing (the server's IP addresses, as a list)", file, f"{where}addresses")
    addresses = _addresses(raw["addresses"], file, f"{where}addresses")
    if not addresses:
        raise _err("needs at least one address", file, f"{where}addresses")
    role = _choice(raw, "role", SERVER_ROLES, file, where, "sup")
    upstream = _text(raw, "upstream", file, where)
    networks = site_networks
    if "client_networks" in raw:
        networks = _addresses(raw["client_networks"], file, f"{where}client_networks", networks=True)
    return Server(name, fqdn.text, addresses, role, upstream, networks, raw.get("description"))


def _check_servers(servers: list[Server], file: str) -> None:
    names: dict[str, int] = {}
    owners: dict[str, str] = {}
    for i, s in enumerate(servers):
        if s.name in names:
            message = f"server name '{s.name}' is used twice (also server[{names[s.name]}])"
            raise _err(message, file, f"server[{i}].name")
        if s.name == MICROSOFT_UPDATE:
            raise _err(f"'{MICROSOFT_UPDATE}' is reserved for the upstream of top servers", file, f"server[{i}].name")
        names[s.name] = i
        for ident in (s.fqdn, *s.addresses):
            if ident in owners:
                raise _err(f"'{ident}' also belongs to server '{owners[ident]}'", file, f"server[{i}]")
            owners[ident] = s.name
    for i, s in enumerate(servers):
        if s.upstream == MICROSOFT_UPDATE:
            continue
        if s.upstream not in names:
            close = difflib.get_close_matches(s.upstream, [*names, MICROSOFT_UPDATE], n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            known = ", ".join([MICROSOFT_UPDATE, *names])
            raise _err(f"unknown upstream '{s.upstream}'{hint} (known: {known})", file, f"server[{i}].upstream")
        if s.upstream == s.name:
            raise _err("a server cannot synchronize from itself", file, f"server[{i}].upstream")
    by_name = {s.name: s for s in servers}
    for i, s in enumerate(servers):
        chain = [s.name]
        cur = s
        while cur.upstream != MICROSOFT_UPDATE:
            cur = by_name[cur.upstream]
            if cur.name in chain:
                cycle = " -> ".join([*chain[chain.index(cur.name) :], cur.name])
                raise _err(f"the hierarchy has a cycle: {cycle}", file, f"server[{i}].upstream")
            chain.append(cur.name)


def _allow(raw, i: int, file: str) -> Allow:
    where = f"allow[{i}]"
    if not isinstance(raw, dict):
        raise _err("must be a table", file, where)
    raw = dict(raw)
    addresses = _addresses(raw.pop("addresses"), file, f"{where}.addresses") if "addresses" in raw else ()
    entry = parse_entry(raw, file, where, Source(document=f"site file {file}", version="", url=""))
    return Allow(entry=entry, addresses=addresses)


def normalize_address(text: str) -> str:
    """An address in the form the site file uses (``ipaddress`` compressed), or ``text`` folded."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return fold_host(text)
