"""Palo Alto Networks PAN-OS: syslog CSV of every version, and web-UI "Export to CSV" files.

Syslog lines carry a CSV payload behind any header (BSD with or without PRI and host, RFC 5424,
a relay's ISO time stamp) or none; the payload is found by its shape
``N,YYYY/MM/DD hh:mm:ss,`` rather than by position. Columns are read by position
(:mod:`.columns`): TRAFFIC, THREAT (subtype ``url`` gives the host) and DECRYPTION logs
become flows; other log types are rejects that name the type.

The family: :mod:`.syslog` parses a chunk of syslog lines (quote-aware, vectorized),
:mod:`.export` web-UI exports, :mod:`.columns` the column positions of every version,
:mod:`.convert` checks the fields and makes flows, :mod:`.csvsplit` the CSV splitting, and
:mod:`.stream` reads big plain files whole with polars' streaming engine.

Times: PAN-OS writes local time without a zone. The 10.x high-resolution timestamp (TRAFFIC
column 102, THREAT 107) carries its offset and is used when present; otherwise the generated
time (column 6, when the event happened, rather than the receive time) is read in
``ParseOptions.tz``. Each file's notes say which zone was used.
"""

from __future__ import annotations

import re

from ...flows import Evidence
from ..base import ParseOptions, Parser
from . import export, stream
from .convert import NAME
from .syslog import parse, parse_chunk

_SNIFF = re.compile(r"(?:^|\s)\d+,\d{4}/\d\d/\d\d \d\d:\d\d:\d\d,[^,]*,[A-Z][A-Z0-9_-]*,")


def sniff(head: list[str], options: ParseOptions) -> bool:
    """PAN-OS when the first non-blank line is a web-UI export header, or when at least half of
    the first non-blank lines hold a PAN-OS CSV payload (``N,YYYY/MM/DD hh:mm:ss,x,TYPE,``)."""
    lines = [ln for ln in head if ln.strip()][:20]
    if not lines:
        return False
    if export.header_fields(lines[0]) is not None:
        return True
    hits = sum(1 for ln in lines if _SNIFF.search(ln))
    return hits * 2 >= len(lines)


PARSER = Parser(
    name=NAME,
    description="Palo Alto PAN-OS: syslog CSV (TRAFFIC, THREAT/url, any version and header), web-UI CSV exports",
    sniff=sniff,
    parse=parse,
    parse_chunk=parse_chunk,
    parse_file=stream.parse_file,
    concurrent_chunks=True,
    # The first chunk decides whether the file is a web export (ctx.state); later ones only read it.
    state_from_first_chunk=True,
    # URL logs carry host and address; TRAFFIC logs of the same session take the URL log's host.
    evidence=Evidence("session", session_keys=("device", "session_id"), session_seconds="elapsed_sec"),
)
