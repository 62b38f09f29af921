"""The registry of log formats, and format detection.

``REGISTRY`` is a read-only dict from format name to :class:`Parser`. One word names a format
everywhere: module, registry key, ``--format`` value, ``source_format`` column, sample folder.
Parsers import only this package, :mod:`analyzer.flows` (the contracts) and
:mod:`analyzer.errors`; nothing outside this package names a format.

How to add a format
-------------------

1. Write ``parsers/NAME.py`` (or a package ``parsers/NAME/`` for a family of files) with:

   - ``sniff(head, options) -> bool``: whether a file's first lines are this format;
   - ``parse(lines, ctx) -> ParseOutput``: one chunk (a frame of ``line_no``, ``text``) to flows
     (``flows.conform_flows``) and rejects (``base.reject_frame``), vectorized, single-threaded,
     every line accounted for (``records + rejects + sum(skipped) == lines``); the normalizers
     of :mod:`analyzer.flows` for times, hosts and addresses;
   - ``PARSER = Parser(name, description, sniff, parse, ...)``, with ``evidence=Evidence(...)``
     when its lines tie hosts to addresses (a proxy's next hop; sessions by key columns), and
     ``hint`` when a near-miss deserves a better error message.

2. Add one line to ``REGISTRY`` below.
3. Put realistic samples, malformed lines included, in ``data/samples/NAME/``.
4. Generate the golden files once (``make goldens``), read them, commit them.

Nothing else changes: the pipeline, attribution (through ``Parser.evidence``), the CLI and the
reports learn of the format from the registry. ``tests/parsers/test_add_a_format.py`` does
exactly this with a format registered in the test alone.
"""

from __future__ import annotations

from types import MappingProxyType

from ..errors import InputError, UnknownNameError
from ..flows import Evidence
from . import paloalto, squid, winfirewall
from .base import ParseContext, ParseOptions, ParseOutput, Parser
from .dns import dnscsv, zeekdns

# Order matters only for detection messages; sniffs are meant to be mutually exclusive (a
# conformance test checks that no parser claims another format's samples).
REGISTRY: MappingProxyType[str, Parser] = MappingProxyType(
    {
        squid.PARSER.name: squid.PARSER,
        paloalto.PARSER.name: paloalto.PARSER,
        winfirewall.PARSER.name: winfirewall.PARSER,
        dnscsv.PARSER.name: dnscsv.PARSER,
        zeekdns.PARSER.name: zeekdns.PARSER,
    }
)

__all__ = ["REGISTRY", "ParseContext", "ParseOptions", "ParseOutput", "Parser", "declared_evidence", "detect", "get"]


def declared_evidence() -> dict[str, Evidence]:
    """Format → the evidence its flows yield, for the formats that declare some (attribution
    reads this, never a format's name)."""
    return {name: p.evidence for name, p in REGISTRY.items() if p.evidence is not None}


def get(name: str) -> Parser:
    """The parser registered as ``name``, or :class:`UnknownNameError` with a suggestion."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownNameError("format", name, REGISTRY) from None


def detect(head: list[str], options: ParseOptions, file: str) -> Parser:
    """The one parser whose sniff accepts ``head``; an :class:`InputError` listing what was
    tried (and any parser's hint) when none does."""
    meaningful = [ln for ln in head if ln.strip()]
    if not meaningful:
        raise InputError("empty file: no lines to recognise", file=file)
    for parser in REGISTRY.values():
        if parser.sniff(head, options):
            return parser
    hints = [h for p in REGISTRY.values() if p.hint and (h := p.hint(head))]
    tried = ", ".join(REGISTRY)
    message = f"format not recognised (tried {tried}); pass --format NAME"
    if hints:
        message = f"{hints[0]} (tried {tried})"
    raise InputError(message, file=file)
