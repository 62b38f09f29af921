"""``report.md``: the HTML report's structure in Markdown, for tickets and mail.

Rendered by jinja2 with :func:`.escape.finalize` on every printed value, so escaping is the
default as it is in HTML: host names, URLs, users and rule names from logs cannot break a table,
start a heading, or inject a link, an image or HTML. Charts are linked as ``charts/*.png`` (the
``charts`` writer puts them beside the report).
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader

from . import view
from .escape import finalize, md_code

TEMPLATES = Path(__file__).parent / "templates"


def environment() -> Environment:
    """The jinja2 environment of the Markdown report: Markdown escaping on every ``{{ }}``."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=False,  # HTML escaping would be wrong here; finalize does Markdown escaping
        finalize=finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["code"] = md_code
    return env


def render(result) -> str:
    """The Markdown report of ``result`` as text. Example: ``"## Inputs" in render(result)``."""
    context = view.build(result)
    return environment().get_template("report.md.j2").render(context)


def write(result, outdir: str | Path) -> Path:
    """Write ``report.md`` into ``outdir``. Example: ``write(result, "out")``."""
    return view.save(render(result), outdir, "report.md")
