"""What every device's rules are made of: the site's required flows, the findings they fix, and
the devices that logged a decision.

A :class:`Requirement` is one flow the policy requires of one server: an allow-list entry over
its scheme and port (servers that synchronize from Microsoft Update) or the upstream server on a
WSUS port (the others). Each device module turns requirements into its own syntax; this module
knows nothing of any device's syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

from ..aggregates import remote_side
from ..parsers.paloalto.convert import NAME as PANOS
from ..parsers.squid.common import NAME as SQUID
from ..parsers.winfirewall import NAME as WINFIREWALL
from ..policy import Policy, Server
from ..policy.patterns import HostPattern

DEVICE_FORMATS = (SQUID, PANOS, WINFIREWALL)
"""The parsers whose logs record a device's own decision, i.e. the devices rules are written for:
each dialect of rules belongs to the device its parser reads (named by the parser's own NAME)."""


@dataclass(frozen=True)
class Requirement:
    """One required flow of one server.

    ``kind`` is ``"allow-list"`` (``pattern`` is the entry's host pattern) or ``"hierarchy"``
    (``upstream`` is the server it synchronizes from). ``entry`` is the entry literal or the
    hierarchy pair, as in the findings' ``entry`` column.
    """

    server: Server
    kind: str
    entry: str
    scheme: str
    port: int
    pattern: HostPattern | None = None
    upstream: Server | None = None

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.server.name, self.entry, self.scheme, self.port)


@dataclass(frozen=True)
class Device:
    """A device that logged decisions: ``kind`` is a parser name, ``name`` the device (a PAN-OS
    serial, the Windows host's server name, ``"squid"``); ``zones`` the (from, to) zones PAN-OS
    logged per (server, destination server or ``None``)."""

    kind: str
    name: str
    zones: dict = field(default_factory=dict, compare=False)


CLIENTS = "client-service"
"""The ``found`` key of update clients' connections that a server's own firewall dropped:
permitted (never findings to act on by verdict), yet the rule the clients need."""


def requirements(policy: Policy) -> list[Requirement]:
    """Every required flow of the site, in the order of :attr:`Policy.required`."""
    by_name = policy.site.servers_by_name
    out = []
    for row in policy.required.iter_rows(named=True):
        server = by_name[row["server"]]
        if row["kind"] == "allow-list":
            pattern = policy.profile.entries[row["entry_id"]].target.host
            out.append(Requirement(server, "allow-list", row["entry"], row["scheme"], row["port"], pattern=pattern))
        else:
            upstream = by_name[row["upstream"]]
            out.append(Requirement(server, "hierarchy", row["entry"], row["scheme"], row["port"], upstream=upstream))
    return out


def fixes(findings: pl.DataFrame, reqs: list[Requirement]) -> dict[tuple, list[dict]]:
    """Requirement key → the blocked-required findings it fixes (rows with ``finding_id``,
    ``count``, ``host``, ``address``). A finding whose scheme or port the log did not record fits
    every requirement of its entry that the known parts allow."""
    out: dict[tuple, list[dict]] = {}
    blocked = findings.filter(pl.col("verdict") == "blocked-required")
    for f in blocked.iter_rows(named=True):
        for r in reqs:
            if r.server.name != f["server"] or r.entry != f["entry"]:
                continue
            if f["scheme"] not in (None, r.scheme) or f["port"] not in (None, r.port):
                continue
            out.setdefault(r.key, []).append(f)
    return out


_FINDING_KEY = ("server", "direction", "verdict", "host", "_addr_key", "port", "scheme")


def flow_keys(flows: pl.LazyFrame) -> pl.LazyFrame:
    """The columns findings are grouped by, computed on flows (see :func:`analyzer.aggregates.findings`),
    so a finding can be joined to the flows it counts without keeping their ids."""
    host, address = remote_side()
    return flows.filter(pl.col("verdict").is_not_null()).with_columns(
        pl.col("direction_to_server").alias("direction"),
        host.alias("host"),
        address.alias("_addr_key"),
        pl.col("dst_port").alias("port"),
    )


def finding_keys(findings: pl.DataFrame) -> pl.DataFrame:
    """The same grouping columns on the findings side, with ``finding_id``."""
    keyed = (pl.col("direction") == "inbound") | pl.col("host").is_null()
    return findings.select(
        "finding_id",
        *[c for c in _FINDING_KEY if c != "_addr_key"],
        pl.when(keyed).then(pl.col("address")).alias("_addr_key"),
    )


def device_expr() -> tuple[pl.Expr, pl.Expr]:
    """(kind, name) of the device that logged a flow: the parser, and the PAN-OS serial, the
    Windows host (the server on whose firewall the line was written: the destination of a
    received packet, the source of a sent one) or ``"squid"``."""
    fmt = pl.col("source_format")
    windows_host = (
        pl.when(pl.col("direction").cast(pl.String) == "inbound")
        .then(pl.col("dst_server"))
        .otherwise(pl.col("src_server"))
    )
    name = (
        pl.when(fmt == WINFIREWALL)
        .then(pl.coalesce(windows_host, pl.col("device"), pl.col("source_file")))
        .when(fmt == SQUID)
        .then(pl.coalesce(pl.col("device"), pl.lit(SQUID)))
        .otherwise(pl.coalesce(pl.col("device"), pl.lit("unknown")))
    )
    return fmt.alias("device_kind"), name.alias("device_name")


