"""Scores of a store's layers against a synthetic truth, beside same-run baselines.

The recipe: open the store and the truth -> check they share a geometry -> sample the live
samples (seeded) -> facies: ARI, NMI and matched accuracy of ``facies`` -> anomaly: AUROC and
average precision of ``anomaly`` -> baselines on the same patch tiling, stitched to samples
the same way as the layers: k-means and a Gaussian mixture on PCA of the patch windows and
k-means on the windows' RMS amplitude (as many clusters as the layer has topics), and an
IsolationForest on patch features (PCA, RMS, zlib bits/dim) for the anomalies.

References:
    Liu, Ting, Zhou. Isolation forest. ICDM 2008.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.mixture import GaussianMixture

from seisflow.errors import InputFileError
from seisflow.infer.maps import (
    PatchTable,
    compressor_bits_per_dim,
    reduce_argmax,
    reduce_first,
    stitch,
)
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.store import open_survey
from seisflow.ingest.stream import PatchStream
from seisflow.scores import cluster_scores, kmeans

__all__ = [
    "FACIES_BASELINES",
    "evaluate_layers",
    "live_sample",
    "load_windows",
    "open_truth",
    "stitch_labels",
    "window_clusters",
    "window_features",
]

#: The same-run facies baselines on the patch windows (see :func:`window_clusters`).
FACIES_BASELINES: tuple[str, ...] = ("kmeans_pca", "gmm_pca", "kmeans_rms")


def open_truth(truth: str | Path, survey: xr.Dataset) -> xr.Dataset:
    try:
        reference = xr.open_zarr(truth)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise InputFileError(
            f"{truth} is not a truth store ({type(exc).__name__}): give the .truth.zarr that "
            "seisflow synth wrote beside the survey"
        ) from None
    for axis in survey.amplitude.dims:
        if axis not in reference.coords or not np.array_equal(reference[axis], survey[axis]):
            raise InputFileError(
                f"{truth} has another geometry than the store ({axis} differs): give the truth "
                "of the survey the store was ingested from"
            )
    return reference


def _anomaly_scores(labels: np.ndarray, scores: np.ndarray) -> dict[str, float] | None:
    if labels.all() or not labels.any():
        return None
    return {"auroc": float(roc_auc_score(labels, scores)),
            "average_precision": float(average_precision_score(labels, scores))}  # fmt: skip


def load_windows(
    store: str | Path, spec: PatchSpec, percentile: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every patch of the mapping tiling: uint8 ``(n, C, H, W)`` and positions ``(n, 4)``."""
    stream = PatchStream(store, spec, shuffle=False, return_positions=True, batch_size=4096,
                         percentile=percentile)  # fmt: skip
    batches = [(x.numpy(), w.numpy()) for x, w in stream]
    patches, where = (np.concatenate(part) for part in zip(*batches, strict=True))
    return patches, where


