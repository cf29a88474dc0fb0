"""`seisflow map` and `evaluate` lose nothing: anomaly-only maps of standard-prior runs,
existing layers refused before any work, one writer per store, progress only on a terminal,
every option described, and no truth of another survey."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import click
import dask.array as da
import numpy as np
import pytest
import zarr
from clitools import assert_one_line, run

from seisflow.commands.maps import evaluate, map_command
from seisflow.errors import InputFileError, OutputPathError
from seisflow.infer.evaluate import evaluate_layers
from seisflow.infer.maps import map_survey
from seisflow.infer.seeds import evaluate_seeds
from seisflow.infer.writeback import write_layer
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.ingest.store import consolidate
from seisflow.locks import lock_path
from seisflow.train import train

TINY = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=2",
        "train.eval_every=0", "data.size=16", "data.stride=16", "data.buffer=64",
        "model.topics=3", "train.warmup=0"]  # fmt: skip
CHUNKS = (8, 15, 48)


@pytest.fixture(scope="module")
def runs(make_survey, tmp_path_factory):
    """An ingested survey (copy it before writing) and two tiny runs: standard and lda."""
    root = tmp_path_factory.mktemp("map_safety")
    survey = make_survey(missing_corner=True)
    store = segy_to_zarr(survey.segy, root / "s.zarr", chunks=CHUNKS).store
    for prior in ("standard", "lda"):
        train(str(store), root / prior, overrides=[*TINY, f"model.prior={prior}"],
              progress=False)  # fmt: skip
    return store, root / "standard", root / "lda", survey


@pytest.fixture
def store(runs, tmp_path):
    return Path(shutil.copytree(runs[0], tmp_path / "s.zarr"))


def _snapshot(store: Path) -> dict[str, bytes]:
    """Every file of the store (relative path -> contents)."""
    return {str(p.relative_to(store)): p.read_bytes() for p in store.rglob("*") if p.is_file()}


def _layers(store: Path) -> set[str]:
    survey = open_survey(store)
    return set(map(str, survey.data_vars)) - {"amplitude", "trace_mask", "spatial_ref"}


def _write(store: Path, name: str, value: float) -> None:
    live = open_survey(store).trace_mask.values[..., None]
    shape = open_survey(store).amplitude.shape
    data = np.where(live, value, np.nan).astype(np.float32) * np.ones(shape, np.float32)
    write_layer(store, name, da.from_array(data, chunks=CHUNKS), attrs={"state": "old"})


def test_standard_prior_run_maps_the_anomaly_alone(runs, store):
    _, standard, _, _ = runs
    out = run("map", store, standard, "--layers", "anomaly", "--quiet")
    assert out.returncode == 0, out.stderr[-3000:]
    assert "wrote anomaly, anomaly_hint into" in out.stdout
    survey = open_survey(store)
    assert _layers(store) == {"anomaly", "anomaly_hint"}
    live = np.broadcast_to(survey.trace_mask.values[..., None], survey.amplitude.shape)
    values = survey.anomaly.values
    assert np.isfinite(values[live]).all() and np.isnan(values[~live]).all()
    assert values[live].std() > 0
    facies = run("map", store, standard, "--overwrite", "--quiet")  # facies need topics
    assert_one_line(facies, 2, "standard prior", "--layers anomaly")


def test_existing_layers_are_all_refused_before_any_work(runs, store, tmp_path):
    _, _, lda, _ = runs
    _write(store, "facies_confidence", 0.5)
    _write(store, "anomaly", 1.0)
    before, layers = _snapshot(store), _layers(store)
    out = run("map", store, lda, "--quiet")  # facies (bringing facies_confidence), anomaly
    assert_one_line(out, 1, str(store), "facies_confidence", "anomaly", "--overwrite")
    assert "a facies layer" not in out.stderr  # facies itself is free
    assert _layers(store) == layers and _snapshot(store) == before
    assert not lock_path(store).exists()
    with pytest.raises(OutputPathError, match="an anomaly layer"):  # before the run is read
        map_survey(store, tmp_path / "no-such-run", layers=("anomaly",), progress=False)
    assert _snapshot(store) == before


_HOLDER = """
import sys, time
from pathlib import Path
from seisflow.locks import StoreLock
with StoreLock(sys.argv[1], purpose="a test holder"):
    Path(sys.argv[2]).write_text("held")
    for _ in range(600):
        if Path(sys.argv[3]).exists():
            break
        time.sleep(0.1)
