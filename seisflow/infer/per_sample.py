"""Per-sample models on attributes: stack the attributes, fit on a seeded sample of live
samples, apply chunk by chunk.

The recipe shared by the attribute baselines (the QC IsolationForest of
:mod:`seisflow.infer.qc`, the attribute facies of :mod:`seisflow.infer.attribute_facies`):
:func:`attribute_stack` -> :func:`fit_rows` (one pass over the store, gathering a seeded
sample of live samples) -> fit any model on those rows -> :func:`map_rows` (a second pass,
chunk by chunk); :func:`box_mean` smooths a stack over live samples, chunk by chunk. Never
the whole volume in memory; the store is only read.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import dask.array as da
import numpy as np
import xarray as xr
from scipy.ndimage import uniform_filter
from sklearn.cluster import KMeans

from seisflow.infer.attributes import attributes
from seisflow.infer.potts import icm_dask

__all__ = [
    "attribute_stack",
    "box_block",
    "box_mean",
    "centre_costs",
    "fit_points",
    "fit_rows",
    "map_rows",
    "potts_labels",
    "standardise",
]


def attribute_stack(dataset: xr.Dataset, names: Sequence[str]) -> da.Array:
    """The attributes ``names`` of a survey, lazily, stacked on a last axis:
    ``(inline, crossline, time, len(names))`` float32, NaN at missing traces."""
    features = attributes(dataset, names=names)
    return da.stack([features[name].data for name in names], axis=-1).rechunk({3: -1})


def fit_points(
    live: np.ndarray, n_time: int, *, samples: int, seed: int, salt: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """int64 ``(i, j, t)``, each ``(n,)``: up to ``samples`` live samples of a survey of
    ``n_time`` samples per trace on the trace mask ``live`` ``(I, J)``, drawn without
    replacement with ``seed`` (``salt`` tells the callers' draws apart)."""
    rng = np.random.default_rng([seed, salt])
    traces = np.flatnonzero(live.ravel())
    pick = rng.choice(traces.size * n_time, size=min(samples, traces.size * n_time),
                      replace=False)  # fmt: skip
    i, j = np.unravel_index(traces[pick // n_time], live.shape)
    return i, j, pick % n_time


def fit_rows(
    stacked: da.Array, live: np.ndarray, *, samples: int, seed: int, salt: int
) -> np.ndarray:
    """``(n, F)`` rows of ``stacked`` at the :func:`fit_points` (``samples``, ``seed``,
    ``salt``); NaN where an attribute is undefined. Read in slabs of whole chunk rows
    (:func:`~seisflow.infer.writeback.slabs`), one after the other: memory is bounded by a
    slab, not by the volume."""
    from seisflow.infer.writeback import slabs

    i, j, t = fit_points(live, stacked.shape[2], samples=samples, seed=seed, salt=salt)
    rows = np.empty((i.size, stacked.shape[-1]), dtype=stacked.dtype)
    for part in slabs(stacked.chunksize[:3], stacked.shape[:3], os.cpu_count() or 1):
        here = np.flatnonzero((i >= part.start) & (i < part.stop))
        if here.size:
            rows[here] = stacked.vindex[i[here], j[here], t[here]].compute()
    return rows


def standardise(
    stacked: da.Array, live: np.ndarray, *, samples: int, seed: int, salt: int
) -> da.Array:
    """``stacked`` ``(I, J, T, F)`` with each feature at mean 0 and standard deviation 1 over
    the :func:`fit_rows` sample (``samples``, ``seed``, ``salt``); lazy, NaN stays NaN."""
    rows = fit_rows(stacked, live, samples=samples, seed=seed, salt=salt)
    centre, spread = np.nanmean(rows, axis=0), np.nanstd(rows, axis=0) + 1e-9
    return (stacked - centre.astype(np.float32)) / spread.astype(np.float32)


def map_rows(
    stacked: da.Array,
    model: Callable[[np.ndarray], np.ndarray],
    *,
    dtype: type[np.generic],
    missing: float | int,
) -> da.Array:
    """``model`` (``(n, F)`` rows -> ``(n,)`` values) applied chunk by chunk: a lazy
    ``(inline, crossline, time)`` array of ``dtype``, ``missing`` where the first attribute
    is NaN (the missing traces)."""

    def apply(block: np.ndarray) -> np.ndarray:
        out = np.asarray(model(block.reshape(-1, block.shape[-1])), dtype=dtype)
        out = out.reshape(block.shape[:-1])
        return np.where(np.isnan(block[..., 0]), dtype(missing), out)

    return stacked.map_blocks(apply, drop_axis=3, dtype=dtype)


def box_mean(features: da.Array, smooth: tuple[int, int]) -> da.Array:
    """The box mean of ``features`` ``(I, J, T, F)`` over its defined (non-NaN) values within
    +-``smooth`` (traces, samples): missing traces (NaN in every feature) stay NaN and do not
    count. Chunk by chunk with a halo of ``smooth`` on every side (:func:`box_block`)."""
    lateral, vertical = smooth
    depth = {0: lateral, 1: lateral, 2: vertical, 3: 0}
    return da.map_overlap(box_block, features, depth=depth, boundary="none", smooth=smooth,
                          dtype=np.float32, meta=np.empty((0, 0, 0, 0), np.float32))  # fmt: skip


def box_block(block: np.ndarray, smooth: tuple[int, int]) -> np.ndarray:
    """:func:`box_mean` of one block ``(I, J, T, F)`` (no halo: beyond its edges counts as
    undefined), one feature at a time: float32, NaN where the first feature is NaN."""
    lateral, vertical = smooth
    size = (2 * lateral + 1, 2 * lateral + 1, 2 * vertical + 1)
    out = np.empty(block.shape, dtype=np.float32)
    seen: np.ndarray | None = None  # the last feature's defined samples, and their count
    for f in range(block.shape[-1]):
        values = block[..., f]
        defined = np.isfinite(values)
        total = uniform_filter(np.where(defined, values, 0.0), size=size, mode="constant")
        if seen is None or not np.array_equal(defined, seen):  # features defined alike
            seen = defined  # (the stitched proportions: all topics) share one count
            count = uniform_filter(defined.astype(np.float64), size=size, mode="constant")
        with np.errstate(invalid="ignore", divide="ignore"):
            out[..., f] = total / count
    return np.where(np.isnan(block[..., :1]), np.float32(np.nan), out)


def centre_costs(stacked: da.Array, centres: np.ndarray, *, variance: float) -> da.Array:
    """``||x - c_k||^2 / (2 variance)`` of every sample ``x`` of ``stacked`` ``(I, J, T, F)``
    under each of the ``K`` ``centres`` ``(K, F)``: the negative log-likelihood, up to a
    constant, of isotropic Gaussians around the k-means centres. Lazy float32
    ``(I, J, T, K)``; an undefined attribute counts as 0 (the mean), a missing trace is NaN."""
    centres32 = centres.astype(np.float32)

    def costs(block: np.ndarray) -> np.ndarray:
        missing = np.isnan(block).all(axis=-1, keepdims=True)
        x = np.nan_to_num(block, nan=0.0)
        squared = ((x[..., None, :] - centres32) ** 2).sum(-1) / np.float32(2 * variance)
        return np.where(missing, np.float32(np.nan), squared)

    return stacked.map_blocks(costs, chunks=(*stacked.chunks[:3], (len(centres),)),
                              dtype=np.float32)  # fmt: skip


def potts_labels(
    stacked: da.Array, model: KMeans, *, fitted: int, live: np.ndarray, beta: float
) -> da.Array:
    """k-means labels regularised by a Potts/ICM step (:func:`seisflow.infer.potts.icm_dask`,
    lateral weight 1, vertical 0.5, 5 sweeps) on :func:`centre_costs` under ``model``'s
    centres, the variance its inertia per fitted value (``fitted`` rows): lazy int16
    ``(I, J, T)``, -1 where ``live`` (bool ``(I, J)``) is False."""
    variance = float(model.inertia_) / (fitted * stacked.shape[-1])
    costs = centre_costs(stacked, model.cluster_centers_, variance=variance)
    return icm_dask(costs, beta=beta, valid=live)[0]
