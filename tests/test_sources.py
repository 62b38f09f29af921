"""Sources: compression, encodings, line ends, rotation order, folders and globs, chunking."""

from __future__ import annotations

import bz2
import gzip

import polars as pl
import pytest
import zstandard

from analyzer.errors import InputError
from analyzer.sources import SourceFile, expand, iter_chunks, read_head

TEXT = "first line\nsecond line\nthird line\n"


def _read(path, chunk_bytes=64 * 1024):
    src = SourceFile(path=path, name=str(path))
    chunks = list(iter_chunks(src, chunk_bytes=chunk_bytes))
    frame = pl.concat([c.lines for c in chunks]) if chunks else None
    return frame, sum(c.decode_errors for c in chunks), chunks


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        ("plain.log", lambda b: b),
        ("a.log.gz", gzip.compress),
        ("a.log.bz2", bz2.compress),
        ("a.log.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
        ("misnamed.log", gzip.compress),  # recognised by magic bytes, not by name
    ],
)
def test_compression(write, name, encode):
    frame, errors, _ = _read(write(name, encode(TEXT.encode())))
    assert frame["text"].to_list() == ["first line", "second line", "third line"]
    assert frame["line_no"].to_list() == [1, 2, 3]
    assert errors == 0


def test_bom_and_crlf(write):
    frame, _, _ = _read(write("bom.log", b"\xef\xbb\xbfone\r\ntwo\r\n\r\nfour"))
    assert frame["text"].to_list() == ["one", "two", "", "four"]
    assert frame["line_no"].to_list() == [1, 2, 3, 4]


def test_undecodable_bytes_replaced_and_counted(write):
    frame, errors, _ = _read(write("bad.log", b"ok \xff\xfe line\nreal \xef\xbf\xbd stays\n"))
    assert frame["text"].to_list() == ["ok \ufffd\ufffd line", "real \ufffd stays"]
    assert errors == 2  # the U+FFFD the file really held is not counted


def test_utf16_le_with_bom(write):
    frame, _, _ = _read(write("ps.log", "\ufeffalpha\r\nbeta\r\n".encode("utf-16-le")))
    assert frame["text"].to_list() == ["alpha", "beta"]
    src = SourceFile(path=write("ps2.log", "\ufeffalpha\r\nbeta\r\n".encode("utf-16-le")), name="ps2.log")
    assert read_head(src)[:2] == ["alpha", "beta"]


def test_chunk_boundaries_keep_true_line_numbers(write):
    lines = [f"line {i} " + "x" * (i % 7) for i in range(1, 201)]
    lines[57] = "L" * 500  # longer than a chunk
    frame, _, chunks = _read(write("big.log", "\n".join(lines) + "\n"), chunk_bytes=64)
    assert len(chunks) > 10
    assert frame["line_no"].to_list() == list(range(1, 201))
    assert frame["text"].to_list() == lines
    starts = [c.lines["line_no"][0] for c in chunks if c.lines.height]
    assert starts == sorted(starts)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 7, 16, 33, 4096])
def test_every_chunk_size_gives_the_same_lines(write, chunk_bytes, compress):
    # Blocks are split where they fall: inside a multibyte character, between CR and LF, inside
    # a line longer than a block, just after a bad byte. Every cut must give the same lines.
    data = "é€ one\r\n\r\ntwo 🙂 two\nthree\n\nfour\r\nfive".encode() + b" \xff bad\nsix\r\n"
    frame, errors, chunks = _read(write("cuts.log", gzip.compress(data) if compress else data), chunk_bytes)
    expected = data.decode("utf-8", errors="replace").split("\n")[:-1]
    assert frame["text"].to_list() == [line.removesuffix("\r") for line in expected]
    assert frame["line_no"].to_list() == list(range(1, len(expected) + 1))
    assert errors == 1
    # Where a chunk keeps the bytes it was split from, its lines are their first rows.
    with_data = [c for c in chunks if c.data is not None]
    assert with_data or chunk_bytes == 4096  # one block, with the bad byte: split the slow way
    for c in with_data:
        assert pl.read_lines(c.data, name="text").head(c.lines.height).equals(c.lines.select("text"))


def test_last_line_without_newline(write):
    frame, _, _ = _read(write("nonl.log", "a\nb"), chunk_bytes=1)
    assert frame["text"].to_list() == ["a", "b"] and frame["line_no"].to_list() == [1, 2]


