"""PAN-OS syslog layouts as data: column positions, log types, actions and schemes.

Positions are 0-based indexes into the CSV payload (``docs/formats.md`` §2.3 and §2.4). Columns
are only ever appended between versions, so a position holds the same field in every version
that has it; a line simply stops earlier in older versions (42 columns in 5.x, 123 in 11.x).
Columns 0-30 are shared by TRAFFIC, THREAT and DECRYPTION logs; from 31 on the layouts differ.
"""

from __future__ import annotations

from .. import base

COMMON: dict[str, int] = {
    "future_use": 0,
    "receive_time": 1,
    "serial": 2,
    "type": 3,
    "subtype": 4,
    "generated_time": 6,
    "src": 7,
    "dst": 8,
    "nat_src": 9,
    "nat_dst": 10,
    "rule": 11,
    "src_user": 12,
    "app": 14,
    "vsys": 15,
    "from_zone": 16,
    "to_zone": 17,
    "session_id": 22,
    "sport": 24,
    "dport": 25,
    "protocol": 29,
    "action": 30,
}
"""Fields at the same position in every connection log type."""

TRAFFIC: dict[str, int] = {
    "bytes": 31,
    "bytes_sent": 32,
    "bytes_received": 33,
    "packets": 34,
    "elapsed": 36,
    "category": 37,
    "end_reason": 46,
    "device_name": 52,
    "hires": 102,
}
"""TRAFFIC fields after column 30 (``hires``: the 10.x high-resolution timestamp with offset)."""

THREAT: dict[str, int] = {
    "url": 31,
    "threat_id": 32,
    "category": 33,
    "severity": 34,
    "direction": 35,
    "content_type": 41,
    "user_agent": 46,
    "xff": 48,
    "referer": 49,
    "device_name": 59,
    "method": 63,
    "hires": 107,
}
"""THREAT fields after column 30; ``url`` is URL/Filename (the host for subtype ``url``)."""

LAYOUTS: dict[str, dict[str, int]] = {"TRAFFIC": TRAFFIC, "THREAT": THREAT, "DECRYPTION": {}}
"""Connection log types and their fields beyond the common ones. DECRYPTION (10.x) shares
columns 0-30 with TRAFFIC; only those are read from it."""

LABELS: dict[str, str] = {
    "type": "log type",
    "generated_time": "generated time",
    "src": "source address",
    "dst": "destination address",
    "sport": "source port",
    "dport": "destination port",
    "session_id": "session id",
    "protocol": "protocol",
    "action": "action",
}
"""Names of the anchor fields in reject reasons."""

NOT_CONNECTIONS = (
    "SYSTEM",
    "CONFIG",
    "GLOBALPROTECT",
    "HIPMATCH",
    "USERID",
    "AUTH",
    "IPTAG",
    "CORRELATION",
    "TUNNEL",
    "GTP",
    "SCTP",
)
"""Log types that are known but are not read as flows: they describe system events,
configuration, users or tunnels rather than one connection with addresses, ports and an action
at the common positions. Their lines become rejects that name the type."""

ALLOWED, BLOCKED = "allowed", "blocked"

TRAFFIC_ACTIONS: dict[str, str] = {
    "allow": ALLOWED,
    "deny": BLOCKED,
    "drop": BLOCKED,
    "drop ICMP": BLOCKED,
    "drop-icmp": BLOCKED,
    "reset-client": BLOCKED,
    "reset-server": BLOCKED,
    "reset-both": BLOCKED,
    "reset client": BLOCKED,
    "reset server": BLOCKED,
    "reset both": BLOCKED,
}
"""TRAFFIC (and DECRYPTION) actions; the docs write the reset and ICMP ones with spaces."""

THREAT_ACTIONS: dict[str, str] = {
    **TRAFFIC_ACTIONS,
    "alert": ALLOWED,
    "continue": ALLOWED,
    "override": ALLOWED,
    # The SYN cookie was sent; a client that answers it gets through.
    "syncookie-sent": ALLOWED,
    "block-url": BLOCKED,
    "block-continue": BLOCKED,
    "block-override": BLOCKED,
    "override-lockout": BLOCKED,
    "block-ip": BLOCKED,
    "sinkhole": BLOCKED,
    "random-drop": BLOCKED,
    "block": BLOCKED,
}
"""THREAT actions (URL filtering and the other subtypes), per Elastic's ``threat.yml`` list.
``block-continue`` is a block until the user clicks through, which is then logged ``continue``."""

PORT_SCHEMES = base.PORT_SCHEMES

APP_SCHEMES: dict[str, str] = {"ssl": "https", "web-browsing": "http"}
"""Schemes an App-ID tells when the port does not."""


def _indexes(*layouts: dict[str, int]) -> tuple[int, ...]:
    # Column 0 is not read: in a syslog line it also holds the header, which can be long, and
    # the line's text is checked instead.
    return tuple(sorted({i for layout in (COMMON, *layouts) for i in layout.values()} - {COMMON["future_use"]}))


READ_INDEXES: tuple[int, ...] = _indexes(TRAFFIC, THREAT)
"""The column indexes read from a payload: the union over all layouts."""

LAYOUT_INDEXES: dict[str, tuple[int, ...]] = {kind: _indexes(layout) for kind, layout in LAYOUTS.items()}
"""The column indexes one log type needs, for chunks that hold a single type."""
