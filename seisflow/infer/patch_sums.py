"""Sums of patch values over any region of the sample grid: what a stitched layer averages.

Every patch adds its value (one per patch, or a field: one value per cell of rows along
time and columns along the patch's traces) to each sample of its footprint inside the
region, complete patches (touching no missing trace) to one sum and the others to a
second, in the order of the patch table: the float64 sums are, bit for bit, those of adding
the patches one after the other with numpy. The patches a region can meet are looked up in
a grid of inline x crossline cells built once, so a region costs the patches near it, not a
scan of the whole table. The compiled loop (:mod:`numba`, compiled on first use in each
process) releases the GIL, so Dask threads stitch chunks side by side.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["PatchSums", "complete_patches", "footprints", "grid_sums"]

_ROWS = 1 << 16  # patches whose footprints are worked out at once (3 MB of int64 each)


def footprints(positions: np.ndarray, *, size: int, depth: int) -> np.ndarray:
    """int64 ``(n, 6)`` index ranges ``(il0, il1, xl0, xl1, t0, t1)`` the patches at
    ``positions`` ``(n, 4)`` ``(axis, i, j, k)`` cover: ``size`` along their section and in
    time, ``depth`` sections across (an inline section, axis 0, is ``depth`` inlines deep)."""
    axis, i, j, k = positions.T
    il_span = np.where(axis == 0, depth, size)
    xl_span = np.where(axis == 0, size, depth)
    return np.stack([i, i + il_span, j, j + xl_span, k, k + size], axis=1)


def complete_patches(
    positions: np.ndarray, *, size: int, depth: int, live: np.ndarray
) -> np.ndarray:
    """Bool ``(n,)``: the patch at each of ``positions`` ``(n, 4)`` covers no missing trace
    of ``live`` ``(I, J)`` (only such patches are trained on). The missing traces in each
    footprint are counted from a summed-area table of the mask, a block of patches at a time
    (memory bounded whatever the table)."""
    dtype = np.int32 if live.size < 2**31 else np.int64  # counts of missing traces
    missing = np.zeros((live.shape[0] + 1, live.shape[1] + 1), dtype=dtype)
    np.cumsum(np.cumsum(~live.astype(bool), axis=0, dtype=dtype), axis=1, out=missing[1:, 1:])
    complete = np.empty(len(positions), dtype=bool)
    for start in range(0, len(positions), _ROWS):
        foot = footprints(positions[start : start + _ROWS], size=size, depth=depth)
        il0, il1 = (np.minimum(foot[:, c], live.shape[0]) for c in (0, 1))
        xl0, xl1 = (np.minimum(foot[:, c], live.shape[1]) for c in (2, 3))
        inside = missing[il1, xl1] - missing[il0, xl1] - missing[il1, xl0] + missing[il0, xl0]
        complete[start : start + _ROWS] = inside == 0
    return complete


class PatchSums:
    """The sums of patch values over regions of the sample grid.

    Holds references to ``positions`` and ``values`` (no copies), the completeness and the
    lookup: 5 bytes per patch; footprints are worked out for the patches a region meets.

    Args:
        positions: int ``(n, 4)`` ``(axis, i, j, k)`` of the patches (as
            :attr:`~seisflow.infer.score.PatchTable.positions`).
        size: Patch size along the section and in time.
        depth: Sections each patch spans across (its channels).
        complete: bool ``(n,)``: the patch touches no missing trace.
        values: ``(n, V)`` (one value per patch) or ``(n, V, rows, columns)`` (a field
            over each patch; ``rows`` divides its time span and ``columns`` its trace span),
            any float dtype (summed in float64).
    """

    def __init__(
        self, *, positions: np.ndarray, size: int, depth: int, complete: np.ndarray,
        values: np.ndarray,
    ) -> None:  # fmt: skip
        self._positions, self._size, self._depth = positions, size, depth
        self._complete = complete.astype(np.bool_)
        self._values = values[:, :, None, None] if values.ndim == 2 else values
        self._cell = max(size, depth)  # no patch reaches further than a cell
        self._shape = np.zeros(2, dtype=np.int64)
        if len(positions):
            self._shape[:] = [int(positions[:, c].max()) // self._cell + 1 for c in (1, 2)]
        self._order, self._bounds = _cell_order(np.asarray(positions), self._cell,
                                                *(int(n) for n in self._shape))  # fmt: skip

    def held_bytes(self) -> int:
        """Bytes of the arrays this holds of its own (not the positions and values)."""
        return self._complete.nbytes + self._order.nbytes + self._bounds.nbytes

    def overlapping(self, location: list[tuple[int, int]]) -> np.ndarray:
        """int64 ``(h,)``: the patches whose footprints meet the region ``[(a0, a1), (b0,
        b1), (c0, c1)]``, in ascending order."""
        return self._meeting(location)[0]

    def _meeting(self, location: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`overlapping` and those patches' footprints ``(h, 6)``."""
        (a0, a1), (b0, b1), (c0, c1) = location
        (n_a, n_b), cell = self._shape, self._cell
        cells_a = range(max((a0 - cell + 1) // cell, 0), min((a1 - 1) // cell, n_a - 1) + 1)
        b_lo, b_hi = max((b0 - cell + 1) // cell, 0), min((b1 - 1) // cell, n_b - 1)
        rows = [(i * n_b + b_lo, i * n_b + b_hi + 1) for i in cells_a] if b_hi >= b_lo else []
        parts = [self._order[self._bounds[lo] : self._bounds[hi]] for lo, hi in rows]
        near = np.concatenate([np.empty(0, dtype=np.int32), *parts]).astype(np.int64)
        f = footprints(self._positions[near], size=self._size, depth=self._depth)
        meets = (f[:, 0] < a1) & (f[:, 1] > a0) & (f[:, 2] < b1) & (f[:, 3] > b0)
        kept = np.flatnonzero(meets & (f[:, 4] < c1) & (f[:, 5] > c0))
        kept = kept[np.argsort(near[kept])]  # table order: the order the sums add in
        return near[kept], f[kept]

    def __call__(self, location: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        """The sums over the region ``[(a0, a1), (b0, b1), (c0, c1)]`` of size ``(A, B, C)``.

        Returns:
            ``(total, count)``: float64 ``(2, A, B, C, V)``, the sums of the values of the
            complete [0] and the other [1] patches covering each sample, and int32 ``(2, A,
            B, C)``, how many patches each sum holds.
        """
        hit, foot = self._meeting(location)
        (a0, a1), (b0, b1), (c0, c1) = location
        total = np.zeros((2, a1 - a0, b1 - b0, c1 - c0, self._values.shape[1]), np.float64)
        count = np.zeros(total.shape[:4], dtype=np.int32)
        _add(foot, self._complete[hit], self._positions[hit, 0].astype(np.int64),
             self._values[hit].astype(np.float64), a0, b0, c0, total, count)  # fmt: skip
        return total, count


def grid_sums(
    positions: np.ndarray, *, size: int, depth: int, complete: np.ndarray, values: np.ndarray,
    points: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The sums of :class:`PatchSums` at the points of a grid only: ``points`` holds the
    ascending sample indices of the grid along inline, crossline and time, and ``values`` is
    ``(n, V)`` (one value per patch; other arguments as :class:`PatchSums`). Each footprint
    becomes the range of grid points it covers along each axis, a block of patches at a
    time, and the patches are added in table order, so the sums are those of
    :class:`PatchSums` at the points, bit for bit.

    Returns:
        ``(total, count)``: float64 ``(2, P, Q, R, V)`` and int32 ``(2, P, Q, R)`` for the
        ``P x Q x R`` points, as :meth:`PatchSums.__call__`.
    """
    total = np.zeros((2, *(len(p) for p in points), values.shape[1]), dtype=np.float64)
    count = np.zeros(total.shape[:4], dtype=np.int32)
    for start in range(0, len(positions), _ROWS):
        part = slice(start, start + _ROWS)
        foot = footprints(positions[part], size=size, depth=depth)
        spans = np.stack([np.searchsorted(points[c // 2], foot[:, c]) for c in range(6)], axis=1)
        _add(spans, complete[part].astype(np.bool_), positions[part, 0].astype(np.int64),
             values[part, :, None, None].astype(np.float64), 0, 0, 0, total, count)  # fmt: skip
    return total, count


@numba.njit(nogil=True)
def _cell_order(
    positions: np.ndarray, cell: int, n_a: int, n_b: int
) -> tuple[np.ndarray, np.ndarray]:
    """The patches at ``positions`` ``(n, 4)`` sorted by the ``(n_a, n_b)`` grid cell of
    ``cell`` traces their ``(i, j)`` fall in (row-major), ties in table order: int32 ``(n,)``
    (as a stable argsort of the cell numbers, by counting: no sort keys held), and int64
    ``(n_a * n_b + 1,)``, where each cell's patches start in it."""
    counts = np.zeros(n_a * n_b + 1, dtype=np.int64)
    for p in range(positions.shape[0]):
        counts[(positions[p, 1] // cell) * n_b + positions[p, 2] // cell + 1] += 1
    bounds = np.cumsum(counts)
    place = bounds[:-1].copy()
    order = np.empty(positions.shape[0], dtype=np.int32)
    for p in range(positions.shape[0]):
        key = (positions[p, 1] // cell) * n_b + positions[p, 2] // cell
        order[place[key]] = p
        place[key] += 1
    return order, bounds


@numba.njit(nogil=True)
def _add(
    foot: np.ndarray, complete: np.ndarray, axes: np.ndarray, values: np.ndarray,
    a0: int, b0: int, c0: int, total: np.ndarray, count: np.ndarray,
) -> None:  # fmt: skip
    """Add each patch's ``values`` ``(h, V, rows, columns)`` over its footprint ``foot``
    ``(h, 6)`` inside the region starting at ``(a0, b0, c0)`` the size of ``count``, to
    ``total[0]`` and ``count[0]`` for complete patches and to ``[1]`` for the others, one
    patch after the other."""
    n_values, rows, columns = values.shape[1], values.shape[2], values.shape[3]
    a1, b1, c1 = a0 + count.shape[1], b0 + count.shape[2], c0 + count.shape[3]
    for p in range(foot.shape[0]):
        kind = 0 if complete[p] else 1
        row_span = (foot[p, 5] - foot[p, 4]) // rows
        trace0 = foot[p, 2] if axes[p] == 0 else foot[p, 0]
        trace_span = (foot[p, 3] - foot[p, 2]) if axes[p] == 0 else (foot[p, 1] - foot[p, 0])
        column_span = trace_span // columns
        for a in range(max(foot[p, 0], a0), min(foot[p, 1], a1)):
            for b in range(max(foot[p, 2], b0), min(foot[p, 3], b1)):
                column = ((b if axes[p] == 0 else a) - trace0) // column_span
                for c in range(max(foot[p, 4], c0), min(foot[p, 5], c1)):
                    row = (c - foot[p, 4]) // row_span
                    count[kind, a - a0, b - b0, c - c0] += 1
                    for v in range(n_values):
                        total[kind, a - a0, b - b0, c - c0, v] += values[p, v, row, column]
