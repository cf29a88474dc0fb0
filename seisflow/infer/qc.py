"""The geoscientist's QC anomaly baseline: an IsolationForest on per-sample attributes.

The recipe (:mod:`seisflow.infer.per_sample`): the QC attributes of every sample
(:data:`QC_ATTRIBUTES`: log envelope, envelope relative to its lateral median, lateral
continuity along both directions, instantaneous frequency), standardised -> fit an
IsolationForest on a seeded sample of live samples (gathered chunk by chunk) -> score every
sample chunk by chunk ->
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

from seisflow.infer.per_sample import attribute_stack, fit_rows, map_rows

__all__ = ["QC_ATTRIBUTES", "qc_isolation_forest"]

#: The forest's features (:mod:`seisflow.infer.attributes`).
QC_ATTRIBUTES: tuple[str, ...] = (
    "log_envelope", "relative_envelope", "continuity_inline", "continuity_crossline", "frequency",
)  # fmt: skip


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
    stacked = attribute_stack(dataset, QC_ATTRIBUTES)
    rows = np.nan_to_num(fit_rows(stacked, dataset.trace_mask.values, samples=fit_samples,
                                  seed=seed, salt=0x9C), nan=0.0)  # fmt: skip
    centre, spread = rows.mean(0), rows.std(0) + 1e-9
    forest = IsolationForest(n_estimators=trees, random_state=seed)
    forest.fit((rows - centre) / spread)

    def score(flat: np.ndarray) -> np.ndarray:
        return -forest.score_samples((np.nan_to_num(flat, nan=0.0) - centre) / spread)

    return map_rows(stacked, score, dtype=np.float32, missing=np.nan)
