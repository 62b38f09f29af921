"""Sources: turn paths, globs and folders into numbered lines.

Compression is recognised by magic bytes (gzip, bzip2, zstd), not by name, so a rotated
``access.log.2.gz`` and a misnamed file both read. Files are read in chunks cut at line ends, so
memory stays bounded on big logs; each chunk is a polars frame of ``line_no`` and ``text`` whose
numbers are the lines' true numbers in the decompressed file. A UTF-8 BOM and CR of CRLF endings
are removed; undecodable bytes are replaced with U+FFFD and counted; UTF-16 files (as PowerShell
writes them) are decoded.
"""

from __future__ import annotations

import glob as globlib
import io
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl

from .decompress import MAGIC, Decompressed
from .errors import InputError

CHUNK_BYTES = 16 * 1024 * 1024
"""Bytes read per chunk: large enough that polars' per-call overhead vanishes, small enough
that a multi-gigabyte log never sits in memory whole."""

_MAGIC = MAGIC
_COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zst", ".zstd")
_ROTATION = re.compile(
    r"^(?P<base>.*?)(?:[.-](?P<date>(?:19|20)\d{6}(?:\d{2})?(?:-\d+)?)|\.(?P<n>\d+)|\.(?P<old>old))?$"
)
"""A rotated name: ``x.log.2`` (logrotate's numbers, higher older), ``x.log-20261201`` (its
``dateext``, optionally with the hour or a second number), ``x.log.old`` (pfirewall)."""


@dataclass(frozen=True)
class SourceFile:
    """One input file: its path and the name shown in reports and evidence."""

    path: Path
    name: str
    from_folder: bool = False
    """Found by expanding a folder (or glob) rather than named by the user."""

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass
class LineChunk:
    """A run of consecutive lines of one file."""

    lines: pl.DataFrame
    """Columns ``line_no`` (Int64, from 1) and ``text`` (String, without line end)."""
    decode_errors: int
    """Bytes that were not valid UTF-8 and were replaced by U+FFFD."""
    damage: str | None = None
    """Set on the last chunk of a compressed file that ends in damage (truncated, or a corrupt
    member): what is wrong, e.g. ``"truncated (compressed data ends before its end marker)"``.
    The chunk's lines are every line read up to the damage."""
    data: bytes | None = None
    """The UTF-8 bytes ``lines`` were split from, exactly (each line ended by a newline but
    perhaps the file's last), for parsers that read them directly (polars' CSV reader, say);
    None when bytes had to be replaced."""


def _rotation_key(path: Path) -> tuple[str, str, tuple]:
    """Sort key putting rotated files oldest first: ``x.log-20261130.gz``, ``x.log-20261201``,
    ``x.log.2.gz``, ``x.log.1``, ``x.log``."""
    name = path.name
    for suffix in _COMPRESSED_SUFFIXES:
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    m = _ROTATION.match(name)
    base = m.group("base")
    if m.group("date") is not None:  # dated: by date, before the numbered and the live file
        return (str(path.parent), base, (0, m.group("date"), 0))
    if m.group("n") is not None:
        rank = int(m.group("n"))
    elif m.group("old") is not None:
        rank = 1
    else:
        rank = 0
    return (str(path.parent), base, (1, "", -rank))


def expand(paths: list[str | os.PathLike]) -> list[SourceFile]:
    """Expand paths, globs and folders into files, rotated files oldest first.

    Folders are walked recursively, skipping hidden entries. A path that matches nothing is an
    :class:`InputError`. Example: ``expand(["data/samples/squid"])``.
    """
    out: list[SourceFile] = []
    seen: set[Path] = set()
    for raw in paths:
        text = os.fspath(raw)
        p = Path(text)
        found: list[Path]
        from_folder = False
        if p.is_dir():
            from_folder = True
            found = [
                f
                for f in p.rglob("*")
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            ]
        elif p.is_file():
            found = [p]
        elif glob_chars(text):
            from_folder = True
            found = [Path(f) for f in globlib.glob(text, recursive=True) if Path(f).is_file()]
            if not found:
                raise InputError("no file matches this pattern", file=text)
        elif p.exists():
            raise InputError("not a regular file", file=text)
        else:
            raise InputError("no such file or folder", file=text)
        for f in sorted(found, key=_rotation_key):
            key = f.resolve()
            if key in seen:
                continue
            seen.add(key)
            if not os.access(f, os.R_OK):
                raise InputError("permission denied", file=str(f))
            out.append(SourceFile(path=f, name=str(f), from_folder=from_folder))
    return out


def glob_chars(text: str) -> bool:
    return any(c in text for c in "*?[")


