"""Reading SEG-Y: the one place seisflow opens seismic files for reading (segyio, obspy).

segyio is the reader: files are opened read-only and memory-mapped, without segyio's geometry
inference (seisflow derives the geometry from the header words it is told to use), headers
come from ``attributes(byte)[:]`` and samples from ``trace.raw`` slabs. Seismic Unix files and
SEG-Y that segyio refuses are read through obspy instead (whole, into memory: that path is
meant for small or unusual files). Both byte orders are read: the order is told from the
headers (:mod:`~seisflow.ingest.file_layout`) or given by the user. Failures become
:class:`~seisflow.errors.SegyFormatError` naming the file, what was found and what to try.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import segyio

from seisflow.errors import InputFileError, SegyFormatError
from seisflow.ingest.byte_locations import OPTIONS, ByteLocations
from seisflow.ingest.file_layout import (
    FORMAT_NAMES,
    SAMPLE_BYTES,
    Endian,
    check_size,
    segy_byte_order,
    su_byte_order,
)

__all__ = [
    "FORMAT_NAMES",
    "GATHER_BYTES",
    "SAMPLE_BYTES",
    "ByteLocations",
    "HeaderScan",
    "decode_text_header",
    "header_words",
    "open_segy",
    "read_block",
    "read_traces",
    "scan_headers",
]

#: Trace-header words that tell pre-stack gathers from post-stack traces (byte -> name), for
#: :mod:`~seisflow.ingest.prestack` (read up front only on the obspy path, where it is free).
GATHER_BYTES = {9: "field record", 13: "channel", 25: "trace in ensemble", 37: "offset"}
#: Sample interval (ms) used when a Seismic Unix file gives none: segyio's fallback.
SU_DEFAULT_INTERVAL_MS = 4.0


@dataclass(frozen=True)
class HeaderScan:
    """What the headers of a file say: sizes, sampling, text and the per-trace words.

    Arrays are ``(n_traces,)`` int64, in file order; ``gathers`` holds the words of
    :data:`GATHER_BYTES` by byte (obspy path only: segyio reads them on demand); ``endian``
    is the byte order the file was read in.
    """

    path: Path
    reader: str  # "segyio" or "obspy"
    n_traces: int
    sample_times: np.ndarray  # (n_samples,) float64, ms (or m) from the headers
    format_code: int
    text: str
    text_encoding: str
    binary: dict[str, int]
    locations: ByteLocations
    inline: np.ndarray
    crossline: np.ndarray
    cdp: np.ndarray
    cdp_x: np.ndarray
    cdp_y: np.ndarray
    scalar: np.ndarray
    samples: np.ndarray | None = field(default=None, repr=False)  # obspy path only
    endian: Endian = "big"
    gathers: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_samples(self) -> int:
        return int(self.sample_times.size)

    @property
    def format_name(self) -> str:
        return FORMAT_NAMES.get(self.format_code, f"format code {self.format_code}")


def open_segy(path: str | Path, endian: str | None = None) -> segyio.SegyFile:
    """Open a SEG-Y file read-only, memory-mapped, ignoring segyio's geometry inference.

    Args:
        path: The file.
        endian: ``big`` or ``little``; None: told from the binary header.

    Raises:
        InputFileError: When the file does not exist.
        SegyFormatError: When segyio cannot read it as SEG-Y (in that byte order).
    """
    path = Path(path)
    _check_exists(path)
    order = _segy_order(path, endian)
    try:
        handle = segyio.open(path, mode="r", ignore_geometry=True, endian=order)
    except (RuntimeError, ValueError, OSError) as exc:
        raise SegyFormatError(
            f"{path} is not a SEG-Y file segyio can read {order}-endian ({exc}): check the "
            "file and its binary header (sample format at byte 3225, samples per trace at "
            "3221)"
        ) from None
    handle.mmap()
    return handle


def _segy_order(path: Path, endian: str | None) -> Endian:
    """The byte order of a SEG-Y file (big for one too short to have a binary header)."""
    return segy_byte_order(path, endian) if path.stat().st_size >= 3600 else "big"


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise InputFileError(f"{path} does not exist: check the path")
    if not path.is_file():
        raise InputFileError(f"{path} is not a file: give the path of a SEG-Y file")


def header_words(handle: segyio.SegyFile, byte: int) -> np.ndarray:
    """One trace-header word of every trace, int64 ``(n_traces,)``."""
    return np.asarray(handle.attributes(byte)[:], dtype=np.int64)


def read_traces(handle: segyio.SegyFile, index: np.ndarray) -> np.ndarray:
    """Samples of the traces at file positions ``index``, float32 ``(n, n_samples)``.

    Consecutive positions are read as one ``trace.raw`` slab.
    """
    index = np.asarray(index, dtype=np.int64)
    out = np.empty((index.size, len(handle.samples)), dtype=np.float32)
    if index.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(index) != 1) + 1
    for run in np.split(np.arange(index.size), breaks):
        first, last = int(index[run[0]]), int(index[run[-1]])
        out[run] = handle.trace.raw[first : last + 1]
    return out


def read_block(handle: segyio.SegyFile, trace_index: np.ndarray) -> np.ndarray:
    """Samples on a grid of file positions (``-1`` = no trace -> NaN).

    Rows of the grid whose traces follow one another in the file are read as ``trace.raw``
    slabs straight into place, consecutive such rows as one slab; the other rows gather
    their traces in file order (:func:`read_traces`).

    Args:
        handle: An open file.
        trace_index: int64 ``(n_il, n_xl)`` file positions.

    Returns:
        float32 ``(n_il, n_xl, n_samples)``.
    """
    n_rows, width = trace_index.shape
    out = np.empty((n_rows, width, len(handle.samples)), dtype=np.float32)
    if not out.size:
        return out
    first = trace_index[:, 0]
    slab = (first >= 0) & np.all(np.diff(trace_index, axis=1) == 1, axis=1)
    row = 0
    while row < n_rows:
        if not slab[row]:
            row += 1
            continue
        end = row + 1  # rows that continue the file where the previous one ends
        while end < n_rows and slab[end] and first[end] == first[end - 1] + width:
            end += 1
        start = int(first[row])
        out[row:end] = handle.trace.raw[start : start + (end - row) * width].reshape(
            end - row, width, -1
        )
        row = end
    if not slab.all():
        out[~slab] = _gather_rows(handle, trace_index[~slab], out.shape[-1])
    return out


def _gather_rows(handle: segyio.SegyFile, trace_index: np.ndarray, n_samples: int) -> np.ndarray:
    """Samples of rows of file positions in any order, with gaps (``-1`` -> NaN)."""
    out = np.full((*trace_index.shape, n_samples), np.nan, dtype=np.float32)
    live = trace_index >= 0
    wanted = trace_index[live]
    order = np.argsort(wanted, kind="stable")  # read in file order: long contiguous slabs
    values = np.empty((wanted.size, n_samples), dtype=np.float32)
    values[order] = read_traces(handle, wanted[order])
    out[live] = values
    return out


def decode_text_header(raw: bytes) -> tuple[str, str]:
    """Decode a 3200-byte text header, EBCDIC or ASCII, into 40 lines of 80 characters.

    Returns:
        ``(text, encoding)`` with ``encoding`` ``"ebcdic"`` or ``"ascii"``.
    """

    def plausible(text: str) -> int:  # letters, digits and spaces: what a header is made of
        return sum(ch.isalnum() or ch == " " for ch in text)

    ascii_text = raw.decode("latin-1")
    ebcdic_text = raw.decode("cp037")
    encoding = "ascii" if plausible(ascii_text) >= plausible(ebcdic_text) else "ebcdic"
    text = ascii_text if encoding == "ascii" else ebcdic_text
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    lines = [text[k : k + 80].rstrip() for k in range(0, len(text), 80)]
    return "\n".join(lines), encoding


def scan_headers(
    path: str | Path, locations: ByteLocations, *, endian: str | None = None
) -> HeaderScan:
    """Read the text, binary and trace headers of a SEG-Y or Seismic Unix file.

    segyio reads SEG-Y; ``.su`` files, and SEG-Y that segyio refuses, go through obspy.

    Args:
        path: The file.
        locations: Where the header words are.
        endian: ``big`` or ``little``; None: told from the headers.

    Raises:
        InputFileError: When the file does not exist.
        SegyFormatError: When the file is not SEG-Y/SU, is truncated, has no traces, or does
            not read in the byte order given.
    """
    path = Path(path)
    _check_exists(path)
    if path.suffix.lower() == ".su":
        return _scan_obspy(path, locations, fmt="SU", endian=su_byte_order(path, endian))
    order = _segy_order(path, endian)
    check_size(path, order)
    try:
        handle = open_segy(path, order)
    except SegyFormatError as segyio_error:
        try:
            return _scan_obspy(path, locations, fmt="SEGY", endian=order)
        except SegyFormatError:
            raise segyio_error from None
    with handle:
        if handle.tracecount == 0:
            raise SegyFormatError(f"{path} holds no traces: nothing to ingest")
        with open(path, "rb") as raw:
            text, encoding = decode_text_header(raw.read(3200))
        words = {name: header_words(handle, byte) for name, byte in vars(locations).items()}
        _warn_swapped(path, locations, words)
        binary = {str(key): int(value) for key, value in handle.bin.items()}
        return HeaderScan(
            path=path,
            reader="segyio",
            n_traces=handle.tracecount,
            sample_times=np.asarray(handle.samples, dtype=np.float64),
            format_code=int(handle.bin[segyio.BinField.Format]),
            text=text,
            text_encoding=encoding,
            binary=binary,
            locations=locations,
            endian=order,
            **words,
        )


def _warn_swapped(path: Path, locations: ByteLocations, words: dict[str, np.ndarray]) -> None:
    """Warn when the line numbers are whole multiples of 65536 that are small numbers in the
    other byte order: words swapped apart from the rest of the header (Seismic Unix tools
    leave bytes 181-240 so, SU having its own words there)."""
    for name in ("inline", "crossline"):
        values = words[name]
        if not values.any() or np.any(values % 65536) or values.max() >= 2**31:
            continue
        swapped = values.astype(np.int32).byteswap()
        if np.abs(swapped).max() >= 65536:
            continue
        warnings.warn(
            f"{path}: the {name} numbers ({OPTIONS[name][0]} {getattr(locations, name)}) are "
            f"{values.min()}-{values.max()}, {swapped.min()}-{swapped.max()} in the other byte "
            "order: the words look byte-swapped apart from the rest of the header; give the "
            "bytes that hold the line numbers with --iline-byte/--xline-byte",
            UserWarning,
            stacklevel=4,
        )


def _scan_obspy(path: Path, locations: ByteLocations, *, fmt: str, endian: Endian) -> HeaderScan:
    """Headers and samples through obspy (Seismic Unix, or SEG-Y that segyio refuses)."""
    from obspy import read
    from obspy.io.segy.header import TRACE_HEADER_FORMAT

    names = {start + 1: name for _, name, _, start in TRACE_HEADER_FORMAT}  # 0-based there
    order = ">" if endian == "big" else "<"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stream = read(str(path), format=fmt, byteorder=order, unpack_trace_headers=True)
    except Exception as exc:  # obspy raises many kinds; all mean "cannot read this"
        raise SegyFormatError(
            f"{path} could not be read as {'Seismic Unix' if fmt == 'SU' else 'SEG-Y'} "
            f"({endian}-endian) by segyio or obspy ({type(exc).__name__}: {exc}): check that "
            "it is a seismic file"
        ) from None
    if len(stream) == 0:
        raise SegyFormatError(f"{path} holds no traces: nothing to ingest")
    lengths = {tr.stats.npts for tr in stream}
    if len(lengths) > 1:
        raise SegyFormatError(
            f"{path} has traces of different lengths ({sorted(lengths)[:4]} samples): "
            "seisflow needs one sample count for every trace"
        )
    key = "su" if fmt == "SU" else "segy"
    headers = [getattr(tr.stats, key).trace_header for tr in stream]
    for name, byte in vars(locations).items():
        if byte not in names:
            option = OPTIONS[name][0]
            raise SegyFormatError(f"{path} is read by obspy, which has no trace-header word at "
                                  f"{option} {byte}: give a SEG-Y rev 1 field")  # fmt: skip

    def word(byte: int) -> np.ndarray:
        return np.array([h.get(names[byte], 0) or 0 for h in headers], dtype=np.int64)

    words = {name: word(byte) for name, byte in vars(locations).items()}
    _warn_swapped(path, locations, words)
    text, encoding, binary, code = "", "none", {}, 5
    if fmt == "SEGY":
        file_header = stream.stats.binary_file_header
        binary = {str(k): int(v) for k, v in file_header.items()}
        code = int(file_header.get("data_sample_format_code", 5))
        text, encoding = decode_text_header(bytes_of(stream.stats.textual_file_header))
    return HeaderScan(
        path=path,
        reader="obspy",
        n_traces=len(stream),
        sample_times=_obspy_times(path, stream[0].stats, headers[0], fmt),
        format_code=code,
        text=text,
        text_encoding=encoding,
        binary=binary,
        locations=locations,
        samples=np.stack([tr.data.astype(np.float32) for tr in stream]),
        endian=endian,
        gathers={byte: word(byte) for byte in GATHER_BYTES},
        **words,
    )


def _obspy_times(path: Path, stats: object, header: dict, fmt: str) -> np.ndarray:
    """Sample times (ms) of an obspy trace; a Seismic Unix file whose first trace gives no
    interval (bytes 117-118 are 0; obspy would say 1 s) gets segyio's 4 ms, with a warning."""
    delay = float(header.get("delay_recording_time", 0) or 0)
    interval = stats.delta * 1000.0  # type: ignore[attr-defined]
    if fmt == "SU" and not header.get("sample_interval_in_ms_for_this_trace"):
        interval = SU_DEFAULT_INTERVAL_MS
        warnings.warn(
            f"{path}: the first trace header gives no sample interval (bytes 117-118 are 0); "
            f"using {interval:g} ms: check the store's time axis",
            UserWarning,
            stacklevel=4,
        )
    return delay + np.arange(stats.npts) * interval  # type: ignore[attr-defined]


def bytes_of(value: bytes | str) -> bytes:
    """Bytes of a text header that obspy may hand over as text."""
    return value if isinstance(value, bytes) else value.encode("latin-1", errors="replace")
