"""What the first bytes of a seismic file say before a reader opens it: the byte order, the
sample format and the sample count, checked against the file size.

SEG-Y is big-endian by the standard, but little-endian files exist (written by PCs and by
tools that skip the swap). The byte order is told from the binary header: the sample format
code (bytes 3225-3226) is a small number (1-16) in only one order. Seismic Unix files have no
file header and are in the byte order of the machine that wrote them: the order is the one in
which the first trace header's sample count (bytes 115-116) divides the file into whole
traces. A byte order given by the user is checked the same way, so a wrong one gets one line
rather than garbage.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

from seisflow.errors import SegyFormatError

__all__ = [
    "ENDIANS",
    "FORMAT_NAMES",
    "SAMPLE_BYTES",
    "Endian",
    "check_size",
    "segy_byte_order",
    "su_byte_order",
    "trace_samples",
]

Endian = Literal["big", "little"]
ENDIANS: tuple[Endian, Endian] = ("big", "little")
#: Bytes per sample of each SEG-Y sample format code segyio reads.
SAMPLE_BYTES = {1: 4, 2: 4, 3: 2, 5: 4, 6: 8, 8: 1, 9: 8, 10: 4, 11: 2, 12: 8, 16: 1}
FORMAT_NAMES = {
    1: "4-byte IBM float", 2: "4-byte signed integer", 3: "2-byte signed integer",
    5: "4-byte IEEE float", 6: "8-byte IEEE float", 8: "1-byte signed integer",
    9: "8-byte signed integer", 10: "4-byte unsigned integer", 11: "2-byte unsigned integer",
    12: "8-byte unsigned integer", 16: "1-byte unsigned integer",
}  # fmt: skip
SU_TRACE = 240  # Seismic Unix: a 240-byte header, then 4-byte floats in the file's order


def _word(data: bytes, start: int, width: int, order: Endian) -> int:
    """The unsigned integer at 0-based ``start`` of ``data``."""
    return int.from_bytes(data[start : start + width], order)


def _read(path: Path, offset: int, count: int) -> bytes:
    with open(path, "rb") as raw:
        raw.seek(offset)
        return raw.read(count)


def segy_byte_order(path: Path, given: str | None = None) -> Endian:
    """The byte order of a SEG-Y file: ``given`` if its binary header reads sensibly in it,
    else the order in which the format code (bytes 3225-3226) is a SEG-Y format code.

    A file in which neither order gives a known code is called big-endian, so that the size
    checks and segyio say what is wrong with it.

    Raises:
        SegyFormatError: When ``given`` reads the format code as no SEG-Y format.
    """
    binary = _read(path, 3200, 400)
    codes = {order: _word(binary, 24, 2, order) for order in ENDIANS}
    known = [order for order in ENDIANS if codes[order] in SAMPLE_BYTES]
    if given is None:
        return known[0] if len(known) == 1 else "big"
    order: Endian = "little" if given == "little" else "big"
    if codes[order] in SAMPLE_BYTES or not known:
        return order
    other = known[0]
    raise SegyFormatError(
        f"{path}: read {order}-endian (--endian {order}), the binary header gives sample "
        f"format code {codes[order]} (bytes 3225-3226), which is no SEG-Y format; read "
        f"{other}-endian it is {codes[other]} ({FORMAT_NAMES[codes[other]]}): leave --endian "
        f"out or pass --endian {other}"
    )


def su_byte_order(path: Path, given: str | None = None) -> Endian:
    """The byte order of a Seismic Unix file: the one in which the first trace header's
    sample count (bytes 115-116) divides the file into whole traces (``given`` is checked).

    Raises:
        SegyFormatError: When no order fits (not SU, or truncated), when both do (pass
            ``--endian``), or when ``given`` does not fit.
    """
    size = path.stat().st_size
    if size < SU_TRACE:
        raise SegyFormatError(
            f"{path} is {size} bytes, shorter than one 240-byte trace header: it is not a "
            "Seismic Unix file (or is truncated)"
        )
    header = _read(path, 0, SU_TRACE)
    counts = {order: _word(header, 114, 2, order) for order in ENDIANS}
    fits = [o for o in ENDIANS if counts[o] and size % (SU_TRACE + 4 * counts[o]) == 0]
    read = f"{counts['big']} read big-endian, {counts['little']} little-endian"
    if given is not None:
        order: Endian = "little" if given == "little" else "big"
        if order in fits:
            return order
        hint = f"leave --endian out or pass --endian {fits[0]}" if fits else "check the file"
        raise SegyFormatError(
            f"{path}: read {order}-endian (--endian {order}), the first trace header says "
            f"{counts[order]} samples per trace (bytes 115-116), which does not divide the "
            f"file ({size} bytes) into whole traces ({read}): {hint}"
        )
    if len(fits) == 1:
        return fits[0]
    if fits:
        raise SegyFormatError(
            f"{path}: the first trace header's sample count (bytes 115-116) fits the file "
            f"size in both byte orders ({read}): pass --endian big or --endian little"
        )
    raise SegyFormatError(
        f"{path}: the first trace header's sample count (bytes 115-116) is {read}; neither "
        f"divides the file ({size} bytes) into whole traces: it is not a Seismic Unix file, "
        "or it is truncated"
    )


def trace_samples(path: Path, offset: int, order: Endian = "big") -> int:
    """The sample count (bytes 115-116) of the trace header at byte ``offset`` of the file."""
    return _word(_read(path, offset + 114, 2), 0, 2, order)


def check_size(path: Path, order: Endian = "big") -> None:
    """Refuse a SEG-Y file whose size is not the headers plus a whole number of traces, or
    whose binary header's sample count cannot be trusted (see :func:`_check_sample_count`).

    Raises:
        SegyFormatError: Naming the size, the counts and what to do.
    """
    size = path.stat().st_size
    if size < 3600:
        raise SegyFormatError(
            f"{path} is {size} bytes, shorter than the 3600-byte SEG-Y file header: "
            "it is not a SEG-Y file (or is truncated)"
        )
    binary = _read(path, 3200, 400)
    # segyio reads the rev 2 extended count (bytes 3269-3272) when bytes 3221-3222 are 0
    n_samples = _word(binary, 20, 2, order) or _word(binary, 68, 4, order)
    code = _word(binary, 24, 2, order)
    extended = int.from_bytes(binary[304:306], order, signed=True)
    if code not in SAMPLE_BYTES:
        return  # not a SEG-Y binary header segyio understands: let segyio/obspy say why
    first = 3600 + max(extended, 0) * 3200
    body = size - first
    if body <= 0:
        raise SegyFormatError(f"{path} holds no traces (size {size} bytes): nothing to ingest")
    _check_sample_count(path, n_samples, SAMPLE_BYTES[code], first, body, order)
    trace_bytes = 240 + n_samples * SAMPLE_BYTES[code]
    if body % trace_bytes:
        first_ns = trace_samples(path, first, order)
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


def _check_sample_count(
    path: Path, declared: int, width: int, first: int, body: int, order: Endian
) -> None:
    """Trust the binary header's count (``declared``) only where the trace headers allow it.

    segyio lays the traces out by the binary count, so a wrong count that still divides the
    file size (``body`` bytes from ``first``, ``width`` bytes a sample) reads garbage. The first
    trace header's count (bytes 115-116) is the witness: 0 says nothing; one that fits the
    size and that the second and last trace headers repeat where it puts them means the binary
    header is wrong (refused: segyio cannot be told otherwise); one that does not fit is stale
    (the binary count is used, with a warning). A binary count of 0 is always refused.
    """
    in_trace = trace_samples(path, first, order) if body >= 240 else 0
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
        others = {trace_samples(path, first + k * stride, order) for k in {1, last} if k > 0}
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