def compression_of(path: Path) -> str | None:
    """The compression of a file by its magic bytes: ``gzip``, ``bzip2``, ``zstd`` or None."""
    with open(path, "rb") as fh:
        head = fh.read(4)
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    return None


def open_binary(src: SourceFile) -> tuple[BinaryIO, BinaryIO]:
    """Open ``src`` decompressed. Returns (stream, raw file) so callers can report progress
    in bytes of the file on disk. A compressed stream has a ``damage`` attribute: None, or what
    was wrong when it ended early (its text up to the damage has been read)."""
    kind = compression_of(src.path)
    raw = open(src.path, "rb")  # noqa: SIM115 - closed by the caller with the stream
    try:
        if kind is not None:
            return Decompressed(raw, kind), raw
        return raw, raw
    except Exception:
        raw.close()
        raise


def lines_frame(data: bytes, first_line: int) -> tuple[pl.DataFrame, int]:
    """Split ``data`` (whole lines) into a frame; returns it and the count of replaced bytes."""
    if not data:
        return _numbered(pl.DataFrame({"text": pl.Series([], dtype=pl.String)}), first_line), 0
    try:
        return _numbered(pl.read_lines(data, name="text"), first_line), 0
    except pl.exceptions.ComputeError:
        # Rare path: invalid UTF-8. Replace bad bytes and count them (minus U+FFFD that the
        # file really contained, so only replacements are counted).
        text = data.decode("utf-8", errors="replace")
        errors = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
        return _numbered(pl.read_lines(text.encode("utf-8"), name="text"), first_line), errors


def _numbered(frame: pl.DataFrame, first_line: int) -> pl.DataFrame:
    # read_lines already drops the CR of a CRLF ending (and of a last line ending in CR).
    return frame.select(pl.int_range(first_line, first_line + pl.len(), dtype=pl.Int64).alias("line_no"), "text")


def _decode_utf16(stream: BinaryIO, head: bytes) -> bytes:
    data = head + stream.read()
    codec = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
    return data[2:].decode(codec, errors="replace").encode("utf-8")


def iter_chunks(
    src: SourceFile,
    chunk_bytes: int = CHUNK_BYTES,
    progress: Callable[[int], None] | None = None,
) -> Iterator[LineChunk]:
    """Yield the lines of ``src`` in chunks; ``progress`` receives bytes read on disk so far."""
    try:
        stream, raw = open_binary(src)
    except OSError as exc:
        raise InputError(exc.strerror or str(exc), file=src.name) from exc
    with raw, stream:
        try:
            yield from _chunks(stream, raw, chunk_bytes, progress)
        except (OSError, EOFError, ValueError) as exc:
            # Corrupt or truncated compressed data: say so plainly.
            raise InputError(f"cannot read: {exc}", file=src.name) from exc
        except Exception as exc:
            if type(exc).__module__.startswith("zstandard"):
                raise InputError(f"cannot read: {exc}", file=src.name) from exc
            raise


def _chunks(stream, raw, chunk_bytes, progress) -> Iterator[LineChunk]:
    line = 1
    last: LineChunk | None = None
    for data in _blocks(stream, raw, chunk_bytes):
        frame, errors = lines_frame(data, line)
        line += frame.height
        if progress is not None:
            progress(raw.tell())
        if last is not None:
            yield last
        last = LineChunk(frame, errors, data=None if errors else data)
    damage = getattr(stream, "damage", None)
    if damage is not None:  # known only at the end: it goes on the last chunk (maybe of no lines)
        last = last or LineChunk(lines_frame(b"", 1)[0], 0)
        last.damage = f"{damage} after line {line - 1:,}"
    if last is not None:
        yield last
    if progress is not None:
        progress(raw.tell())


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"


def _blocks(stream, raw, chunk_bytes) -> Iterator[bytes]:
    """The text of ``stream`` in blocks of whole lines (the file's last line may lack its
    newline), UTF-8 without a BOM."""
    if stream is raw and raw.seekable():
        start = raw.read(4)
        if not start.startswith(UTF16_BOMS):
            yield from _file_blocks(raw, len(UTF8_BOM) if start.startswith(UTF8_BOM) else 0, chunk_bytes)
            return
        raw.seek(0)
    yield from _stream_blocks(stream, chunk_bytes)


def _stream_blocks(stream, chunk_bytes) -> Iterator[bytes]:
    """Blocks of a stream (decompressed, say): what follows a block's last newline is carried
    over to the next block."""
    carry = b""
    first = True
    while True:
        block = stream.read(chunk_bytes)
        if first:
            first = False
            if block.startswith(UTF16_BOMS):
                block = _decode_utf16(stream, block)
                stream = io.BytesIO()
            if block.startswith(UTF8_BOM):
                block = block[len(UTF8_BOM) :]
        if not block:
            break
        data = carry + block if carry else block
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        carry = data[cut + 1 :]
        yield data if cut + 1 == len(data) else data[: cut + 1]
    if carry:
        yield carry


