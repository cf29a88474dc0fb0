"""Survey geometry from trace headers: the inline/crossline grid and where each trace goes.

The grid is derived from the header words, never from segyio's inference, so irregular
surveys, missing traces, non-unit steps, any trace order and 2-D lines all work:

* each axis runs from the smallest to the largest line number in steps of the greatest common
  divisor of the gaps, so missing lines become empty (NaN) rows rather than vanishing;
* a cell with no trace is marked missing; a cell with two traces is an error naming the first
  duplicate, unless a ``first``/``last`` policy says which to keep;
* a file whose inline and crossline words are both constant is a 2-D line: its traces are
  placed by CDP number along ``crossline`` and ``inline`` has length 1.

Byte locations that give a degenerate grid (most cells empty, or most traces duplicated
without a ``first``/``last`` policy) are refused with the common alternatives that would give
a proper grid. The size of the grid is
checked before anything is allocated: a few traces whose line numbers lie far outside the
others (a corrupt header, e.g. an inline of 2147483647) are named rather than turned into a
grid of billions of cells.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from typing import Literal

import numpy as np

from seisflow.errors import SegyFormatError
from seisflow.ingest.segy import HeaderScan

__all__ = ["COMMON_BYTE_PAIRS", "Geometry", "axis_span", "build_geometry", "line_axis"]

#: Inline/crossline byte pairs seen in the wild, suggested when the given pair is degenerate.
COMMON_BYTE_PAIRS: tuple[tuple[int, int], ...] = (
    (189, 193), (9, 21), (5, 17), (13, 17), (9, 13), (17, 21), (21, 25), (1, 5),
)  # fmt: skip
MAX_EMPTY_FRACTION = 0.9  # a grid with more empty cells than this is degenerate
MAX_CELLS = 2**31  # a grid larger than this cannot come from real line numbers
BULK_FRACTION = 0.9  # line numbers outside the shortest range holding this share of the
# traces, by more than that range's width, are "far outside the others"
MAX_LISTED = 5  # far-out traces named in a message

Duplicates = Literal["error", "first", "last"]


@dataclass(frozen=True)
class Geometry:
    """Where each trace of a file sits on the (inline, crossline) grid.

    Attributes:
        inlines: Inline numbers, int32 ``(n_il,)``; ``[1]``-like for a 2-D line.
        crosslines: Crossline (or CDP) numbers, int32 ``(n_xl,)``.
        trace_index: File position of each cell's trace, int64 ``(n_il, n_xl)``; -1 if none.
        is_2d: True for a 2-D line placed by CDP number.
        sorting: ``inline``, ``crossline`` or ``unsorted`` (the file's trace order).
        dropped: Number of duplicate traces dropped by the ``first``/``last`` policy.
        placement: For a 2-D line, how its traces were placed and why (empty for 3-D).
    """

    inlines: np.ndarray
    crosslines: np.ndarray
    trace_index: np.ndarray
    is_2d: bool
    sorting: str
    dropped: int
    placement: str = ""

    @property
    def shape(self) -> tuple[int, int]:
        return self.trace_index.shape  # type: ignore[return-value]

    @property
    def mask(self) -> np.ndarray:
        """Bool ``(n_il, n_xl)``: True where a trace was recorded."""
        return self.trace_index >= 0


def axis_span(numbers: np.ndarray) -> tuple[int, int, int]:
    """``(first, step, count)`` of the regular axis covering ``numbers``, without building it:
    min to max in steps of the gcd of the gaps."""
    values = np.unique(numbers)
    if values.size == 1:
        return int(values[0]), 1, 1
    step = reduce(math.gcd, (int(d) for d in np.diff(values)))
    return int(values[0]), step, (int(values[-1]) - int(values[0])) // step + 1


def line_axis(numbers: np.ndarray) -> np.ndarray:
    """The regular axis covering ``numbers``: min to max in steps of the gcd of the gaps.

    Raises:
        ValueError: When the axis would have more than :data:`MAX_CELLS` lines.
    """
    first, step, count = axis_span(numbers)
    if count > MAX_CELLS:
        raise ValueError(f"an axis of {count} lines from {first} in steps of {step}")
    return first + step * np.arange(count, dtype=np.int64)


def _too_sparse(cells: int, traces: int) -> bool:
    """True for a grid that is too large, or too empty, for its traces."""
    return cells > MAX_CELLS or (cells > 16 and traces < (1 - MAX_EMPTY_FRACTION) * cells)


def build_geometry(
    scan: HeaderScan,
    *,
    duplicates: Duplicates = "error",
    probe: Callable[[int], np.ndarray] | None = None,
) -> Geometry:
    """Place every trace of ``scan`` on the grid.

    Args:
        scan: Header words of the file.
        duplicates: ``error`` (default), or keep the ``first`` / ``last`` trace of a cell.
        probe: Reads one header word of every trace by byte position; used only to suggest
            other byte locations when the grid is degenerate.

    Raises:
        SegyFormatError: On a degenerate grid (naming any traces far outside the others) or,
            with ``error``, a duplicated cell.
    """
    il, xl = scan.inline, scan.crossline
    is_2d = bool(np.all(il == il[0]) and np.all(xl == xl[0]))
    placement = ""
    if is_2d:
        placement = _placement(scan)
        xl = scan.cdp if np.unique(scan.cdp).size > 1 else np.arange(1, scan.n_traces + 1)
        il = np.ones_like(xl)
    spans = axis_span(il), axis_span(xl)
    if _too_sparse(spans[0][2] * spans[1][2], scan.n_traces):  # check before allocating
        found = f"{spans[0][2]} x {spans[1][2]} grid for {scan.n_traces} traces"
        raise _far_outside(scan, il, xl, is_2d, found) or _degenerate(scan, found, probe)
    inlines, crosslines = line_axis(il), line_axis(xl)
    cells = inlines.size * crosslines.size
    i = np.searchsorted(inlines, il)
    j = np.searchsorted(crosslines, xl)
    flat = i * crosslines.size + j
    order = np.arange(scan.n_traces, dtype=np.int64)
    unique, first_position, counts = np.unique(flat, return_index=True, return_counts=True)
    dropped = scan.n_traces - unique.size
    if dropped:
        if dropped > scan.n_traces // 2 and duplicates == "error":  # first/last: as asked
            found = f"grid: the {scan.n_traces} traces fall in only {unique.size} cells"
            raise SegyFormatError(
                f"{_degenerate(scan, found, probe)}; if the bins really hold repeated traces, "
                "pass --duplicates first or --duplicates last to keep one"
            )
        if duplicates == "error":
            cell = unique[np.argmax(counts > 1)]
            where = np.flatnonzero(flat == cell)
            raise SegyFormatError(
                f"{scan.path}: traces {where[0]} and {where[1]} (0-based) both have "
                f"{_words(scan)} {inlines[cell // crosslines.size]}/"
                f"{crosslines[cell % crosslines.size]} ({dropped} duplicates in all): pass "
                "--duplicates first or --duplicates last to keep one, or check the byte "
                "locations"
            )
    trace_index = np.full(cells, -1, dtype=np.int64)
    if duplicates == "last":
        trace_index[flat] = order  # later assignments win
    else:
        trace_index[unique] = first_position
    return Geometry(
        inlines=inlines.astype(np.int32),
        crosslines=crosslines.astype(np.int32),
        trace_index=trace_index.reshape(inlines.size, crosslines.size),
        is_2d=is_2d,
        sorting=_sorting(i, j),
        dropped=int(dropped),
        placement=placement,
    )


def _words(scan: HeaderScan) -> str:
    return f"inline/crossline (bytes {scan.locations.inline}/{scan.locations.crossline})"


def _placement(scan: HeaderScan) -> str:
    """How the traces of a 2-D line are placed, and why: for the ingest summary."""
    il, xl, cdp = int(scan.inline[0]), int(scan.crossline[0]), scan.cdp
    state = "are empty" if il == xl == 0 else f"are constant ({il}/{xl})"
    bytes_ = f"inline/crossline bytes {scan.locations.inline}/{scan.locations.crossline}"
    if np.unique(cdp).size > 1:
        return f"placed by CDP: {bytes_} {state}"
    return f"placed in file order: {bytes_} {state} and CDP byte {scan.locations.cdp} is constant"


def _outliers(values: np.ndarray) -> np.ndarray:
    """Bool mask of ``values`` far outside the bulk: outside the shortest range holding
    :data:`BULK_FRACTION` of them by more than that range's width (at least 1)."""
    n = values.size
    keep = max(math.ceil(BULK_FRACTION * n), 1)
    ordered = np.sort(values)
    widths = ordered[keep - 1 :] - ordered[: n - keep + 1]
    low = int(ordered[int(np.argmin(widths))])
    high = low + int(widths.min())
    margin = max(high - low, 1)
    return (values < low - margin) | (values > high + margin)


def _far_outside(
    scan: HeaderScan, il: np.ndarray, xl: np.ndarray, is_2d: bool, found: str
) -> SegyFormatError | None:
    """The error naming the few traces whose line numbers alone make the grid degenerate
    (a corrupt header), or None when the grid is degenerate without them too."""
    far = _outliers(il) | _outliers(xl)
    count = int(far.sum())
    if not 0 < count <= max(1, scan.n_traces // 20):
        return None
    bulk_il, bulk_xl = il[~far], xl[~far]
    if _too_sparse(axis_span(bulk_il)[2] * axis_span(bulk_xl)[2], bulk_il.size):
        return None
    if is_2d:
        words, values = f"CDP (byte {scan.locations.cdp})", [f"{v}" for v in xl[far]]
        bulk = f"CDPs {bulk_xl.min()}-{bulk_xl.max()}"
    else:
        words, values = _words(scan), [f"{a}/{b}" for a, b in zip(il[far], xl[far], strict=True)]
        bulk = (
            f"inlines {bulk_il.min()}-{bulk_il.max()}, crosslines {bulk_xl.min()}-{bulk_xl.max()}"
        )
    more = f" and {count - MAX_LISTED} more" if count > MAX_LISTED else ""
    traces = ", ".join(str(t) for t in np.flatnonzero(far)[:MAX_LISTED]) + more
    one = count == 1
    return SegyFormatError(
        f"{scan.path}: {'trace' if one else 'traces'} {traces} (0-based) {'has' if one else 'have'}"
        f" {words} {', '.join(values[:MAX_LISTED])}{more}, far outside the others ({bulk}), "
        f"which would make a {found}: a corrupt header; repair {'it' if one else 'them'} "
        "or check the byte locations (--iline-byte/--xline-byte/--cdp-byte)"
    )


def _sorting(i: np.ndarray, j: np.ndarray) -> str:
    if np.all(np.diff(i * (j.max() + 1) + j) > 0):
        return "inline"
    if np.all(np.diff(j * (i.max() + 1) + i) > 0):
        return "crossline"
    return "unsorted"


def _degenerate(
    scan: HeaderScan, found: str, probe: Callable[[int], np.ndarray] | None
) -> SegyFormatError:
    """The error for byte locations that do not give a survey grid, with alternatives."""
    here = (scan.locations.inline, scan.locations.crossline)
    good = []
    if probe is not None:
        for pair in COMMON_BYTE_PAIRS:
            if pair == here:
                continue
            a, b = probe(pair[0]), probe(pair[1])
            if np.all(a == a[0]) or np.all(b == b[0]):
                continue
            cells = axis_span(a)[2] * axis_span(b)[2]
            unique = np.unique(np.stack([a, b]), axis=1).shape[1]
            if unique == scan.n_traces and cells <= 4 * scan.n_traces:
                good.append(f"{pair[0]}/{pair[1]}")
    suggestion = (
        f"bytes {', '.join(good)} give a proper grid: pass --iline-byte/--xline-byte"
        if good
        else "try --iline-byte/--xline-byte with one of the common pairs "
        + ", ".join(f"{a}/{b}" for a, b in COMMON_BYTE_PAIRS if (a, b) != here)
        + ", or check the samples per trace in the binary header (bytes 3221-3222)"
    )
    return SegyFormatError(f"{scan.path}: {_words(scan)} give a degenerate {found}; {suggestion}")
