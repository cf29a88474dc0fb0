"""The interpreter's facies baseline: k-means or a Gaussian mixture on standard attributes.

The recipe (:mod:`seisflow.infer.per_sample`): the attributes of every sample
(:data:`FACIES_ATTRIBUTES`: log envelope, instantaneous frequency, lateral continuity along
the inline and the crossline, windowed RMS amplitude; :mod:`seisflow.infer.attributes`) ->
standardise them on a seeded sample of live samples (an attribute undefined at a sample,
e.g. the frequency of a silent window, takes the mean, 0) -> optionally smooth them with a
box of +-``lateral`` traces and +-``vertical`` samples (the mean over the live samples in
the box: missing traces and the survey's edges do not pull it towards 0; chunk by chunk
with a halo) -> fit ``k`` clusters on the sample -> label every sample chunk by chunk:
int16, -1 at missing traces, as the ``facies`` layer. This is what a geoscientist compares
seisflow's facies with; the store is only read.

References:
    Chopra, Marfurt. Seismic attributes for prospect identification and reservoir
    characterization. SEG, 2007.
"""

from __future__ import annotations

from typing import Literal

import dask.array as da
import numpy as np
import xarray as xr
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from seisflow.errors import ConfigError
from seisflow.infer.per_sample import (
    attribute_stack,
    box_mean,
    fit_rows,
    map_rows,
    potts_labels,
    standardise,
)

__all__ = ["FACIES_ATTRIBUTES", "SMOOTH", "Method", "attribute_facies", "standardised_attributes"]

#: The standard facies attributes, in the order they are stacked.
FACIES_ATTRIBUTES: tuple[str, ...] = (
    "log_envelope", "frequency", "continuity_inline", "continuity_crossline", "rms",
)  # fmt: skip
#: ``kmeans`` (k-means++, 4 restarts) or ``gmm`` (full covariances, k-means initialised).
Method = Literal["kmeans", "gmm"]
#: The smoothing box of the ``*_attributes_smoothed`` baselines, (lateral traces, vertical
#: samples) on each side: of (2, 5), (4, 10), (4, 16) and (8, 16), the best on the two
#: tuning surveys (synth seeds 707 and 808; benchmarks/RESULTS.md).
SMOOTH = (8, 16)


def attribute_facies(
    dataset: xr.Dataset,
    *,
    k: int,
    method: Method = "kmeans",
    seed: int = 0,
    fit_samples: int = 100_000,
    smooth: tuple[int, int] = (0, 0),
    potts: float = 0.0,
) -> da.Array:
    """Lazy int16 ``(inline, crossline, time)`` cluster labels ``0..k-1`` of the standard
    attributes, -1 at missing traces.

    Args:
        dataset: A survey (``amplitude``, ``trace_mask``), e.g. from ``open_survey``.
        k: Clusters.
        method: See :data:`Method`.
        seed: Seed of the fit sample and of the clustering: same seed, same labels.
        fit_samples: Live samples the clusters are fitted on (at most).
        smooth: ``(lateral, vertical)`` half-widths of the smoothing box; ``(0, 0)``: none.
        potts: With k-means, the Potts weight ``beta`` of a Potts/ICM step on the samples'
            costs under the centres (:func:`~seisflow.infer.per_sample.potts_labels`); 0: none.

    Returns:
        A Dask array on the attributes' chunks; the fit reads the store twice (the
        standardisation's sample, the clusters' sample), computing it once more.

    Raises:
        ConfigError: For an unknown ``method``, ``k`` below 1, or ``potts`` with ``gmm``.
    """
    if method not in ("kmeans", "gmm"):
        raise ConfigError(f"attribute facies method {method!r}: choose kmeans or gmm")
    if k < 1:
        raise ConfigError(f"attribute facies k={k}: ask for 1 or more clusters")
    if potts and method != "kmeans":
        raise ConfigError(f"attribute facies potts={potts} needs method kmeans, not {method}")
    if min(smooth) < 0:
        raise ConfigError(f"attribute facies smooth={smooth}: give half-widths of 0 or more")
    live = dataset.trace_mask.values.astype(bool)
    features = standardised_attributes(dataset, seed=seed, fit_samples=fit_samples)
    if any(smooth):
        features = box_mean(features, smooth)
    rows = fit_rows(features, live, samples=fit_samples, seed=seed, salt=0xFA)
    rows = np.nan_to_num(rows, nan=0.0)
    if method == "gmm":
        mixture = GaussianMixture(k, covariance_type="full", random_state=seed, reg_covar=1e-4)
        predict = mixture.fit(rows).predict
    else:
        kmeans = KMeans(k, n_init=4, random_state=seed).fit(rows)
        if potts:
            return potts_labels(features, kmeans, fitted=len(rows), live=live, beta=potts)
        predict = kmeans.predict
    return map_rows(features, lambda flat: predict(np.nan_to_num(flat, nan=0.0)),
                    dtype=np.int16, missing=-1)  # fmt: skip


def standardised_attributes(dataset: xr.Dataset, *, seed: int, fit_samples: int) -> da.Array:
    """The :data:`FACIES_ATTRIBUTES` of a survey, lazily, each standardised to mean 0 and
    standard deviation 1 over a seeded sample of up to ``fit_samples`` live samples:
    ``(inline, crossline, time, F)`` float32, NaN at missing traces and where an attribute
    is undefined."""
    live = dataset.trace_mask.values.astype(bool)
    return standardise(attribute_stack(dataset, FACIES_ATTRIBUTES), live, samples=fit_samples,
                       seed=seed, salt=0xFA)  # fmt: skip
