"""``report.html``: one self-contained page for security and infrastructure teams.

The answer first (is anything required blocked? is anything unexpected getting through?), then
the evidence, then the detail. Charts are embedded as base64 PNGs and the CSS is inline, so the
file can be mailed, archived or printed without network access. The page is rendered by jinja2
with autoescaping; a Content-Security-Policy forbids scripts and remote content as a second line of
defence against log text that slipped through.
"""

from __future__ import annotations

import base64
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ..controls import html_finalize
from . import charts, view

TEMPLATES = Path(__file__).parent / "templates"


def breakable(value: object) -> Markup:
    """Escape ``value`` and let the browser break it after dots and slashes (host names, paths).

    Escaping comes first, so the only markup added is ours. Example:
    ``breakable("a.b/<c>") == Markup("a.<wbr>b/<wbr>&lt;c&gt;")``.
    """
    if value is None:
        return Markup("")
    text = str(escape(str(value)))
    return Markup(text.replace(".", ".<wbr>").replace("/", "/<wbr>"))


def environment() -> Environment:
    """The jinja2 environment of the HTML report (autoescape on for ``.html.j2``)."""
    env = Environment(
        finalize=html_finalize,
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["breakable"] = breakable
    return env


def render(result, images: dict[str, bytes] | None = None) -> str:
    """The HTML report of ``result`` as text; ``images`` are chart PNGs (drawn when omitted).

    Example: ``"<section id=\\"blocked\\">" in render(result)``.
    """
    images = charts.render(result) if images is None else images
    context = view.build(result)
    context["charts"] = {name: base64.b64encode(png).decode("ascii") for name, png in images.items()}
    return environment().get_template("report.html.j2").render(context)


def write(result, outdir: str | Path) -> Path:
    """Write ``report.html`` into ``outdir``. Example: ``write(result, "out")``."""
    return view.save(render(result), outdir, "report.html")
