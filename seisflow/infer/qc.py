"""The geoscientist's QC anomaly baseline: an IsolationForest on per-sample attributes.

The recipe: the QC attributes of every sample (:func:`seisflow.infer.attributes.attributes`:
log envelope, envelope relative to its lateral median, lateral continuity along both
directions, instantaneous frequency), standardised -> fit an IsolationForest on a seeded
sample of live samples (gathered chunk by chunk) -> score every sample chunk by chunk ->
``-score_samples`` (higher is more anomalous), NaN on missing traces. Never the whole volume
in memory; the store is only read.

References:
    Liu, Ting, Zhou. Isolation forest. ICDM 2008.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr
from sklearn.ensemble import IsolationForest

from seisflow.infer.attributes import ATTRIBUTES, attributes

__all__ = ["qc_isolation_forest"]


def qc_isolation_forest(
    dataset: xr.Dataset, *, seed: int = 0, fit_samples: int = 100_000, trees: int = 200
) -> da.Array:
    """Lazy float32 ``(inline, crossline, time)`` anomaly scores of the QC IsolationForest.

    Args:
        dataset: A survey (``amplitude``, ``trace_mask``), e.g. from ``open_survey``.
        seed: Seed of the fit sample and the forest: same seed, same scores.
        fit_samples: Live samples the forest is fitted on (at most).
        trees: Trees of the forest.

    Returns:
        A Dask array on the amplitude's chunks; computing it reads the store twice (once
        for the fit sample, once to score).
    """
    features = attributes(dataset)
    stacked = da.stack([features[name].data for name in ATTRIBUTES], axis=-1)  # (I, J, T, F)
    stacked = stacked.rechunk({3: -1})
    live = dataset.trace_mask.values
    rng = np.random.default_rng([seed, 0x9C])
    traces = np.flatnonzero(live.ravel())
    n_time = stacked.shape[2]
    pick = rng.choice(traces.size * n_time, size=min(fit_samples, traces.size * n_time),
                      replace=False)  # fmt: skip
    i, j = np.unravel_index(traces[pick // n_time], live.shape)
    rows = np.nan_to_num(stacked.vindex[i, j, pick % n_time].compute(), nan=0.0)
    centre, spread = rows.mean(0), rows.std(0) + 1e-9
    forest = IsolationForest(n_estimators=trees, random_state=seed)
    forest.fit((rows - centre) / spread)

    def score(block: np.ndarray) -> np.ndarray:
        flat = np.nan_to_num(block.reshape(-1, block.shape[-1]), nan=0.0)
        out = -forest.score_samples((flat - centre) / spread).astype(np.float32)
        out = out.reshape(block.shape[:-1])
        return np.where(np.isnan(block[..., 0]), np.float32(np.nan), out)

    return stacked.map_blocks(score, drop_axis=3, dtype=np.float32)
