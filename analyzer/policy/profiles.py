"""Allow-list profiles: the built-in official lists (data files in ``analyzer/profiles/``) and
profile files of the same form.

A profile file is TOML::

    name = "cm2007"
    title = "Configuration Manager 2007 software update point"
    document = "..."            # where the list comes from
    version = "2007"            # the document's version or date
    url = "https://learn.microsoft.com/..."
    role = "update-server"      # or "client", "delivery-optimization": lists of other roles

    [[entry]]
    url = "http://*.update.microsoft.com"      # scheme://host[:port][/path], kept literally

    [[entry]]                                   # or a bare host with its scheme, as some
    host = "*.update.microsoft.com"             # documents write them ("TLS 1.2" = https)
    scheme = "https"
    written = "TLS 1.2"

    [[port]]                                    # peer-to-peer ports (Delivery Optimization)
    protocol = "tcp"
    port = 7680

Every entry keeps its literal text, scheme and source (document, version, URL).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import PolicyError, UnknownNameError
from ..sources import decode_text, undecodable
from .patterns import PatternError, Target, parse_target

DEFAULT_PROFILE = "cm2007"
ROLES = ("update-server", "client", "delivery-optimization")
"""``update-server``: lists for software update points / WSUS; the others are the adjacent lists
of other Microsoft roles, used to tell "an update endpoint of another role" from "unknown"."""

_PROFILE_KEYS = {"name", "title", "document", "version", "url", "role", "entry", "port"}
_ENTRY_KEYS = {"url", "host", "scheme", "port", "written", "note"}
_PORT_KEYS = {"protocol", "port", "note"}


@dataclass(frozen=True)
class Source:
    """Where an entry comes from: document, version and address."""

    document: str
    version: str
    url: str


@dataclass(frozen=True)
class Entry:
    """One allow-list entry: its literal text, the parsed target and its source.

    Example: ``Entry(text="http://*.windowsupdate.com", target=parse_target(...), source=...)``;
    ``entry.scheme == "http"``, ``entry.port == 80``.
    """

    text: str
    target: Target
    source: Source
    written: str | None = None
    note: str | None = None

    def __post_init__(self):
        if not self.text:
            raise PatternError("an entry needs its literal text")

    @property
    def scheme(self) -> str:
        return self.target.scheme

    @property
    def port(self) -> int:
        return self.target.port

    @property
    def host(self) -> str:
        """The host pattern, folded (``*.update.microsoft.com``)."""
        return self.target.host.text

    @property
    def label(self) -> str:
        """The entry as written in its document, with the scheme where the text has none."""
        if "://" in self.text:
            return self.text
        return f"{self.text} ({self.written or self.scheme})"


@dataclass(frozen=True)
class PortEntry:
    """A destination port a role uses towards peers rather than named hosts (TCP 7680)."""

    protocol: str
    port: int
    source: Source
    note: str | None = None

    def __post_init__(self):
        if self.protocol not in ("tcp", "udp"):
            raise PatternError(f"protocol '{self.protocol}' is not tcp or udp")
        if not 0 < self.port < 65536:
            raise PatternError(f"port {self.port} is out of range")

    @property
    def label(self) -> str:
        return f"{self.protocol}/{self.port}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Profile:
    """A named allow-list: metadata, entries and peer ports. Load with :func:`load_profile`.

    Example: ``p = load_profile("wsus-2025"); p.document, p.version, [e.label for e in p.entries]``.
    """

    name: str
    title: str
    document: str
    version: str
    url: str
    role: str
    entries: tuple[Entry, ...]
    ports: tuple[PortEntry, ...] = ()
    file: str | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.role not in ROLES:
            raise PatternError(f"role '{self.role}' is not one of {', '.join(ROLES)}")

    @property
    def source(self) -> Source:
        return Source(self.document, self.version, self.url)


def builtin_names() -> list[str]:
    """Names of the built-in profiles, sorted. Example: ``"cm2007" in builtin_names()``."""
    folder = resources.files("analyzer") / "profiles"
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_profile(name_or_path: str, *, site_file: str | None = None) -> Profile:
    """A built-in profile by name, or a profile file by path (relative to ``site_file``'s folder).

    Unknown names raise :class:`UnknownNameError` with "did you mean"; unreadable files and
    entries raise :class:`PolicyError` naming the file, the entry and why.
    Example: ``load_profile("cm2007").entries[0].text == "http://windowsupdate.microsoft.com"``.
    """
    names = builtin_names()
    if name_or_path in names:
        ref = resources.files("analyzer") / "profiles" / f"{name_or_path}.toml"
        return _parse(ref.read_text(encoding="utf-8"), f"<built-in>/{name_or_path}.toml")
    looks_like_path = name_or_path.endswith(".toml") or "/" in name_or_path or "\\" in name_or_path
    if not looks_like_path:
        raise UnknownNameError("profile", name_or_path, names)
    path = Path(name_or_path)
    if site_file and not path.is_absolute():
        path = Path(site_file).parent / path
    try:
        text = decode_text(path.read_bytes())
    except OSError as exc:
        raise PolicyError(f"cannot read profile file: {exc.strerror}", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise PolicyError(undecodable(exc), file=str(path)) from None
    return _parse(text, str(path))


def load_builtin_profiles() -> dict[str, Profile]:
    """Every built-in profile by name."""
    return {name: load_profile(name) for name in builtin_names()}


def _need(table: dict, key: str, file: str, where: str, kind=str):
    value = table.get(key)
    if value is None:
        raise PolicyError("missing", file=file, key=f"{where}{key}")
    if not isinstance(value, kind) or isinstance(value, bool):
        raise PolicyError(f"must be {kind.__name__}, not {type(value).__name__}", file=file, key=f"{where}{key}")
    return value


def _unknown_keys(table: dict, known: set[str], file: str, where: str) -> None:
    for key in table:
        if key not in known:
            raise PolicyError(f"unknown key (known: {', '.join(sorted(known))})", file=file, key=f"{where}{key}")


def _parse(text: str, file: str) -> Profile:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"not valid TOML: {exc}", file=file) from None
    _unknown_keys(data, _PROFILE_KEYS, file, "")
    meta = {k: _need(data, k, file, "") for k in ("name", "title", "document", "version", "url", "role")}
    if meta["role"] not in ROLES:
        raise PolicyError(f"'{meta['role']}' is not one of {', '.join(ROLES)}", file=file, key="role")
    source = Source(meta["document"], meta["version"], meta["url"])
    raw_entries = data.get("entry", [])
    if not isinstance(raw_entries, list) or not raw_entries:
        raise PolicyError("a profile needs at least one [[entry]]", file=file, key="entry")
    entries = []
    seen: dict[tuple, str] = {}
    for i, raw in enumerate(raw_entries):
        where = f"entry[{i}]"
        entry = parse_entry(raw, file, where, source)
        key = (entry.scheme, entry.host, entry.port)
        if key in seen:
            raise PolicyError(f"'{entry.label}' duplicates {seen[key]}", file=file, key=where)
        seen[key] = where
        entries.append(entry)
    ports = []
    for i, raw in enumerate(data.get("port", [])):
        where = f"port[{i}]."
        _unknown_keys(raw, _PORT_KEYS, file, where)
        try:
            ports.append(
                PortEntry(
                    protocol=_need(raw, "protocol", file, where),
                    port=_need(raw, "port", file, where, int),
                    source=source,
                    note=raw.get("note"),
                )
            )
        except PatternError as exc:
            raise PolicyError(str(exc), file=file, key=f"port[{i}]") from None
    return Profile(**meta, entries=tuple(entries), ports=tuple(ports), file=file)


def parse_entry(raw: object, file: str, where: str, source: Source) -> Entry:
    """One ``[[entry]]`` (or a site's ``[[allow]]``) table to an :class:`Entry`.

    Raises :class:`PolicyError` naming the file, the entry and why it cannot be read.
    """
    if not isinstance(raw, dict):
        raise PolicyError("must be a table", file=file, key=where)
    _unknown_keys(raw, _ENTRY_KEYS, file, where + ".")
    if ("url" in raw) == ("host" in raw):
        raise PolicyError("give exactly one of 'url' or 'host'", file=file, key=where)
    literal = raw.get("url", raw.get("host"))
    if not isinstance(literal, str):
        raise PolicyError("must be text", file=file, key=f"{where}.{'url' if 'url' in raw else 'host'}")
    port = raw.get("port")
    if port is not None and (not isinstance(port, int) or isinstance(port, bool)):
        raise PolicyError("must be a number", file=file, key=f"{where}.port")
    scheme = raw.get("scheme")
    try:
        target = parse_target(literal, scheme=scheme, port=port)
        return Entry(text=literal, target=target, source=source, written=raw.get("written"), note=raw.get("note"))
    except PatternError as exc:
        raise PolicyError(f"cannot read entry '{literal}': {exc}", file=file, key=where) from None


_DEFAULT_PORTS = {"http": 80, "https": 443}


def diff_profiles(a: Profile, b: Profile) -> list[dict]:
    """What changed from ``a`` to ``b``, per host pattern and peer port: added, removed, or
    changed in scheme or port (matching depends on both).

    Returns rows ``{"host", "change", "before", "after"}``, sorted by host; a host's schemes are
    shown as "http, https", with the port where it is not the scheme's default ("http:8080");
    peer ports (Delivery Optimization's TCP 7680, say) come last, as host "(peer port)" and
    "tcp/7680". Changes: "added", "removed", "scheme changed", "port changed".
    Example: ``diff_profiles(load_profile("cm2007"), load_profile("cmcb"))`` lists
    ``test.stats.update.microsoft.com`` as removed.
    """

    def ways(p: Profile) -> dict[str, set[tuple[str, int]]]:
        out: dict[str, set[tuple[str, int]]] = {}
        for e in p.entries:
            out.setdefault(e.host, set()).add((e.scheme, e.port))
        return out

    def shown(pairs: set[tuple[str, int]]) -> str:
        return ", ".join(
            scheme if _DEFAULT_PORTS.get(scheme) == port else f"{scheme}:{port}" for scheme, port in sorted(pairs)
        )

    wa, wb = ways(a), ways(b)
    rows = []
    for host in sorted(wa.keys() | wb.keys(), key=lambda h: (h.lstrip("*."), h)):
        before, after = wa.get(host, set()), wb.get(host, set())
        if host not in wa:
            change = "added"
        elif host not in wb:
            change = "removed"
        elif {s for s, _ in before} != {s for s, _ in after}:
            change = "scheme changed"
        elif before != after:
            change = "port changed"
        else:
            continue
        rows.append({"host": host, "change": change, "before": shown(before) or "-", "after": shown(after) or "-"})
    pa = {(p.protocol, p.port) for p in a.ports}
    pb = {(p.protocol, p.port) for p in b.ports}
    for protocol, port in sorted(pa ^ pb):
        text = f"{protocol}/{port}"
        added = (protocol, port) in pb
        rows.append(
            {
                "host": "(peer port)",
                "change": "added" if added else "removed",
                "before": "-" if added else text,
                "after": text if added else "-",
            }
        )
    return rows
