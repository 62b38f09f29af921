"""Explain the policy for a host: which allow-list entries cover it, and why others do not.

  analyzer policy explain HOST [--site SITE.toml] [--profile NAME] [--wildcard subdomains|apex]

Without --site the default profile (or --profile) is explained with wildcard "subdomains".
"""

from __future__ import annotations

from dataclasses import replace

from rich.markup import escape
from rich.table import Table

from ..errors import UnknownNameError
from ..policy import load_policy
from ..policy.explain import explain_host, standalone_policy
from ..policy.patterns import WILDCARD_MODES
from .common import print_table, say


def add_arguments(parser) -> None:
    parser.add_argument("action", metavar="explain")
    parser.add_argument("host", metavar="HOST", help="a host name (or address) as a log would show it")
    parser.add_argument("--site", metavar="SITE.toml", help="the site file (profile, wildcard mode, servers)")
    parser.add_argument("--profile", metavar="NAME", help="allow-list profile instead of the site's")
    parser.add_argument("--wildcard", choices=WILDCARD_MODES, help="override the wildcard mode")


def run(args) -> int:
    if args.action != "explain":
        raise UnknownNameError("policy action", args.action, ["explain"])
    policy = load_policy(args.site, profile=args.profile) if args.site else standalone_policy(args.profile)
    if args.wildcard and args.wildcard != policy.wildcard:
        policy = replace(policy, site=replace(policy.site, wildcard=args.wildcard))
    folded, rows, notes = explain_host(args.host, policy)
    table = Table(title=f"{escape(folded)} under {escape(policy.profile.name)} (wildcard {policy.wildcard})")
    for col in ("covers", "list", "entry", "scheme", "port", "why"):
        table.add_column(col)
    for r in rows:
        if not r.covers and r.why in ("different host", "different domain"):
            continue  # unrelated entries say nothing about this host
        mark = "yes" if r.covers else "no"
        table.add_row(mark, escape(r.profile), escape(r.entry), r.scheme, str(r.port), escape(r.why))
    unrelated = sum(1 for r in rows if not r.covers and r.why in ("different host", "different domain"))
    table.caption = f"{unrelated} other entries concern other domains"
    print_table(table, False)
    for note in notes:
        say(note)
    return 0
