"""Validation of a trained flow against an image benchmark: bits/dim and the clustering
of the split by topic, scored against the class labels beside same-run baselines.

The recipe: load the run -> load the split -> bits/dim (exact for ``standard`` and
``kat_gmm``; for ``lda`` the importance-weighted bound with ``samples`` draws, reported as a
bound; computed in the weights' dtype (float32), never under bf16 autocast, so that "exact"
means exact) -> clusters (the arg-max of ``topic_posterior``; for a ``standard`` prior, which has
no topics, k-means on its latents) -> ARI, NMI, matched accuracy -> the baselines at the same
number of clusters: k-means on pixels, and k-means on the latents of a ``standard``-prior
run when one is given -> for a benchmark with super-classes (Fashion-MNIST: footwear, bags,
clothing), the same clusters and the pixel k-means scored against those -> figures
(samples from each topic, test images grouped by cluster)
-> ``report.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from seisflow.errors import InputFileError
from seisflow.images import SUPER_CLASSES, load_images, super_labels
from seisflow.models import FractalFlow
from seisflow.outputs import refuse_links, remove, staging_path, writing
from seisflow.scores import cluster_scores, kmeans
from seisflow.train.checkpoint import load_flow
from seisflow.train.distributed import pick_device
from seisflow.train.evaluation import evaluate
from seisflow.viz import image_rows

__all__ = ["validate"]

BATCH = 256


@torch.no_grad()
def latents(flow: FractalFlow, images: np.ndarray) -> np.ndarray:
    """The flow's latents of uint8 ``images``, flattened: ``(N, C * H * W)``."""
    device = next(flow.parameters()).device
    parts = [flow.encode(flow.bin_centres(chunk.to(device)))[0].flatten(1).float().cpu()
             for chunk in torch.from_numpy(images).split(BATCH)]  # fmt: skip
    return torch.cat(parts).numpy()


