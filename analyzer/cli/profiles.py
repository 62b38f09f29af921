"""List the built-in allow-list profiles, show one, or compare two.

  analyzer profiles               the profiles, their documents and versions
  analyzer profiles show NAME     one profile's entries (scheme, port, kind, literal text)
  analyzer profiles diff A B      host patterns added, removed, or changed in scheme or port from A to
                                  B, and peer ports added or removed

NAME may also be a path to a profile file of the same form.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from ..errors import AnalyzerError, UnknownNameError
from ..policy import DEFAULT_PROFILE, builtin_names, diff_profiles, load_profile
from .common import print_table


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", metavar="list|show|diff", default="list")
    parser.add_argument("names", nargs="*", metavar="NAME", help="profile name(s) or file(s)")


ACTIONS = {"list": 0, "show": 1, "diff": 2}
"""Each action and how many profile names it takes."""


def run(args) -> int:
    if args.action not in ACTIONS:
        raise UnknownNameError("profiles action", args.action, ACTIONS)
    want = ACTIONS[args.action]
    if len(args.names) != want:
        usage = {"list": "profiles", "show": "profiles show NAME", "diff": "profiles diff A B"}[args.action]
        raise AnalyzerError(f"usage: analyzer {usage}")
    if args.action == "list":
        print_table(list_table(), False)
    elif args.action == "show":
        print_table(show_table(args.names[0]), False)
    else:
        print_table(diff_table(*args.names), False)
    return 0


def list_table() -> Table:
    table = Table(title="Built-in profiles")
    table.caption = "analyzer profiles show NAME: entries and the document's address"
    for col in ("name", "role", "entries", "title", "version"):
        table.add_column(col, overflow="fold")
    for name in builtin_names():
        p = load_profile(name)
        label = f"{name} (default)" if name == DEFAULT_PROFILE else name
        n = str(len(p.entries)) + (f" + {len(p.ports)} ports" if p.ports else "")
        table.add_row(label, p.role, n, p.title, p.version)
    return table


def show_table(name: str) -> Table:
    p = load_profile(name)
    table = Table(title=f"{escape(p.name)}: {escape(p.title)} ({escape(p.document)}, {escape(p.version)})")
    for col in ("entry", "scheme", "port", "kind", "host pattern", "note"):
        table.add_column(col)
    for e in p.entries:
        note = " ".join(x for x in (e.written and f"written: {e.written}", e.note) if x)
        table.add_row(escape(e.text), e.scheme, str(e.port), e.target.host.kind, escape(e.host), escape(note))
    for port in p.ports:
        table.add_row(port.label, "", str(port.port), "peer port", "(any peer)", port.protocol)
    table.caption = escape(p.url)
    return table


def diff_table(a: str, b: str) -> Table:
    pa, pb = load_profile(a), load_profile(b)
    rows = diff_profiles(pa, pb)
    table = Table(title=f"{escape(pa.name)} → {escape(pb.name)}")
    for col in ("host pattern", "change", pa.name, pb.name):
        table.add_column(escape(col))
    for row in rows:
        table.add_row(escape(row["host"]), row["change"], row["before"], row["after"])
    if not rows:
        table.caption = "no differences in hosts, schemes, ports or peer ports"
    return table
