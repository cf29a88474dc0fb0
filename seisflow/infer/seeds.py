"""Facies judged over several training seeds, beside same-run baselines.

One seed proves little: the LDA topics of a flow can collapse on the next seed. The recipe:
open the store and the truth -> sample live samples (seeded, the same for every method) ->
for each seed: train a run (or take the finished run already in its folder) -> its facies
in memory (:func:`facies_volume`, the read-out of ``seisflow map``) -> ARI, NMI, matched
accuracy, the topics in use and the rate of third units at boundaries
(:func:`seisflow.scores.third_label_rate`, over the whole volume) -> baselines with the same
seed on the same patch tiling: k-means / GMM on PCA of the windows, k-means on window RMS,
and k-means on the latents of a flow trained with the standard prior (same settings
otherwise); per sample, k-means and GMM on standard attributes, as they are and smoothed
(:mod:`seisflow.infer.attribute_facies`) -> mean, spread (standard deviation), minimum and
maximum of every figure over the seeds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.decomposition import PCA

from seisflow import presets
from seisflow.config import apply_overrides, from_mapping, override_example
from seisflow.errors import ConfigError
from seisflow.infer.attribute_facies import attribute_facies
from seisflow.infer.evaluate import (
    ATTRIBUTE_BASELINES,
    live_sample,
    load_windows,
    open_truth,
    stitch_labels,
    window_clusters,
)
from seisflow.infer.maps import Readout, facies_layer
from seisflow.infer.score import score_patches
from seisflow.ingest.normalize import Normalization
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.store import open_survey
from seisflow.models import FractalFlow
from seisflow.runs import Run, open_run
from seisflow.scores import cluster_scores, kmeans, third_label_rate
from seisflow.storage import StoreLike, locate
from seisflow.train.config import DataConfig, RunConfig

__all__ = ["evaluate_seeds", "facies_volume", "resolved_config", "summarise", "used_topics"]

#: A topic is in use when it is the facies of at least this fraction of the live samples.
USED_FRACTION = 0.01


def patch_spec(config: RunConfig) -> PatchSpec:
    """The mapping tiling of a run (its training patches)."""
    data = config.data
    return PatchSpec(size=data.size, axis=data.axis, stride=data.stride,
                     time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip


def facies_volume(
    run: Run,
    store: StoreLike,
    *,
    readout: Readout = "cluster",
    batch_size: int = 256,
    normalization: Normalization | None = None,
) -> np.ndarray:
    """The facies of every sample (int16, -1 off the live traces), as ``seisflow map``
    would write them, computed in memory; ``normalization`` is the run's for ``store``
    (:meth:`Run.normalization`, measured when not given).

    Raises:
        ConfigError: When the run has the standard prior (no topics).
    """
    config = run.config
    if config.model.prior == "standard":
        raise ConfigError("a standard-prior run has no topics: train with model.prior=lda")
    if readout == "word" and config.model.prior != "lda":
        raise ConfigError(f"readout word needs model.prior=lda, not {config.model.prior}")
    survey = open_survey(store)
    spec = patch_spec(config)
    normalization = normalization or run.normalization(store)
    table = score_patches(run.flow, store, spec, normalization=normalization,
                          batch_size=batch_size, words=readout == "word")  # fmt: skip
    return np.asarray(facies_layer(table, survey, readout).compute())


@torch.no_grad()
def latent_clusters(flow: FractalFlow, patches: np.ndarray, k: int, seed: int) -> np.ndarray:
    """k-means on the first 8 principal components of the flow's latents of ``patches``
    (uint8 ``(n, C, H, W)``): ``(n,)``."""
    device = next(flow.parameters()).device
    flow.eval()
    latents = []
    for chunk in torch.from_numpy(patches).split(256):
        z, _ = flow.encode(flow.bin_centres(chunk.to(device)))
        latents.append(z.flatten(1).float().cpu().numpy())
    z = np.concatenate(latents)
    return kmeans(PCA(n_components=min(8, z.shape[1]), random_state=seed).fit_transform(z), k,
                  seed=seed)  # fmt: skip


def used_topics(facies: np.ndarray, k: int) -> int:
    """Topics that are the facies of at least :data:`USED_FRACTION` of ``facies`` ``(n,)``."""
    counts = np.bincount(facies[facies >= 0], minlength=k)
    return int((counts >= USED_FRACTION * max(counts.sum(), 1)).sum())


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, dict[str, float]]]:
    """Per method and figure: mean, standard deviation, minimum and maximum over rows
    (each row: method -> figure -> value; missing figures are skipped)."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for method in rows[0]:
        if not isinstance(rows[0][method], dict):
            continue
        out[method] = {}
        for figure in rows[0][method]:
            v = np.array([row[method][figure] for row in rows], dtype=np.float64)
            out[method][figure] = {"mean": float(v.mean()), "std": float(v.std()),
                                   "min": float(v.min()), "max": float(v.max())}  # fmt: skip
    return out


