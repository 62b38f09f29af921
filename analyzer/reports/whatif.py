"""The what-if's outputs: ``whatif.json``, ``whatif.csv`` and ``whatif.md`` of a
:class:`~analyzer.whatif.WhatIf`."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ..controls import dumps
from ..policy import Policy
from ..whatif import OUTCOMES, WhatIf


def whatif_document(result: WhatIf) -> dict:
    """The content of whatif.json as plain data."""

    def policy(p: Policy) -> dict:
        site = p.site
        return {
            "profile": p.profile.name,
            "wildcard": p.wildcard,
            "wsus_web_site": site.wsus_web_site,
            "site": site.file,
        }

    def rows(frame: pl.DataFrame) -> list[dict]:
        def plain(v):
            return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if hasattr(v, "strftime") else v

        return [{k: plain(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]

    return {
        "before": policy(result.before),
        "after": policy(result.after),
        "outcomes": OUTCOMES,
        "entries": rows(result.entries),
        "changes": rows(result.changes),
        "required": rows(result.required),
    }


def _md_rows(header: list[str], rows: list[list[str]], right: tuple[str, ...] = ("port", "flows")) -> list[str]:
    rule = ["---:" if h in right else "---" for h in header]
    return ["| " + " | ".join(r) + " |" for r in (header, rule, *rows)]


def whatif_markdown(result: WhatIf) -> str:
    """A Markdown section (for a ticket or a report): the changed entries, the verdict moves and
    the required flows added or removed. Every value is escaped."""
    from .escape import md, md_code

    b, a = result.before, result.after
    lines = [
        f"## What if: {md_code(b.profile.name)} → {md_code(a.profile.name)}",
        "",
        f"Wildcard mode {md_code(b.wildcard)} → {md_code(a.wildcard)}, WSUS web site "
        f"{md_code(b.site.wsus_web_site)} → {md_code(a.site.wsus_web_site)}.",
        "",
        "### Entries that change",
        "",
    ]
    entries = [
        [md_code(r["host"]), *(md(r[k]) for k in ("change", "before", "after", "flows", "touched"))]
        for r in result.entries.iter_rows(named=True)
    ]
    lines += _md_rows(["entry", "change", "before", "after", "flows", "flows touched"], entries)
    lines += ["", "### Verdicts that move", ""]
    if result.changes.is_empty():
        lines.append("No finding group changes its verdict.")
    else:
        moves = [
            [md(r["outcome"]), md(r["server"]), md_code(r["host"] or r["address"])]
            + [md(r[k]) for k in ("port", "scheme", "before", "after", "flows")]
            for r in result.changes.iter_rows(named=True)
        ]
        header = ["outcome", "server", "destination", "port", "scheme", "before", "after", "flows"]
        lines += _md_rows(header, moves)
    lines += ["", "### Required flows added or removed", ""]
    if result.required.is_empty():
        lines.append("The same flows are required under both.")
    else:
        required = [
            [md(r["change"]), md(r["server"]), md_code(r["entry"])]
            + [md(r[k]) for k in ("scheme", "port", "status", "outcome")]
            for r in result.required.iter_rows(named=True)
        ]
        lines += _md_rows(["change", "server", "entry", "scheme", "port", "status", "outcome"], required)
    return "\n".join(lines) + "\n"


def write_whatif(result: WhatIf, outdir: str | Path) -> list[Path]:
    """whatif.csv (the verdict moves), whatif.json (everything) and whatif.md into ``outdir``."""
    from ..output import write_frame

    folder = Path(outdir)
    folder.mkdir(parents=True, exist_ok=True)
    csv, js, mdfile = folder / "whatif.csv", folder / "whatif.json", folder / "whatif.md"
    write_frame(result.changes, csv)
    js.write_text(dumps(whatif_document(result), indent=2) + "\n", encoding="utf-8")
    mdfile.write_text(whatif_markdown(result), encoding="utf-8")
    return [csv, js, mdfile]


__all__ = ["whatif_document", "whatif_markdown", "write_whatif"]
