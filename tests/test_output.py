"""Writing frames: Parquet and CSV through FrameWriter (background thread), formula safety."""

from __future__ import annotations

import polars as pl
import pyarrow.parquet as pq
import pytest

from analyzer.errors import AnalyzerError
from analyzer.output import FrameWriter, format_of, neutralize_formulas, write_frame

SCHEMA = pl.Schema({"n": pl.Int64, "text": pl.String})


def _chunks():
    return [
        pl.DataFrame({"n": list(range(i, i + 3)), "text": [f"t{j}" for j in range(3)]}, schema=SCHEMA)
        for i in (0, 3, 6)
    ]


@pytest.mark.parametrize("background", [True, False])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_chunks_written_in_order(tmp_path, suffix, background):
    path = tmp_path / f"out{suffix}"
    with FrameWriter(path, SCHEMA, background=background) as writer:
        for chunk in _chunks():
            writer.write(chunk)
    assert writer.rows == 9
    read = pl.read_parquet(path) if suffix == ".parquet" else pl.read_csv(path, schema=SCHEMA)
    assert read.equals(pl.concat(_chunks()))


def test_empty_csv_still_has_its_header(tmp_path):
    path = tmp_path / "out.csv"
    FrameWriter(path, SCHEMA).close()
    assert path.read_text() == "n,text\n"


def test_an_error_in_the_writer_thread_reaches_the_caller(tmp_path):
    writer = FrameWriter(tmp_path / "out.parquet", SCHEMA)
    writer.write(pl.DataFrame({"n": ["not a number"], "text": ["x"]}))
    with pytest.raises(Exception):  # noqa: B017 - whatever Arrow raises for the bad cast
        writer.close()


def test_formulas_are_neutralized_but_a_lone_dash_is_kept():
    frame = pl.DataFrame({"v": ["=1+1", "+x", "-2", "@a", "\tq", "\rr", "-", "ok"]})
    assert neutralize_formulas(frame)["v"].to_list() == ["'=1+1", "'+x", "'-2", "'@a", "'\tq", "'\rr", "-", "ok"]
    # The CSV writer applies it to every text column.
    assert format_of("a.CSV") == "csv"


def test_unknown_output_suffix_is_a_one_line_error(tmp_path):
    with pytest.raises(AnalyzerError, match=r"use \.parquet or \.csv"):
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / "out.xlsx")


def test_parquet_encodings_follow_the_first_frame(tmp_path):
    schema = pl.Schema({"line_no": pl.Int64, "src_ip": pl.String, "url_path": pl.String, "user": pl.String})
    n = 1000
    frame = pl.DataFrame(
        {
            "line_no": range(1, n + 1),
            "src_ip": [f"192.0.2.{i % 4}" for i in range(n)],
            "url_path": [f"/p/{i}" for i in range(n)],
            "user": ["-"] * n,
        },
        schema=schema,
    )
    path = tmp_path / "out.parquet"
    with FrameWriter(path, schema) as writer:
        writer.write(frame)
        writer.write(frame.with_columns(pl.col("line_no") + n))
    meta = pq.ParquetFile(path).metadata
    columns = {meta.row_group(0).column(i).path_in_schema: meta.row_group(0).column(i) for i in range(4)}
    assert "DELTA_BINARY_PACKED" in columns["line_no"].encodings
    assert "RLE_DICTIONARY" in columns["src_ip"].encodings
    assert "RLE_DICTIONARY" not in columns["url_path"].encodings
    # Statistics where readers filter (numbers, times, addresses, hosts), not on long text.
    assert columns["line_no"].statistics.min == 1 and columns["src_ip"].statistics.max == "192.0.2.3"
    assert columns["url_path"].statistics is None and columns["user"].statistics is None
    read = pl.read_parquet(path)
    assert read.equals(pl.concat([frame, frame.with_columns(pl.col("line_no") + n)]))


def test_empty_parquet_is_a_valid_file_with_the_schema(tmp_path):
    path = tmp_path / "out.parquet"
    FrameWriter(path, SCHEMA).close()
    assert pl.read_parquet(path).schema == SCHEMA


def test_encodings_are_chosen_from_the_first_frame_with_rows(tmp_path):
    path = tmp_path / "out.parquet"
    with FrameWriter(path, SCHEMA) as writer:
        writer.write(pl.DataFrame(schema=SCHEMA))
        writer.write(pl.DataFrame({"n": range(100), "text": [str(i) for i in range(100)]}, schema=SCHEMA))
    column = pq.ParquetFile(path).metadata.row_group(0).column(0)
    assert "DELTA_BINARY_PACKED" in column.encodings
    assert pl.read_parquet(path)["n"].to_list() == list(range(100))
