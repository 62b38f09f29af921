"""Markdown escaping of hostile log text, checked by rendering with a GFM-like parser."""

import re

import pytest
from markdown_it import MarkdownIt
from markupsafe import Markup

from analyzer.controls import inert
from analyzer.reports.escape import finalize, md, md_code

HOSTILE = [
    "http://evil.test/<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "evil.test|[x](javascript:alert(1))",
    "![pixel](http://evil.test/p.png)",
    "<https://evil.test>",
    "www.evil.test",
    "admin@evil.test",
    "# heading",
    "> quote",
    "- item",
    "+ item",
    "1. item",
    "**bold** _em_ ~~strike~~ `code`",
    "line one\nline two\r\n| injected | row |",
    "&lt;script&gt;",
    "back\\slash\\|",
    "[ref]: http://evil.test",
]


def render_cell(text: str) -> str:
    markdown = MarkdownIt("gfm-like")  # tables, strikethrough, linkify like GitHub
    return markdown.render(f"| value | next |\n| --- | --- |\n| {text} | end |\n")


def cells(html: str) -> list[str]:
    return re.findall(r"<td>(.*?)</td>", html, flags=re.S)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_stays_literal_text_in_a_table(value):
    html = render_cell(md(value))
    found = cells(html)
    assert found[-1] == "end", html  # the row was not broken
    assert len(found) == 2, html
    assert "<a " not in html and "<img" not in html and "<script" not in html and "<code>" not in html
    assert "<strong>" not in html and "<em>" not in html and "<s>" not in html and "<h1>" not in html
    # What a reader sees is the value itself (line breaks shown as \n and \r, as everywhere).
    shown = found[0].replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    assert shown == inert(value).strip()


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_stays_literal_at_the_start_of_a_line(value):
    html = MarkdownIt("gfm-like").render(md(value) + "\n")
    assert html.startswith("<p>"), html  # no heading, list, quote or link definition
    assert "<a " not in html and "<img" not in html and "<script" not in html


@pytest.mark.parametrize("value", ["192.0.2.10", "sup-cas.corp.example.com", "2001:db8::1", "port 8530"])
def test_ordinary_values_are_left_readable(value):
    assert md(value) == value


def test_none_numbers_and_markup():
    assert md(None) == ""
    assert md(8530) == "8530"
    assert md(Markup("**ours**")) == "**ours**"
    assert finalize("a|b") == "a\\|b"


@pytest.mark.parametrize("value", ["*.windowsupdate.com", "a|b", "x`y", "`start", "http://evil.test/<b>"])
def test_code_span_keeps_text_and_cell(value):
    html = render_cell(md_code(value))
    found = cells(html)
    assert len(found) == 2 and found[-1] == "end", html
    code = re.fullmatch(r"<code>(.*)</code>", found[0], flags=re.S)
    assert code, html
    assert code.group(1).strip().replace("&lt;", "<").replace("&gt;", ">") == value.strip()


def test_code_span_of_nothing_is_empty():
    assert md_code(None) == "" and md_code("") == ""
