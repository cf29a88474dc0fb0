"""The command line, run as a user runs it (a subprocess), and the demo."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import segyio
import xarray as xr

from seisflow.cli import cli, main


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "seisflow", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=1200,  # only stops a hung command: the demo takes minutes on two busy cores
    )


def test_help_lists_the_commands():
    out = run("--help")
    assert out.returncode == 0
    for command in cli.commands:
        assert command in out.stdout
    assert {"synth", "demo"} <= set(cli.commands)


def test_synth_command_writes_segy_and_truth(tmp_path):
    out = run("synth", str(tmp_path / "s.sgy"), "--shape", "40,50,120", "--seed", "3")
    assert out.returncode == 0, out.stderr
    assert "s.truth.zarr" in out.stdout
    with segyio.open(tmp_path / "s.sgy", ignore_geometry=True) as f:
        assert f.tracecount == 40 * 50 and len(f.samples) == 120
    truth = xr.open_zarr(tmp_path / "s.truth.zarr")
    assert np.unique(truth.facies.values).size >= 5
    assert truth.anomaly.values.any()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--shape", "0,50,120"], 2, "synth shape 0,50,120 is invalid"),
        (["--shape", "40,50"], 2, "is not three integers"),
        (["--xline-step", "0"], 2, "xline_step 0 must be 1 or more"),
    ],
)
def test_bad_input_is_one_line(tmp_path, args, code, message):
    out = run("synth", str(tmp_path / "s.sgy"), *args)
    assert out.returncode == code
    assert message in out.stderr
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "s.sgy").exists()


def test_unwritable_path_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = run("synth", str(blocker / "s.sgy"), "--shape", "8,8,32")
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seisflow: error: cannot create the folder")
    assert blocker.read_text() == "not a folder"


def test_existing_output_and_debug(tmp_path):
    assert run("synth", str(tmp_path / "s.sgy"), "--shape", "8,8,32").returncode == 0
    again = run("synth", str(tmp_path / "s.sgy"), "--shape", "8,8,32")
    assert again.returncode == 1 and "pass --overwrite" in again.stderr
    debug = run("--debug", "synth", str(tmp_path / "s.sgy"), "--shape", "8,8,32")
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert run("synth", str(tmp_path / "s.sgy"), "--shape", "8,8,32", "--overwrite").returncode == 0


def test_demo_runs_end_to_end(tmp_path):
    out = run("demo", "--out", str(tmp_path / "demo"), "--steps", "2", "--quiet")
    assert out.returncode == 0, out.stderr
    for name in ("survey.png", "maps.png", "training.png", "facies.sgy", "demo.zarr",
                 "run/checkpoint.pt"):  # fmt: skip
        assert (tmp_path / "demo" / name).exists(), name
    assert (tmp_path / "demo" / "maps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert list((tmp_path / "demo").glob("facies_*ms.tif"))
    assert "facies     ARI" in out.stdout and "anomaly    AUROC" in out.stdout
    # the demo trained the survey-quick preset, only the steps changed (--steps 2)
    from seisflow import presets
    from seisflow.config import from_mapping, read_toml
    from seisflow.train.config import RunConfig
    from seisflow.train.loop import resolve_config

    trained = from_mapping(RunConfig, read_toml(tmp_path / "demo" / "run" / "config.toml"))
    quick = presets.read("survey-quick")
    quick["train"]["steps"] = 2
    assert trained == resolve_config(quick, trained.model.in_shape, preset="survey-quick")


def test_demo_training_is_the_quick_survey_preset():
    from seisflow import presets
    from seisflow.demo import DEMO_PRESET, DEMO_TRAINING

    assert DEMO_PRESET == "survey-quick"
    assert presets.read("survey-quick") == DEMO_TRAINING


def test_demo_survey_only_writes_a_figure(tmp_path):
    from seisflow.demo import run_demo
    from seisflow.synth.config import SynthConfig

    result = run_demo(tmp_path / "demo", SynthConfig(shape=(20, 24, 80), missing_corner=True),
                      train=False, progress=False)  # fmt: skip
    assert result.figure.stat().st_size > 10_000
    assert result.figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.scores is None


def test_readme_lists_every_command_and_option():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("## The CLI at a glance", 1)[1].split("```", 2)[1]
    for name, command in cli.commands.items():
        assert f"\n  {name} " in block, name
        for param in command.params:
            for option in param.opts:
                if option.startswith("--") and option != "--help":
                    assert option in block, f"{name} {option}"


@pytest.mark.parametrize(("before", "after"), [(None, "10000"), ("300000", "300000")])
def test_the_command_line_sets_openmp_spinning_unless_the_user_did(monkeypatch, before, after):
    if before is None:
        monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    else:
        monkeypatch.setenv("GOMP_SPINCOUNT", before)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert os.environ["GOMP_SPINCOUNT"] == after
