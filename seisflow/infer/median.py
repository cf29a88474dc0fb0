"""Lateral median: the NaN-ignoring median over the traces around each trace, at each time.

``median_N(v)[i, j, t]`` is the median of the finite ``v[a, b, t]`` with ``|a - i| <= r``
and ``|b - j| <= r`` (the ``(2 r + 1)^2`` traces around ``(i, j)``, fewer at the grid's
edges and where traces are missing): the middle value of ``n`` of them, the mean of the two
middle ones when ``n`` is even (as :func:`numpy.nanmedian`).

Huang's sliding histogram, made exact for floats: each time slice's finite values are
ranked once (a sort of the slice), and each row of traces slides a histogram of ranks along
its columns, adding the column that enters the neighbourhood and removing the one that
leaves (``2 (2 r + 1)`` updates per trace instead of sorting ``(2 r + 1)^2`` neighbours). A
pointer to the median's rank and the count of neighbours below it follow the updates, so
finding the next median walks only as far as the median moved. The compiled kernel
(:mod:`numba`, compiled on first use in each process) releases the GIL, so Dask threads run
chunks side by side.

References:
    Huang, Yang, Tang. A fast two-dimensional median filtering algorithm. IEEE Trans.
    Acoustics, Speech, and Signal Processing 27(1), 1979.
    Perreault, Hébert. Median filtering in constant time. IEEE Trans. Image Processing
    16(9), 2007.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["lateral_median"]


def lateral_median(values: np.ndarray, live: np.ndarray, radius: int) -> np.ndarray:
    """NaN-ignoring median over the ``(2 radius + 1)^2`` traces around each live trace.

    A time slice equal to the one before it (a layer stitched from patches is constant over
    each patch's stride) has the same medians: they are computed once.

    Args:
        values: ``(I, J, T)`` floats; NaN (or any non-finite value) is missing.
        live: ``(I, J)`` bool, the traces whose medians are wanted (others are neighbours
            only).
        radius: Traces on each side of the neighbourhood, ``>= 0``.

    Returns:
        float32 ``(I, J, T)``: the medians at the ``live`` traces (computed in ``values``'
        precision), NaN elsewhere and where a neighbourhood holds no finite value.
    """
    repeated = _repeated_slices(values)
    if repeated.any():
        kept = np.flatnonzero(~repeated)
        return lateral_median(values[..., kept], live, radius)[..., np.cumsum(~repeated) - 1]
    slices = np.ascontiguousarray(values.transpose(2, 0, 1))
    out = np.full(slices.shape, np.nan, dtype=np.float32)
    if live.any():
        _slide(slices, np.ascontiguousarray(live, dtype=np.bool_), int(radius), out)
    return np.ascontiguousarray(out.transpose(1, 2, 0))


def _repeated_slices(values: np.ndarray) -> np.ndarray:
    """Bool ``(T,)``: time slice ``t`` of ``values`` ``(I, J, T)`` equals slice ``t - 1``
    exactly (NaN where it is NaN)."""
    same = np.zeros(values.shape[-1], dtype=bool)
    if values.shape[-1] > 1:
        head, tail = values[..., :-1], values[..., 1:]
        equal = (head == tail) | (np.isnan(head) & np.isnan(tail))
        same[1:] = equal.all(axis=(0, 1))
    return same


_BLOCK = 6  # the coarse histogram counts ranks in blocks of 2**_BLOCK


@numba.njit(inline="always")
def _shift(
    ranks: np.ndarray, counts: np.ndarray, coarse: np.ndarray, rows: tuple[int, int],
    column: int, step: int, pointer: int,
) -> tuple[int, int]:  # fmt: skip
    """Add (``step`` 1) or remove (-1) the ranks of ``column`` over ``rows`` in ``counts``
    and ``coarse``; the change in the count held and in the count below ``pointer``."""
    held, below = 0, 0
    for a in range(rows[0], rows[1]):
        q = ranks[a, column]
        if q >= 0:
            counts[q] += step
            coarse[q >> _BLOCK] += step
            held += step
            if q < pointer:
                below += step
    return held, below


@numba.njit(inline="always")
def _seek(
    counts: np.ndarray, coarse: np.ndarray, k: int, pointer: int, below: int
) -> tuple[int, int]:
    """Move ``pointer`` (with ``below`` held ranks under it) to the rank of the ``k``-th
    smallest held value (0-based), a block of ranks at a time where a block is skipped."""
    size = 1 << _BLOCK
    while below > k:
        if pointer % size == 0 and below - coarse[(pointer >> _BLOCK) - 1] > k:
            pointer -= size
            below -= coarse[pointer >> _BLOCK]
        else:
            pointer -= 1
            below -= counts[pointer]
    while below + counts[pointer] <= k:
        if pointer % size == 0 and below + coarse[pointer >> _BLOCK] <= k:
            below += coarse[pointer >> _BLOCK]
            pointer += size
        else:
            below += counts[pointer]
            pointer += 1
    return pointer, below


@numba.njit(nogil=True)
def _slide(slices: np.ndarray, wanted: np.ndarray, radius: int, out: np.ndarray) -> None:
    """Write into ``out`` ``(T, I, J)`` the lateral medians of ``slices`` ``(T, I, J)`` at
    the ``wanted`` ``(I, J)`` traces (leaving ``out`` as it is elsewhere)."""
    nt, ni, nj = slices.shape
    ranks = np.empty((ni, nj), dtype=np.int32)
    keys = np.empty(ni * nj, dtype=slices.dtype)
    where = np.empty(ni * nj, dtype=np.int64)
    ordered = np.empty(ni * nj, dtype=slices.dtype)
    counts = np.zeros(ni * nj + 1, dtype=np.int32)
    coarse = np.zeros(((ni * nj) >> _BLOCK) + 2, dtype=np.int32)
    asked = np.array([wanted[i].any() for i in range(ni)])  # rows with a wanted trace
    for t in range(nt):
        n = 0
        for i in range(ni):
            for j in range(nj):
                ranks[i, j] = -1
                if np.isfinite(slices[t, i, j]):
                    keys[n] = slices[t, i, j]
                    where[n] = i * nj + j
                    n += 1
        order = np.argsort(keys[:n])
        for q in range(n):
            ranks[where[order[q]] // nj, where[order[q]] % nj] = q
            ordered[q] = keys[order[q]]
        for i in range(ni):
            if not asked[i]:
                continue
            rows = (max(i - radius, 0), min(i + radius + 1, ni))
            held, below, pointer = 0, 0, 0
            for c in range(min(radius, nj)):
                d_held, d_below = _shift(ranks, counts, coarse, rows, c, 1, pointer)
                held, below = held + d_held, below + d_below
            for j in range(nj):
                if j + radius < nj:
                    d_held, d_below = _shift(ranks, counts, coarse, rows, j + radius, 1, pointer)
                    held, below = held + d_held, below + d_below
                if j - radius - 1 >= 0:
                    d_held, d_below = _shift(
                        ranks, counts, coarse, rows, j - radius - 1, -1, pointer
                    )
                    held, below = held + d_held, below + d_below
                if not wanted[i, j] or held == 0:
                    continue
                k = (held - 1) // 2  # the lower middle: below == k at its rank
                pointer, below = _seek(counts, coarse, k, pointer, below)
                if held % 2 == 1:
                    out[t, i, j] = ordered[pointer]
                else:
                    upper, _ = _seek(counts, coarse, k + 1, pointer, below)
                    out[t, i, j] = (ordered[pointer] + ordered[upper]) / 2
            for c in range(max(nj - radius - 1, 0), nj):  # empty the histogram again
                _shift(ranks, counts, coarse, rows, c, -1, pointer)
