"""Markdown escaping of untrusted text (host names, URLs, users, rule names from logs).

HTML escaping is jinja2's autoescape and CSV cells go through
:func:`analyzer.output.neutralize_formulas`; this module covers the third renderer, Markdown,
where a value must not be able to break a table row, start a heading or list, emphasize, inject
a link, an image or raw HTML, or become an autolink (GitHub, GitLab and most ticket systems turn
``http://...``, ``www....`` and ``a@b.c`` into links by themselves).
"""

from __future__ import annotations

import re

from markupsafe import Markup

from ..controls import inert

# Characters CommonMark lets a backslash escape and that mean something inline (emphasis, code,
# links, images, raw HTML, entities, table cells, strikethrough). Escaping each one keeps the
# value literal while every renderer still shows the original character.
_INLINE = re.compile(r"([\\`*_{}\[\]<>()!|~&@])")
# At the start of a line these begin a block (heading, quote, list, ordered list, thematic break).
_BLOCK_START = re.compile(r"^(\s*)([#>+\-=])")
# "1. " or "1) " starts an ordered list; an address such as 192.0.2.10 does not.
_ORDERED_START = re.compile(r"^(\s*\d{1,9})([.)])(?=\s|$)")
# Autolinks: "scheme://" and "www." are recognised without brackets; breaking the sequence with a
# backslash escape leaves the text unchanged to the eye but not a link.
_AUTOLINK = re.compile(r"(?i)(:)(?=//)|(?<![\w.])(www)(\.)")
# Tabs would read as indentation; other control characters are made visible by inert() first.
_CONTROL = re.compile(r"\t+")


def md(value: object) -> str:
    """Escape ``value`` for use anywhere inline in Markdown, including a table cell.

    ``None`` becomes an empty string; numbers are shown as they are; :class:`Markup` (text the
    report itself made, never log text) passes through untouched.

    Example: ``md("[x](javascript:alert(1))|y")`` gives ``\\[x\\]\\(javascript:alert\\(1\\)\\)\\|y``.
    """
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, bool | int | float):
        return str(value)
    text = _CONTROL.sub(" ", inert(value))
    text = _INLINE.sub(r"\\\1", text)
    text = _AUTOLINK.sub(lambda m: "\\:" if m.group(1) else f"{m.group(2)}\\.", text)
    text = _ORDERED_START.sub(r"\1\\\2", text)
    return _BLOCK_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)


def md_code(value: object) -> Markup:
    """``value`` as a Markdown code span, for literal text such as URLs and allow-list entries.

    Inside a code span nothing is interpreted except the fence itself and, in a table, ``|``;
    the fence is made longer than any run of backticks in the value, and ``|`` is escaped
    (GitHub-flavoured tables honour ``\\|`` even in code spans). Example: ``md_code("*.x")``
    gives ``` `*.x` ```.
    """
    if value is None or value == "":
        return Markup("")
    text = _CONTROL.sub(" ", inert(value)).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")) else ""
    return Markup(f"{fence}{pad}{text}{pad}{fence}")


def finalize(value: object) -> object:
    """jinja2 ``finalize`` hook: every ``{{ value }}`` of a Markdown template is escaped.

    This makes escaping the default, like HTML autoescape: a template must mark text as
    :class:`Markup` to print it raw. Example: ``Environment(finalize=finalize)``.
    """
    return md(value)
