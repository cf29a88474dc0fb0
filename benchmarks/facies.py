"""Facies ablation: which parts of the Fractal Flow make facies topics hold up, on CPU.

Three synthetic surveys the project did not tune on (other seeds, shapes, facies mixes,
crossline steps, a missing corner) x training seeds x rows. The reference row is the LDA
prior at fractal level 1 with cnn subnets, the anti-collapse term and the L2 structure
term; every other row changes one thing: the prior (``standard``: k-means on its latents;
``kat_gmm``: the arg-max grid component), the fractal level (0, 2), the subnet (``kan``),
no anti-collapse (neither the usage penalty nor the topic refits: topics from the first
batch only), no usage penalty (refits kept), no L2 term, the ``word`` read-out instead of
``patch`` (same run), asinh companding instead of the hard clip at the scale (``asinh``),
no held-out chunk columns (``no_holdout``), and the control ``untrained``: one step, so the
flow is as initialised and only the topics are fitted to its words (the topic
initialisation and the refit after the last step): what training adds. Each survey x seed
also scores the same-run baselines: k-means and a Gaussian mixture on PCA of the windows,
k-means on window RMS, each on windows quantised with the hard clip (``baseline:NAME``) and
with asinh companding (``baseline:NAME@asinh``), and k-means and a Gaussian mixture per
sample on the standard attributes (``baseline:kmeans_attributes``,
``baseline:gmm_attributes``: log envelope, instantaneous frequency, lateral continuity both
ways, RMS; standardised; :mod:`seisflow.infer.attribute_facies`) and the same smoothed over
a box (``..._smoothed``, :data:`~seisflow.infer.attribute_facies.SMOOTH`); the best of all
ten is the margin's reference.

Prints one JSON line per (survey, seed, row) with ARI, NMI, matched accuracy, topics in use,
the rate of third units at boundaries (``boundary_third``: a sample within 8 samples of a
unit boundary whose matched facies is neither unit; :func:`seisflow.scores.third_label_rate`),
training bits/dim, seconds and patches/s, then one ``summary`` line per row: mean and
standard deviation over surveys x seeds of ARI, of ARI minus the best baseline of the same
survey and seed, and the fewest topics any run used. With ``--out FILE`` lines are appended
to FILE and rows already there are skipped, so an interrupted run resumes.

The ``subnet_kan`` row costs about 18x the others on CPU (B-spline subnets); leave it out
with ``--rows`` on a small machine.

Usage: python benchmarks/facies.py [--seeds 3] [--steps 150] [--out facies.jsonl]
       [--rows reference,no_anti_collapse] [--surveys 0,1,2] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seisflow.config import apply_overrides, from_mapping
from seisflow.infer.attribute_facies import attribute_facies
from seisflow.infer.evaluate import (
    ATTRIBUTE_BASELINES,
    live_sample,
    load_windows,
    open_truth,
    stitch_labels,
    window_clusters,
)
from seisflow.infer.seeds import facies_volume, latent_clusters, patch_spec, used_topics
from seisflow.ingest import segy_to_zarr
from seisflow.ingest.normalize import measure
from seisflow.ingest.store import open_survey
from seisflow.runs import open_run
from seisflow.scores import cluster_scores, third_label_rate
from seisflow.synth import synthesize
from seisflow.synth.config import SynthConfig
from seisflow.train import train
from seisflow.train.config import RunConfig

SURVEYS: list[dict[str, Any]] = [
    {"seed": 101, "shape": (48, 64, 176), "xline_step": 2},
    {"seed": 202, "shape": (40, 72, 208), "missing_corner": True,
     "unit_tops": (0.08, 0.22, 0.45, 0.62, 0.80)},
    {"seed": 303, "shape": (56, 48, 160), "xline_step": 3, "missing_corner": True,
     "sorting": "crossline", "unit_tops": (0.14, 0.30, 0.40, 0.52, 0.66)},
]  # fmt: skip
#: The reference: the `survey-quick` preset at the benchmark's budget (a narrower,
#: shallower flow, 3.5x faster on CPU, and fewer steps; see --steps and --batch).
REFERENCE = [
    "model.prior=lda", "model.levels=1", "model.subnet=cnn", "model.width=16", "model.depth=2",
    "model.word=2", "model.topics=5", "model.alpha=0.3", "model.grid_range=1.0", "model.l2=2.0",
    "data.size=32", "data.stride=16", "data.axis=both", "data.buffer=2048", "train.lr=2e-3",
    "train.prior_lr_scale=10.0", "train.clip=50.0", "train.eval_every=0",
    "train.checkpoint_every=0", "train.anti_collapse=1.0", "train.topic_refit=50",
]  # fmt: skip
#: Row -> (settings over the reference, read-out); ``None`` read-out: k-means on latents.
ROWS: dict[str, tuple[list[str], str | None]] = {
    "reference": ([], "patch"),
    "word_readout": ([], "word"),
    "no_anti_collapse": (["train.anti_collapse=0.0", "train.topic_refit=0"], "patch"),
    "no_usage_penalty": (["train.anti_collapse=0.0"], "patch"),
    "no_l2": (["model.l2=0.0"], "patch"),
    "levels_0": (["model.levels=0"], "patch"),
    "levels_2": (["model.levels=2"], "patch"),
    "subnet_kan": (["model.subnet=kan"], "patch"),
    "kat_gmm": (["model.prior=kat_gmm"], "patch"),
    "standard": (["model.prior=standard"], None),
    "asinh": (["data.companding=asinh"], "patch"),
    "no_holdout": (["data.holdout=0.0"], "patch"),
    "untrained": (["train.steps=1", "train.warmup=0"], "patch"),
}
#: Rows that reuse another row's run (same training, another read-out).
SAME_RUN = {"word_readout": "reference"}


def _survey(root: Path, index: int) -> tuple[Path, Path]:
    """Synthesise and ingest survey ``index`` under ``root`` (once): (store, truth)."""
    store = root / f"survey{index}.zarr"
    segy = root / f"survey{index}.sgy"
    truth = segy.with_name(segy.stem + ".truth.zarr")
    if not store.exists():
        synthesize(segy, SynthConfig(**SURVEYS[index]), overwrite=True)
        segy_to_zarr(segy, store, overwrite=True)
    return store, truth


def _scores(units: np.ndarray, facies: np.ndarray, pick: tuple[np.ndarray, ...]) -> dict[str, Any]:
    """ARI, NMI, accuracy on the sampled points; the boundary third-unit rate on the volume."""
    return {**(cluster_scores(units[pick], facies[pick]) or {}),
            "boundary_third": third_label_rate(units, facies)}  # fmt: skip


def _row(store: Path, run: Path, readout: str | None, k: int, seed: int,
         pick: tuple[np.ndarray, ...], units: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """Scores of one trained run's facies."""
    trained = open_run(run, device="cpu")
    if readout is None:
        spec = patch_spec(trained.config)
        patches, where = load_windows(store, spec, trained.normalization(store))
        labels = latent_clusters(trained.flow, patches, k, seed)
        facies = stitch_labels(labels, where, k, spec, open_survey(store))
    else:
        facies = facies_volume(trained, store, readout=readout)  # type: ignore[arg-type]
    used = used_topics(facies[pick], int(facies.max()) + 1)
    return {**_scores(units, facies, pick), "used_topics": used}


