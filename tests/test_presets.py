"""Presets inside the package, the default preset of a source, and the settings' layers."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from clitools import assert_one_line, run

from seisflow import presets
from seisflow.config import from_mapping, read_toml, to_dict
from seisflow.errors import ConfigError
from seisflow.images import IMAGE_SETS
from seisflow.infer.seeds import evaluate_seeds
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.train import train
from seisflow.train.config import DataConfig, RunConfig

ROOT = Path(__file__).resolve().parents[1]
NAMES = {"survey", "mnist", "fashion_mnist", "cifar10_automobile"}
#: Small enough for seconds on two cores; on top of a preset (survey-quick by default).
TINY = ["train.steps=2", "model.width=8", "model.depth=1", "train.batch_size=16",
        "train.eval_every=0", "train.warmup=0", "data.size=16", "data.stride=8",
        "data.buffer=128", "train.topic_refit_size=32"]  # fmt: skip


@pytest.fixture(scope="module")
def store(make_survey, tmp_path_factory):
    survey = make_survey(missing_corner=True)
    folder = tmp_path_factory.mktemp("presets")
    return segy_to_zarr(survey.segy, folder / "s.zarr", chunks=(8, 15, 48)).store, survey.truth


def test_presets_ship_inside_the_package():
    expected = NAMES | {f"{name}-quick" for name in NAMES}
    assert set(presets.names()) == expected
    assert not (ROOT / "configs").exists()  # one copy of each preset: the package's
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "*.toml" in package_data["package-data"]["seisflow.presets"]  # pip installs them
    optional = {f.name for f in dataclasses.fields(DataConfig) if f.default is None}
    for name in presets.names():
        assert (ROOT / "seisflow" / "presets" / f"{name}.toml").is_file()
        description = presets.describe(name)
        assert description and not description.startswith("#") and len(description) < 80
        assert description in presets.listing()
        table = presets.read(name)
        assert set(table) <= {"model", "data", "train"}
        # a key a preset sets could not be unset by a user's file (TOML has no null)
        assert not optional & set(table.get("data", {})), name
        assert "in_shape" not in table["model"]
        assert table["model"]["prior"] == "lda" and table["train"]["anti_collapse"] > 0
        assert table["train"]["topic_refit"] > 0
    for name in ("survey", "survey-quick"):
        assert presets.read(name)["data"]["axis"] == "both"
    with pytest.raises(ConfigError, match=r"unknown preset 'nosuch': choose one of .*survey"):
        presets.read("nosuch")


def test_the_default_preset_fits_the_source_and_the_device():
    assert set(presets.IMAGE_BENCHMARKS) == set(IMAGE_SETS)
    assert presets.default("survey.zarr", "cpu") == "survey-quick"
    assert presets.default("/data/mnist.zarr", "cuda") == "survey"
    for name in presets.IMAGE_BENCHMARKS:
        assert presets.default(name, "cpu") == f"{name}-quick"
        assert presets.default(name, "cuda") == name
    assert presets.resolve_name("auto", "s.zarr", "cpu") == "survey-quick"
    assert presets.resolve_name("mnist", "s.zarr", "cpu") == "mnist"
    assert presets.resolve_name(None, "s.zarr", "cuda") is None
    with pytest.raises(ConfigError, match="unknown preset 'survey_quick'"):
        presets.resolve_name("survey_quick", "s.zarr", "cpu")


def test_preset_then_file_then_set(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text('# a comment\npreset = "mnist"\n[model]\nin_shape = [1, 2, 2]\nwidth = 16\n'
                    '[train]\nsteps = 7\n')  # fmt: skip
    raw = presets.compose("survey-quick", config_file=mine)
    quick = presets.read("survey-quick")
    assert raw["train"] == {**quick["train"], "steps": 7}  # merged key by key
    assert raw["model"] == {**quick["model"], "width": 16}  # in_shape dropped: from the data
    assert raw["data"] == quick["data"] and "preset" not in raw  # preset: written by seisflow
    assert presets.compose(None, settings={"train": {"steps": 3}}) == {"train": {"steps": 3}}
    broken = tmp_path / "broken.toml"
    broken.write_text("model = 3\n")
    with pytest.raises(ConfigError, match=rf"config file {broken}: model = 3 must be a table"):
        presets.compose("survey-quick", config_file=broken)


def test_list_presets_and_help_name_every_preset():
    listed = run("train", "--list-presets")  # no SOURCE or RUN_DIR needed
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(presets.names())
    for line, name in zip(lines, presets.names(), strict=True):
        assert line.endswith(presets.describe(name))
    helped = run("train", "--help")
    assert helped.returncode == 0
    for name in presets.names():
        assert name in helped.stdout
    assert "--preset" in helped.stdout and "--list-presets" in helped.stdout


def test_an_unknown_preset_is_one_line(store, tmp_path):
    out = run("train", store[0], tmp_path / "run", "--preset", "surveyquick")
    assert_one_line(out, 2, "unknown preset 'surveyquick'", "survey-quick", "--list-presets")
    assert not (tmp_path / "run").exists()


def test_train_without_settings_then_map_makes_facies_and_anomaly(store, tmp_path):
    path, _ = store
    sets = [a for s in TINY for a in ("--set", s)]
    out = run("train", path, tmp_path / "run", "--device", "cpu", "--quiet", *sets)
    assert out.returncode == 0, out.stderr
    assert "(preset survey-quick)" in out.stdout
    text = (tmp_path / "run" / "config.toml").read_text()
    saved = from_mapping(RunConfig, read_toml(tmp_path / "run" / "config.toml"))
    assert saved.preset == "survey-quick" and 'preset = "survey-quick"' in text
    quick = presets.read("survey-quick")
    assert (saved.model.prior, saved.model.topics) == ("lda", quick["model"]["topics"])
    assert saved.data.axis == "both" and saved.train.topic_refit == quick["train"]["topic_refit"]
    assert saved.model.width == 8 and saved.model.in_shape == (1, 16, 16)  # --set on top
    mapped = run("map", path, tmp_path / "run", "--device", "cpu", "--quiet")
    assert mapped.returncode == 0, mapped.stderr
    layers = open_survey(path)
    assert {"facies", "facies_confidence", "anomaly"} <= set(layers.data_vars)
    assert int(layers.facies.max()) >= 0


def test_a_runs_config_is_reused_with_another_patch_size(store, tmp_path):
    path, _ = store
    first = tmp_path / "first"
    train(str(path), first, overrides=[*TINY, "model.prior=lda", "model.topics=3"],
          progress=False)  # fmt: skip
    again = tmp_path / "again"
    train(str(path), again, config_file=first / "config.toml",
          overrides=["data.size=8", "data.stride=8"], progress=False)  # fmt: skip
    one = from_mapping(RunConfig, read_toml(first / "config.toml"))
    two = from_mapping(RunConfig, read_toml(again / "config.toml"))
    assert one.model.in_shape == (1, 16, 16) and two.model.in_shape == (1, 8, 8)
    assert dataclasses.replace(two.model, in_shape=one.model.in_shape) == one.model
    assert two.data == dataclasses.replace(one.data, size=8) and two.train == one.train
    # on top of a preset too, and an explicit --set model.in_shape is still refused
    train(str(path), tmp_path / "third", preset="auto", config_file=first / "config.toml",
          overrides=["data.size=8"], device="cpu", progress=False)  # fmt: skip
    third = from_mapping(RunConfig, read_toml(tmp_path / "third" / "config.toml"))
    assert third.preset == "survey-quick" and third.model == two.model
    with pytest.raises(ConfigError, match=r"model.in_shape \[1, 8, 8\] does not match the "
                                          r"data's \[1, 16, 16\]: drop --set"):  # fmt: skip
        train(str(path), tmp_path / "fourth", config_file=first / "config.toml",
              overrides=["model.in_shape=[1, 8, 8]"], progress=False)  # fmt: skip
    with pytest.raises(ConfigError, match="preset 'mnist' cannot be set"):
        train(str(path), tmp_path / "fifth", preset="auto", overrides=["preset=mnist"],
              device="cpu", progress=False)  # fmt: skip


def test_a_resumed_run_keeps_its_preset(store, tmp_path):
    path, _ = store
    folder = tmp_path / "run"
    train(str(path), folder, preset="survey-quick", overrides=TINY, progress=False)
    saved = (folder / "config.toml").read_text()
    for config_file in (None, folder / "config.toml"):  # saved settings, or its own file
        assert train(str(path), folder, preset="auto", config_file=config_file, resume=True,
                     overrides=TINY, progress=False).step == 2  # fmt: skip
        assert (folder / "config.toml").read_text() == saved
    assert to_dict(from_mapping(RunConfig, read_toml(folder / "config.toml")))["preset"] == (
        "survey-quick"
    )


@pytest.mark.parametrize(
    ("extra", "readout", "fragment"),
    [(["model.prior=standard"], "patch", "model.prior 'standard' has no topics"),
     (["model.prior=kat_gmm"], "word", "--readout word needs model.prior=lda, not 'kat_gmm'"),
     (["model.levels=3", "data.size=20"], "patch", "H and W must be divisible by 8")],
)  # fmt: skip
def test_seeds_check_every_setting_before_training(store, tmp_path, extra, readout, fragment):
    path, truth = store
    runs = tmp_path / "runs"
    with pytest.raises(ConfigError, match=fragment):
        evaluate_seeds(path, truth, runs, seeds=2, overrides=[*TINY, *extra], readout=readout,
                       device="cpu")  # fmt: skip
    assert not runs.exists()  # nothing trained


def test_seeds_from_the_cli_refuse_a_standard_prior_at_once(store, tmp_path):
    path, truth = store
    out = run("evaluate", path, truth, "--seeds", "2", "--runs", tmp_path / "runs",
              "--set", "model.prior=standard", "--device", "cpu")  # fmt: skip
    assert_one_line(out, 2, "model.prior 'standard' has no topics", "model.prior=lda")
    assert not (tmp_path / "runs").exists()