def test_empty_file(write):
    _, _, chunks = _read(write("empty.log", b""))
    assert sum(c.lines.height for c in chunks) == 0


def test_rotated_names_oldest_first(tmp_path, write):
    for name in ("access.log", "access.log.1", "access.log.2.gz", "access.log.10.gz", "other.log"):
        write(f"logs/{name}", gzip.compress(b"x\n") if name.endswith(".gz") else "x\n")
    names = [s.path.name for s in expand([tmp_path / "logs"])]
    assert names == ["access.log.10.gz", "access.log.2.gz", "access.log.1", "access.log", "other.log"]


def test_rotated_names_with_a_date_suffix_oldest_first(tmp_path, write):
    """Issue 13 item 15: logrotate's dateext names sort by date, before the live file."""
    for name in ("access.log", "access.log-20261201.gz", "access.log-20261130.gz", "access.log-20261202", "a.log"):
        write(f"logs/{name}", gzip.compress(b"x\n") if name.endswith(".gz") else "x\n")
    names = [s.path.name for s in expand([tmp_path / "logs"])]
    assert names == ["a.log", "access.log-20261130.gz", "access.log-20261201.gz", "access.log-20261202", "access.log"]


def test_folders_skip_hidden_and_globs(tmp_path, write):
    write("d/a.log", "x\n")
    write("d/sub/b.log", "x\n")
    write("d/.hidden/c.log", "x\n")
    write("d/.d.log", "x\n")
    found = {s.path.name for s in expand([tmp_path / "d"])}
    assert found == {"a.log", "b.log"}
    assert all(s.from_folder for s in expand([tmp_path / "d"]))
    globbed = expand([str(tmp_path / "d" / "**" / "*.log")])
    assert {s.path.name for s in globbed} == {"a.log", "b.log"}
    # the same file named twice is read once
    assert len(expand([tmp_path / "d" / "a.log", tmp_path / "d" / "a.log"])) == 1
    assert not expand([tmp_path / "d" / "a.log"])[0].from_folder


def test_missing_paths_are_errors(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        expand([tmp_path / "nope.log"])
    with pytest.raises(InputError, match="no file matches this pattern"):
        expand([str(tmp_path / "*.nothing")])


LINES = b"".join(b"line %06d of a rotated log\n" % i for i in range(1, 200_001))


@pytest.mark.parametrize(
    "encode",
    [gzip.compress, bz2.compress, lambda b: zstandard.ZstdCompressor().compress(b)],
    ids=["gzip", "bzip2", "zstd"],
)
def test_truncated_file_gives_every_line_up_to_the_damage(write, encode):
    """Item 5: a rotation interrupted or a copy in progress reads up to the cut, and says so."""
    data = encode(LINES)
    frame, _, chunks = _read(write("cut.log.gz", data[: len(data) // 2]))
    n = frame.height
    assert n > 1000 and frame["line_no"].to_list() == list(range(1, n + 1))
    whole = [f"line {i:06d} of a rotated log" for i in range(1, n)]
    assert frame["text"].to_list()[:-1] == whole  # all but the last line, which may be cut
    assert chunks[-1].damage == f"truncated (the compressed data ends before its end marker) after line {n:,}"
    assert all(c.damage is None for c in chunks[:-1])


def test_corrupt_member_between_good_ones_reads_the_members_before_it(write):
    good = gzip.compress(b"a\nb\n")
    bad = bytearray(gzip.compress(LINES[:5000]))
    bad[30:50] = b"\xff" * 20
    frame, _, chunks = _read(write("mid.log.gz", good + bytes(bad) + good))
    assert frame["text"].to_list()[:2] == ["a", "b"]
    assert chunks[-1].damage.startswith("corrupt compressed data (")
    assert chunks[-1].damage.endswith(f"after line {frame.height:,}")


def test_members_concatenated_read_whole(write):
    frame, _, chunks = _read(write("cat.log.gz", gzip.compress(b"a\nb\n") + gzip.compress(b"c\n")))
    assert frame["text"].to_list() == ["a", "b", "c"] and chunks[-1].damage is None
    frame, _, chunks = _read(write("cat.log.bz2", bz2.compress(b"a\n") + bz2.compress(b"b\n")))
    assert frame["text"].to_list() == ["a", "b"] and chunks[-1].damage is None