@torch.no_grad()
def topics(flow: FractalFlow, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Topic proportions ``(N, K)`` and confidence ``(N,)`` of uint8 ``images``."""
    device = next(flow.parameters()).device
    mixes, confidence = [], []
    for chunk in torch.from_numpy(images).split(BATCH):
        mix, conf = flow.topic_posterior(flow.bin_centres(chunk.to(device)))
        mixes.append(mix.float().cpu())
        confidence.append(conf.float().cpu())
    return torch.cat(mixes).numpy(), torch.cat(confidence).numpy()


def _save(figure: Figure, path: Path) -> None:
    """Write a PNG figure atomically (an exclusively created temporary file, then rename)."""
    temporary = staging_path(path, folder=False)
    try:
        with writing(path):
            figure.savefig(temporary, format="png", dpi=110, bbox_inches="tight")
            os.replace(temporary, path)
    finally:
        remove(temporary)


def _figures(
    flow: FractalFlow,
    images: np.ndarray,
    clusters: np.ndarray,
    confidence: np.ndarray,
    k: int,
    out: Path,
    title: str,
) -> dict[str, str]:
    """``samples.png`` (a row of samples per topic) and ``clusters.png`` (a row of the most
    confident test images per cluster)."""
    written = {}
    if flow.config.prior != "standard":
        torch.manual_seed(0)
        rows = [flow.sample(10, topic=t).float().cpu().numpy() for t in range(k)]
        figure = Figure(figsize=(6, 0.6 * k + 0.8))
        image_rows(figure.add_subplot(), rows, labels=[f"topic {t}" for t in range(k)],
                   title=f"{title}: samples drawn from each topic")  # fmt: skip
        _save(figure, out / "samples.png")
        written["samples"] = str(out / "samples.png")
    rows = []
    for c in range(k):
        members = np.flatnonzero(clusters == c)
        rows.append(images[members[np.argsort(-confidence[members])]][:10])
    labels = [f"{c} (n={int((clusters == c).sum())})" for c in range(k)]
    figure = Figure(figsize=(6, 0.6 * k + 0.8))
    image_rows(figure.add_subplot(), rows, labels=labels,
               title=f"{title}: test images by cluster")  # fmt: skip
    _save(figure, out / "clusters.png")
    written["clusters"] = str(out / "clusters.png")
    return written


def validate(
    run_dir: str | Path,
    dataset: str,
    *,
    data_dir: str | Path,
    split: str = "test",
    limit: int | None = None,
    samples: int = 16,
    baseline_run: str | Path | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Validate the run in ``run_dir`` on an image benchmark split.

    Args:
        run_dir: A run directory (or its checkpoint) written by :func:`seisflow.train.train`.
        dataset: ``mnist``, ``fashion_mnist`` or ``cifar10_automobile``.
        data_dir: The folder of the ``.npz`` files.
        split: ``test`` or ``train``.
        limit: Use the first ``limit`` images only.
        samples: Importance samples of the LDA bound.
        baseline_run: A run with the ``standard`` prior whose latents k-means clusters.
        device: ``auto``, ``cpu`` or ``cuda``.

    Returns:
        The report (also written to ``<run_dir>/validation/<dataset>-<split>/report.json``):
        ``bits_per_dim`` (with ``bits_per_dim_kind``), ``ari``, ``nmi``, ``accuracy``,
        ``clusters``, ``baselines``, ``super_classes`` (Fashion-MNIST) and the figure paths.

    Raises:
        InputFileError: On a missing run or dataset, or a dataset of another image shape.
    """
    chosen = pick_device(device)
    flow, config, checkpoint = load_flow(run_dir, device=chosen)
    images, labels = load_images(dataset, data_dir, split=split)
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    if tuple(images.shape[1:]) != config.model.in_shape:
        raise InputFileError(
            f"{run_dir} was trained on {list(config.model.in_shape)} inputs but {dataset} has "
            f"{list(images.shape[1:])}: validate on the dataset the run was trained on"
        )
    prior = config.model.prior
    bound = samples if prior == "lda" else None
    dtype = str(flow.param_dtype).removeprefix("torch.")  # no autocast: amp=False below
    report: dict[str, Any] = {
        "run": str(run_dir), "step": int(checkpoint["step"]), "dataset": dataset,
        "split": split, "n": len(images), "prior": prior,
        "bits_per_dim": evaluate(flow, torch.from_numpy(images), batch_size=BATCH, seed=0,
                                 samples=bound, amp=False),
        "bits_per_dim_kind": (f"importance-weighted upper bound ({samples} samples), {dtype}"
                              if bound else f"exact (uniform dequantisation), {dtype}"),
    }  # fmt: skip
    if prior == "standard":
        k = int(np.unique(labels).size)
        features = latents(flow, images)
        clusters = kmeans(features, k)
        confidence = -np.linalg.norm(features, axis=1)
        report["readout"] = "k-means on the latents (the standard prior has no topics)"
    else:
        mix, confidence = topics(flow, images)
        k = int(mix.shape[1])
        clusters = mix.argmax(1)
        report["readout"] = "arg-max of topic_posterior"
    report["clusters"] = k
    report["clusters_used"] = int(np.unique(clusters).size)
    scores = cluster_scores(labels, clusters)
    if scores is None:
        scores = {"ari": None, "nmi": None, "accuracy": None,
                  "note": "the split holds one class: clustering is not scored"}  # fmt: skip
    report.update(scores)
    pixel_clusters = kmeans(images, k)
    baselines: dict[str, Any] = {"kmeans_pixels": cluster_scores(labels, pixel_clusters)}
    coarse = super_labels(dataset, labels)
    if coarse is not None:  # e.g. Fashion-MNIST's footwear / bags / clothing
        report["super_classes"] = {
            "classes": list(SUPER_CLASSES[dataset]),
            "flow": cluster_scores(coarse, clusters),
            "kmeans_pixels": cluster_scores(coarse, pixel_clusters),
        }
    if baseline_run is not None:
        base, base_config, _ = load_flow(baseline_run, device=chosen)
        if base_config.model.in_shape != config.model.in_shape:
            raise InputFileError(
                f"--baseline-run {baseline_run} was trained on other inputs "
                f"{list(base_config.model.in_shape)}: give a run on {dataset}"
            )
        features = latents(base, images)
        baselines["kmeans_standard_latents"] = cluster_scores(labels, kmeans(features, k))
    report["baselines"] = baselines
    root = Path(run_dir if Path(run_dir).is_dir() else Path(run_dir).parent)
    folder = f"validation/{dataset}-{split}"
    refuse_links(root, ("validation", folder, f"{folder}/samples.png", f"{folder}/clusters.png",
                        f"{folder}/report.json"))  # fmt: skip
    out = root / folder
    with writing(out):
        out.mkdir(parents=True, exist_ok=True)
    title = f"{dataset} ({prior}, step {report['step']})"
    report["figures"] = _figures(flow, images, clusters, confidence, k, out, title)
    temporary = staging_path(out / "report.json", folder=False)
    try:
        with writing(out):
            temporary.write_text(json.dumps(report, indent=2) + "\n")
            os.replace(temporary, out / "report.json")
    finally:
        remove(temporary)
    return report