"""


def test_map_is_refused_while_another_process_writes_the_store(runs, store, tmp_path):
    _, _, lda, _ = runs
    held, release = tmp_path / "held", tmp_path / "release"
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store), str(held),
                               str(release)])  # fmt: skip
    try:
        for _ in range(600):
            if held.exists() or holder.poll() is not None:
                break
            time.sleep(0.1)
        assert held.exists(), "the holder never took the lock"
        before = _snapshot(store)
        out = run("map", store, lda, "--layers", "anomaly", "--quiet")
        assert_one_line(out, 1, "is being written by a test holder", "one writer at a time")
        assert _snapshot(store) == before
    finally:
        release.write_text("go")
        holder.wait(timeout=60)
    assert holder.returncode == 0


def test_map_writes_no_carriage_returns_into_a_log(runs, store, tmp_path, capsys):
    _, _, lda, _ = runs
    log = tmp_path / "map.log"
    with open(log, "w") as handle:
        command = [sys.executable, "-m", "seisflow", "map", str(store), str(lda),
                   "--layers", "anomaly"]  # fmt: skip
        code = subprocess.run(command, stdout=subprocess.PIPE, stderr=handle, timeout=300)
    assert code.returncode == 0, log.read_text()[-3000:]
    assert b"\r" not in log.read_bytes()  # bytes: text mode would turn \r into \n
    map_survey(store, lda, layers=("anomaly",), overwrite=True, progress=True)
    bars = capsys.readouterr().err
    assert "map: score" in bars and "map: stitch+write anomaly" in bars


@pytest.mark.parametrize("command", [map_command, evaluate], ids=["map", "evaluate"])
def test_every_option_is_described_in_help(command):
    out = run(command.name, "--help")
    assert out.returncode == 0, out.stderr
    text = "".join(out.stdout.split())  # click wraps lines, at spaces and hyphens
    for param in command.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            assert param.help, f"{command.name} {param.opts[0]} has no help text"
            assert "".join(param.help.split()) in text, param.opts[0]


def _crc32(path: Path) -> str:
    return f"{zlib.crc32(path.read_bytes()):08x}"


def _truth_with_crc(truth: Path, segy: Path, root: Path) -> Path:
    """A copy of ``truth`` recording the checksum of ``segy`` (as seisflow synth does)."""
    copy = Path(shutil.copytree(truth, root / truth.name))
    zarr.open_group(str(copy), mode="r+").attrs["segy_crc32"] = _crc32(segy)
    consolidate(copy)
    return copy


def test_evaluate_refuses_the_truth_of_another_survey(runs, store, make_survey, tmp_path):
    _, _, lda, survey = runs
    map_survey(store, lda, layers=("anomaly",), progress=False)
    other = make_survey(missing_corner=True, seed=7)  # the same geometry, other contents
    assert _crc32(other.segy) != _crc32(survey.segy)
    wrong = _truth_with_crc(other.truth, other.segy, tmp_path / "other")
    found = open_survey(store).attrs["source"]["crc32"]
    out = run("evaluate", store, wrong, "--samples", "5000")
    assert_one_line(out, 1, str(wrong), _crc32(other.segy), "synth seed 7", str(store),
                    str(survey.segy.resolve()), found)  # fmt: skip
    with pytest.raises(InputFileError, match="another SEG-Y file"):
        evaluate_seeds(store, wrong, tmp_path / "runs", seeds=1)  # before any training
    assert not (tmp_path / "runs").exists()
    right = _truth_with_crc(survey.truth, survey.segy, tmp_path / "right")
    report = evaluate_layers(store, right, samples=5000)
    assert 0 <= report["anomaly"]["auroc"] <= 1
    older_truth = Path(shutil.copytree(survey.truth, tmp_path / "older.truth.zarr"))
    group = zarr.open_group(str(older_truth), mode="r+")
    group.attrs.pop("segy_crc32", None)  # a truth written before the checksum was recorded
    consolidate(older_truth)
    older = evaluate_layers(store, older_truth, samples=5000)
    assert older["anomaly"] == report["anomaly"]
    out = run("evaluate", store, right, "--samples", "5000", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout)["samples"] == 5000
