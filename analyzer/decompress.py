"""Decompression that keeps what it read up to damage: a truncated or corrupt compressed log
gives its lines up to there, and says what was wrong (``damage``)."""

from __future__ import annotations

import bz2
import io
import zlib
from typing import BinaryIO

MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\x28\xb5\x2f\xfd": "zstd"}
"""Magic bytes → compression (by magic, not by name: a misnamed file still reads)."""
_KIND_MAGIC = {kind: magic for magic, kind in MAGIC.items()}

_TRUNCATED = "truncated (the compressed data ends before its end marker)"


class Decompressed(io.RawIOBase):
    """Decompression of every member (frame) of a gzip, bzip2 or zstd file
    that keeps what it decompressed up to damage instead of losing it: a truncated file (a
    rotation interrupted, a copy in progress) or a corrupt member gives all the text before it,
    then ends, with ``damage`` saying what was wrong."""

    _PIECE = 64 * 1024
    """Compressed bytes decompressed at a time; what they inflate to is handed out in reads."""

    def __init__(self, raw: BinaryIO, kind: str):
        self._raw = raw
        self._kind = kind
        self._unzip = self._new()
        self._started = False  # the current member has begun
        self._pending = b""
        self._done = False
        self.damage: str | None = None

    def _new(self):
        if self._kind == "gzip":
            return zlib.decompressobj(wbits=31)
        if self._kind == "bzip2":
            return bz2.BZ2Decompressor()
        import zstandard  # a dependency; imported here as few inputs are zstd

        return zstandard.ZstdDecompressor().decompressobj()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = size if size is not None and size >= 0 else 1 << 62
        out = [self._pending]
        have = len(self._pending)
        while have < want and not self._done:
            piece = self._more()
            out.append(piece)
            have += len(piece)
        data = b"".join(out)
        self._pending = data[want:]
        return data[:want]

    def _more(self) -> bytes:
        raw = self._raw.read(self._PIECE)
        if not raw:
            self._done = True
            if self._started:
                self.damage = _TRUNCATED
            return self._unzip.flush() if self._started and self._kind == "gzip" else b""
        return self._feed(raw)

    def _feed(self, raw: bytes) -> bytes:
        out = []
        while raw:
            if not self._started:
                raw = raw.lstrip(b"\x00") if self._kind == "gzip" else raw  # padding gzip tolerates
                if not raw:
                    break
                if not raw.startswith(_KIND_MAGIC[self._kind][: len(raw)]):
                    self._done = True
                    self.damage = "corrupt compressed data (what follows a member is not another member)"
                    break
            try:
                out.append(self._unzip.decompress(raw))
            except Exception as exc:  # zlib.error, OSError of bz2, zstandard.ZstdError: corrupt data
                if not isinstance(exc, zlib.error | OSError | EOFError) and "zstandard" not in type(exc).__module__:
                    raise
                self._done = True
                self.damage = f"corrupt compressed data ({exc})"
                break
            self._started = True
            if not self._unzip.eof:
                break
            raw = self._unzip.unused_data  # the end of a member: another may follow (cat a.gz b.gz)
            self._unzip = self._new()
            self._started = False
        return b"".join(out)