def _done(out: Path | None) -> set[tuple[int, int, str]]:
    if out is None or not out.is_file():
        return set()
    lines = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return {(r["survey"], r["seed"], r["row"]) for r in lines if "row" in r}


def _emit(record: dict[str, Any], out: Path | None, records: list[dict[str, Any]]) -> None:
    line = json.dumps(record)
    print(line, flush=True)
    records.append(record)
    if out is not None:
        with out.open("a") as handle:
            handle.write(line + "\n")


def _summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per row: mean/std of ARI, NMI, accuracy and ARI over the best same-run baseline."""
    best: dict[tuple[int, int], float] = {}
    for r in records:
        if r["row"].startswith("baseline:"):
            key = (r["survey"], r["seed"])
            best[key] = max(best.get(key, -1.0), r["ari"])
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        rows.setdefault(r["row"], []).append(r)
    lines = []
    for name, group in rows.items():
        line: dict[str, Any] = {"summary": name, "runs": len(group)}
        for figure in ("ari", "nmi", "accuracy", "boundary_third"):
            values = np.array([r[figure] for r in group if figure in r])
            if not values.size:
                continue
            line[figure] = [round(float(values.mean()), 4), round(float(values.std()), 4)]
        margin = np.array([r["ari"] - best[(r["survey"], r["seed"])] for r in group
                           if (r["survey"], r["seed"]) in best])  # fmt: skip
        if margin.size:
            line["ari_over_best_baseline"] = [round(float(margin.mean()), 4),
                                              round(float(margin.std()), 4)]  # fmt: skip
        if "used_topics" in group[0]:
            line["fewest_used_topics"] = min(r["used_topics"] for r in group)
        lines.append(line)
    return lines


def _run_row(store: Path, root: Path, index: int, seed: int, name: str, args: Any, k: int,
             pick: tuple[np.ndarray, ...], units: np.ndarray) -> dict[str, Any]:  # fmt: skip
    """Train (unless the run is there) and score one row."""
    settings, readout = ROWS[name]
    run = root / f"s{index}-seed{seed}-{SAME_RUN.get(name, name)}"
    began, trained = time.perf_counter(), {}
    if not (run / "checkpoint.pt").is_file():
        warmup = max(1, args.steps // 10)
        budget = [f"train.seed={seed}", f"train.steps={args.steps}",
                  f"train.batch_size={args.batch}", f"train.warmup={warmup}"]  # fmt: skip
        result = train(str(store), run, overrides=[*REFERENCE, *budget, *settings],
                       progress=False)  # fmt: skip
        trained = {"bits_per_dim": round(result.metrics["bits_per_dim"], 4),
                   "train_s": round(result.seconds, 1),
                   "patches_per_s": round(result.patches_per_s, 1)}  # fmt: skip
    scores = _row(store, run, readout, k, seed, pick, units)
    return {"row": name, "settings": settings, "readout": readout,
            **{key: round(v, 4) if isinstance(v, float) else v for key, v in scores.items()},
            **trained, "seconds": round(time.perf_counter() - began, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="Training seeds per survey.")
    parser.add_argument("--steps", type=int, default=150, help="Training steps per run.")
    parser.add_argument("--batch", type=int, default=32, help="Patches per step.")
    parser.add_argument("--rows", default=",".join(ROWS), help="Rows to run (comma list).")
    parser.add_argument("--surveys", default="0,1,2", help="Survey indices (comma list).")
    parser.add_argument("--out", type=Path, help="Append JSON lines here; resume from it.")
    parser.add_argument("--root", type=Path, help="Keep surveys and runs here (default: temp).")
    args = parser.parse_args()
    torch.set_num_threads(2)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    done = _done(args.out)
    records: list[dict[str, Any]] = []
    if args.out is not None and args.out.is_file():
        records = [json.loads(line) for line in args.out.read_text().splitlines() if line]
    reference = from_mapping(RunConfig, apply_overrides({}, REFERENCE))
    spec, k = patch_spec(reference), reference.model.topics
    with tempfile.TemporaryDirectory() as scratch:
        root = args.root or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        for index in (int(s) for s in args.surveys.split(",")):
            store, truth = _survey(root, index)
            survey = open_survey(store)
            pick = live_sample(survey, 400_000, seed=0)
            facies = open_truth(truth, survey).facies.values
            units = np.where(survey.trace_mask.values[..., None], facies, -1)
            for seed in range(args.seeds):
                base = {"survey": index, "seed": seed, "shape": list(SURVEYS[index]["shape"])}
                for companding, suffix in (("clip", ""), ("asinh", "@asinh")):
                    if (index, seed, f"baseline:kmeans_pca{suffix}") in done:
                        continue
                    data = reference.data
                    view = measure(store, percentile=data.percentile, companding=companding,
                                   headroom=data.headroom)  # fmt: skip
                    patches, where = load_windows(store, spec, view)
                    for name, labels in window_clusters(patches, k, seed).items():
                        scores = _scores(units, stitch_labels(labels, where, k, spec, survey), pick)
                        _emit({**base, "row": f"baseline:{name}{suffix}", **scores}, args.out,
                              records)  # fmt: skip
                for name, (method, smooth) in ATTRIBUTE_BASELINES.items():
                    if (index, seed, f"baseline:{name}") not in done:
                        labels = attribute_facies(survey, k=k, method=method, seed=seed,
                                                  smooth=smooth)  # fmt: skip
                        _emit({**base, "row": f"baseline:{name}",
                               **_scores(units, labels.compute(), pick)}, args.out,
                              records)  # fmt: skip
                for name in rows:
                    if (index, seed, name) not in done:
                        record = _run_row(store, root, index, seed, name, args, k, pick, units)
                        _emit({**base, **record}, args.out, records)
    for line in _summary(records):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
