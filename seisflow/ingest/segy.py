"""Reading SEG-Y: the one place seisflow opens seismic files for reading (segyio, obspy).

segyio is the reader: files are opened read-only and memory-mapped, without segyio's geometry
inference (seisflow derives the geometry from the header words it is told to use), headers
come from ``attributes(byte)[:]`` and samples from ``trace.raw`` slabs. Seismic Unix files and
SEG-Y that segyio refuses are read through obspy instead (whole, into memory: that path is
meant for small or unusual files). Failures become :class:`~seisflow.errors.SegyFormatError`
naming the file, what was found and what to try.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import segyio

from seisflow.errors import InputFileError, SegyFormatError
from seisflow.ingest.byte_locations import OPTIONS, ByteLocations

__all__ = [
    "ByteLocations",
    "HeaderScan",
    "decode_text_header",
    "header_words",
    "open_segy",
    "read_block",
    "read_traces",
    "scan_headers",
]

#: Bytes per sample of each SEG-Y sample format code segyio reads.
SAMPLE_BYTES = {1: 4, 2: 4, 3: 2, 5: 4, 6: 8, 8: 1, 9: 8, 10: 4, 11: 2, 12: 8, 16: 1}
FORMAT_NAMES = {
    1: "4-byte IBM float", 2: "4-byte signed integer", 3: "2-byte signed integer",
    5: "4-byte IEEE float", 6: "8-byte IEEE float", 8: "1-byte signed integer",
    9: "8-byte signed integer", 10: "4-byte unsigned integer", 11: "2-byte unsigned integer",
    12: "8-byte unsigned integer", 16: "1-byte unsigned integer",
}  # fmt: skip


@dataclass(frozen=True)
class HeaderScan:
    """What the headers of a file say: sizes, sampling, text and the per-trace words.

    Arrays are ``(n_traces,)`` int64, in file order.
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

    @property
    def n_samples(self) -> int:
        return int(self.sample_times.size)

    @property
    def format_name(self) -> str:
        return FORMAT_NAMES.get(self.format_code, f"format code {self.format_code}")


def open_segy(path: str | Path) -> segyio.SegyFile:
    """Open a SEG-Y file read-only, memory-mapped, ignoring segyio's geometry inference.

    Raises:
        InputFileError: When the file does not exist.
        SegyFormatError: When segyio cannot read it as SEG-Y.
    """
    path = Path(path)
    _check_exists(path)
    try:
        handle = segyio.open(path, mode="r", ignore_geometry=True)
    except (RuntimeError, ValueError, OSError) as exc:
        raise SegyFormatError(
            f"{path} is not a SEG-Y file segyio can read ({exc}): check the file and its "
            "binary header (sample format at byte 3225, samples per trace at 3221)"
        ) from None
    handle.mmap()
    return handle


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

    Args:
        handle: An open file.
        trace_index: int64 ``(n_il, n_xl)`` file positions.

    Returns:
        float32 ``(n_il, n_xl, n_samples)``.
    """
    n_samples = len(handle.samples)
    flat = trace_index.ravel()
    if flat.size and flat[0] >= 0 and np.all(np.diff(flat) == 1):  # one contiguous slab
        slab = handle.trace.raw[int(flat[0]) : int(flat[-1]) + 1]
        return np.asarray(slab, dtype=np.float32).reshape(*trace_index.shape, n_samples)
    out = np.full((*trace_index.shape, n_samples), np.nan, dtype=np.float32)
    live = trace_index >= 0
    wanted = trace_index[live]
    order = np.argsort(wanted, kind="stable")  # read in file order: long contiguous slabs
    values = np.empty((wanted.size, out.shape[-1]), dtype=np.float32)
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


def scan_headers(path: str | Path, locations: ByteLocations) -> HeaderScan:
    """Read the text, binary and trace headers of a SEG-Y or Seismic Unix file.

    segyio reads SEG-Y; ``.su`` files, and SEG-Y that segyio refuses, go through obspy.

    Raises:
        InputFileError: When the file does not exist.
        SegyFormatError: When the file is not SEG-Y/SU, is truncated, or has no traces.
    """
    path = Path(path)
    _check_exists(path)
    if path.suffix.lower() == ".su":
        return _scan_obspy(path, locations, fmt="SU")
    _check_size(path)
    try:
        handle = open_segy(path)
    except SegyFormatError as segyio_error:
        try:
            return _scan_obspy(path, locations, fmt="SEGY")
        except SegyFormatError:
            raise segyio_error from None
    with handle:
        if handle.tracecount == 0:
            raise SegyFormatError(f"{path} holds no traces: nothing to ingest")
        with open(path, "rb") as raw:
            text, encoding = decode_text_header(raw.read(3200))
        words = {name: header_words(handle, byte) for name, byte in vars(locations).items()}
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
            **words,
        )


def _check_size(path: Path) -> None:
    """Refuse a file whose size is not the headers plus a whole number of traces, or whose
    binary header's sample count cannot be trusted (see :func:`_check_sample_count`)."""
    size = path.stat().st_size
    if size < 3600:
        raise SegyFormatError(
            f"{path} is {size} bytes, shorter than the 3600-byte SEG-Y file header: "
            "it is not a SEG-Y file (or is truncated)"
        )
    with open(path, "rb") as raw:
        raw.seek(3200)
        binary = raw.read(400)
    # segyio reads the rev 2 extended count (bytes 3269-3272) when bytes 3221-3222 are 0
    n_samples = int.from_bytes(binary[20:22], "big") or int.from_bytes(binary[68:72], "big")
    code = int.from_bytes(binary[24:26], "big")
    extended = int.from_bytes(binary[304:306], "big", signed=True)
    if code not in SAMPLE_BYTES:
        return  # not a SEG-Y binary header segyio understands: let segyio/obspy say why
    first = 3600 + max(extended, 0) * 3200
    body = size - first
    if body <= 0:
        raise SegyFormatError(f"{path} holds no traces (size {size} bytes): nothing to ingest")
    _check_sample_count(path, n_samples, SAMPLE_BYTES[code], first, body)
    trace_bytes = 240 + n_samples * SAMPLE_BYTES[code]
    if body % trace_bytes:
        first_ns = _trace_samples(path, first)
        hint = (
            f"; the first trace header says {first_ns} samples, which fits the size: fix the "
            "binary header"
            if first_ns and body % (240 + first_ns * SAMPLE_BYTES[code]) == 0
            else "; the file is probably truncated: copy it again"
        )
        raise SegyFormatError(
            f"{path} is {size} bytes: after the file headers that is "
            f"{body // trace_bytes} traces of {trace_bytes} bytes ({n_samples} samples, "
            f"{FORMAT_NAMES[code]}) plus {body % trace_bytes} bytes left over{hint}"
        )


