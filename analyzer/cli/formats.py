"""List the log formats the analyzer reads."""

from __future__ import annotations

from rich.table import Table

from ..parsers import REGISTRY
from .common import print_table


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    table = Table(title="Log formats", show_lines=False)
    table.add_column("format")
    table.add_column("kind")
    table.add_column("description")
    for name, parser in REGISTRY.items():
        table.add_row(name, parser.kind, parser.description)
    print_table(table, False)
    return 0
