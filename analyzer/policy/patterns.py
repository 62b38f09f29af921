"""Typed host patterns: parsed once, validated, matched on label boundaries.

A pattern is the host part of an allow-list entry: ``download.microsoft.com`` (exact),
``*.update.microsoft.com`` (subdomains of any depth) or ``kv*.prod.do.dsp.mp.microsoft.com``
(a wildcard inside a label, matching within that label only). Host names compare
case-insensitively, without a trailing dot and without a port, with internationalized names
folded to their ASCII (IDNA) form by Python's built-in ``encodings.idna`` codec (IDNA 2003, no
extra dependency; the Microsoft lists are all ASCII, so only log hosts ever need folding).

Whether ``*.x`` also covers ``x`` itself is the site's ``wildcard`` setting: ``"subdomains"``
(Microsoft's lists name the apex separately; Azure Firewall and PAN-OS agree) or ``"apex"``
(Squid ``.x`` and AWS semantics).

The scalar :meth:`HostPattern.matches` here is the reference; :mod:`analyzer.match` applies the
same rules vectorized over distinct hosts, and the tests check that both agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

WILDCARD_MODES = ("subdomains", "apex")
SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
KINDS = ("exact", "subdomains", "glob")
"""``exact``: one host. ``subdomains``: ``*.base``, any depth below base. ``glob``: a ``*`` inside
a label (or a ``*`` label other than the first), each ``*`` matching within its own label."""

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_GLOB_LABEL = re.compile(r"^[a-z0-9_*-]{1,63}$")


class PatternError(ValueError):
    """A pattern that cannot be read; the caller adds the file and entry."""


def fold_host(host: str) -> str:
    """Normalize a host name for comparison: lower case, no trailing dot, no port, IDNA folded.

    Raises :class:`PatternError` for text that cannot be a host name.
    Example: ``fold_host("WWW.Update.Microsoft.com.:443") == "www.update.microsoft.com"``.
    """
    text = host.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        return text[1 : text.index("]")].lower()
    if text.count(":") == 1:
        text, _, port = text.partition(":")
        if not port.isdigit():
            raise PatternError(f"'{host}': port '{port}' is not a number")
    elif text.count(":") > 1:  # a bare IPv6 address
        return text.lower()
    text = text.rstrip(".").lower()
    if not text.isascii():
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise PatternError(f"'{host}': not a valid internationalized name ({exc})") from None
    return text


@dataclass(frozen=True)
class HostPattern:
    """A parsed host pattern. Build it with :func:`parse_host`.

    ``text`` is the pattern as written (folded), ``kind`` one of :data:`KINDS`, ``base`` the fixed
    part (``update.microsoft.com`` for ``*.update.microsoft.com``; the whole host for ``exact``).

    Example::

        p = parse_host("*.update.microsoft.com")
        p.matches("fe2.update.microsoft.com")      # True
        p.matches("evilupdate.microsoft.com")      # False: not on a label boundary
        p.matches("update.microsoft.com", "apex")  # True only in apex mode
    """

    text: str
    kind: str
    base: str
    regex: str | None = field(default=None, compare=False)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise PatternError(f"kind '{self.kind}' is not one of {', '.join(KINDS)}")
        if self.kind == "glob" and not self.regex:
            raise PatternError("a glob pattern needs its regex")
        if self.kind != "glob" and "*" in self.base:
            raise PatternError(f"'{self.text}': '*' may only stand for whole leading labels or inside a label")

    def matches(self, host: str, wildcard: str = "subdomains") -> bool:
        """Whether ``host`` (already folded, see :func:`fold_host`) is covered."""
        return self.explain(host, wildcard)[0]

    def explain(self, host: str, wildcard: str = "subdomains") -> tuple[bool, str]:
        """Whether ``host`` is covered, and why (or why not), in words."""
        if self.kind == "exact":
            if host == self.base:
                return True, "exact match"
            if host.endswith("." + self.base):
                return False, f"exact entry: covers {self.base} only, not its subdomains"
            return False, "different host"
        if self.kind == "subdomains":
            if host.endswith("." + self.base):
                return True, f"subdomain of {self.base}"
            if host == self.base:
                if wildcard == "apex":
                    return True, f"the apex {self.base} (wildcard mode 'apex')"
                return False, f"the apex {self.base} is not covered by '*.' (wildcard mode 'subdomains')"
            if host.endswith(self.base):
                return False, f"not on a label boundary: '{host}' is not a subdomain of {self.base}"
            return False, "different domain"
        if re.fullmatch(self.regex, host):
            return True, "wildcard inside a label matches"
        if host.endswith("." + self.base) or host == self.base:
            return False, "the '*' matches within its own label only, and this label does not fit"
        return False, "different domain"


def parse_host(text: str) -> HostPattern:
    """Parse a host pattern (no scheme, no path). Raises :class:`PatternError` saying why.

    Example: ``parse_host("kv*.prod.do.dsp.mp.microsoft.com").kind == "glob"``.
    """
    if not text or not text.strip():
        raise PatternError("empty host pattern")
    if any(c.isspace() for c in text.strip()):
        raise PatternError(f"'{text}': a host pattern has no spaces")
    host = fold_host(text)
    if ":" in host:
        raise PatternError(f"'{text}': addresses are not host patterns (Microsoft: don't use IP addresses)")
    if not host:
        raise PatternError(f"'{text}': empty host name")
    labels = host.split(".")
    if any(not label for label in labels):
        raise PatternError(f"'{text}': empty label (two dots in a row or a leading dot)")
    if "*" not in host:
        for label in labels:
            if not _LABEL.match(label):
                raise PatternError(f"'{text}': label '{label}' is not a valid host name label")
        return HostPattern(text=host, kind="exact", base=host)
    if labels[0] == "*" and "*" not in ".".join(labels[1:]):
        base = ".".join(labels[1:])
        if len(labels) < 3:
            raise PatternError(f"'{text}': a wildcard needs two labels after it (not a whole top-level domain)")
        for label in labels[1:]:
            if not _LABEL.match(label):
                raise PatternError(f"'{text}': label '{label}' is not a valid host name label")
        return HostPattern(text=host, kind="subdomains", base=base)
    # A '*' inside a label, or a '*' label further right: each '*' stays within its label.
    for label in labels:
        if not _GLOB_LABEL.match(label):
            raise PatternError(f"'{text}': label '{label}' is not a valid host name label")
        if "**" in label:
            raise PatternError(f"'{text}': '**' in label '{label}' (one '*' per run)")
    tail_start = max(i for i, label in enumerate(labels) if "*" in label) + 1
    if len(labels) - tail_start < 2:
        raise PatternError(f"'{text}': a wildcard needs at least two fixed labels at the end")
    # Each '*' becomes "[^.]*": any run of characters that stays inside its own label.
    regex = r"\.".join("[^.]*".join(re.escape(p) for p in label.split("*")) for label in labels)
    return HostPattern(text=host, kind="glob", base=".".join(labels[tail_start:]), regex=regex)


@dataclass(frozen=True)
class Target:
    """A parsed allow-list target: scheme, host pattern and port.

    ``scheme`` is ``http`` or ``https``; ``port`` is the URL's explicit port or the scheme's
    default (80/443). Example: ``parse_target("http://*.windowsupdate.com").port == 80``.
    """

    scheme: str
    host: HostPattern
    port: int
    path: str = ""

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise PatternError(f"scheme '{self.scheme}' is not one of {', '.join(SCHEMES)}")
        if not 0 < self.port < 65536:
            raise PatternError(f"port {self.port} is out of range")


_URL = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>[^/:?#]+)(?::(?P<port>[^/?#]*))?(?P<path>[/?#].*)?$"
)


def parse_target(text: str, scheme: str | None = None, port: int | None = None) -> Target:
    """Parse ``http://host[:port][/path]``, or a bare host pattern with ``scheme`` given.

    Raises :class:`PatternError` saying why the text cannot be read.
    Example: ``parse_target("*.update.microsoft.com", scheme="https").scheme == "https"``.
    """
    m = _URL.match(text.strip())
    if m:
        url_scheme = m["scheme"].lower()
        if scheme and scheme != url_scheme:
            raise PatternError(f"'{text}': scheme '{scheme}' contradicts the URL's '{url_scheme}'")
        scheme = url_scheme
        if m["port"] is not None:
            if not m["port"].isdigit():
                raise PatternError(f"'{text}': port '{m['port']}' is not a number")
            port = int(m["port"])
        host_text, path = m["host"], m["path"] or ""
    elif "://" in text:
        raise PatternError(f"'{text}': not a URL of the form scheme://host[:port][/path]")
    else:
        if scheme is None:
            raise PatternError(f"'{text}': no scheme (write http://... or https://..., or give 'scheme')")
        host_text, path = text, ""
    if scheme not in SCHEMES:
        raise PatternError(f"'{text}': scheme '{scheme}' is not one of {', '.join(SCHEMES)}")
    host = parse_host(host_text)
    return Target(scheme=scheme, host=host, port=port if port is not None else DEFAULT_PORTS[scheme], path=path)
