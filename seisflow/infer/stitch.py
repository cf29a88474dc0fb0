"""Patch rows stitched to the sample grid: chunk by chunk, as a Dask graph.

Every sample takes the mean of the values of the patches covering it (complete patches
first: those touching a missing trace hold fill values the flow never saw), and a reducer
turns that mean into the layer's value (the arg-max topic, the largest proportion, the
anomaly score). Memory is bounded by a chunk and the patch table. :func:`patch_grid` does
the same at the points of the coarser patch grid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np

from seisflow.infer.closure_blocks import closure_blocks
from seisflow.infer.patch_sums import PatchSums, complete_patches, grid_sums
from seisflow.infer.score import PatchTable

__all__ = [
    "Reduce",
    "chunk_mean",
    "complete_coverage",
    "covered_float32",
    "patch_grid",
    "reduce_argmax",
    "reduce_first",
    "reduce_max",
    "reduce_words",
    "stitch",
    "stitch_mean",
    "stitched_source",
    "widened",
]

#: Turns the per-sample mean of patch values and the covered-live mask into a layer chunk.
Reduce = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _complete(table: PatchTable, live: np.ndarray) -> np.ndarray:
    """Bool ``(n,)``: the patch covers no missing trace (only such patches are trained on)."""
    return complete_patches(table.positions, size=table.spec.size, depth=table.spec.channels,
                            live=live)  # fmt: skip


def _complete_first(total: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums ``(2, ..., V)`` and counts ``(2, ...)`` of complete [0] and other [1] patches ->
    those of the complete patches where any covers a point, else those of the others."""
    first = count[0] > 0
    return np.where(first[..., None], total[0], total[1]), np.where(first, count[0], count[1])


def stitch(
    table: PatchTable,
    chunks: tuple[tuple[int, ...], ...],
    reduce: Reduce,
    *,
    values: np.ndarray,
    live: np.ndarray,
    dtype: Any,
) -> da.Array:
    """A Dask array on the amplitude grid: per chunk, the mean of ``values`` over the patches
    covering each sample, passed with the mask of covered live samples to
    ``reduce(mean, covered) -> (chunk)``; ``live`` is the trace mask ``(n_il, n_xl)``.
    ``values`` is ``(n, V)`` (one value per patch) or ``(n, V, rows, columns)`` (a field over
    each patch, rows along time and columns along its traces, as :attr:`PatchTable.words`).

    Patches that touch a missing trace hold fill values the flow never saw in training (the
    training tiling skips them), so a sample takes the mean of the complete patches covering
    it, and of the others only where no complete patch does (next to missing traces).
    """
    mean_of = chunk_mean(table, values, live)

    def block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        mean, covered, _ = mean_of(block_info[None]["array-location"])
        return reduce(mean, covered).astype(dtype)

    return closure_blocks(block, chunks=chunks, dtype=dtype, label="stitch")


def stitch_mean(
    table: PatchTable,
    chunks: tuple[tuple[int, ...], ...],
    *,
    values: np.ndarray,
    live: np.ndarray,
) -> da.Array:
    """The mean of ``values`` ``(n, V)`` over the patches covering each sample, all ``V`` in
    one pass over the patches (as :func:`stitch`, complete patches first): lazy float32
    ``(inline, crossline, time, V)`` on ``chunks`` (one chunk along ``V``), NaN at samples
    no patch covers and off the live traces."""
    mean_of = chunk_mean(table, values, live, dtype=np.float32)

    def block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        mean, covered, _ = mean_of(block_info[None]["array-location"][:3])
        return covered_float32(mean, covered)

    return closure_blocks(block, chunks=(*chunks, (values.shape[1],)), dtype=np.float32,
                          label="stitch-mean")  # fmt: skip