def window_features(patches: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The first 8 principal components ``(n, 8)`` and the RMS amplitude ``(n, 1)`` of each
    patch window ``(n, C, H, W)``."""
    flat = patches.reshape(len(patches), -1).astype(np.float32) / 255.0
    features = PCA(n_components=min(8, flat.shape[1]), random_state=seed).fit_transform(flat)
    return features, np.sqrt(((flat - 0.5) ** 2).mean(1, keepdims=True))


def window_clusters(patches: np.ndarray, k: int, seed: int) -> dict[str, np.ndarray]:
    """Baseline facies of each patch window ``(n, C, H, W)``: k-means and a Gaussian mixture
    on the first 8 principal components, and k-means on the window's RMS amplitude."""
    features, rms = window_features(patches, seed)
    return _clusters(features, rms, k, seed)


def _clusters(features: np.ndarray, rms: np.ndarray, k: int, seed: int) -> dict[str, np.ndarray]:
    return {
        "kmeans_pca": kmeans(features, k, seed=seed),
        "gmm_pca": GaussianMixture(k, random_state=seed).fit(features).predict(features),
        "kmeans_rms": kmeans(rms, k, seed=seed),
    }


def stitch_labels(labels: np.ndarray, where: np.ndarray, k: int, spec: PatchSpec,
                  survey: xr.Dataset) -> np.ndarray:  # fmt: skip
    """Per-patch cluster labels ``(n,)`` -> a facies volume, stitched as the layers are."""
    table = PatchTable(where, np.eye(k, dtype=np.float32)[labels], np.zeros(len(where)), spec)
    shape = tuple(int(n) for n in survey.amplitude.shape)
    live = survey.trace_mask.values
    layer = stitch(table, shape, survey.amplitude.data.chunks, reduce_argmax,
                   values=table.proportions, live=live, dtype=np.int16)  # fmt: skip
    return np.asarray(layer.compute())


def _baselines(store: str | Path, spec: PatchSpec, percentile: float, k: int, seed: int,
               survey: xr.Dataset) -> dict[str, np.ndarray]:  # fmt: skip
    """Baseline facies (window clusters) and anomaly (IsolationForest) maps."""
    patches, where = load_windows(store, spec, percentile)
    features, rms = window_features(patches, seed)
    maps = {name: stitch_labels(labels, where, k, spec, survey)
            for name, labels in _clusters(features, rms, k, seed).items()}  # fmt: skip
    inputs = np.hstack([features, rms, compressor_bits_per_dim(patches)[:, None]])
    outlier = -IsolationForest(random_state=seed).fit(inputs).score_samples(inputs)
    table = PatchTable(where, np.zeros((len(where), 1)), outlier, spec)
    layer = stitch(table, tuple(int(n) for n in survey.amplitude.shape),
                   survey.amplitude.data.chunks, reduce_first, values=outlier[:, None],
                   live=survey.trace_mask.values, dtype=np.float32)  # fmt: skip
    maps["isolation_forest"] = layer.compute()
    return maps


def live_sample(survey: xr.Dataset, samples: int, seed: int) -> tuple[np.ndarray, ...]:
    """Indices (one array per axis) of up to ``samples`` live samples, seeded."""
    live = np.broadcast_to(survey.trace_mask.values[..., None], survey.amplitude.shape)
    chosen = np.flatnonzero(live.ravel())
    if chosen.size > samples:
        chosen = np.sort(np.random.default_rng(seed).choice(chosen, samples, replace=False))
    return np.unravel_index(chosen, live.shape)


def evaluate_layers(
    store: str | Path, truth: str | Path, *, samples: int = 2_000_000, seed: int = 0
) -> dict[str, Any]:
    """Score ``facies`` and ``anomaly`` of ``store`` against ``truth`` (a synthetic truth
    store) on up to ``samples`` live samples, beside same-run baselines.

    Raises:
        InputFileError: When the store has no layers, the truth is not one or its geometry
            differs.
    """
    survey = open_survey(store)
    reference = open_truth(truth, survey)
    present = [name for name in ("facies", "anomaly") if name in survey]
    if not present:
        raise InputFileError(f"{store} has no facies or anomaly layer: run seisflow map first")
    pick = live_sample(survey, samples, seed)
    first = survey[present[0]].attrs
    patch = first["seisflow:patch"]
    spec = PatchSpec(size=patch["size"], axis=patch["axis"], stride=patch["stride"],
                     time_window=patch["time_window"], depth3d=patch["depth3d"])  # fmt: skip
    percentile = first["seisflow:config"]["data"]["percentile"]
    k = len(survey.facies.attrs["flag_values"]) if "facies" in survey else 2
    maps = _baselines(store, spec, percentile, k, seed, survey)
    true_facies = reference.facies.values[pick]
    true_anomaly = reference.anomaly.values[pick].astype(bool)
    report: dict[str, Any] = {"store": str(store), "truth": str(truth),
                              "samples": int(pick[0].size)}  # fmt: skip
    if "facies" in survey:
        report["facies"] = cluster_scores(true_facies, survey.facies.values[pick])
        report["facies_baselines"] = {name: cluster_scores(true_facies, maps[name][pick])
                                      for name in FACIES_BASELINES}  # fmt: skip
    if "anomaly" in survey:
        report["anomaly"] = _anomaly_scores(true_anomaly, survey.anomaly.values[pick])
        report["anomaly_baselines"] = {
            "isolation_forest": _anomaly_scores(true_anomaly, maps["isolation_forest"][pick])
        }
    return report