_PROBE = 64 * 1024


def _file_blocks(raw, pos: int, chunk_bytes: int) -> Iterator[bytes]:
    """Blocks of a plain file, each read exactly from a line start to a line end: where the
    block ends is found first in a small probe, so a block is read once and never copied. The
    file is read up to the size it had at the start (a log being written stays consistent)."""
    size = os.fstat(raw.fileno()).st_size
    while pos < size:
        end = size if pos + chunk_bytes >= size else line_end(raw, pos, pos + chunk_bytes, size)
        raw.seek(pos)
        data = raw.read(end - pos)
        if not data:  # the file shrank while being read
            return
        pos += len(data)
        yield data


def line_end(raw, pos: int, end: int, size: int) -> int:
    """The offset just after the last newline in ``[pos, end)``; for a line longer than that,
    just after the next newline (or the end of the file)."""
    hi = end
    while hi > pos:
        lo = max(pos, hi - _PROBE)
        raw.seek(lo)
        i = raw.read(hi - lo).rfind(b"\n")
        if i >= 0:
            return lo + i + 1
        hi = lo
    lo = end
    while lo < size:
        raw.seek(lo)
        probe = raw.read(_PROBE)
        if not probe:
            break
        i = probe.find(b"\n")
        if i >= 0:
            return lo + i + 1
        lo += len(probe)
    return size


def read_head(src: SourceFile, max_lines: int = 50, max_bytes: int = 256 * 1024) -> list[str]:
    """The first lines of a file (decompressed, decoded), for sniffing its format: up to
    ``max_lines`` lines with text, and the blank lines between them."""
    try:
        stream, raw = open_binary(src)
        with raw, stream:
            data = stream.read(max_bytes)
    except (OSError, EOFError) as exc:
        raise InputError(f"cannot read: {exc}", file=src.name) from exc
    except Exception as exc:
        if type(exc).__module__.startswith("zstandard"):
            raise InputError(f"cannot read: {exc}", file=src.name) from exc
        raise
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
        text = data[2:].decode(codec, errors="replace")
    else:
        text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = text.split("\n")
    if len(data) == max_bytes and len(lines) > 1:
        lines = lines[:-1]  # the last one may be cut
    # Up to max_lines lines that hold text, with the blank lines among them: a log that starts
    # with blank lines is still recognised by its first real lines.
    head: list[str] = []
    seen = 0
    for line in lines:
        head.append(line.removesuffix("\r"))
        seen += bool(line.strip())
        if seen >= max_lines:
            break
    return head


def is_plain(src: SourceFile) -> bool:
    """Whether ``src`` is a plain UTF-8 file as it is on disk (not compressed, no byte-order
    mark), which a reader of whole files (polars' ``scan_lines``/``scan_csv``) can read itself."""
    try:
        if compression_of(src.path) is not None:
            return False
        with open(src.path, "rb") as fh:
            return not fh.read(3).startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"))
    except OSError:
        return False


def decode_text(data: bytes) -> str:
    """Text of a small file (a site file, a profile, a baseline) decoded as the logs are: a UTF-8
    BOM is dropped, UTF-16 with a BOM (what PowerShell 5 and Notepad write) is decoded, anything
    else must be UTF-8. Raises :class:`UnicodeDecodeError` whose ``start`` is the byte offset of
    the first undecodable byte. Example: ``decode_text(b"\\xff\\xfek\\x00")`` is ``"k"``."""
    if data.startswith(UTF16_BOMS):
        codec = "utf-16-le" if data.startswith(b"\xff\xfe") else "utf-16-be"
        try:
            return data[2:].decode(codec)
        except UnicodeDecodeError as exc:
            raise UnicodeDecodeError(codec, data, exc.start + 2, exc.end + 2, exc.reason) from None
    if data.startswith(UTF8_BOM):
        try:
            return data[3:].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnicodeDecodeError("utf-8", data, exc.start + 3, exc.end + 3, exc.reason) from None
    return data.decode("utf-8")


def undecodable(exc: UnicodeDecodeError) -> str:
    """One line about a text file that is not UTF-8 (nor UTF-16 with a BOM): where and what."""
    byte = exc.object[exc.start : exc.start + 1]
    return (
        f"not UTF-8 text: byte 0x{byte.hex()} at offset {exc.start} cannot be decoded "
        "(save the file as UTF-8, or UTF-16 with a BOM)"
    )
