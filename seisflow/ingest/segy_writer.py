"""A streaming SEG-Y rev 1 writer built on numpy structured arrays.

Traces are encoded a block at a time: a block of ``n`` traces is one structured array whose
records are the 240-byte trace header followed by the samples, so headers and samples are
filled by whole-array assignments and written with one ``write`` call. That keeps writing at
disk speed, where per-trace header updates through segyio would be a Python loop. Byte
positions come from segyio's ``TraceField`` / ``BinField`` tables; segyio reads every file
this module writes (the tests read them back with it).

The file is written under a hidden staged name beside ``path``
(:func:`~seisflow.outputs.staging_path`) and renamed over ``path`` only when complete, so an
interrupted write never leaves a file that looks whole.

References:
    SEG-Y rev 1 Data Exchange Format, Society of Exploration Geophysicists (2002).
    IBM System/360 Principles of Operation, floating-point data format (1964).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

import numpy as np
import segyio

from seisflow.outputs import SEGY, claim_output, remove, staging_path, writing

__all__ = [
    "FORMAT_CODES",
    "SegyWriter",
    "binary_header",
    "ibm_from_ieee",
    "text_header",
]

#: SEG-Y data sample format codes of the formats this writer produces.
FORMAT_CODES: dict[str, int] = {"ibm": 1, "ieee": 5}


def _field_sizes(table: type, *, end: int) -> dict[int, int]:
    """Byte size of each header field, as the distance to the next field (at most 4)."""
    starts = sorted(
        {v for k, v in vars(table).items() if not k.startswith(("_", "Unassigned", "Ext"))}
    )
    return {a: min(b - a, 4) for a, b in zip(starts, [*starts[1:], end], strict=True)}


_TRACE_SIZES = _field_sizes(segyio.TraceField, end=241)
_BINARY_SIZES = {
    **_field_sizes(segyio.BinField, end=3261),
    segyio.BinField.SEGYRevision: 2,  # rev 1: one 2-byte field (major in the high byte)
    segyio.BinField.TraceFlag: 2,
    segyio.BinField.ExtendedHeaders: 2,
}


def ibm_from_ieee(values: np.ndarray) -> np.ndarray:
    """Encode IEEE floats as IBM System/360 single-precision words.

    An IBM float is ``(-1)^s * 0.F * 16^(E - 64)`` with a 7-bit exponent and a 24-bit
    fraction. The conversion works on the float32 bit patterns with integer operations only:
    the 24-bit IEEE significand is shifted right by 0-3 bits to put the binary exponent on a
    multiple of 4, rounding to nearest. Zeros and float32 subnormals become 0, NaN becomes 0
    (IBM has no NaN) and infinities saturate at the largest IBM magnitude. Work is done in
    cache-sized pieces, which is several times faster than whole-array passes.

    Args:
        values: Array of any shape; converted to float32.

    Returns:
        ``uint32`` array of the same shape holding the IBM words (native byte order).
    """
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    out = np.empty_like(bits)
    flat_in, flat_out = bits.reshape(-1), out.reshape(-1)
    for start in range(0, flat_in.size, _IBM_PIECE):
        piece = slice(start, start + _IBM_PIECE)
        flat_out[piece] = _ibm_piece(flat_in[piece])
    return out


_IBM_PIECE = 1 << 16  # elements per piece: four 256 kB arrays stay in the L2 cache
_U = np.uint32


def _ibm_piece(bits: np.ndarray) -> np.ndarray:
    """IBM words of float32 bit patterns (see :func:`ibm_from_ieee`)."""
    exponent = (bits >> _U(23)) & _U(0xFF)
    mantissa = bits & _U(0x7FFFFF)
    shift = (_U(126) - exponent) & _U(3)  # right shift that aligns on a power of 16
    fraction = ((mantissa | _U(0x800000)) + ((_U(1) << shift) >> _U(1))) >> shift
    carry = fraction >> _U(24)  # rounding reached the next power of 16
    fraction >>= carry << _U(2)
    biased = ((exponent + shift + _U(130)) >> _U(2)) + carry  # (binary exponent)/4 + 64
    word = (biased << _U(24)) | fraction | (bits & _U(0x80000000))
    word[exponent == 0] = 0  # zeros and subnormals
    infinite = exponent == 255
    if infinite.any():
        word[infinite] = np.where(mantissa[infinite] == 0, word[infinite] | _U(0x7FFFFFFF), 0)
    return word


def text_header(lines: Sequence[str], *, encoding: Literal["ebcdic", "ascii"] = "ebcdic") -> bytes:
    """The 3200-byte textual file header: 40 card images of 80 characters.

    Args:
        lines: Up to 40 lines, without the ``C01`` prefixes (they are added here).
        encoding: ``ebcdic`` (code page 037, the SEG-Y rev 1 norm) or ``ascii``.
    """
    if len(lines) > 40:
        raise ValueError(f"a SEG-Y text header holds 40 lines, got {len(lines)}")
    cards = [f"C{i + 1:2d} {line}"[:80].ljust(80) for i, line in enumerate(lines)]
    cards += [f"C{i + 1:2d}".ljust(80) for i in range(len(cards), 40)]
    text = "".join(cards)
    return text.encode("cp037" if encoding == "ebcdic" else "ascii", errors="replace")


def binary_header(
    fields: Mapping[int, int], *, byteorder: Literal["big", "little"] = "big"
) -> bytes:
    """The 400-byte binary file header with ``fields`` (segyio ``BinField`` position ->
    value), each word in ``byteorder`` (SEG-Y is big-endian; little for a little-endian
    file)."""
    block = bytearray(400)
    for position, value in fields.items():
        size = _BINARY_SIZES[position]
        offset = position - 3201
        block[offset : offset + size] = int(value).to_bytes(size, byteorder, signed=True)
    return bytes(block)


def _trace_dtype(samples: int, fields: Sequence[int]) -> np.dtype:
    """Structured dtype of one trace record: the chosen header fields, then the samples."""
    kinds = {2: ">i2", 4: ">i4"}
    names = [f"h{position}" for position in fields] + ["samples"]
    formats = [kinds[_TRACE_SIZES[position]] for position in fields] + [(">u4", (samples,))]
    offsets = [position - 1 for position in fields] + [240]
    return np.dtype(
        {"names": names, "formats": formats, "offsets": offsets, "itemsize": 240 + 4 * samples}
    )


class SegyWriter:
    """Write a SEG-Y file block by block, atomically.

    Use as a context manager: the file appears at ``path`` only when the ``with`` block ends
    without an exception; otherwise the partial file is removed.

    Args:
        path: Destination file.
        samples: Samples per trace.
        interval_us: Sample interval in microseconds.
        format: ``ibm`` or ``ieee``.
        text: The 3200-byte text header (see :func:`text_header`).
        binary: Extra binary header fields (``BinField`` position -> value); the sample
            count, interval, format, revision and fixed-length flag are set here.
        fields: Trace header positions (``TraceField``) that :meth:`write` fills.
        overwrite: Replace an existing file, which must be a SEG-Y file seisflow wrote (its
            text header says SEISFLOW): anything else is refused.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        samples: int,
        interval_us: int,
        format: Literal["ibm", "ieee"],
        text: bytes,
        binary: Mapping[int, int],
        fields: Sequence[int],
        overwrite: bool = False,
    ) -> None:
        self.path = claim_output(path, kind=SEGY, overwrite=overwrite)
        self.partial = self.path  # replaced by the staged name on entry
        self.samples = samples
        self.format = format
        self.fields = tuple(sorted(set(fields)))
        self.dtype = _trace_dtype(samples, self.fields)
        self.traces_written = 0
        if len(text) != 3200:
            raise ValueError(f"the text header must be 3200 bytes, got {len(text)}")
        header = {
            segyio.BinField.Interval: interval_us,
            segyio.BinField.IntervalOriginal: interval_us,
            segyio.BinField.Samples: samples,
            segyio.BinField.SamplesOriginal: samples,
            segyio.BinField.Format: FORMAT_CODES[format],
            segyio.BinField.SEGYRevision: 0x0100,
            segyio.BinField.TraceFlag: 1,
            segyio.BinField.ExtendedHeaders: 0,
            **binary,
        }
        self._text = text
        self._binary = binary_header(header)
        self._file: BinaryIO | None = None

    def __enter__(self) -> SegyWriter:
        self.partial = staging_path(self.path, folder=False)
        try:
            with writing(self.path):
                self._file = open(self.partial, "r+b")
                self._file.write(self._text)
                self._file.write(self._binary)
        except BaseException:
            remove(self.partial)
            raise
        return self

    def write(self, headers: Mapping[int, np.ndarray], samples: np.ndarray) -> None:
        """Append traces.

        Args:
            headers: For each position in ``fields``, an integer array of shape ``(n,)``.
            samples: Float array of shape ``(n, samples)``.
        """
        if self._file is None:
            raise RuntimeError("SegyWriter.write called outside its with block")
        n = samples.shape[0]
        if samples.shape != (n, self.samples):
            raise ValueError(f"samples must have shape (n, {self.samples}), got {samples.shape}")
        block = np.zeros(n, dtype=self.dtype)
        for position in self.fields:
            block[f"h{position}"] = headers[position]
        if self.format == "ibm":
            block["samples"] = ibm_from_ieee(samples)
        else:
            block["samples"] = np.ascontiguousarray(samples, dtype=np.float32).view(np.uint32)
        with writing(self.path):
            self._file.write(block.data)
        self.traces_written += n

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        assert self._file is not None
        try:
            with writing(self.path):
                self._file.close()
                self._file = None
                if kind is None:
                    os.replace(self.partial, self.path)
        finally:
            self._file = None
            remove(self.partial)
