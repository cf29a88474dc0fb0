"""Scores of a store's layers against a synthetic truth, beside same-run baselines.

The recipe: open the store and the truth -> check they share a geometry -> sample the live
samples (seeded) -> facies: ARI, NMI and matched accuracy of ``facies`` -> anomaly: AUROC and
average precision of ``anomaly`` -> baselines on the same patch tiling, stitched to samples
the same way as the layers: k-means and a Gaussian mixture on PCA of the patch windows and
k-means on the windows' RMS amplitude; per sample, k-means and a Gaussian mixture on
standard attributes, as they are and smoothed (the interpreter's workflow,
:func:`seisflow.infer.attribute_facies.attribute_facies`; as many clusters as the layer has
topics); for the anomalies ``|amplitude|``, an IsolationForest on per-sample QC attributes
(the geoscientist's QC workflow, :func:`seisflow.infer.qc.qc_isolation_forest`), the
envelope's lateral z-score (:func:`seisflow.infer.fused.envelope_contrast`, the anomaly
layer's attribute term alone) and an IsolationForest on patch features (PCA, RMS, zlib
bits/dim). The baselines' windows are quantised with the layer's
own input normalisation: they see the bytes the flow saw. Anomaly figures are given over
all anomalous samples and per kind (each kind against the clean samples).

References:
    Liu, Ting, Zhou. Isolation forest. ICDM 2008.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.mixture import GaussianMixture
from tqdm import tqdm

from seisflow.errors import InputFileError
from seisflow.infer.attribute_facies import SMOOTH, Method, attribute_facies
from seisflow.infer.fused import envelope_contrast
from seisflow.infer.qc import qc_isolation_forest
from seisflow.infer.score import PatchTable, compressor_bits_per_dim
from seisflow.infer.stitch import reduce_argmax, reduce_first, stitch
from seisflow.ingest.normalize import Normalization, fill_missing, measure
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.store import open_survey
from seisflow.ingest.stream import PatchStream
from seisflow.scores import cluster_scores, kmeans
from seisflow.storage import StoreLike, locate

__all__ = [
    "ANOMALY_BASELINES",
    "ATTRIBUTE_BASELINES",
    "FACIES_BASELINES",
    "WINDOW_BASELINES",
    "evaluate_layers",
    "layer_normalization",
    "live_sample",
    "load_windows",
    "open_truth",
    "stitch_labels",
    "window_clusters",
    "window_features",
]

#: The same-run facies baselines on the patch windows (see :func:`window_clusters`).
WINDOW_BASELINES: tuple[str, ...] = ("kmeans_pca", "gmm_pca", "kmeans_rms")
#: The same-run facies baselines on per-sample attributes
#: (:func:`seisflow.infer.attribute_facies.attribute_facies`): name -> (method, smoothing).
ATTRIBUTE_BASELINES: dict[str, tuple[Method, tuple[int, int]]] = {
    "kmeans_attributes": ("kmeans", (0, 0)),
    "gmm_attributes": ("gmm", (0, 0)),
    "kmeans_attributes_smoothed": ("kmeans", SMOOTH),
    "gmm_attributes_smoothed": ("gmm", SMOOTH),
}
#: Every same-run facies baseline.
FACIES_BASELINES: tuple[str, ...] = (*WINDOW_BASELINES, *ATTRIBUTE_BASELINES)
#: The same-run anomaly baselines (see :func:`_baselines`).
ANOMALY_BASELINES: tuple[str, ...] = (
    "envelope_contrast", "isolation_forest_qc", "abs_amplitude", "isolation_forest",
)  # fmt: skip
#: Steps of :func:`evaluate_layers` its progress bar counts: the windows, each facies
#: baseline, the two IsolationForests, the envelope contrast, the scores.
STEPS = 5 + len(FACIES_BASELINES)


def open_truth(
    truth: StoreLike, survey: xr.Dataset, *, store: StoreLike | None = None
) -> xr.Dataset:
    """Open the synthetic ``truth`` of the survey opened as ``survey`` (the store ``store``).

    Raises:
        InputFileError: When ``truth`` is not a truth store, has another geometry, or is the
            truth of another SEG-Y file than the one the store was ingested from (when the
            truth records its file's checksum, ``segy_crc32``; older truths do not).
    """
    try:
        reference = xr.open_zarr(locate(truth).zarr_store(read_only=True))
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
    _check_same_segy(truth, reference, survey, store)
    return reference


def _check_same_segy(
    truth: StoreLike, reference: xr.Dataset, survey: xr.Dataset, store: StoreLike | None
) -> None:
    """Refuse a truth whose SEG-Y checksum differs from the store's source checksum: two
    synthetic surveys of one geometry (other seeds) are told apart only by their contents."""
    expected = reference.attrs.get("segy_crc32")
    source = survey.attrs.get("source") or {}
    found = source.get("crc32")
    if not expected or not found or str(expected).lower() == str(found).lower():
        return
    try:
        seed = f", synth seed {json.loads(reference.attrs['synth_config'])['seed']}"
    except (KeyError, TypeError, ValueError):
        seed = ""
    segy = Path(source.get("path", "its SEG-Y file"))
    beside = segy.with_name(segy.stem + ".truth.zarr")
    raise InputFileError(
        f"{truth} is the truth of another SEG-Y file (crc32 {expected}{seed}) than "
        f"{store or 'the store'} was ingested from ({segy}, crc32 {found}): give the truth "
        f"written beside that file ({beside}), or ingest the SEG-Y that {truth} came with"
    )


def _anomaly_scores(
    kinds: np.ndarray, scores: np.ndarray, names: list[str]
) -> dict[str, Any] | None:
    """AUROC and average precision over all anomalous samples (``kinds > 0``) and, under
    ``"kinds"``, of each kind present against the clean samples (``kinds == 0``); None when
    the samples are all clean or all anomalous. NaN scores rank lowest."""
    scores = np.nan_to_num(scores, nan=-np.inf).clip(-np.finfo(np.float64).max)

    def figures(labels: np.ndarray, values: np.ndarray) -> dict[str, float] | None:
        if labels.all() or not labels.any():
            return None
        return {"auroc": float(roc_auc_score(labels, values)),
                "average_precision": float(average_precision_score(labels, values))}  # fmt: skip

    overall = figures(kinds > 0, scores)
    if overall is None:
        return None
    per_kind = {}
    for code, name in enumerate(names):
        pick = (kinds == 0) | (kinds == code)
        if code and (kinds == code).any():
            per_kind[name] = figures(kinds[pick] == code, scores[pick])
    return {**overall, "kinds": per_kind}


def load_windows(
    store: StoreLike, spec: PatchSpec, normalization: Normalization
) -> tuple[np.ndarray, np.ndarray]:
    """Every patch of the mapping tiling: uint8 ``(n, C, H, W)`` and positions ``(n, 4)``;
    missing samples are filled with zero amplitude, as :func:`score_patches` does."""
    stream = PatchStream(store, spec, shuffle=False, return_positions=True, batch_size=4096,
                         normalization=normalization)  # fmt: skip
    batches = [(fill_missing(x.numpy()), w.numpy()) for x, w in stream]
    patches, where = (np.concatenate(part) for part in zip(*batches, strict=True))
    return patches, where


def layer_normalization(store: StoreLike, attrs: Mapping[str, Any]) -> Normalization:
    """The input normalisation a layer was mapped with (its ``seisflow:normalization``
    attribute); for a layer mapped before it was recorded, the store's own at the run's
    percentile with the clip those runs used."""
    record = attrs.get("seisflow:normalization")
    if isinstance(record, Mapping):
        return Normalization.from_dict(record)
    percentile = attrs["seisflow:config"]["data"]["percentile"]
    return measure(store, percentile=percentile, companding="clip")


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
    live = survey.trace_mask.values
    layer = stitch(table, survey.amplitude.data.chunks, reduce_argmax,
                   values=table.proportions, live=live, dtype=np.int16)  # fmt: skip
    return np.asarray(layer.compute())


def _baselines(store: StoreLike, spec: PatchSpec, normalization: Normalization, k: int,
               seed: int, survey: xr.Dataset, bar: tqdm) -> dict[str, np.ndarray]:  # fmt: skip
    """Baseline facies (window and attribute clusters) and anomaly (IsolationForests,
    envelope contrast) maps; ``bar`` advances by one per step (:data:`STEPS` in all with the
    scores)."""
    patches, where = load_windows(store, spec, normalization)
    _done(bar, "patch windows")
    features, rms = window_features(patches, seed)
    maps: dict[str, np.ndarray] = {}
    for name, labels in _clusters(features, rms, k, seed).items():
        maps[name] = stitch_labels(labels, where, k, spec, survey)
        _done(bar, name)
    for name, (method, smooth) in ATTRIBUTE_BASELINES.items():
        maps[name] = attribute_facies(survey, k=k, method=method, seed=seed,
                                      smooth=smooth).compute()  # fmt: skip
        _done(bar, name)
    inputs = np.hstack([features, rms, compressor_bits_per_dim(patches)[:, None]])
    outlier = -IsolationForest(random_state=seed).fit(inputs).score_samples(inputs)
    table = PatchTable(where, np.zeros((len(where), 1)), outlier, spec)
    layer = stitch(table, survey.amplitude.data.chunks, reduce_first, values=outlier[:, None],
                   live=survey.trace_mask.values, dtype=np.float32)  # fmt: skip
    maps["isolation_forest"] = layer.compute()
    _done(bar, "isolation_forest")
    maps["isolation_forest_qc"] = qc_isolation_forest(survey, seed=seed).compute()
    _done(bar, "isolation_forest_qc")
    maps["envelope_contrast"] = abs(envelope_contrast(survey)).compute()
    _done(bar, "envelope_contrast")
    maps["abs_amplitude"] = np.abs(survey.amplitude.values)
    return maps


def live_sample(survey: xr.Dataset, samples: int, seed: int) -> tuple[np.ndarray, ...]:
    """Indices (one array per axis) of up to ``samples`` live samples, seeded."""
    live = np.broadcast_to(survey.trace_mask.values[..., None], survey.amplitude.shape)
    chosen = np.flatnonzero(live.ravel())
    if chosen.size > samples:
        chosen = np.sort(np.random.default_rng(seed).choice(chosen, samples, replace=False))
    return np.unravel_index(chosen, live.shape)


def evaluate_layers(
    store: StoreLike,
    truth: StoreLike,
    *,
    samples: int = 2_000_000,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Score ``facies`` and ``anomaly`` of ``store`` against ``truth`` (a synthetic truth
    store) on up to ``samples`` live samples, beside same-run baselines; ``progress`` shows
    a bar of the steps on stderr.

    Raises:
        InputFileError: When the store has no layers, the truth is not one, its geometry
            differs or it is the truth of another SEG-Y file.
    """
    survey = open_survey(store)
    reference = open_truth(truth, survey, store=store)
    present = [name for name in ("facies", "anomaly") if name in survey]
    if not present:
        raise InputFileError(f"{store} has no facies or anomaly layer: run seisflow map first")
    pick = live_sample(survey, samples, seed)
    first = survey[present[0]].attrs
    patch = first["seisflow:patch"]
    spec = PatchSpec(size=patch["size"], axis=patch["axis"], stride=patch["stride"],
                     time_window=patch["time_window"], depth3d=patch["depth3d"])  # fmt: skip
    normalization = layer_normalization(store, first)
    k = len(survey.facies.attrs["flag_values"]) if "facies" in survey else 2
    with tqdm(total=STEPS, desc="evaluate", unit="step", disable=not progress) as bar:
        maps = _baselines(store, spec, normalization, k, seed, survey, bar)
        report = _report(store, truth, survey, reference, pick, maps)
        _done(bar, "scores")
    return report


def _done(bar: tqdm, what: str) -> None:
    """Count a step done on ``bar``, naming it."""
    bar.set_postfix_str(what, refresh=False)
    bar.update()


def _report(
    store: StoreLike,
    truth: StoreLike,
    survey: xr.Dataset,
    reference: xr.Dataset,
    pick: tuple[np.ndarray, ...],
    maps: dict[str, np.ndarray],
) -> dict[str, Any]:
    """The scores of the store's layers and of the baselines ``maps`` at ``pick``."""
    true_facies = reference.facies.values[pick]
    kinds = reference.anomaly_kind.values[pick]
    names = reference.anomaly_kind.attrs["flag_meanings"].split()
    report: dict[str, Any] = {"store": str(store), "truth": str(truth),
                              "samples": int(pick[0].size)}  # fmt: skip
    if "facies" in survey:
        report["facies"] = cluster_scores(true_facies, survey.facies.values[pick])
        report["facies_baselines"] = {name: cluster_scores(true_facies, maps[name][pick])
                                      for name in FACIES_BASELINES}  # fmt: skip
    if "anomaly" in survey:
        report["anomaly"] = _anomaly_scores(kinds, survey.anomaly.values[pick], names)
        report["anomaly_baselines"] = {name: _anomaly_scores(kinds, maps[name][pick], names)
                                       for name in ANOMALY_BASELINES}  # fmt: skip
    return report
