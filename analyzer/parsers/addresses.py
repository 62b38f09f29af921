"""What an address and a host name are, for every parser: one definition, checked vectorized.

Parsers reject a line whose address column is not an address (``192.168.1.10055``, a masked
``x.x.x.79``) or whose host is not a DNS name (over 253 characters, an empty or 64-character
label), naming the column, rather than carry it on as a destination.
"""

from __future__ import annotations

import polars as pl

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"(?:{_OCTET}\.){{3}}{_OCTET}"
_H = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H}:{_H}|{_IPV4})"
_IPV6 = (
    rf"(?:(?:{_H}:){{6}}{_LS32}"
    rf"|::(?:{_H}:){{5}}{_LS32}"
    rf"|(?:{_H})?::(?:{_H}:){{4}}{_LS32}"
    rf"|(?:(?:{_H}:){{0,1}}{_H})?::(?:{_H}:){{3}}{_LS32}"
    rf"|(?:(?:{_H}:){{0,2}}{_H})?::(?:{_H}:){{2}}{_LS32}"
    rf"|(?:(?:{_H}:){{0,3}}{_H})?::{_H}:{_LS32}"
    rf"|(?:(?:{_H}:){{0,4}}{_H})?::{_LS32}"
    rf"|(?:(?:{_H}:){{0,5}}{_H})?::{_H}"
    rf"|(?:(?:{_H}:){{0,6}}{_H})?::)"
)
IP_ADDRESS = rf"^(?:{_IPV4}|{_IPV6}(?:%[0-9A-Za-z._-]+)?)$"
"""An IPv4 address in dotted decimal (no leading zeros) or an IPv6 address (RFC 4291 text
forms, an optional ``%zone``), as Python's :mod:`ipaddress` reads them."""

_LABEL = r"[^.]{1,63}"
HOST_NAME = rf"^(?:{_LABEL}\.)*{_LABEL}$"
"""A DNS name as flows hold it (lower case, no trailing dot): labels of 1 to 63 characters.
Which characters is not judged here: odd ones (an IDN in its own script, ``_`` of service
names, control characters of hostile text) are kept as data and made inert where printed."""

MAX_NAME = 253


def is_ip_address(expr: pl.Expr) -> pl.Expr:
    """True where ``expr`` is an IP address (null stays null). Example: ``"192.168.1.10055"`` →
    False, ``"2001:db8::1"`` → True."""
    return expr.str.contains(IP_ADDRESS)


def is_host_name(expr: pl.Expr) -> pl.Expr:
    """True where ``expr`` is a DNS name of at most 253 characters (null stays null)."""
    return expr.str.contains(HOST_NAME) & (expr.str.len_bytes() <= MAX_NAME)
