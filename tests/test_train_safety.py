"""Training safety: bad settings, damaged checkpoints, empty surveys, foreign run folders,
links, full disks and divergence each end in one clear line, and nothing is lost."""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import segyio
import torch
from clitools import assert_one_line, run

from seisflow.errors import ConfigError, InputFileError, OutputPathError, TrainingError
from seisflow.ingest import segy_to_zarr
from seisflow.ingest.segy_writer import SegyWriter, text_header
from seisflow.train import load_flow, train
from seisflow.train.checkpoint import load_checkpoint

TF = segyio.TraceField
TINY = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.log_every=1",
        "train.eval_size=32", "train.warmup=0", "train.eval_every=0"]  # fmt: skip
SURVEY = [*TINY, "data.size=16", "data.stride=8", "train.steps=2", "data.buffer=128"]


def sets(settings: list[str]) -> list[str]:
    """``--set`` options of ``settings``."""
    return [part for setting in settings for part in ("--set", setting)]


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (links by their target) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}  # fmt: skip


def write_store(folder: Path, samples: np.ndarray) -> Path:
    """Ingest a 3-D SEG-Y of ``samples`` ``(n_il, n_xl, n_samples)`` (4 ms) into a store."""
    n_il, n_xl, n_samples = samples.shape
    grid = np.meshgrid(np.arange(1, n_il + 1), np.arange(1, n_xl + 1), indexing="ij")
    inline, crossline = (g.ravel() for g in grid)
    fields = {TF.INLINE_3D: inline, TF.CROSSLINE_3D: crossline,
              TF.CDP_X: 1000 + 25 * inline, TF.CDP_Y: 2000 + 25 * crossline}  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    segy = folder / "survey.sgy"
    with SegyWriter(segy, samples=n_samples, interval_us=4000, format="ieee",
                    text=text_header([]), binary={}, fields=list(fields)) as writer:  # fmt: skip
        writer.write(fields, samples.reshape(n_il * n_xl, n_samples).astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no CRS: not what these tests are about
        return segy_to_zarr(segy, folder / "survey.zarr").store


@pytest.fixture(scope="module")
def trained_run(tiny_images: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete two-step run on the tiny image set (copy it before changing it)."""
    folder = tmp_path_factory.mktemp("trained") / "run"
    train("mnist", folder, data_dir=tiny_images, progress=False,
          overrides=[*TINY, "train.steps=2"])  # fmt: skip
    return folder


# --- settings ---------------------------------------------------------------------------


def test_cli_bad_numbers_and_overrides_are_one_line(tiny_images, tmp_path):
    out = run("train", "mnist", tmp_path / "r", "--data-dir", tiny_images, "--set", "train.lr=nan")
    assert_one_line(out, 2, "train.lr", "nan")
    out = run(
        "train", "mnist", tmp_path / "r", "--data-dir", tiny_images, "--set", "model.width=-1"
    )
    assert_one_line(out, 2, "model width -1")
    out = run("train", "mnist", tmp_path / "r", "--data-dir", tiny_images, "--set", "steps")
    line = assert_one_line(out, 2, "'steps' is not key=value", "train.steps=200")
    assert "seed=3" not in line
    assert not (tmp_path / "r").exists()


def test_a_warm_up_as_long_as_the_run_warns(tiny_images, tmp_path):
    with pytest.warns(UserWarning, match=r"train\.warmup 3 is not shorter than train\.steps 3"):
        train("mnist", tmp_path / "long", data_dir=tiny_images, progress=False,
              overrides=[*TINY, "train.steps=3", "train.warmup=3"])  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train("mnist", tmp_path / "short", data_dir=tiny_images, progress=False,
              overrides=[*TINY, "train.steps=3", "train.warmup=2"])  # fmt: skip
    assert not [w for w in caught if "warmup" in str(w.message)]


# --- progress ---------------------------------------------------------------------------


def test_cli_train_into_a_log_file_draws_no_bar_and_warns_in_one_line(tiny_images, tmp_path):
    log = tmp_path / "stderr.log"
    with log.open("w") as handle:
        out = subprocess.run(
            [sys.executable, "-m", "seisflow", "train", "mnist", str(tmp_path / "run"),
             "--data-dir", str(tiny_images),
             *sets([*TINY, "train.steps=3", "train.warmup=5", "train.eval_every=3"])],
            stdout=subprocess.PIPE, stderr=handle, text=True, timeout=300,
        )  # fmt: skip
    text = log.read_text()
    assert out.returncode == 0, text
    assert "\r" not in text  # no progress bar in a file
    lines = text.splitlines()
    assert all(line.startswith("seisflow: warning: ") for line in lines), text
    assert [line for line in lines if "warmup" in line] == [
        "seisflow: warning: train.warmup 5 is not shorter than train.steps 3: the learning rate "
        "only ramps up and never decays; set train.warmup below train.steps (e.g. "
        "train.warmup=0)"
    ]


def test_the_bar_says_when_it_refits_topics_and_evaluates(tiny_images, tmp_path, capsys):
    train("mnist", tmp_path / "run", data_dir=tiny_images, progress=True,
          overrides=[*TINY, "model.prior=lda", "model.topics=3", "train.steps=2",
                     "train.eval_every=2", "train.topic_refit=2",
                     "train.topic_refit_size=32"])  # fmt: skip
    err = capsys.readouterr().err
    assert "evaluating" in err
    assert "final topic refit" in err
    assert err.index("evaluating") < err.rindex("final topic refit")


# --- checkpoints ------------------------------------------------------------------------


def damage(checkpoint: Path, kind: str) -> None:
    """Damage a checkpoint: text instead of a checkpoint, a config that does not fit the
    weights, or no weights at all."""
    if kind == "text":
        checkpoint.write_text("epoch 3: loss went down, try lr 3e-4 next\n")
        return
    content = torch.load(checkpoint, weights_only=True)
    if kind == "mismatch":
        content["config"]["model"]["width"] = 16
    else:
        del content["model"]
    torch.save(content, checkpoint)


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [("text", "is not a readable seisflow checkpoint"),
     ("mismatch", "its weights do not fit its own configuration"),
     ("no_model", "has no 'model' entry")],
)  # fmt: skip
def test_a_damaged_checkpoint_is_one_line(trained_run, tiny_images, tmp_path, kind, fragment):
    folder = tmp_path / "run"
    shutil.copytree(trained_run, folder)
    checkpoint = folder / "checkpoint.pt"
    damage(checkpoint, kind)
    with pytest.raises(InputFileError, match=fragment) as caught:
        load_flow(folder)
    message = str(caught.value)
    assert str(checkpoint) in message and "\n" not in message
    assert "point at another run" in message or "train again" in message
    out = run("validate", folder, "mnist", "--data-dir", tiny_images)
    assert_one_line(out, 1, str(checkpoint), fragment)
    out = run("train", "mnist", folder, "--data-dir", tiny_images, "--resume")
    assert_one_line(out, 1, str(checkpoint), fragment)


def test_a_weights_mismatch_names_the_parameter_and_shapes(trained_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(trained_run, folder)
    damage(folder / "checkpoint.pt", "mismatch")
    with pytest.raises(InputFileError, match=r"is \[8, .*\], its configuration needs \[16, "):
        load_flow(folder / "checkpoint.pt")


# --- divergence -------------------------------------------------------------------------


def test_divergence_before_any_checkpoint_says_none_was_written(tiny_images, tmp_path):
    with pytest.raises(TrainingError, match="before any checkpoint was written") as caught:
        train("mnist", tmp_path / "run", data_dir=tiny_images, progress=False,
              overrides=[*TINY, "train.steps=4", "train.lr=1e30", "train.clip=1e30"])  # fmt: skip
    assert not isinstance(caught.value, ConfigError)
    assert "intact" not in str(caught.value)
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_divergence_after_a_checkpoint_names_its_step(tiny_images, tmp_path, monkeypatch):
    from seisflow.train import loop

    real = loop._Objective.forward
    calls = []

    def forward(self, x, noise, anti_collapse):
        calls.append(1)
        loss, parts = real(self, x, noise, anti_collapse)
        return (loss * float("nan") if len(calls) >= 5 else loss), parts

    monkeypatch.setattr(loop._Objective, "forward", forward)
    folder = tmp_path / "run"
    with pytest.raises(TrainingError) as caught:
        train("mnist", folder, data_dir=tiny_images, progress=False,
              overrides=[*TINY, "train.steps=8", "train.checkpoint_every=2"])  # fmt: skip
    message = str(caught.value)
    assert "diverged at step 5 (loss nan)" in message
    assert f"{folder / 'checkpoint.pt'} still holds step 4" in message
    assert load_checkpoint(folder)["step"] == 4


# --- surveys without signal -------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(0.0, "holds a single amplitude value (0 in all 6400 finite samples"),
     (np.nan, "holds no finite amplitude to train on (6400 samples of live traces: 6400 NaN")],
)  # fmt: skip
def test_a_survey_without_signal_is_refused(tmp_path, value, fragment):
    store = write_store(tmp_path / "data", np.full((8, 20, 40), value))
    folder = tmp_path / "run"
    with pytest.raises(InputFileError, match=re.escape(fragment)) as caught:
        train(str(store), folder, progress=False, overrides=SURVEY)
    assert str(store) in str(caught.value)
    assert not folder.exists()
    out = run("train", store, folder, *sets(SURVEY))
    assert_one_line(out, 1, str(store), fragment)
    assert not folder.exists()


def test_patches_that_all_see_one_value_are_refused(tmp_path):
    samples = np.random.default_rng(0).normal(size=(8, 20, 40))
    samples[:, :, :20] = 0.0  # a muted zone: the first 80 ms
    store = write_store(tmp_path / "data", samples)
    with pytest.raises(InputFileError, match=r"all hold the byte value 128") as caught:
        train(str(store), tmp_path / "run", progress=False,
              overrides=[*SURVEY, "data.time_window=[0, 76]"])  # fmt: skip
    assert str(store) in str(caught.value) and "data.time_window [0.0, 76.0]" in str(caught.value)
    train(str(store), tmp_path / "deeper", progress=False,
          overrides=[*SURVEY, "data.time_window=[80, 156]"])  # fmt: skip


# --- resuming on other data -------------------------------------------------------------


@pytest.fixture(scope="module")
def stores(make_survey, tmp_path_factory):
    """Survey A, survey B (another seed), and A's SEG-Y ingested a second time elsewhere."""
    root = tmp_path_factory.mktemp("stores")
    a, b = make_survey().segy, make_survey(seed=1).segy
    return (segy_to_zarr(a, root / "a.zarr", chunks=(8, 15, 48)).store,
            segy_to_zarr(b, root / "b.zarr", chunks=(8, 15, 48)).store,
            segy_to_zarr(a, root / "again" / "a.zarr", chunks=(8, 15, 48)).store)  # fmt: skip


def test_resume_refuses_another_survey(stores, tmp_path):
    a, b, a_again = stores
    folder = tmp_path / "run"
    train(str(a), folder, progress=False, overrides=SURVEY)
    record = load_checkpoint(folder)["source"]
    assert record["path"] == str(Path(a).resolve()) and re.fullmatch("[0-9a-f]{8}", record["crc32"])
    before = (folder / "checkpoint.pt").read_bytes()
    with pytest.raises(ConfigError, match="another RUN_DIR") as caught:
        train(str(b), folder, resume=True, progress=False)
    assert str(a) in str(caught.value) and str(b) in str(caught.value)
    assert (folder / "checkpoint.pt").read_bytes() == before
    out = run("train", b, folder, "--resume")
    assert_one_line(out, 2, str(a), str(b), "another RUN_DIR")
    assert (folder / "checkpoint.pt").read_bytes() == before
    # the same SEG-Y ingested again elsewhere is the same survey
    assert train(str(a_again), folder, resume=True, progress=False).step == 2


def test_resume_of_a_checkpoint_without_checksum_compares_paths(stores, tmp_path):
    a, b, _ = stores
    folder = tmp_path / "run"
    train(str(a), folder, progress=False, overrides=SURVEY)
    content = torch.load(folder / "checkpoint.pt", weights_only=True)
    content["source"] = {"kind": "survey", "name": str(a), "data_dir": None}  # as before
    torch.save(content, folder / "checkpoint.pt")
    with pytest.raises(ConfigError, match=f"trained on {re.escape(str(a))}, not"):
        train(str(b), folder, resume=True, progress=False)
    assert train(str(a), folder, resume=True, progress=False).step == 2


# --- run folders ------------------------------------------------------------------------


def test_a_new_run_refuses_a_folder_of_the_users_files(tiny_images, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.toml").write_text("[model]\nwidth = 8  # my own settings\n")
    (folder / "notes.txt").write_text("field notes\n")
    before = snapshot(folder)
    out = run("train", "mnist", folder, "--data-dir", tiny_images, *sets([*TINY, "train.steps=2"]))
    assert_one_line(out, 1, str(folder), "config.toml, notes.txt", "another RUN_DIR")
    assert snapshot(folder) == before
    # a user's metrics.jsonl, even of JSON lines with steps, is not a run's without its config
    (folder / "config.toml").unlink()
    (folder / "notes.txt").unlink()
    (folder / "metrics.jsonl").write_text('{"step": 1, "loss": 2.0}\n')
    with pytest.raises(OutputPathError, match=r"not a seisflow run's \(metrics\.jsonl\)"):
        train("mnist", folder, data_dir=tiny_images, progress=False, overrides=TINY)
    assert (folder / "metrics.jsonl").read_text() == '{"step": 1, "loss": 2.0}\n'


def test_leftovers_of_a_run_stopped_before_its_first_checkpoint_are_reused(
    tiny_images, tmp_path, monkeypatch
):
    from seisflow.train import loop

    def killed(path, **content):
        raise KeyboardInterrupt

    folder = tmp_path / "run"
    monkeypatch.setattr(loop, "save_checkpoint", killed)
    with pytest.raises(KeyboardInterrupt):
        train("mnist", folder, data_dir=tiny_images, progress=False,
              overrides=[*TINY, "train.steps=3"])  # fmt: skip
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == ["config.toml", "metrics.jsonl"]
    with (folder / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 4, "lo')  # a line cut short by the kill
    (folder / ".checkpoint.pt.k3j9x2.tmp").write_bytes(b"half a checkpoint")
    train("mnist", folder, data_dir=tiny_images, progress=False,
          overrides=[*TINY, "train.steps=2"])  # fmt: skip
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    assert [int(line.split(",")[0].split(":")[1]) for line in lines] == [1, 2]
    assert sorted(p.name for p in folder.iterdir()) == [
        "checkpoint.pt", "config.toml", "metrics.jsonl"]  # fmt: skip


def test_links_in_a_run_folder_are_never_written_through(trained_run, tiny_images, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("my precious notes\n")
    original = outside.read_bytes()
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / "config.toml").symlink_to("../outside.txt")
    out = run("train", "mnist", fresh, "--data-dir", tiny_images, *sets([*TINY, "train.steps=2"]))
    assert_one_line(out, 1, str(fresh / "config.toml"), "symbolic link")
    assert outside.read_bytes() == original
    for name in ("config.toml", "metrics.jsonl", "checkpoint.pt"):
        folder = tmp_path / f"resume-{name}"
        shutil.copytree(trained_run, folder)
        (folder / name).unlink()
        (folder / name).symlink_to("../outside.txt")
        with pytest.raises(OutputPathError, match="symbolic link"):
            train("mnist", folder, data_dir=tiny_images, resume=True, progress=False)
        assert outside.read_bytes() == original
    out = run("train", "mnist", folder, "--data-dir", tiny_images, "--resume")
    assert_one_line(out, 1, str(folder / "checkpoint.pt"), "symbolic link")
    # the temporary files are created anew, never opened through a planted link
    folder = tmp_path / "planted"
    shutil.copytree(trained_run, folder)
    (folder / "metrics.jsonl.tmp").symlink_to("../outside.txt")
    (folder / ".config.toml.tmp").symlink_to("../outside.txt")
    train("mnist", folder, data_dir=tiny_images, resume=True, progress=False)
    assert outside.read_bytes() == original
    assert not (folder / "config.toml").is_symlink() and not (folder / "metrics.jsonl").is_symlink()


@pytest.mark.parametrize(
    ("limit", "steps", "name"),
    [(300, 2, "config.toml"), (2000, 20, "metrics.jsonl"), (100_000, 2, "checkpoint.pt")],
)
def test_a_full_disk_is_one_line(tiny_images, tmp_path, limit, steps, name):
    """Files larger than ``limit`` bytes cannot be written (RLIMIT_FSIZE: EFBIG, as a full
    disk gives ENOSPC): config.toml is the first file written, metrics.jsonl outgrows the
    limit on the way, the checkpoint is the largest."""
    folder = tmp_path / "run"

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = run("train", "mnist", folder, "--data-dir", tiny_images,
              *sets([*TINY, f"train.steps={steps}"]), preexec_fn=limited)  # fmt: skip
    assert_one_line(out, 1, f"cannot write {folder / name}", "free some space")
    assert not (folder / "checkpoint.pt").exists()
    assert not list(folder.glob(".*.tmp"))
    # once there is room, a new run starts in the same folder
    train("mnist", folder, data_dir=tiny_images, progress=False,
          overrides=[*TINY, "train.steps=2"])  # fmt: skip
    assert load_checkpoint(folder)["step"] == 2


def test_a_full_disk_on_resume_keeps_the_checkpoint(trained_run, tiny_images, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(trained_run, folder)
    before = snapshot(folder)

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (300, 300))

    out = run("train", "mnist", folder, "--data-dir", tiny_images, "--resume",
              preexec_fn=limited)  # fmt: skip
    assert_one_line(out, 1, f"cannot write {folder / 'config.toml'}",
                    "train again with --resume (its checkpoint.pt is intact)")  # fmt: skip
    assert snapshot(folder) == before
