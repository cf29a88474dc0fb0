"""`seisflow evaluate --seeds`: N trained runs scored beside same-run baselines."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from seisflow.errors import ConfigError
from seisflow.infer.seeds import evaluate_seeds, summarise, used_topics
from seisflow.ingest import segy_to_zarr

SETTINGS = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=3",
            "train.eval_every=0", "data.size=16", "data.stride=8", "data.buffer=128",
            "model.topics=3", "model.prior=lda", "train.anti_collapse=1.0",
            "train.topic_refit=1", "train.topic_refit_size=32"]  # fmt: skip
METHODS = {"flow", "kmeans_pca", "gmm_pca", "kmeans_rms", "kmeans_standard_latents",
           "kmeans_attributes", "gmm_attributes", "kmeans_attributes_smoothed",
           "gmm_attributes_smoothed"}  # fmt: skip


def test_two_seeds_from_the_cli_then_reused(make_survey, tmp_path):
    survey = make_survey(missing_corner=True)
    store = segy_to_zarr(survey.segy, tmp_path / "s.zarr", chunks=(8, 15, 48)).store
    runs = tmp_path / "runs"
    command = [sys.executable, "-m", "seisflow", "evaluate", str(store), str(survey.truth),
               "--seeds", "2", "--runs", str(runs), "--samples", "5000",
               *[a for s in SETTINGS for a in ("--set", s)], "--json"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert [row["seed"] for row in report["seeds"]] == [0, 1]
    assert set(report["summary"]) == METHODS
    assert report["readout"] == "cluster" and report["samples"] == 5000  # the default
    for row in report["seeds"]:
        assert 1 <= row["flow"]["used_topics"] <= 3
        assert -1 <= row["flow"]["ari"] <= 1 and 0 < row["kmeans_rms"]["accuracy"] <= 1
        assert 0 <= row["flow"]["boundary_third"] <= 1
    aris = [row["flow"]["ari"] for row in report["seeds"]]
    ari = report["summary"]["flow"]["ari"]
    assert ari["mean"] == pytest.approx(np.mean(aris)) and ari["std"] == pytest.approx(np.std(aris))
    assert ari["min"] == min(aris) and ari["max"] == max(aris)
    for name in ("seed-0", "seed-1", "standard-seed-0", "standard-seed-1"):
        assert (runs / name / "checkpoint.pt").is_file()
    metrics = (runs / "seed-0" / "metrics.jsonl").read_text()
    again = evaluate_seeds(store, survey.truth, runs, seeds=1, overrides=SETTINGS,
                           flow_baseline=False, readout="word", samples=5000)  # fmt: skip
    assert (runs / "seed-0" / "metrics.jsonl").read_text() == metrics  # reused, not retrained
    assert set(again["summary"]) == METHODS - {"kmeans_standard_latents"}
    assert again["seeds"][0]["kmeans_rms"] == report["seeds"][0]["kmeans_rms"]  # same seed
    text = subprocess.run(command[:-1], capture_output=True, text=True, check=True).stdout
    assert "kmeans_standard_latents" in text and "+-" in text


def test_seeds_errors(make_survey, tmp_path):
    survey = make_survey(missing_corner=True)
    command = [sys.executable, "-m", "seisflow", "evaluate", "x.zarr", str(survey.truth),
               "--seeds", "2"]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True)
    assert out.returncode == 2 and "--seeds needs --runs" in out.stderr
    store = segy_to_zarr(survey.segy, tmp_path / "s.zarr", chunks=(8, 15, 48)).store
    with pytest.raises(ConfigError, match="--seeds 0 must be at least 1"):
        evaluate_seeds(store, survey.truth, tmp_path / "r", seeds=0)


def test_used_topics_and_summary():
    facies = np.array([0] * 500 + [1] * 495 + [2] * 5 + [-1] * 50)
    assert used_topics(facies, 3) == 2  # topic 2 holds 0.5 % of the live samples
    rows = [{"seed": 0, "flow": {"ari": 0.2}}, {"seed": 1, "flow": {"ari": 0.4}}]
    assert summarise(rows) == {"flow": {"ari": {"mean": pytest.approx(0.3),
                                                "std": pytest.approx(0.1),
                                                "min": 0.2, "max": 0.4}}}  # fmt: skip
