"""Control characters made visible and inert: the one mechanism for log text that is shown.

Log lines, file names and command arguments are untrusted. Printed raw, ``ESC ] 0 ; … BEL`` sets
a terminal's title, ``ESC [ 2 J`` clears it, a carriage return overprints a line, and a bidi
override (U+202E) reverses what a reader sees in a terminal, a browser or a spreadsheet. Every
path that prints or writes such text (the terminal, CSV, HTML, Markdown, chart labels, JSON)
passes it through this module, which replaces:

- C0 controls except tab (U+0000-U+001F), DEL (U+007F) and C1 controls (U+0080-U+009F) with
  ``\\xNN`` (``\\x1b`` for ESC, ``\\n`` for a newline inside a value, ``\\r`` for CR);
- bidi embeddings, overrides, isolates and marks, and the Unicode line and paragraph
  separators, with ``\\uNNNN``;
- undecodable bytes of a file name (Python's surrogate escapes) with ``\\xNN`` of the byte.

Printable text, tabs and non-ASCII letters are untouched, so an ordinary value reads as it is.
JSON keeps the exact value instead: :func:`json_inert` writes these characters as JSON's own
``\\uNNNN`` escapes, which any JSON reader turns back into the original text.

Example: ``inert("a\\x1b[31mb")`` is ``"a\\\\x1b[31mb"`` (shown as ``a\\x1b[31mb``).
"""

from __future__ import annotations

import json
import re

import polars as pl
from markupsafe import Markup

_NAMED = {"\n": "\\n", "\r": "\\r"}
_BIDI = (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C, 0x2028, 0x2029)

_TABLE: dict[int, str] = {}
for _code in (*range(0x00, 0x20), *range(0x7F, 0xA0)):
    if _code != 0x09:
        _TABLE[_code] = _NAMED.get(chr(_code), f"\\x{_code:02x}")
for _code in _BIDI:
    _TABLE[_code] = f"\\u{_code:04x}"
_TEXT_TABLE = dict(_TABLE)  # what polars can hold: valid Unicode scalar values
for _code in range(0xDC80, 0xDD00):  # os.fsdecode's escapes of undecodable bytes (0x80-0xFF)
    _TABLE[_code] = f"\\x{_code - 0xDC00:02x}"
for _code in (*range(0xD800, 0xDC80), *range(0xDD00, 0xE000)):  # other lone surrogates
    _TABLE[_code] = f"\\u{_code:04x}"

UNSAFE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_TABLE)) + "]")
"""Matches one character that :func:`inert` replaces."""

_POLARS_CLASS = "[" + "".join(f"\\x{{{c:x}}}" for c in sorted(_TEXT_TABLE)) + "]"
_FROM = [chr(c) for c in sorted(_TEXT_TABLE)]
_TO = [_TEXT_TABLE[c] for c in sorted(_TEXT_TABLE)]


def inert(value: object) -> str:
    """``value`` as text with control characters and bidi controls made visible (see above).

    ``None`` becomes ``""``. Example: ``inert("x\\u202ey")`` is ``"x\\\\u202ey"``.
    """
    if value is None:
        return ""
    return str(value).translate(_TABLE)


def has_unsafe(text: str) -> bool:
    """Whether ``text`` holds a character that :func:`inert` would replace."""
    return UNSAFE.search(text) is not None


def inert_expr(column: pl.Expr) -> pl.Expr:
    """:func:`inert` as a polars expression over a String column (vectorized; values without
    such characters, nearly all, are only scanned). Example: ``df.with_columns(inert_expr(pl.col("url")))``."""
    return pl.when(column.str.contains(_POLARS_CLASS)).then(column.str.replace_many(_FROM, _TO)).otherwise(column)


def inert_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every String column of ``frame`` through :func:`inert_expr`."""
    exprs = [inert_expr(pl.col(name)).alias(name) for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(exprs) if exprs else frame


_JSON_UNSAFE = re.compile("[\x7f-\x9f\ud800-\udfff" + "".join(chr(c) for c in _BIDI) + "]")


def json_inert(text: str) -> str:
    """JSON text (as ``json.dumps(..., ensure_ascii=False)`` writes it) with DEL, C1 and bidi
    controls, and the lone surrogates of undecodable file names, written as ``\\uNNNN``
    escapes: the same data, and no raw control in the file (``json.dumps`` already escapes C0).
    Example: ``json_inert(json.dumps("\\u009b"))`` is ``'"\\\\u009b"'``."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_JSON_INERT_FROM = [chr(c) for c in (*range(0x7F, 0xA0), *_BIDI)]
_JSON_INERT_TO = [f"\\u{ord(c):04x}" for c in _JSON_INERT_FROM]
_JSON_INERT_CLASS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in _JSON_INERT_FROM) + "]"


def json_inert_expr(column: pl.Expr) -> pl.Expr:
    """:func:`json_inert` as a polars expression over a String column of JSON texts (vectorized;
    texts without such characters, nearly all, are only scanned). A polars string is valid
    UTF-8, so it holds no lone surrogate: DEL, C1 and bidi controls are all there is to replace.
    Example: ``lines.select(json_inert_expr(pl.col("json")))``."""
    escaped = column.str.replace_many(_JSON_INERT_FROM, _JSON_INERT_TO)
    return pl.when(column.str.contains(_JSON_INERT_CLASS)).then(escaped).otherwise(column)


def dumps(data: object, **kwargs) -> str:
    """``json.dumps`` (UTF-8 text, not ASCII escapes) followed by :func:`json_inert`."""
    return json_inert(json.dumps(data, ensure_ascii=False, **kwargs))


def html_finalize(value: object) -> object:
    """jinja2 ``finalize`` hook of HTML templates: every printed text has its control characters
    made visible (:func:`inert`) before autoescaping; markup (escaped already, as ``breakable``
    makes) stays markup, as inert adds no HTML-special character."""
    if isinstance(value, Markup):
        return Markup(inert(str(value)))
    if isinstance(value, str):
        return inert(value)
    return value
