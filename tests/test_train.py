"""Training: every source trains, resume is exact, DDP matches one process, errors are clear."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from seisflow.config import from_mapping, read_toml, to_dict
from seisflow.errors import ConfigError, InputFileError, OutputPathError, TrainingError
from seisflow.ingest import segy_to_zarr
from seisflow.train import load_flow, train
from seisflow.train.checkpoint import config_differences, load_checkpoint
from seisflow.train.config import RunConfig
from seisflow.train.data import ImageSource, rank_slice

TINY = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.log_every=1",
        "train.eval_size=32", "train.warmup=2"]  # fmt: skip


def _metrics(run_dir):
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _cli(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "seisflow", *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)  # fmt: skip


@pytest.mark.parametrize(
    ("dataset", "shape"),
    [
        ("mnist", (1, 28, 28)),
        ("fashion_mnist", (1, 28, 28)),
        ("cifar10_automobile", (3, 32, 32)),
    ],
)
def test_few_steps_on_each_image_benchmark(image_dir, tmp_path, dataset, shape):
    result = train(dataset, tmp_path / "run", data_dir=image_dir, progress=False,
                   overrides=[*TINY, "train.steps=4", "train.eval_every=4",
                              "model.prior=lda", "model.levels=1"])  # fmt: skip
    records = _metrics(tmp_path / "run")
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3, 4]
    assert all(math.isfinite(r.get("loss", 0.0)) for r in records)
    assert math.isfinite(result.metrics["eval_bits_per_dim"])
    _, config, checkpoint = load_flow(tmp_path / "run")
    assert config.model.in_shape == shape and checkpoint["step"] == 4
    assert checkpoint["version"] and checkpoint["source"]["name"] == dataset
    # the written config.toml rebuilds the run's configuration exactly
    assert from_mapping(RunConfig, read_toml(tmp_path / "run" / "config.toml")) == config


def test_training_lowers_bits_per_dim(tiny_images, tmp_path):
    train("mnist", tmp_path / "run", data_dir=tiny_images, progress=False,
          overrides=[*TINY, "train.steps=40", "train.eval_every=20", "train.lr=3e-3"])  # fmt: skip
    evaluations = [r["eval_bits_per_dim"] for r in _metrics(tmp_path / "run")
                   if "eval_bits_per_dim" in r]  # fmt: skip
    assert len(evaluations) == 2
    first = [r["bits_per_dim"] for r in _metrics(tmp_path / "run") if "loss" in r]
    assert evaluations[-1] < first[0] - 0.3


@pytest.fixture(scope="module")
def survey_store(make_survey, tmp_path_factory):
    root = tmp_path_factory.mktemp("train_store")
    return segy_to_zarr(make_survey().segy, root / "s.zarr", chunks=(8, 15, 48)).store


def test_few_steps_on_a_survey_store_and_exact_resume(survey_store, tmp_path, monkeypatch):
    settings = [*TINY, "data.size=16", "data.stride=8", "data.axis=both", "train.steps=5",
                "train.eval_every=5", "train.checkpoint_every=2", "model.prior=kat_gmm",
                "data.buffer=256"]  # fmt: skip
    result = train(str(survey_store), tmp_path / "whole", progress=False, overrides=settings)
    assert math.isfinite(result.metrics["loss"])
    flow, config, checkpoint = load_flow(tmp_path / "whole")
    assert config.model.in_shape == (1, 16, 16)
    assert checkpoint["source"]["kind"] == "survey"

    # a crash right after the step-2 checkpoint, then --resume: the stream skips the
    # consumed batches and the weights equal the uninterrupted run's
    from seisflow.train import loop

    real_save = loop.save_checkpoint

    def crash_after(path, **content):
        real_save(path, **content)
        raise KeyboardInterrupt

    monkeypatch.setattr(loop, "save_checkpoint", crash_after)
    with pytest.raises(KeyboardInterrupt):
        train(str(survey_store), tmp_path / "crashed", progress=False, overrides=settings)
    monkeypatch.setattr(loop, "save_checkpoint", real_save)
    assert load_checkpoint(tmp_path / "crashed")["step"] == 2
    train(str(survey_store), tmp_path / "crashed", resume=True, progress=False)
    resumed, _, _ = load_flow(tmp_path / "crashed")
    for key, value in flow.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def test_image_batches_split_over_ranks_and_cover_epochs(tiny_images):
    source = ImageSource("mnist", data_dir=tiny_images, seed=3)
    whole = source.first_batch(16).numpy()
    parts = [next(source.batches(start=0, batch_size=16, rank=r, world=4)).numpy()
             for r in range(4)]  # fmt: skip
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    epoch = np.concatenate([source.global_batch(s, 16) for s in range(512 // 16)])
    assert sorted(epoch.tolist()) == list(range(512))
    with pytest.raises(ConfigError, match="multiple of 3"):
        rank_slice(16, 0, 3)


def test_kill_then_resume_equals_an_uninterrupted_run(tiny_images, tmp_path):
    settings = [*TINY, "train.steps=40", "train.checkpoint_every=3", "train.eval_every=20",
                "model.prior=lda", "model.levels=1"]  # fmt: skip
    args = ["train", "mnist", "--data-dir", tiny_images, "--quiet"]
    for s in settings:
        args += ["--set", s]
    whole = _cli(*args[:2], tmp_path / "whole", *args[2:])
    killed = _cli(*args[:2], tmp_path / "killed", *args[2:])
    checkpoint = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    stopped_at = load_checkpoint(checkpoint)["step"]
    assert stopped_at < 40, "the run finished before it could be killed"
    resumed = _cli(*args[:2], tmp_path / "killed", *args[2:], "--resume")
    for process in (whole, resumed):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    a = load_checkpoint(tmp_path / "whole")
    b = load_checkpoint(tmp_path / "killed")
    assert a["step"] == b["step"] == 40
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    losses = {r["step"]: r["loss"] for r in _metrics(tmp_path / "whole") if "loss" in r}
    again = {r["step"]: r["loss"] for r in _metrics(tmp_path / "killed") if "loss" in r}
    assert again == losses  # the lines the crash lost were dropped and written again


@pytest.mark.slow
def test_two_gloo_processes_match_one(tiny_images, tmp_path):
    """The same run on one process and on two: same losses, same weights, and the same
    topics after the final refit (rank 0 refits and broadcasts). The anti-collapse penalty
    is off: it is a function of each rank's own batch (its mean topic usage), so with it
    two ranks of 8 do not compute what one process of 16 does."""
    settings = [*TINY, "train.steps=6", "train.eval_every=0", "model.prior=lda",
                "model.levels=1", "train.anti_collapse=0", "train.topic_refit=4",
                "train.topic_refit_size=32"]  # fmt: skip
    args = ["mnist", "--data-dir", tiny_images, "--quiet"]
    for s in settings:
        args += ["--set", s]
    one = _cli("train", args[0], tmp_path / "one", *args[1:])
    two = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
         "-m", "seisflow", "train", args[0], str(tmp_path / "two"), *map(str, args[1:])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for process in (one, two):
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-3000:]
    single = [r["loss"] for r in _metrics(tmp_path / "one")]
    double = [r["loss"] for r in _metrics(tmp_path / "two")]
    assert len(single) == len(double) == 6
    np.testing.assert_allclose(double, single, rtol=1e-4)
    a, b = load_checkpoint(tmp_path / "one"), load_checkpoint(tmp_path / "two")
    for key, value in a["model"].items():
        torch.testing.assert_close(b["model"][key], value, rtol=1e-3, atol=1e-4)


def test_checkpoint_and_config_errors(tiny_images, tmp_path):
    run = tmp_path / "run"
    train("mnist", run, data_dir=tiny_images, progress=False,
          overrides=[*TINY, "train.steps=2", "train.eval_every=0"])  # fmt: skip
    with pytest.raises(OutputPathError, match="already holds a run at step 2"):
        train("mnist", run, data_dir=tiny_images, progress=False, overrides=TINY)
    with pytest.raises(ConfigError, match=r"model\.width: 8 -> 16"):
        train("mnist", run, data_dir=tiny_images, resume=True, progress=False,
              overrides=["model.width=16"])  # fmt: skip
    # bookkeeping settings may change on resume; the run is already complete
    assert train("mnist", run, data_dir=tiny_images, resume=True, progress=False,
                 overrides=["train.log_every=5"]).step == 2  # fmt: skip
    other = tmp_path / "other"
    other.mkdir()
    (other / "fashion_mnist.npz").write_bytes((tiny_images / "mnist.npz").read_bytes())
    with pytest.raises(ConfigError, match="was trained on mnist, not fashion_mnist"):
        train("fashion_mnist", run, data_dir=other, resume=True, progress=False)
    with pytest.raises(InputFileError, match=r"checkpoint\.pt not found"):
        train("mnist", tmp_path / "none", data_dir=tiny_images, resume=True, progress=False)
    with pytest.raises(ConfigError, match=r"in_shape \[1, 32, 32\] does not match"):
        train("mnist", tmp_path / "x", data_dir=tiny_images, progress=False,
              overrides=["model.in_shape=[1, 32, 32]"])  # fmt: skip
    with pytest.raises(InputFileError, match="neither an image benchmark"):
        train("nosuch", tmp_path / "y", progress=False)
    with pytest.raises(InputFileError, match="pass --data-dir"):
        train("mnist", tmp_path / "z", progress=False)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputFileError, match="not a readable seisflow checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
    saved = load_checkpoint(run)["config"]
    changed = to_dict(from_mapping(RunConfig, {**saved, "train": {**saved["train"], "lr": 0.5,
                                                                 "log_every": 7}}))  # fmt: skip
    assert config_differences(saved, changed) == ["train.lr: 0.001 -> 0.5"]


def test_cli_train_reports_one_line_errors(tiny_images, tmp_path):
    process = _cli("train", "mnist", tmp_path / "r", "--data-dir", tiny_images,
                   "--set", "train.steps=0")  # fmt: skip
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2
    assert err.strip().splitlines() == [
        "seisflow: error: train steps 0 and batch_size 64 must be >= 1"
    ]


@pytest.mark.slow
def test_two_gloo_processes_on_a_survey_store(survey_store, tmp_path):
    settings = [*TINY, "data.size=16", "data.stride=8", "train.steps=3", "train.eval_every=3",
                "data.buffer=128"]  # fmt: skip
    args = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
            "2", "-m", "seisflow", "train", str(survey_store), str(tmp_path / "run")]  # fmt: skip
    for s in settings:
        args += ["--set", s]
    out = subprocess.run([*args, "--quiet"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    records = _metrics(tmp_path / "run")  # rank 0 alone writes
    assert [r["step"] for r in records if "loss" in r] == [1, 2, 3]
    assert load_checkpoint(tmp_path / "run")["step"] == 3


def test_divergence_stops_before_a_checkpoint(tiny_images, tmp_path):
    with pytest.raises(TrainingError, match=r"diverged at step \d+ \(loss nan\)"):
        train("mnist", tmp_path / "run", data_dir=tiny_images, progress=False,
              overrides=[*TINY, "train.steps=4", "train.eval_every=0", "train.lr=1e30",
                         "train.clip=1e30", "train.warmup=0"])  # fmt: skip
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


class _NanGradient(torch.autograd.Function):
    """The identity forward (a finite loss) with a NaN gradient backward."""

    @staticmethod
    def forward(ctx, loss):
        return loss.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad * float("nan")


def test_a_nan_gradient_between_log_steps_stops_before_the_update(tiny_images, tmp_path,
                                                                  monkeypatch):  # fmt: skip
    """A finite loss whose gradient is NaN at step 3 (no log step: log_every=100) stops the
    run before the optimiser applies it; the checkpoint of step 2 stays, with finite
    weights, and none of a later step is written."""
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    from seisflow.train import loop

    calls = []
    original = loop._Objective.forward

    def poisoned(self, x, noise, anti_collapse):
        loss, parts = original(self, x, noise, anti_collapse)
        calls.append(1)
        return (_NanGradient.apply(loss) if len(calls) == 3 else loss), parts

    updates = []
    handle = register_optimizer_step_pre_hook(lambda optimizer, args, kwargs: updates.append(1))
    monkeypatch.setattr(loop._Objective, "forward", poisoned)
    try:
        with pytest.raises(TrainingError, match=r"diverged at step 3 \(loss [0-9.]+, gradient "
                                                r"norm nan\); .* still holds step 2"):  # fmt: skip
            train("mnist", tmp_path / "run", data_dir=tiny_images, progress=False,
                  overrides=[*TINY, "train.steps=6", "train.eval_every=0",
                             "train.log_every=100", "train.checkpoint_every=2"])  # fmt: skip
    finally:
        handle.remove()
    assert len(calls) == 3 and len(updates) == 2  # steps 1 and 2 updated, step 3 did not
    saved = load_checkpoint(tmp_path / "run")
    assert saved["step"] == 2
    assert all(torch.isfinite(v).all() for v in saved["model"].values() if v.is_floating_point())


def test_topic_refit_and_anti_collapse_on_an_lda_run(tiny_images, tmp_path, monkeypatch):
    """The topics are refitted every train.topic_refit steps and after the last, the usage
    penalty is logged, and the anneal reaches 0 at anti_collapse_end."""
    from seisflow.train.config import TrainConfig
    from seisflow.train.loop import _anti_collapse

    settings = [*TINY, "model.prior=lda", "model.topics=3", "train.steps=6",
                "train.eval_every=0", "train.anti_collapse=2.0", "train.topic_refit=3",
                "train.topic_refit_size=48"]  # fmt: skip
    from seisflow.models import FractalFlow

    calls = []
    original = FractalFlow.fit_topics

    def spy(self, x, *, seed=0):
        calls.append((len(x), seed, self.prior.topic_logits.detach().clone()))
        return original(self, x, seed=seed)

    monkeypatch.setattr(FractalFlow, "fit_topics", spy)
    train("mnist", tmp_path / "run", data_dir=tiny_images, progress=False, overrides=settings)
    assert [c[:2] for c in calls] == [(48, 0), (48, 0)]  # at step 3 and after step 6
    assert not torch.allclose(calls[0][2], calls[1][2])  # trained in between
    final = load_flow(tmp_path / "run")[0]
    assert bool(final.prior.initialized)
    lines = [m for m in _metrics(tmp_path / "run") if "loss" in m]
    assert all("usage_kl" in m and 1 <= m["topics_used"] <= 3 for m in lines)
    config = TrainConfig(steps=100, anti_collapse=2.0, anti_collapse_end=0.5)
    assert [_anti_collapse(s, config) for s in (0, 25, 50, 90)] == [2.0, 1.0, 0.0, 0.0]
    with pytest.raises(ConfigError, match="topic_refit -1 must be >= 0"):
        TrainConfig(topic_refit=-1)
    with pytest.raises(ConfigError, match=r"anti_collapse -1\.0 must be >= 0"):
        TrainConfig(anti_collapse=-1.0)