def devices(flows: pl.LazyFrame, findings: pl.DataFrame) -> tuple[list[Device], pl.DataFrame]:
    """The devices that logged in-scope decisions, and ``finding_id, device_kind, device_name,
    blocked`` (whether that device blocked any of its flows) for every finding a device logged
    (one finding may be seen by several devices)."""
    kind, name = device_expr()
    cols = ["source_format", "device", "direction", "src_server", "dst_server", "source_file", "extra"]
    cols += ["server", "direction_to_server", "verdict", "dst_host", "src_ip", "dst_ip", "dst_port", "scheme", "action"]
    # In scope and logged by a device, filtered before anything is computed; the device first, as
    # the finding keys rename direction_to_server to "direction".
    logged = flows.select(cols).filter(pl.col("verdict").is_not_null() & pl.col("source_format").is_in(DEVICE_FORMATS))
    keyed = flow_keys(logged.with_columns(kind, name))
    per_key = keyed.group_by("device_kind", "device_name", *_FINDING_KEY).agg(
        (pl.col("action").cast(pl.String) == "blocked").any().alias("blocked")
    )
    # PAN-OS zones, from the few firewall flows only (the JSON of ``extra`` is parsed for those).
    zones_lazy = (
        logged.filter((pl.col("source_format") == PANOS) & (pl.col("direction_to_server") == "outbound"))
        .select(
            name.alias("device_name"),
            "server",
            pl.col("dst_server").alias("to_server"),
            pl.col("extra").str.json_path_match("$.from_zone").alias("from_zone"),
            pl.col("extra").str.json_path_match("$.to_zone").alias("to_zone"),
        )
        .unique()
        .sort(pl.all(), nulls_last=True)
    )
    per_key, zones_frame = pl.collect_all([per_key, zones_lazy])  # one scan of the flows for both
    linked = (
        finding_keys(findings)
        .join(per_key, on=list(_FINDING_KEY), how="inner", nulls_equal=True)
        .select("finding_id", "device_kind", "device_name", "blocked")
        .sort("device_kind", "device_name", "finding_id")
    )
    found = per_key.select("device_kind", "device_name").unique().sort("device_kind", "device_name")
    out = []
    for k, n in found.iter_rows():
        zones: dict = {}
        for z in zones_frame.filter(pl.col("device_name") == n).iter_rows(named=True):
            # Zone names come from the log: only plain names may become part of a rule.
            if all(z[k] and _ZONE.fullmatch(z[k]) for k in ("from_zone", "to_zone")):
                zones.setdefault((z["server"], z["to_server"]), set()).add((z["from_zone"], z["to_zone"]))
        out.append(Device(k, n, zones))
    return out, linked


def allow_list_groups(reqs: list[Requirement]) -> list[tuple[str, int, list[Server], list[Requirement]]]:
    """The allow-list requirements by scheme and port: ``(scheme, port, servers, requirements)``,
    in the profile's order; one device rule each (a device tells ports, not schemes)."""
    groups: dict[tuple, list[Requirement]] = {}
    for r in reqs:
        if r.kind == "allow-list":
            groups.setdefault((r.scheme, r.port), []).append(r)
    out = []
    for (scheme, port), group in groups.items():
        servers = sorted({r.server.name: r.server for r in group}.values(), key=lambda s: s.name)
        out.append((scheme, port, servers, group))
    return out


_ZONE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_COMMENT_UNSAFE = re.compile(r"[^\x20-\x7e]")


def config_name(text: str) -> str:
    """``text`` reduced to letters, digits, ``_`` and ``-``: safe as an ACL, object or rule name
    in every device's syntax (a site's server name could hold anything)."""
    return _NAME_UNSAFE.sub("_", text).strip("_") or "x"


def comment_text(text: object) -> str:
    """``text`` for a comment of a generated file: printable ASCII only, so text from a log can
    never end the comment and start a configuration line (or drive a terminal)."""
    return _COMMENT_UNSAFE.sub("?", "" if text is None else str(text))


def comment_text_expr(text: pl.Expr) -> pl.Expr:
    """:func:`comment_text` over a String column (null stays null): the regex engine of polars
    matches code points, as Python's ``re`` does, so each character becomes one ``?``."""
    return text.str.replace_all(_COMMENT_UNSAFE.pattern, "?")


@dataclass(frozen=True)
class Block:
    """One rule of a device, as written: its comment lines, its configuration lines, and the
    findings it fixes."""

    comments: tuple[str, ...]
    lines: tuple[str, ...]
    fixes: tuple[str, ...] = ()

    def text(self, comment: str) -> str:
        head = [f"{comment} {comment_text(c)}".rstrip() for c in self.comments]
        return "\n".join([*head, *self.lines])


def fixed_ids(found: list[dict]) -> tuple[str, ...]:
    return tuple(sorted({f["finding_id"] for f in found}))


def describe_fixes(found: list[dict]) -> str:
    """``fixes finding 3f2a… (5 flows), 9c1b… (1 flow)``."""
    by_id: dict[str, int] = {}
    for f in found:
        by_id[f["finding_id"]] = by_id.get(f["finding_id"], 0) + int(f["count"] or 0)
    parts = [f"{i} ({n} flow{'s' if n != 1 else ''})" for i, n in sorted(by_id.items())]
    return "fixes finding " + ", ".join(parts) if len(parts) == 1 else "fixes findings " + ", ".join(parts)


def blocks_file(blocks: list[Block], comment: str) -> str:
    """The text of a generated file: its blocks, one blank line apart."""
    return "\n\n".join(b.text(comment) for b in blocks) + "\n"