def resolved_config(
    store: StoreLike,
    *,
    preset: str | None,
    config_file: str | Path | None,
    overrides: Iterable[str],
    device: str,
) -> RunConfig:
    """The configuration a new run on ``store`` would train with, resolved as
    :func:`seisflow.train.train` resolves it (preset, file, overrides, the patch shape of
    the store's data), without training.

    Raises:
        ConfigError, InputFileError: On bad settings or a store without data.
    """
    from seisflow.train.data import open_source
    from seisflow.train.distributed import pick_device
    from seisflow.train.loop import resolve_config

    name = presets.resolve_name(preset, str(store), pick_device(device).type)
    raw = apply_overrides(presets.compose(name, config_file=config_file), overrides,
                          example=override_example(RunConfig))  # fmt: skip
    data = from_mapping(DataConfig, raw.get("data", {}), where="data.")
    shape = open_source(locate(store), data=data, seed=0, data_dir=None).shape
    return resolve_config(raw, shape, preset=name)


def _check_settings(
    store: StoreLike,
    *,
    preset: str | None,
    config_file: str | Path | None,
    overrides: list[str],
    readout: Readout,
    flow_baseline: bool,
    device: str,
) -> None:
    """Resolve the settings of every run before any of them trains, so that a bad setting
    or one that yields no facies fails at once, not after the first run's training.

    Raises:
        ConfigError, InputFileError: As :func:`resolved_config`, or when the runs would have
            no topics (the standard prior) or the word read-out lacks the LDA prior.
    """
    config = resolved_config(store, preset=preset, config_file=config_file,
                             overrides=overrides, device=device)  # fmt: skip
    if config.model.prior == "standard":
        raise ConfigError(
            f"model.prior {config.model.prior!r} has no topics, so --seeds has no facies to "
            "score: use model.prior=lda (the survey presets' prior) or drop that --set"
        )
    if readout == "word" and config.model.prior != "lda":
        raise ConfigError(
            f"--readout word needs model.prior=lda, not {config.model.prior!r}: set "
            "model.prior=lda or use --readout patch"
        )
    if flow_baseline:  # the standard-prior baseline's settings must resolve too
        resolved_config(store, preset=preset, config_file=config_file, device=device,
                        overrides=[*overrides, "model.prior=standard"])  # fmt: skip


def _trained(
    store: StoreLike,
    run_dir: Path,
    settings: tuple[str | None, str | Path | None],
    overrides: list[str],
    device: str,
    progress: bool,
) -> Run:
    """Train ``run_dir`` with ``settings`` (the preset and the config file), or finish it
    when a checkpoint is there (resume); open it."""
    from seisflow.train import train
    from seisflow.train.checkpoint import CHECKPOINT

    resume = (run_dir / CHECKPOINT).is_file()
    preset, config_file = settings
    train(locate(store), run_dir, preset=preset, config_file=config_file, overrides=overrides,
          device=device, resume=resume, progress=progress)  # fmt: skip
    return open_run(run_dir, device=device)


