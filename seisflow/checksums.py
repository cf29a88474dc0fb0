"""File fingerprints: the checksum a survey store records of its SEG-Y, and a synthetic
truth store of the SEG-Y it came with, so that stores, truths and runs can be matched."""

from __future__ import annotations

import zlib
from pathlib import Path

__all__ = ["crc32_of"]


def crc32_of(path: str | Path) -> str:
    """The zlib CRC-32 of a whole file as 8 hex digits, read in 1 MB pieces (memory stays flat)."""
    value = 0
    with open(path, "rb") as handle:
        while piece := handle.read(1 << 20):
            value = zlib.crc32(piece, value)
    return f"{value:08x}"