def chunk_mean(
    table: PatchTable, values: np.ndarray, live: np.ndarray, *, slab: int = 64,
    dtype: type[np.floating] = np.float64,
) -> Callable[[list[tuple[int, int]]], tuple[np.ndarray, np.ndarray, np.ndarray]]:  # fmt: skip
    """A function of a chunk's ``[(a0, a1), (b0, b1), (c0, c1)]`` giving the mean of
    ``values`` over the patches covering each of its samples, ``(A, B, C, V)`` of ``dtype``
    (complete patches first), the bool ``(A, B, C)`` of covered live samples and the bool
    ``(A, B, C)`` of those a complete patch covers (the mean is of complete patches only).

    The sums are taken ``slab`` time samples at a time: the float64 sums of complete and
    other patches, their counts and the choice between them are held for a slab (a quarter
    of a 256-sample chunk's at the default), not for the whole chunk, and each sample's mean
    is the same: worked out in float64, then stored as ``dtype`` (float32 halves the chunk's
    array for the layers that keep float32)."""
    sums = PatchSums(positions=table.positions, size=table.spec.size,
                     depth=table.spec.channels, complete=_complete(table, live),
                     values=values)  # fmt: skip

    def mean_of(location: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        (a0, a1), (b0, b1), (c0, c1) = location
        mean = np.empty((a1 - a0, b1 - b0, c1 - c0, values.shape[1]), dtype=dtype)
        counted = np.empty(mean.shape[:3], dtype=bool)
        first = np.empty(mean.shape[:3], dtype=bool)
        for start in range(c0, c1, slab):
            stop = min(start + slab, c1)
            total, count = sums([(a0, a1), (b0, b1), (start, stop)])
            first[:, :, start - c0 : stop - c0] = count[0] > 0
            total, count = _complete_first(total, count)
            mean[:, :, start - c0 : stop - c0] = total / np.maximum(count, 1)[..., None]
            counted[:, :, start - c0 : stop - c0] = count > 0
        alive = live[a0:a1, b0:b1, None]
        return mean, counted & alive, first & alive

    return mean_of


def covered_float32(mean: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """``mean`` ``(..., V)`` in float32 (itself if it is float32: it is changed), NaN where
    ``covered`` ``(...)`` is False."""
    out = mean.astype(np.float32, copy=False)
    out[~covered] = np.nan
    return out


def widened(
    core: list[tuple[int, int]], reach: tuple[int, int, int], shape: tuple[int, int, int]
) -> tuple[list[tuple[int, int]], tuple[slice, ...]]:
    """A region ``core`` ``[(a0, a1), ...]`` widened by ``reach`` samples on each side of
    each axis (clipped to ``shape``), and the slices that cut ``core`` back out of it."""
    wide = [(max(a - r, 0), min(b + r, n)) for (a, b), r, n in zip(core, reach, shape, strict=True)]
    inside = tuple(slice(a - w, b - w) for (a, b), (w, _) in zip(core, wide, strict=True))
    return wide, inside


def stitched_source(
    table: PatchTable, values: np.ndarray, live: np.ndarray
) -> Callable[[list[tuple[int, int]]], tuple[np.ndarray, np.ndarray]]:
    """``values`` ``(n,)`` stitched over any region ``[(i0, i1), (j0, j1), (k0, k1)]``, for
    :func:`~seisflow.infer.contrast.sourced_lateral_contrast`: float32 (NaN where no patch
    covers or no trace, as :func:`stitch` with :func:`reduce_first`) and the bool mask of
    :func:`complete_coverage`, both from one pass over the patches (the samples a complete
    patch covers: their mean is of complete patches alone)."""
    mean_of = chunk_mean(table, values[:, None], live)

    def source(region: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        mean, covered, complete = mean_of(region)
        return np.where(covered, mean[..., 0], np.nan).astype(np.float32), complete

    return source


def patch_grid(
    table: PatchTable, shape: tuple[int, int, int], live: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The mean topic proportions at the points of the patch grid.

    The grid takes every ``stride``-th sample along inline, crossline and time, starting half
    a stride in; a point's value is the mean over the patches covering it (complete patches
    first), as for the ``facies`` layer, so the arg-max over topics at a point is the facies
    there.

    Returns:
        ``((i, j, k), values)``: the grid's sample indices along each axis and float32
        ``(len(i), len(j), len(k), K)`` values, NaN at points on no live trace.
    """
    stride = table.spec.stride
    axes = tuple(np.arange(stride // 2, n, stride) for n in shape)
    total, count = grid_sums(table.positions, size=table.spec.size, depth=table.spec.channels,
                             complete=_complete(table, live), values=table.proportions,
                             points=axes)  # fmt: skip
    total, count = _complete_first(total, count)
    covered = (count > 0) & live[np.ix_(axes[0], axes[1])][..., None]
    values = np.where(covered[..., None], total / np.maximum(count, 1)[..., None], np.nan)
    return axes, values.astype(np.float32)


def reduce_argmax(mean: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The arg-max topic at covered samples, -1 elsewhere."""
    return np.where(covered, mean.argmax(-1), -1)


def reduce_words(mean: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The ``word`` read-out (see :data:`Readout`) of the mean of :func:`facies_values`
    ``(..., 2K)``: of the two topics with the largest mean patch proportions, the one with
    the larger mean word responsibility; -1 off the covered samples."""
    k = mean.shape[-1] // 2
    patch, words = mean[..., :k], mean[..., k:]
    candidates = np.argsort(-patch, axis=-1)[..., :2]
    favoured = np.take_along_axis(words, candidates, -1).argmax(-1)
    choice = np.take_along_axis(candidates, favoured[..., None], -1)[..., 0]
    return np.where(covered, choice, -1)


def reduce_max(mean: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The largest proportion at covered samples, NaN elsewhere."""
    return np.where(covered, mean.max(-1), np.nan)


def complete_coverage(
    table: PatchTable, shape: tuple[int, int, int], chunks: tuple[tuple[int, ...], ...],
    live: np.ndarray,
) -> da.Array:  # fmt: skip
    """Bool Dask array on the amplitude grid: True where a complete patch (one that touches
    no missing trace, as training patches are) covers the sample; False at live samples
    only patches holding fill values cover (next to missing traces) and off the live
    traces. :func:`stitch` of the patches' completeness, complete patches first."""
    complete = _complete(table, live).astype(np.float32)[:, None]
    layer = stitch(table, chunks, reduce_first, values=complete, live=live,
                   dtype=np.float32)  # fmt: skip
    return layer == 1.0


def reduce_first(mean: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The first value at covered samples, NaN elsewhere."""
    return np.where(covered, mean[..., 0], np.nan)
