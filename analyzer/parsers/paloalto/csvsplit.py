"""Quote-aware splitting of many CSV lines at once, one row per line guaranteed.

polars' CSV reader does the work: the lines are joined and read in one call that materializes
only the wanted columns. It treats a quote left open as running into the next line, so when the
rows do not come out one per line, the lines that contain a quote are split again with Python's
csv module, each on its own (rare: the PAN-OS reader rejects unbalanced quotes beforehand).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence

import polars as pl


def options(width: int) -> dict:
    """Options of polars' CSV reader (``read_csv``, ``scan_csv``) for PAN-OS lines: no header,
    every column text, ``width`` columns that matter (missing ones null, later ones ignored)."""
    return {
        "has_header": False,
        "infer_schema": False,
        "schema": {f"c{i}": pl.String for i in range(width)},
        "missing_columns": "insert",
        "extra_columns": "ignore",
        "truncate_ragged_lines": True,
        "quote_char": '"',
    }


def read_rows(data: bytes, n_rows: int, width: int, indexes: Sequence[int]) -> pl.DataFrame | None:
    """Columns ``c{i}`` (``i`` in ``indexes``) of the CSV lines in ``data``; None unless they come
    out as ``n_rows`` rows, one per line (a quote left open runs into the next line)."""
    try:
        frame = pl.read_csv(data, columns=list(indexes), **options(width))
    except pl.exceptions.PolarsError:
        return None
    return frame if frame.height == n_rows else None


def _read(texts: pl.Series, width: int, indexes: Sequence[int]) -> pl.DataFrame | None:
    return read_rows(texts.str.join("\n").cast(pl.Binary).item(), texts.len(), width, indexes)


def _read_python(texts: pl.Series, indexes: Sequence[int]) -> pl.DataFrame:
    rows = []
    for text in texts.to_list():
        try:
            row = next(csv.reader([text]), [])
        except csv.Error:
            row = []
        rows.append([(row[i] or None) if i < len(row) else None for i in indexes])
    return pl.DataFrame(rows, schema={f"c{i}": pl.String for i in indexes}, orient="row")


def split(texts: pl.Series, width: int, indexes: Sequence[int] | None = None) -> pl.DataFrame:
    """Columns ``c{i}`` (String, empty → null) for ``i`` in ``indexes`` of each CSV line.

    ``width`` is how many columns a line may have that matter; later ones are ignored and
    missing ones are null. Example: ``split(pl.Series(['a,"b,c"']), 2)`` gives ``c0="a"``,
    ``c1="b,c"``.
    """
    indexes = list(range(width)) if indexes is None else list(indexes)
    if texts.len() == 0:
        return pl.DataFrame(schema={f"c{i}": pl.String for i in indexes})
    frame = _read(texts, width, indexes)
    if frame is not None:
        return frame
    quoted = texts.str.contains('"', literal=True)
    plain = _read(texts.filter(~quoted), width, indexes) if not quoted.all() else None
    parts = [p for p in (plain, _read_python(texts.filter(quoted), indexes)) if p is not None]
    position = pl.int_range(0, texts.len(), eager=True)
    order = pl.concat([position.filter(~quoted), position.filter(quoted)])
    return pl.concat(parts).with_columns(order.alias("_i")).sort("_i").drop("_i")
