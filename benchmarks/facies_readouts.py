"""Facies read-outs of the default preset beside the attribute baselines (issue 18's table).

For each untuned survey of ``benchmarks/facies.py`` x training seed: train (or reuse) the
default preset (``survey-quick``, ``train.seed=S``), its untrained control (one step: the
flow as initialised, the topics fitted to its words) and the Sinkhorn row
(``model.balance=sinkhorn``, the balance term kept to the end), then score on the same
400 000 sampled points:

- ``patch``, ``cluster`` (the default read-out), ``cluster_potts`` (a Potts/ICM step on
  the cluster costs) of the trained flow; ``cluster@untrained``; ``cluster@sinkhorn``;
- ``lda``: topics of textured words in multi-scale documents from the attributes alone
  (:mod:`seisflow.infer.word_facies`: no flow), ``lda_flow`` with the trained flow's
  stitched topic proportions beside the attributes, ``lda_flow@untrained``, ``lda_merge``
  (``2k`` topics merged into ``k``), ``lda_potts`` (a Potts/ICM step on ``-log p``);
- baselines (``baseline:``, the margin's reference is the best of them per survey and
  seed): k-means / GMM on the standard attributes, raw and smoothed, k-means on raw and on
  smoothed attributes with the Potts step (the Potts step without the flow), and the window
  baselines (PCA k-means / GMM, RMS k-means) on the default preset's windows.

One JSON line per (survey, seed, row) with ARI, NMI, matched accuracy, the boundary
third-unit rate and the facies in use; then one ``summary`` line per row (mean and standard
deviation over surveys x seeds, ARI over the best same-run baseline, fewest facies). With
``--out FILE`` lines are appended and rows already there skipped (resume).

Usage: python benchmarks/facies_readouts.py --root DIR [--seeds 3] [--surveys 0,1,2]
       [--out readouts.jsonl] [--potts 4.0]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from facies import _done, _emit, _scores, _summary, _survey

from seisflow.infer.attribute_facies import SMOOTH, attribute_facies
from seisflow.infer.evaluate import (
    ATTRIBUTE_BASELINES,
    live_sample,
    load_windows,
    open_truth,
    stitch_labels,
    window_clusters,
)
from seisflow.infer.facies_cluster import cluster_layers, stitched_proportions
from seisflow.infer.maps import facies_layer
from seisflow.infer.score import score_patches
from seisflow.infer.seeds import patch_spec, used_topics
from seisflow.infer.word_facies import cell_probabilities, facies_labels, word_topics
from seisflow.ingest.store import open_survey
from seisflow.runs import open_run
from seisflow.train import train

#: Training runs: name -> overrides over the preset.
RUNS: dict[str, list[str]] = {
    "quick": [],
    "quick_untrained": ["train.steps=1", "train.warmup=0"],
    "quick_sinkhorn": ["model.balance=sinkhorn", "train.anti_collapse_end=1.0"],
}
#: Read-out rows: name -> (method of :class:`Rows`, keyword arguments).
ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "patch": ("layer", {"run": "quick", "readout": "patch"}),
    "cluster": ("layer", {"run": "quick", "readout": "cluster"}),
    "cluster_potts": ("cluster_potts", {}),
    "cluster@untrained": ("layer", {"run": "quick_untrained", "readout": "cluster"}),
    "cluster@sinkhorn": ("layer", {"run": "quick_sinkhorn", "readout": "cluster"}),
    "lda": ("lda", {}),
    "lda_flow": ("lda", {"extra": "quick"}),
    "lda_flow@untrained": ("lda", {"extra": "quick_untrained"}),
    "lda_merge": ("lda", {"merge": True}),
    "lda_potts": ("lda", {"potts": True}),
    "baseline:kmeans_attributes_potts": ("attributes_potts", {"smooth": (0, 0)}),
    "baseline:kmeans_attributes_smoothed_potts": ("attributes_potts", {"smooth": SMOOTH}),
    **{f"baseline:{name}": ("attributes", {"name": name}) for name in ATTRIBUTE_BASELINES},
}


def _run(root: Path, store: Path, index: int, seed: int, name: str) -> Path:
    run = root / f"s{index}-seed{seed}-{name}"
    if not (run / "checkpoint.pt").is_file():
        train(str(store), run, preset="survey-quick",
              overrides=[f"train.seed={seed}", *RUNS[name]], progress=False)  # fmt: skip
    return run


@dataclass
class Rows:
    """The read-outs of one survey and training seed (each returns lazy int16 facies)."""

    store: Path
    runs: dict[str, Path]
    seed: int
    potts: float
    tables: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.survey = open_survey(self.store)
        self.live = self.survey.trace_mask.values.astype(bool)
        self.k = open_run(self.runs["quick"], device="cpu").config.model.topics

    def table(self, run: str) -> Any:
        if run not in self.tables:
            trained = open_run(self.runs[run], device="cpu")
            self.tables[run] = score_patches(
                trained.flow, self.store, patch_spec(trained.config),
                normalization=trained.normalization(self.store), batch_size=256,
            )  # fmt: skip
        return self.tables[run]

    def layer(self, *, run: str, readout: str) -> Any:
        return facies_layer(self.table(run), self.survey, readout)  # type: ignore[arg-type]

    def cluster_potts(self) -> Any:
        return cluster_layers(self.table("quick"), self.survey, seed=0, potts=self.potts)[0]

    def lda(self, *, extra: str | None = None, merge: bool = False, potts: bool = False) -> Any:
        survey = self.survey
        layers = None if extra is None else stitched_proportions(self.table(extra), survey)
        topics = 2 * self.k if merge else None
        fitted = word_topics(survey, k=self.k, seed=self.seed, topics=topics, extra=layers)
        probabilities = cell_probabilities(fitted, survey.amplitude.shape,
                                           survey.amplitude.data.chunks)  # fmt: skip
        return facies_labels(probabilities, self.live, potts=self.potts if potts else 0.0)

    def attributes(self, *, name: str) -> Any:
        method, smooth = ATTRIBUTE_BASELINES[name]
        return attribute_facies(self.survey, k=self.k, method=method, seed=self.seed,
                                smooth=smooth)  # fmt: skip

    def attributes_potts(self, *, smooth: tuple[int, int]) -> Any:
        return attribute_facies(self.survey, k=self.k, seed=self.seed, smooth=smooth,
                                potts=self.potts)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="Surveys and runs live here.")
    parser.add_argument("--seeds", type=int, default=3, help="Training seeds per survey.")
    parser.add_argument("--surveys", default="0,1,2", help="Survey indices (comma list).")
    parser.add_argument("--rows", default=",".join(ROWS), help="Rows to run (comma list).")
    parser.add_argument("--out", type=Path, help="Append JSON lines here; resume from it.")
    parser.add_argument("--potts", type=float, default=4.0, help="Potts weight beta.")
    args = parser.parse_args()
    torch.set_num_threads(2)
    done = _done(args.out)
    records: list[dict[str, Any]] = []
    if args.out is not None and args.out.is_file():
        records = [json.loads(line) for line in args.out.read_text().splitlines() if line]
    args.root.mkdir(parents=True, exist_ok=True)
    for index in (int(s) for s in args.surveys.split(",")):
        store, truth = _survey(args.root, index)
        survey = open_survey(store)
        live = survey.trace_mask.values.astype(bool)
        pick = live_sample(survey, 400_000, seed=0)
        units = np.where(live[..., None], open_truth(truth, survey).facies.values, -1)
        for seed in range(args.seeds):
            base = {"survey": index, "seed": seed}
            runs = {name: _run(args.root, store, index, seed, name) for name in RUNS}
            rows = Rows(store, runs, seed, args.potts)
            for name in args.rows.split(","):
                if (index, seed, name) in done:
                    continue
                method, options = ROWS[name]
                began = time.perf_counter()
                facies = np.asarray(getattr(rows, method)(**options).compute())
                _emit({**base, "row": name, **_scores(units, facies, pick),
                       "used_topics": used_topics(facies[pick], rows.k),
                       "seconds": round(time.perf_counter() - began, 1)}, args.out,
                      records)  # fmt: skip
            if (index, seed, "baseline:kmeans_pca") not in done:
                trained = open_run(runs["quick"], device="cpu")
                spec = patch_spec(trained.config)
                patches, where = load_windows(store, spec, trained.normalization(store))
                for name, labels in window_clusters(patches, rows.k, seed).items():
                    facies = stitch_labels(labels, where, rows.k, spec, survey)
                    _emit({**base, "row": f"baseline:{name}", **_scores(units, facies, pick)},
                          args.out, records)  # fmt: skip
    for line in _summary(records):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
