"""Reading SEG-Y with segyio: the one place seisflow opens SEG-Y files for reading.

Files are opened read-only and memory-mapped, without segyio's geometry inference (seisflow
derives the geometry from the header words it is told to use). Failures become
:class:`~seisflow.errors.SegyFormatError` with the file name in the message.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import segyio

from seisflow.errors import InputFileError, SegyFormatError

__all__ = ["header_words", "open_segy", "read_traces"]


def open_segy(path: str | Path) -> segyio.SegyFile:
    """Open a SEG-Y file read-only, memory-mapped, ignoring segyio's geometry inference.

    Raises:
        InputFileError: When the file does not exist.
        SegyFormatError: When segyio cannot read it as SEG-Y.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path} does not exist or is not a file: check the path")
    try:
        handle = segyio.open(path, mode="r", ignore_geometry=True)
    except (RuntimeError, ValueError, OSError) as exc:
        raise SegyFormatError(
            f"{path} is not a SEG-Y file segyio can read ({exc}): check the file and its "
            "binary header (sample format at byte 3225, samples at 3221)"
        ) from None
    handle.mmap()
    return handle


def header_words(handle: segyio.SegyFile, byte: int) -> np.ndarray:
    """One trace-header word of every trace, int64 ``(n_traces,)``."""
    return np.asarray(handle.attributes(byte)[:], dtype=np.int64)


def read_traces(handle: segyio.SegyFile, index: np.ndarray) -> np.ndarray:
    """Samples of the traces at ``index`` (file order positions), float32 ``(n, n_samples)``."""
    index = np.asarray(index, dtype=np.int64)
    out = np.empty((index.size, len(handle.samples)), dtype=np.float32)
    for k, trace in enumerate(index):
        out[k] = handle.trace.raw[int(trace)]
    return out
