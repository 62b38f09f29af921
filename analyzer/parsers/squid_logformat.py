"""Custom Squid logformat definitions compiled to parsers. (in progress)"""

import polars as pl


def parse(lines: pl.DataFrame, ctx, definition: str):
    raise NotImplementedError


def count_matches(lines: list[str], definition: str) -> int:
    raise NotImplementedError
