"""Scores of a store's layers against a synthetic truth, beside same-run baselines.

The recipe: open the store and the truth -> check they share a geometry -> sample the live
samples (seeded) -> facies: ARI, NMI and matched accuracy of ``facies`` -> anomaly: AUROC and
average precision of ``anomaly`` -> baselines on the same patch tiling, stitched to samples
the same way as the layers: k-means and a Gaussian mixture on PCA of the patch windows (as
many clusters as the layer has topics), and an IsolationForest on patch features (PCA, RMS,
zlib bits/dim) for the anomalies.

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

__all__ = ["evaluate_layers"]


def _open_truth(truth: str | Path, survey: xr.Dataset) -> xr.Dataset:
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


def _baselines(store: str | Path, spec: PatchSpec, percentile: float, k: int, seed: int,
               survey: xr.Dataset) -> dict[str, np.ndarray]:  # fmt: skip
    """Baseline facies (k-means, GMM on PCA of windows) and anomaly (IsolationForest) maps."""
    stream = PatchStream(store, spec, shuffle=False, return_positions=True, batch_size=4096,
                         percentile=percentile)  # fmt: skip
    batches = [(x.numpy(), w.numpy()) for x, w in stream]
    patches, where = (np.concatenate(part) for part in zip(*batches, strict=True))
    flat = patches.reshape(len(patches), -1).astype(np.float32) / 255.0
    features = PCA(n_components=min(8, flat.shape[1]), random_state=seed).fit_transform(flat)
    rms = np.sqrt(((flat - 0.5) ** 2).mean(1, keepdims=True))
    bits = compressor_bits_per_dim(patches)[:, None]
    labels = {
        "kmeans_pca": kmeans(features, k, seed=seed),
        "gmm_pca": GaussianMixture(k, random_state=seed).fit(features).predict(features),
    }
    forest = IsolationForest(random_state=seed).fit(np.hstack([features, rms, bits]))
    outlier = -forest.score_samples(np.hstack([features, rms, bits]))
    shape = tuple(int(n) for n in survey.amplitude.shape)
    chunks = survey.amplitude.data.chunks
    live = survey.trace_mask.values
    maps = {}
    for name, label in labels.items():
        table = PatchTable(where, np.eye(k, dtype=np.float32)[label], outlier, spec)
        layer = stitch(table, shape, chunks, reduce_argmax, values=table.proportions, live=live,
                       dtype=np.int16)  # fmt: skip
        maps[name] = layer.compute()
    table = PatchTable(where, np.zeros((len(where), 1)), outlier, spec)
    layer = stitch(table, shape, chunks, reduce_first, values=outlier[:, None], live=live,
                   dtype=np.float32)  # fmt: skip
    maps["isolation_forest"] = layer.compute()
    return maps


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
    reference = _open_truth(truth, survey)
    present = [name for name in ("facies", "anomaly") if name in survey]
    if not present:
        raise InputFileError(f"{store} has no facies or anomaly layer: run seisflow map first")
    live = np.broadcast_to(survey.trace_mask.values[..., None], survey.amplitude.shape)
    chosen = np.flatnonzero(live.ravel())
    rng = np.random.default_rng(seed)
    if chosen.size > samples:
        chosen = np.sort(rng.choice(chosen, samples, replace=False))
    pick = np.unravel_index(chosen, live.shape)
    first = survey[present[0]].attrs
    patch = first["seisflow:patch"]
    spec = PatchSpec(size=patch["size"], axis=patch["axis"], stride=patch["stride"],
                     time_window=patch["time_window"], depth3d=patch["depth3d"])  # fmt: skip
    percentile = first["seisflow:config"]["data"]["percentile"]
    k = len(survey.facies.attrs["flag_values"]) if "facies" in survey else 2
    maps = _baselines(store, spec, percentile, k, seed, survey)
    true_facies = reference.facies.values[pick]
    true_anomaly = reference.anomaly.values[pick].astype(bool)
    report: dict[str, Any] = {"store": str(store), "truth": str(truth), "samples": chosen.size}
    if "facies" in survey:
        report["facies"] = cluster_scores(true_facies, survey.facies.values[pick])
        report["facies_baselines"] = {name: cluster_scores(true_facies, maps[name][pick])
                                      for name in ("kmeans_pca", "gmm_pca")}  # fmt: skip
    if "anomaly" in survey:
        report["anomaly"] = _anomaly_scores(true_anomaly, survey.anomaly.values[pick])
        report["anomaly_baselines"] = {
            "isolation_forest": _anomaly_scores(true_anomaly, maps["isolation_forest"][pick])
        }
    return report
