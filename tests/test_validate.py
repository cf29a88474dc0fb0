"""Validation: clustering scores, the validate report and figures, and the shipped presets."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from seisflow import presets
from seisflow.errors import InputFileError
from seisflow.scores import cluster_scores, kmeans, matched_accuracy
from seisflow.train import train
from seisflow.train.loop import resolve_config
from seisflow.train.validate import validate

SETTINGS = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=6",
            "train.eval_every=0", "model.topics=2", "train.warmup=2"]  # fmt: skip


def test_matched_accuracy_and_scores():
    labels = np.array([0, 0, 1, 1, 2, 2])
    assert matched_accuracy(labels, np.array([5, 5, 3, 3, 9, 9])) == 1.0
    # a split class is not rewarded: one of the two halves is unmatched
    assert matched_accuracy(np.array([0, 0, 1, 1]), np.array([0, 1, 2, 2])) == 0.75
    scores = cluster_scores(labels, np.array([1, 1, 0, 0, 2, 2]))
    assert scores == {"ari": 1.0, "nmi": 1.0, "accuracy": 1.0}
    assert cluster_scores(np.zeros(5), np.arange(5)) is None
    assert cluster_scores(labels, np.zeros(6))["ari"] == 0.0


def test_kmeans_finds_separated_groups():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(0, 0.1, (50, 3)), rng.normal(5, 0.1, (50, 3))])
    truth = np.repeat([0, 1], 50)
    assert cluster_scores(truth, kmeans(points, 2))["ari"] == 1.0


@pytest.fixture(scope="module")
def runs(tiny_images, tmp_path_factory):
    root = tmp_path_factory.mktemp("validate")
    for prior in ("lda", "standard"):
        train("mnist", root / prior, data_dir=tiny_images, progress=False,
              overrides=[*SETTINGS, f"model.prior={prior}"])  # fmt: skip
    return root


def test_fashion_mnist_super_class_mapping_is_exact():
    from seisflow.images import super_labels

    labels = np.arange(10)
    # 0 T-shirt, 1 trouser, 2 pullover, 3 dress, 4 coat, 6 shirt: clothing (0);
    # 5 sandal, 7 sneaker, 9 ankle boot: footwear (1); 8 bag: bags (2)
    expected = [0, 0, 0, 0, 0, 1, 0, 1, 2, 1]
    assert super_labels("fashion_mnist", labels).tolist() == expected
    assert super_labels("mnist", labels) is None
    with pytest.raises(InputFileError, match=r"labels \[10\] are in no super-class"):
        super_labels("fashion_mnist", np.array([3, 10]))


def test_validate_scores_the_super_classes(runs, tiny_images, tmp_path):
    """The tiny set's two labels become a sandal (5, footwear) and a T-shirt (0, clothing):
    the super-classes partition the images exactly as the classes do, so their scores
    equal the class scores."""
    data = tmp_path / "data"
    data.mkdir()
    with np.load(tiny_images / "mnist.npz") as arrays:
        relabelled = {key: np.where(arrays[key] == 0, 5, 0) if key.startswith("y_")
                      else arrays[key] for key in arrays.files}  # fmt: skip
    np.savez(data / "fashion_mnist.npz", **relabelled)
    report = validate(runs / "lda", "fashion_mnist", data_dir=data, limit=60, samples=2)
    coarse = report["super_classes"]
    assert coarse["classes"] == ["clothing", "footwear", "bags"]
    assert coarse["flow"] == {key: report[key] for key in ("ari", "nmi", "accuracy")}
    assert coarse["kmeans_pixels"] == report["baselines"]["kmeans_pixels"]


def test_validate_cli_json_with_baselines(runs, tiny_images):
    out = subprocess.run(
        [sys.executable, "-m", "seisflow", "validate", str(runs / "lda"), "mnist", "--data-dir",
         str(tiny_images), "--limit", "100", "--samples", "4", "--baseline-run",
         str(runs / "standard"), "--json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["n"] == 100 and report["clusters"] == 2
    assert math.isfinite(report["bits_per_dim"]) and 0 < report["bits_per_dim"] < 8
    assert "bound (4 samples)" in report["bits_per_dim_kind"]
    for key in ("ari", "nmi", "accuracy"):
        assert math.isfinite(report[key])
    assert set(report["baselines"]) == {"kmeans_pixels", "kmeans_standard_latents"}
    for scores in report["baselines"].values():
        assert -1 <= scores["ari"] <= 1 and 0 <= scores["accuracy"] <= 1
    # the pixel baseline is k-means at the model's number of clusters on the same images
    with np.load(tiny_images / "mnist.npz") as data:
        images, labels = data["x_test"][:100], data["y_test"][:100]
    expected = cluster_scores(labels, kmeans(images.reshape(100, -1), 2))
    assert report["baselines"]["kmeans_pixels"] == pytest.approx(expected)
    for path in report["figures"].values():
        image = imread(path)
        assert image.ndim == 3 and image.shape[0] > 50
    saved = json.loads((runs / "lda" / "validation" / "mnist-test" / "report.json").read_text())
    assert saved["bits_per_dim"] == report["bits_per_dim"]


def test_validate_a_standard_prior_clusters_its_latents(runs, tiny_images, monkeypatch):
    from seisflow.train import validate as module

    autocast = []
    real = module.evaluate

    def spy(*args, **kwargs):
        autocast.append(kwargs.get("amp", True))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "evaluate", spy)
    report = validate(runs / "standard", "mnist", data_dir=tiny_images, limit=64)
    assert report["readout"].startswith("k-means on the latents")
    assert report["clusters"] == 2  # the number of classes in the labels
    # "exact" only because it is computed in float32: never under bf16 autocast
    assert autocast == [False]
    assert report["bits_per_dim_kind"] == "exact (uniform dequantisation), float32"
    assert "samples" not in report["figures"]


def test_validate_refuses_another_shape(runs, tiny_images, tmp_path):
    shutil.copy(tiny_images / "mnist.npz", tmp_path / "mnist.npz")
    small = np.zeros((4, 8, 8), np.uint8)
    np.savez(tmp_path / "fashion_mnist.npz", x_train=small, y_train=np.zeros(4),
             x_test=small, y_test=np.zeros(4))  # fmt: skip
    with pytest.raises(InputFileError, match=r"trained on \[1, 16, 16\].*has \[1, 8, 8\]"):
        validate(runs / "lda", "fashion_mnist", data_dir=tmp_path)


@pytest.mark.parametrize("preset", presets.names())
def test_shipped_presets_are_valid(preset):
    raw = presets.read(preset)  # from the package, as a pip-installed seisflow reads it
    shape = (3, 32, 32) if preset.startswith("cifar") else (1, 28, 28)
    if preset.startswith("survey"):
        shape = (1, raw["data"]["size"], raw["data"]["size"])
    config = resolve_config(raw, shape, preset=preset)
    assert config.preset == preset and config.model.prior == "lda"
    if "quick" in preset:  # minutes on two CPU cores
        assert config.train.steps * config.train.batch_size <= 30_000
        assert not config.train.compile
    else:
        assert config.train.amp and config.model.width >= 128


def test_third_label_rate_counts_inventions_at_boundaries_only():
    from seisflow.scores import third_label_rate

    labels = np.zeros((2, 40), dtype=np.int64)
    labels[:, 20:] = 1  # one boundary at sample 20 on both traces
    labels[1, :3] = -1  # no data
    clusters = labels.copy() + 5  # a relabelling: perfect
    assert third_label_rate(labels, clusters, window=4) == 0.0
    blurred = clusters.copy()
    blurred[0, 19:21] = 7  # a third cluster at the boundary (matched to nothing)
    blurred[0, 5] = 7  # away from the boundary: not counted
    # boundary samples: 16..23 on each trace (8 + 8)
    assert third_label_rate(labels, blurred, window=4) == pytest.approx(2 / 16)
    swapped = clusters.copy()
    swapped[1, 18:22] = 6 - (labels[1, 18:22] == 1)  # the neighbour's unit: not a third
    assert third_label_rate(labels, swapped, window=4) == 0.0
    assert third_label_rate(np.zeros((3, 9), int), np.ones((3, 9), int)) == 0.0


def test_matched_labels_rename_clusters_to_their_units():
    from seisflow.scores import matched_labels

    labels = np.array([0, 0, 1, 1, 2, 2, -1])
    clusters = np.array([7, 7, 3, 3, 3, 9, 4])  # 4 is only where no unit is: 3 + 4
    np.testing.assert_array_equal(matched_labels(labels, clusters), [0, 0, 1, 1, 1, 2, 7])
    np.testing.assert_array_equal(matched_labels(labels, np.array([-1, 5, 5, 5, 6, 6, 6])),
                                  [-1, 1, 1, 1, 2, 2, 2])  # fmt: skip


@pytest.mark.parametrize("planted", ["validation", "validation/mnist-test/report.json"])
def test_validate_never_writes_through_a_link_in_the_run(runs, tiny_images, tmp_path, planted):
    from seisflow.errors import OutputPathError

    run = Path(shutil.copytree(runs / "standard", tmp_path / "run"))
    shutil.rmtree(run / "validation", ignore_errors=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "report.json").write_text("mine")
    link = run / planted
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(outside if planted == "validation" else outside / "report.json")
    with pytest.raises(OutputPathError, match="is a symbolic link"):
        validate(run, "mnist", data_dir=tiny_images, limit=32)
    assert [p.name for p in outside.iterdir()] == ["report.json"]
    assert (outside / "report.json").read_text() == "mine"
