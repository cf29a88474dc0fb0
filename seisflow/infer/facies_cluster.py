"""The ``cluster`` facies read-out: k-means on the flow's topic proportions, smoothed.

The ``patch`` read-out takes, at each sample, the arg-max of the mean topic proportions of
the patches covering it. This one treats those K mean proportions as a sample's features:
stitch them (one lazy layer per topic) -> box-mean them over the live samples within
+-:data:`~seisflow.infer.attribute_facies.SMOOTH` (traces, samples) -> fit k-means (K
clusters, k-means++ x 4) on a seeded sample of live samples -> label every sample chunk by
chunk (:mod:`seisflow.infer.per_sample`), or, with ``potts`` > 0, by a Potts/ICM step on
the samples' costs under the centres (:func:`seisflow.infer.potts.icm_dask`). The fit
sample's rows are stitched and smoothed over each sample's own box alone
(:func:`fit_sample_rows`) where that is less work than the chunks holding them: on a
large survey the fit costs its sample, not the volume. Mixtures of topics that recur (a
unit whose patches are 60 % one topic, 40 % another) become a facies of their own instead
of being split by a 50 % threshold. Chosen on the two tuning surveys
(benchmarks/RESULTS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np
from sklearn.cluster import KMeans

from seisflow.infer.attribute_facies import SMOOTH
from seisflow.infer.closure_blocks import closure_blocks
from seisflow.infer.per_sample import box_block, fit_points, map_rows, potts_labels
from seisflow.infer.score import PatchTable
from seisflow.infer.stitch import chunk_mean, covered_float32, stitch_mean, widened

__all__ = ["cluster_layers", "fit_sample_rows", "smoothed_proportions", "stitched_proportions"]


def cluster_layers(
    table: PatchTable,
    survey: Any,
    *,
    seed: int = 0,
    smooth: tuple[int, int] = SMOOTH,
    fit_samples: int = 100_000,
    potts: float = 0.0,
) -> tuple[da.Array, da.Array]:
    """The facies and their confidence, from one stitch of each chunk's proportions.

    Args:
        table: Patches scored with topics (:func:`~seisflow.infer.score.score_patches`).
        survey: The survey the table was scored on (``amplitude``, ``trace_mask``).
        seed: Seed of the fit sample and of k-means.
        smooth: ``(lateral, vertical)`` half-widths of the box mean.
        fit_samples: Live samples k-means is fitted on (at most).
        potts: The Potts weight ``beta`` (:func:`~seisflow.infer.per_sample.potts_labels`);
            0: the nearest centre.

    Returns:
        Lazy int16 ``(inline, crossline, time)`` facies ``0..K-1`` (K: the table's topics),
        -1 where no trace; and the confidence, the largest of each sample's stitched
        proportions (as ``stitched_proportions(table, survey).max(axis=-1)``), lazy float32,
        NaN where no trace.
    """
    chunks, live = survey.amplitude.data.chunks, survey.trace_mask.values.astype(bool)
    k = table.proportions.shape[1]
    both = _smoothed_and_largest(table, survey, smooth)
    features = both[..., :k]
    points = fit_points(live, survey.amplitude.shape[2], samples=fit_samples, seed=seed,
                        salt=0xC1)  # fmt: skip
    rows = np.nan_to_num(fit_sample_rows(table, survey, points, smooth=smooth))
    model = KMeans(k, n_init=4, random_state=seed).fit(rows)
    if potts:
        facies = potts_labels(features, model, fitted=len(rows), live=live, beta=potts)
    else:
        facies = map_rows(features, lambda flat: model.predict(np.nan_to_num(flat)),
                          dtype=np.int16, missing=-1)  # fmt: skip
    return facies.rechunk(chunks), both[..., k]


def stitched_proportions(table: PatchTable, survey: Any) -> da.Array:
    """Each sample's mean topic proportions over the patches covering it: lazy float32
    ``(inline, crossline, time, K)``, NaN where no trace (all topics in one pass)."""
    return stitch_mean(table, survey.amplitude.data.chunks, values=table.proportions,
                       live=survey.trace_mask.values.astype(bool))  # fmt: skip


def smoothed_proportions(
    table: PatchTable, survey: Any, smooth: tuple[int, int] = SMOOTH
) -> da.Array:
    """:func:`~seisflow.infer.per_sample.box_mean` of :func:`stitched_proportions` over
    +-``smooth`` (traces, samples): lazy float32 ``(inline, crossline, time, K)``, NaN where
    no trace. Each chunk stitches its own margin of ``smooth`` from the patch table instead of
    taking it from its neighbours, so no chunk waits on another: memory is a few chunks
    whatever the volume, and no neighbour is stitched again for its margin."""
    return _smoothed_and_largest(table, survey, smooth)[..., : table.proportions.shape[1]]


def fit_sample_rows(
    table: PatchTable,
    survey: Any,
    points: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    smooth: tuple[int, int] = SMOOTH,
) -> np.ndarray:
    """:func:`smoothed_proportions` at ``points`` ``(i, j, t)`` (each ``(n,)``) only: float32
    ``(n, K)``, NaN off the traces. The values of reading the smoothed volume at the points:
    the box filter's float64 running sums start at the box instead of the chunk's edge, and
    round to the same float32 in every case measured (the tests, 100 000 points at 0.25, 4
    and 16 GB in ``benchmarks/fit_sample.py``), though that is not guaranteed to the last bit.

    One task per chunk holding points. A chunk whose points' boxes of +-``smooth`` hold
    fewer samples than the chunk with its margins stitches and smooths each point's box
    alone; the others, the whole chunk. A fit sample spread thin over a large survey (100
    000 points over a 16 GB one: 26 a chunk) costs its points, not the volume; on a small
    survey it costs the volume, as reading it would. Computed with the current Dask
    scheduler."""
    shape = tuple(int(n) for n in survey.amplitude.shape)
    chunks = survey.amplitude.data.chunks
    region = _region_values(table, survey, smooth)
    k, reach = table.proportions.shape[1], (smooth[0], smooth[0], smooth[1])
    box = math.prod(2 * r + 1 for r in reach)
    where = [np.asarray(axis, dtype=np.int64) for axis in points]
    edges = [np.cumsum((0, *c)) for c in chunks]
    index = [np.searchsorted(e, w, side="right") - 1 for e, w in zip(edges, where, strict=True)]
    key = np.ravel_multi_index(index, [len(c) for c in chunks]) if where[0].size else where[0]
    order = np.argsort(key, kind="stable")
    held, counts = np.unique(key[order], return_counts=True)
    starts = np.r_[0, np.cumsum(counts)]

    def block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        g = block_info[None]["chunk-location"][0]
        mine = order[starts[g] : starts[g + 1]]
        cell = np.unravel_index(held[g], [len(c) for c in chunks])
        core = [(int(e[c]), int(e[c + 1])) for e, c in zip(edges, cell, strict=True)]
        if mine.size * box < math.prod(b - a for a, b in widened(core, reach, shape)[0]):
            return np.stack([region([(int(w[n]), int(w[n]) + 1) for w in where])[0, 0, 0, :k]
                             for n in mine])  # fmt: skip
        values = region(core)
        return values[tuple(w[mine] - a for w, (a, _) in zip(where, core, strict=True))][:, :k]

    rows = np.empty((where[0].size, k), dtype=np.float32)
    if held.size:
        sizes = (tuple(int(c) for c in counts), (k,))
        rows[order] = closure_blocks(block, chunks=sizes, dtype=np.float32,
                                     label="fit-sample-rows").compute()  # fmt: skip
    return rows


def _smoothed_and_largest(table: PatchTable, survey: Any, smooth: tuple[int, int]) -> da.Array:
    """Lazy float32 ``(inline, crossline, time, K + 1)``: :func:`smoothed_proportions`, then
    the largest of the stitched (not smoothed) proportions, from one stitch of each chunk
    and its margin."""
    chunks = survey.amplitude.data.chunks
    region = _region_values(table, survey, smooth)
    k = table.proportions.shape[1]

    def block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        return region(block_info[None]["array-location"][:3])

    return closure_blocks(block, chunks=(*chunks, (k + 1,)), dtype=np.float32,
                          label="smoothed-proportions")  # fmt: skip


def _region_values(
    table: PatchTable, survey: Any, smooth: tuple[int, int]
) -> Callable[[list[tuple[int, int]]], np.ndarray]:
    """A function of a region ``[(a0, a1), (b0, b1), (c0, c1)]`` giving float32 ``(A, B, C,
    K + 1)``: the smoothed proportions there, then the largest stitched proportion; it
    stitches the region and its margin of ``smooth`` from the table."""
    shape = tuple(int(n) for n in survey.amplitude.shape)
    live = survey.trace_mask.values.astype(bool)
    mean_of = chunk_mean(table, table.proportions, live, dtype=np.float32)
    reach = (smooth[0], smooth[0], smooth[1])
    k = table.proportions.shape[1]

    def region(core: list[tuple[int, int]]) -> np.ndarray:
        wide, inside = widened(core, reach, shape)
        mean, covered, _ = mean_of(wide)
        stitched = covered_float32(mean, covered)
        out = np.empty((*[b - a for a, b in core], k + 1), dtype=np.float32)
        out[..., :k] = box_block(stitched, smooth)[inside]
        out[..., k] = stitched[inside].max(axis=-1)
        return out

    return region
