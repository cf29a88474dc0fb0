"""The file a store was ingested from, as an export reads it again: its layout and where each
of its traces sits on the store's grid.

An export copies the source's trace headers, so it reads the source in place: a memory map of
fixed-length traces. :func:`source_layout` says where they start, how long they are and in
which byte order (the store's ``source.endian``, big when not recorded): a SEG-Y file after
its 3600-byte header and any extended text headers; a Seismic Unix file (``.su``) from its
first byte, with no file header (the export then starts from a blank text header and a binary
header made from the first trace's sample count and interval, the store's when it has none).
:class:`Placement` finds each trace on the grid by the words the ingest placed it by.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import segyio

from seisflow.errors import InputFileError
from seisflow.ingest.fetch import source_size
from seisflow.ingest.segy_writer import binary_header, text_header

__all__ = ["Placement", "SourceLayout", "checked_source", "source_layout"]

BYTES_PER_SAMPLE = {1: 4, 2: 4, 3: 2, 5: 4, 6: 8, 8: 1, 9: 8, 10: 4, 11: 2, 12: 8, 16: 1}
Order = Literal["big", "little"]


def checked_source(survey: Any, store: Any) -> str:
    """The source file of ``store`` (a path, or a URL), checked to be there with the size
    it had at ingest.

    Raises:
        InputFileError: When it is missing or its size changed.
    """
    record = survey.attrs.get("source", {})
    path = str(record.get("path", ""))
    try:
        size = source_size(path) if path else None
    except InputFileError:
        size = None
    if size is None or size != record.get("size"):
        raise InputFileError(
            f"{store} was ingested from {path}, which is missing or changed (size "
            f"{record.get('size')} expected): its trace headers are copied into the export, "
            "so put the original file back at that path"
        )
    return path


@dataclass(frozen=True)
class SourceLayout:
    """Where the traces of a source file are and what its file headers hold.

    Attributes:
        text: The 3200-byte text header (blank cards for Seismic Unix).
        binary: The 400-byte binary header, in ``order``.
        offset: Byte where the first trace starts.
        samples: Samples per trace.
        record: Bytes per trace (240 + samples x bytes per sample).
        count: Number of traces.
        order: Byte order of the file's words.
    """

    text: bytes
    binary: bytes
    offset: int
    samples: int
    record: int
    count: int
    order: Order

    def traces(self, source: Path) -> np.ndarray:
        """The traces of ``source`` as a read-only ``(count, record)`` uint8 memory map."""
        shape = (self.count, self.record)
        return np.memmap(source, dtype=np.uint8, mode="r", offset=self.offset, shape=shape)


def source_layout(source: Path, survey: Any, store: Path) -> SourceLayout:
    """The layout of ``source`` (see the module docstring), checked against ``store``.

    Raises:
        InputFileError: When the file holds no whole trace or its sample count is not the
            store's.
    """
    order: Order = "little" if survey.attrs.get("source", {}).get("endian") == "little" else "big"
    size = source.stat().st_size
    with open(source, "rb") as handle:
        head = handle.read(3600)
    if source.suffix.lower() == ".su":  # no file header: 240-byte headers, 4-byte samples
        ns = int.from_bytes(head[114:116], order) if len(head) >= 240 else 0
        interval = int.from_bytes(head[116:118], order) if len(head) >= 240 else 0
        axis = survey[str(survey.amplitude.dims[2])].values
        if not interval and axis.size > 1:  # no interval in the trace: the store's (in us)
            interval = round(float(axis[1] - axis[0]) * 1000)
        text = text_header([])
        binary = binary_header({
            segyio.BinField.Interval: interval, segyio.BinField.IntervalOriginal: interval,
            segyio.BinField.Samples: ns, segyio.BinField.SamplesOriginal: ns,
            segyio.BinField.Format: 5, segyio.BinField.SEGYRevision: 0x0100,
            segyio.BinField.TraceFlag: 1,
        }, byteorder=order)  # fmt: skip
        offset, width = 0, 4
    else:
        text, binary = head[:3200], head[3200:3600]
        ns = int.from_bytes(binary[20:22], order)
        width = BYTES_PER_SAMPLE.get(int.from_bytes(binary[24:26], order), 4)
        offset = 3600 + 3200 * max(0, int.from_bytes(binary[304:306], order, signed=True))
    if ns != survey.amplitude.shape[2]:
        raise InputFileError(
            f"{source} has {ns} samples per trace but {store} has {survey.amplitude.shape[2]}: "
            "the store was not ingested from this file"
        )
    record = 240 + ns * width
    count = (size - offset) // record
    if count < 1:
        raise InputFileError(
            f"{source} holds no whole trace of {record} bytes after byte {offset}: the store "
            "was not ingested from this file"
        )
    return SourceLayout(text, bytes(binary), offset, ns, record, count, order)


class Placement:
    """Where each trace of the source sits on the store's grid, by the header words the
    ingest placed it by: ``(i, j)`` array indices of a block of trace headers.

    ``placed_by`` is ``inline/crossline`` (bytes ``byte_locations["inline"]`` /
    ``["crossline"]``), ``cdp`` (a 2-D line: ``byte_locations["cdp"]``, on the one inline)
    or ``file order`` (a 2-D line whose CDP word is constant: trace ``n`` is crossline index
    ``n``). Stores written before ``placed_by`` was recorded get the ingest's rule: a 2-D
    line is placed by CDP unless its CDP word is constant.

    Raises:
        InputFileError: When a 2-D line placed in file order has another number of traces.
    """

    def __init__(
        self, survey: Any, store: Path, source: Path, traces: np.ndarray, order: Order
    ) -> None:
        self.store, self.source, self.order = store, source, order
        self.locations = survey.attrs["byte_locations"]
        self.inlines, self.crosslines = survey.inline.values, survey.crossline.values
        geometry = survey.attrs.get("geometry", {})
        placed = geometry.get("placed_by")
        if placed is None:
            placed = "inline/crossline"
            if geometry.get("is_2d"):
                cdp = self._word(np.asarray(traces[:, :240]), self.locations["cdp"])
                placed = "cdp" if np.unique(cdp).size > 1 else "file order"
        self.placed_by = str(placed)
        if self.placed_by == "file order" and len(traces) != self.crosslines.size:
            raise InputFileError(
                f"{source} holds {len(traces)} traces but the 2-D line in {store} has "
                f"{self.crosslines.size}, placed in file order: the store was not ingested "
                "from this file"
            )

    def __call__(self, heads: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray]:
        """Array indices ``(i, j)`` of the traces whose headers are ``heads`` (file
        positions ``start`` onwards).

        Raises:
            InputFileError: When a trace's numbers are not on the store's grid.
        """
        n = len(heads)
        if self.placed_by == "file order":
            return np.zeros(n, dtype=np.int64), np.arange(start, start + n, dtype=np.int64)
        if self.placed_by == "cdp":
            byte = self.locations["cdp"]
            il, what = None, f"CDP numbers (byte {byte})"
            xl = self._word(heads, byte)
        else:
            il = self._word(heads, self.locations["inline"])
            xl = self._word(heads, self.locations["crossline"])
            what = (
                f"inline/crossline numbers (bytes {self.locations['inline']}/"
                f"{self.locations['crossline']})"
            )
        j = np.searchsorted(self.crosslines, xl).clip(0, self.crosslines.size - 1)
        wrong = self.crosslines[j] != xl
        if il is None:
            i = np.zeros(n, dtype=np.int64)
        else:
            i = np.searchsorted(self.inlines, il).clip(0, self.inlines.size - 1)
            wrong |= self.inlines[i] != il
        if np.any(wrong):
            raise InputFileError(
                f"{self.source}: traces {start}-{start + n - 1} hold {what} that {self.store} "
                "does not: the store was not ingested from this file"
            )
        return i, j

    def _word(self, headers: np.ndarray, byte: int) -> np.ndarray:
        """The int32 header word at 1-based ``byte`` of every header, in the file's order."""
        kind = ">i4" if self.order == "big" else "<i4"
        return headers[:, byte - 1 : byte + 3].copy().view(kind).ravel().astype(np.int64)
