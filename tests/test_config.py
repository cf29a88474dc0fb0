"""Config dataclasses: TOML loading, key=value overrides and their errors."""

from __future__ import annotations

import re

import pytest

from seisflow.config import (
    apply_overrides,
    from_mapping,
    load_config,
    merge_tables,
    parse_override,
    to_dict,
    to_toml,
)
from seisflow.errors import ConfigError
from seisflow.synth.config import SynthConfig
from seisflow.train.config import RunConfig


def test_defaults_and_overrides():
    cfg = load_config(SynthConfig, overrides=["seed=3", "shape=[40, 50, 120]", "format=ieee"])
    assert cfg.seed == 3 and cfg.shape == (40, 50, 120) and cfg.format == "ieee"
    assert cfg.noise == SynthConfig().noise


def test_toml_file_then_overrides(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('seed = 9\nsorting = "crossline"\nnoise = 1\norigin_xy = [1.5, 2]\n')
    cfg = load_config(SynthConfig, path=path, overrides=["seed=4"])
    assert (cfg.seed, cfg.sorting, cfg.noise, cfg.origin_xy) == (4, "crossline", 1.0, (1.5, 2.0))
    assert isinstance(cfg.noise, float)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("sed=3", "unknown setting sed"),
        ("seed=three", "seed must be an integer, got 'three'"),
        ("seed=true", "seed must be an integer"),
        ("format=segd", "format = 'segd' is not allowed: choose one of ibm, ieee"),
        ("shape=[1, 2]", "shape needs 3 values"),
        ("missing_corner=1", "missing_corner must be true or false"),
        ("shape=[0, 5, 5]", "synth shape 0,5,5 is invalid"),
        ("novalue", "not key=value: write for example seed=3"),
        ("noise=nan", "setting noise must be a finite number, got nan"),
        ("origin_xy=[1.0, inf]", "setting origin_xy must be a finite number, got inf"),
    ],
)
def test_bad_settings_name_key_and_value(override, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load_config(SynthConfig, overrides=[override])


def test_bad_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(SynthConfig, path=tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("seed = = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(SynthConfig, path=broken)


def test_override_parsing_and_nesting():
    assert parse_override("train.lr=3e-4") == (["train", "lr"], 3e-4)
    assert parse_override("model.prior=lda") == (["model", "prior"], "lda")
    data = apply_overrides({"train": {"lr": 1.0}}, ["train.lr=2", "model.prior=lda"])
    assert data == {"train": {"lr": 2}, "model": {"prior": "lda"}}
    with pytest.raises(ConfigError, match="is a value, not a section"):
        apply_overrides({"seed": 1}, ["seed.x=2"])


def test_round_trip_through_dict():
    cfg = SynthConfig(shape=(9, 10, 40), seed=2, missing_corner=True)
    assert load_config(SynthConfig, overrides=[]) == SynthConfig()
    data = to_dict(cfg)
    assert data["shape"] == [9, 10, 40]
    from seisflow.config import from_mapping

    assert from_mapping(SynthConfig, data) == cfg


def test_frozen():
    with pytest.raises(AttributeError):
        SynthConfig().seed = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    "override",
    ["train.lr=nan", "train.lr=inf", "train.clip=-inf", "model.alpha=nan", "model.l2=inf",
     "data.percentile=nan", "data.time_window=[0, inf]"],
)  # fmt: skip
def test_non_finite_numbers_are_refused_naming_key_and_value(override):
    key, value = override.split("=")
    value = value.strip("[]").split(", ")[-1]
    with pytest.raises(ConfigError, match=rf"setting {re.escape(key)} must be a finite number, "
                                          rf"got {value}"):  # fmt: skip
        load_config(RunConfig, overrides=[override])


@pytest.mark.parametrize(
    ("override", "fragment"),
    [("model.width=-1", "model width -1 must be 1 or more"),
     ("model.topics=0", "model topics 0 must be 1 or more"),
     ("model.alpha=0", "model alpha 0.0 must be > 0"),
     ("model.balance=nope", "model.balance = 'nope' is not allowed: choose one of usage, "
      "sinkhorn"),
     ("data.workers=-1", "data workers -1 must be >= 0"),
     ("train.clip=-2", "train clip -2.0 must be > 0"),
     ("train.warmup=-5", "train warmup -5 must be >= 0"),
     ("train.log_every=0", "train log_every 0 must be >= 1")],
)  # fmt: skip
def test_out_of_range_settings_name_their_value(override, fragment):
    with pytest.raises(ConfigError, match=re.escape(fragment)):
        load_config(RunConfig, overrides=[override])


def test_flow_config_refuses_an_unknown_balance_built_directly():
    """Built in Python (no TOML conversion), ``__post_init__`` names the value and the
    choices; a checkpoint's model table without ``balance`` takes the default."""
    from seisflow.models import FlowConfig

    with pytest.raises(
        ConfigError, match="model balance 'nope' is not allowed: choose one of usage, sinkhorn"
    ):
        FlowConfig(balance="nope")  # type: ignore[arg-type]
    assert from_mapping(FlowConfig, {"prior": "lda", "topics": 3}).balance == "usage"
    assert from_mapping(FlowConfig, {"balance": "sinkhorn"}).balance == "sinkhorn"


def test_the_override_example_fits_the_config():
    with pytest.raises(ConfigError, match=r"write for example train\.steps=200"):
        load_config(RunConfig, overrides=["steps"])
    with pytest.raises(ConfigError, match="write for example seed=3"):
        load_config(SynthConfig, overrides=["seed"])


def test_merge_tables_layers_a_file_over_a_preset_key_by_key():
    preset = {"model": {"prior": "lda", "width": 32}, "train": {"steps": 300}}
    mine = {"model": {"width": 8}, "data": {"size": 16}}
    merged = merge_tables(preset, mine)
    assert merged == {"model": {"prior": "lda", "width": 8}, "train": {"steps": 300},
                      "data": {"size": 16}}  # fmt: skip
    merged["model"]["width"] = 1
    assert preset["model"]["width"] == 32 and mine["model"]["width"] == 8  # copies
    with pytest.raises(ConfigError, match=r"config file a\.toml: train = 5 must be a table: "
                                          r"write its settings under \[train\]"):  # fmt: skip
        merge_tables(preset, {"train": 5}, where="config file a.toml")


def test_run_config_records_its_preset_in_toml():
    config = from_mapping(RunConfig, {"preset": "survey-quick", "train": {"steps": 3}})
    assert config.preset == "survey-quick" and RunConfig().preset is None
    assert to_toml(to_dict(config)).startswith('preset = "survey-quick"\n\n[model]')
    assert "preset" not in to_toml(to_dict(RunConfig()))  # None is left out


def test_schemas_live_beside_their_code():
    import seisflow.config as config

    assert not any(isinstance(v, type) and k.endswith("Config") for k, v in vars(config).items())
    with pytest.raises(AttributeError):
        config.RunConfig  # noqa: B018