def _trace_samples(path: Path, offset: int) -> int:
    """The sample count (bytes 115-116) of the trace header at byte ``offset`` of the file."""
    with open(path, "rb") as raw:
        raw.seek(offset + 114)
        return int.from_bytes(raw.read(2), "big")


def _check_sample_count(path: Path, declared: int, width: int, first: int, body: int) -> None:
    """Trust the binary header's count (``declared``) only where the trace headers allow it.

    segyio lays the traces out by the binary count, so a wrong count that still divides the
    file size (``body`` bytes from ``first``, ``width`` bytes a sample) reads garbage. The first
    trace header's count (bytes 115-116) is the witness: 0 says nothing; one that fits the
    size and that the second and last trace headers repeat where it puts them means the binary
    header is wrong (refused: segyio cannot be told otherwise); one that does not fit is stale
    (the binary count is used, with a warning). A binary count of 0 is always refused.
    """
    in_trace = _trace_samples(path, first) if body >= 240 else 0
    if declared and in_trace in (0, declared):
        return
    fits = in_trace > 0 and body % (240 + in_trace * width) == 0
    where = "bytes 3221-3222 of the binary header"
    if not declared:
        fix = (
            f"the first trace header says {in_trace} (bytes 115-116), which fits the file "
            f"size: set {where} to {in_trace} in a copy of the file"
            if fits
            else f"the first trace header says {in_trace} (bytes 115-116), which does not fit "
            "the file size: the file is corrupt or not SEG-Y"
        )
        raise SegyFormatError(
            f"{path}: {where} say 0 samples per trace, which cannot be right; {fix}"
        )
    if body % (240 + declared * width):
        return  # the size check names both counts
    if fits:
        stride = 240 + in_trace * width
        last = body // stride - 1
        others = {_trace_samples(path, first + k * stride) for k in {1, last} if k > 0}
        if others <= {in_trace}:
            raise SegyFormatError(
                f"{path}: {where} say {declared} samples per trace but the trace headers "
                f"say {in_trace} (bytes 115-116 of traces 0, 1 and {last}); both fit the "
                f"file size and the trace headers agree, so the binary header is wrong: "
                f"set {where} to {in_trace} in a copy of the file"
            )
    warnings.warn(
        f"{path}: the trace headers say {in_trace} samples per trace (bytes 115-116) but "
        f"the binary header says {declared}; using {declared}, which fits the file size (the "
        "trace-header count is stale)",
        UserWarning,
        stacklevel=4,
    )


def _scan_obspy(path: Path, locations: ByteLocations, *, fmt: str) -> HeaderScan:
    """Headers and samples through obspy (Seismic Unix, or SEG-Y that segyio refuses)."""
    from obspy import read
    from obspy.io.segy.header import TRACE_HEADER_FORMAT

    names = {start + 1: name for _, name, _, start in TRACE_HEADER_FORMAT}  # 0-based there
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stream = read(str(path), format=fmt, unpack_trace_headers=True)
    except Exception as exc:  # obspy raises many kinds; all mean "cannot read this"
        raise SegyFormatError(
            f"{path} could not be read as {'Seismic Unix' if fmt == 'SU' else 'SEG-Y'} by "
            f"segyio or obspy ({type(exc).__name__}: {exc}): check that it is a seismic file"
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
    words = {
        name: np.array([h.get(names[byte], 0) or 0 for h in headers], dtype=np.int64)
        for name, byte in vars(locations).items()
    }
    first = stream[0].stats
    delay = float(headers[0].get("delay_recording_time", 0) or 0)
    times = delay + np.arange(first.npts) * first.delta * 1000.0
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
        sample_times=times,
        format_code=code,
        text=text,
        text_encoding=encoding,
        binary=binary,
        locations=locations,
        samples=np.stack([tr.data.astype(np.float32) for tr in stream]),
        **words,
    )


def bytes_of(value: bytes | str) -> bytes:
    return value if isinstance(value, bytes) else value.encode("latin-1", errors="replace")