def evaluate_seeds(
    store: StoreLike,
    truth: str | Path,
    runs_dir: str | Path,
    *,
    seeds: int,
    preset: str | None = presets.AUTO,
    config_file: str | Path | None = None,
    overrides: Iterable[str] = (),
    readout: Readout = "cluster",
    flow_baseline: bool = True,
    device: str = "auto",
    samples: int = 500_000,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Train and score ``seeds`` runs (``train.seed`` 0..N-1) on ``store`` against its
    synthetic ``truth``; runs go to ``runs_dir/seed-<s>`` (and ``standard-seed-<s>`` for
    the flow-latent baseline), and a finished run found there is reused. The settings are
    those of :func:`seisflow.train.train`: ``preset`` (``auto``: the store's own on the
    device, ``survey-quick`` on CPU), then ``config_file``, then ``overrides``; they are
    resolved and checked, data shape included, before any run trains. ``progress`` shows
    the training bars; ``log`` receives a line as each seed starts and ends (the command
    line prints them on stderr).

    Returns:
        ``{"seeds": [per-seed figures], "summary": {method: {figure: {mean, std, min,
        max}}}, ...}``; methods: ``flow`` (ARI, NMI, accuracy, used topics) and the
        baselines.

    Raises:
        ConfigError, InputFileError: On bad settings, a bad truth (the truth of another
            SEG-Y file included) or a store without data.
    """
    if seeds < 1:
        raise ConfigError(f"--seeds {seeds} must be at least 1")
    _check_settings(store, preset=preset, config_file=config_file, overrides=list(overrides),
                    readout=readout, flow_baseline=flow_baseline, device=device)  # fmt: skip
    survey = open_survey(store)
    reference = open_truth(truth, survey, store=store)
    pick = live_sample(survey, samples, seed=0)
    units = np.where(survey.trace_mask.values[..., None], reference.facies.values, -1)
    true = units[pick]

    def scores(volume: np.ndarray) -> dict[str, float]:
        return {**(cluster_scores(true, volume[pick]) or {}),
                "boundary_third": third_label_rate(units, volume)}  # fmt: skip

    runs_dir, extra = Path(runs_dir), list(overrides)
    rows = []
    say = log or (lambda line: None)
    for seed in range(seeds):
        seeded = [*extra, f"train.seed={seed}"]
        say(f"seed {seed + 1}/{seeds}: training (or reusing) {runs_dir / f'seed-{seed}'}")
        run = _trained(store, runs_dir / f"seed-{seed}", (preset, config_file), seeded,
                       device, progress)  # fmt: skip
        config, k = run.config, run.config.model.topics
        normalization = run.normalization(store)  # measured once per run
        facies = facies_volume(run, store, readout=readout, normalization=normalization)
        used = used_topics(facies[pick], k)
        row: dict[str, Any] = {"seed": seed, "flow": {**scores(facies), "used_topics": used}}
        spec = patch_spec(config)
        patches, where = load_windows(store, spec, normalization)
        labels = window_clusters(patches, k, seed)
        if flow_baseline:
            standard = _trained(store, runs_dir / f"standard-seed-{seed}",
                                (preset, config_file), [*seeded, "model.prior=standard"],
                                device, progress)  # fmt: skip
            labels["kmeans_standard_latents"] = latent_clusters(standard.flow, patches, k, seed)
        for name, label in labels.items():
            row[name] = scores(stitch_labels(label, where, k, spec, survey))
        for name, (method, smooth) in ATTRIBUTE_BASELINES.items():
            labels_of = attribute_facies(survey, k=k, method=method, seed=seed, smooth=smooth)
            row[name] = scores(labels_of.compute())
        rows.append(row)
        say(f"seed {seed + 1}/{seeds}: flow ARI {row['flow'].get('ari', float('nan')):.3f}, "
            f"{used} of {k} topics used; kmeans_rms ARI "
            f"{row['kmeans_rms'].get('ari', float('nan')):.3f}")  # fmt: skip
    return {"store": str(store), "truth": str(truth), "samples": int(true.size),
            "readout": readout, "seeds": rows, "summary": summarise(rows)}  # fmt: skip
