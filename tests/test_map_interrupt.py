"""A map killed mid-way (kill -9) leaves no half layer, and a re-run completes.

Visible means listed in the store's consolidated metadata, as ``open_survey`` and a plain
``xarray.open_zarr`` read it. A visible layer is whole: either exactly the one the store held
before, or a new one with a value at every live sample and the fill value elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import xarray as xr
import zarr

from seisflow.infer.folder_layers import FolderLayers
from seisflow.infer.maps import map_survey
from seisflow.infer.writeback import PARTIAL_PREFIX, remove_layer, write_layer
from seisflow.ingest import describe, open_survey, segy_to_zarr
from seisflow.ingest.metadata import consolidate
from seisflow.train import train

SETTINGS = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=2",
            "train.eval_every=0", "data.size=16", "data.stride=8", "data.buffer=128",
            "model.topics=3", "model.prior=lda"]  # fmt: skip
LAYERS = ("facies", "facies_confidence", "anomaly", "anomaly_hint")
MAP = {"stride": 16, "batch_size": 64}  # a coarse tiling: few patches to score
CHUNKS = (8, 15, 48)


@pytest.fixture(scope="module")
def survey_store(make_survey, tmp_path_factory):
    """An ingested survey with a missing corner (dead traces); copy it before writing."""
    root = tmp_path_factory.mktemp("map_interrupt")
    return segy_to_zarr(make_survey(missing_corner=True).segy, root / "s.zarr", chunks=CHUNKS).store


@pytest.fixture
def store(survey_store, tmp_path):
    return Path(shutil.copytree(survey_store, tmp_path / "s.zarr"))


def _amplitude_digest(store):
    array = zarr.open_array(str(store), path="amplitude", mode="r")
    return hashlib.sha256(np.ascontiguousarray(array[...]).tobytes()).hexdigest()


def _live(store):
    survey = open_survey(store)
    return np.broadcast_to(survey.trace_mask.values[..., None], survey.amplitude.shape)


def _write_old_layers(store, names=LAYERS):
    """Write recognisable layers tagged ``old``; return their values."""
    live = _live(store)
    rng = np.random.default_rng(1)
    values = {
        "facies": np.where(live, 2, -1).astype(np.int16),
        "facies_confidence": np.where(live, 0.25, np.nan).astype(np.float32),
        "anomaly": np.where(live, rng.normal(size=live.shape), np.nan).astype(np.float32),
        "anomaly_hint": np.where(live, 1, -1).astype(np.int16),
    }
    for name in names:
        layer = da.from_array(values[name], chunks=CHUNKS)
        write_layer(store, name, layer, attrs={"state": "old"}, overwrite=True)
    return {name: values[name] for name in names}


def _visible_states(store, old):
    """Check every visible layer is whole; return ``{layer: "old" | "new" | None}``."""
    survey = open_survey(store)
    for dataset in (survey, xr.open_zarr(store)):
        assert not [n for n in dataset.variables if str(n).startswith("_")], dataset
    assert not [n for n in describe(store)["layers"] if n.startswith("_")]
    live = _live(store)
    states = {}
    for name in LAYERS:
        if name not in survey:
            states[name] = None
        elif survey[name].attrs.get("state") == "old":
            np.testing.assert_array_equal(survey[name].values, old[name], err_msg=name)
            states[name] = "old"
        else:
            values = survey[name].values
            fill = values == -1 if values.dtype == np.int16 else np.isnan(values)
            np.testing.assert_array_equal(fill, ~live, err_msg=f"{name}: holes or values off")
            states[name] = "new"
    return states


def _chunk_files(array):
    return sum(p.is_file() for p in (array / "c").rglob("*"))


def _map_cli(store, run):
    args = [sys.executable, "-m", "seisflow", "map", store, run, "--overwrite", "--quiet",
            "--stride", MAP["stride"], "--batch-size", MAP["batch_size"]]  # fmt: skip
    return subprocess.Popen(list(map(str, args)), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_kill_9_mid_map_leaves_whole_layers_and_a_rerun_completes(store, tmp_path):
    run = tmp_path / "run"
    train(str(store), run, overrides=SETTINGS, progress=False)
    before = _amplitude_digest(store)
    staged = store / f"{PARTIAL_PREFIX}anomaly"
    for _ in range(3):  # a map too quick to catch (or caught past its last chunk) runs again
        old = _write_old_layers(store)
        assert not staged.exists()
        process = _map_cli(store, run)
        killed = False
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            # facies and facies_confidence are published; anomaly's chunks are being written
            if (staged / "c").exists():
                os.kill(process.pid, signal.SIGKILL)  # at worst a zombie: not yet reaped
                killed = True
                break
            time.sleep(0.001)
        if process.poll() is None and not killed:
            process.kill()
            pytest.fail("seisflow map wrote no anomaly chunk in 120 s")
        _, err = process.communicate(timeout=60)
        if process.returncode != -signal.SIGKILL:
            assert process.returncode == 0, err[-3000:]
            continue
        # mid-write: the staged anomaly has fewer chunks than the old one still in place
        mid_write = staged.is_dir() and _chunk_files(staged) < _chunk_files(store / "anomaly")
        states = _visible_states(store, old)
        assert states["facies"] == states["facies_confidence"] == "new"
        if mid_write:
            break
    else:
        pytest.fail("seisflow map was never killed mid-write of its anomaly layer in 3 tries")
    assert states["anomaly"] == states["anomaly_hint"] == "old"  # exactly the old values
    assert _amplitude_digest(store) == before
    # writing another layer must not publish the leftover half of anomaly
    map_survey(store, run, layers=("facies",), overwrite=True, progress=False, **MAP)
    assert _visible_states(store, old) == states
    assert staged.is_dir()  # still on disk, never visible
    # a full re-run replaces every layer and clears the leftovers
    summary = map_survey(store, run, overwrite=True, progress=False, **MAP)
    assert summary["layers"] == list(LAYERS)
    assert _visible_states(store, old) == dict.fromkeys(LAYERS, "new")
    digest = hashlib.sha256((run / "checkpoint.pt").read_bytes()).hexdigest()
    assert open_survey(store).anomaly.attrs["seisflow:model_sha256"] == digest
    assert not [p.name for p in store.iterdir() if p.name.startswith(PARTIAL_PREFIX)]
    assert _amplitude_digest(store) == before


class Killed(Exception):
    pass


@pytest.mark.parametrize("crash_at", range(7))
def test_a_crash_at_any_step_of_the_swap_leaves_a_whole_layer(store, crash_at, monkeypatch):
    """Stop the publication of a layer before each of its file operations in turn."""
    old = _write_old_layers(store, names=("anomaly",))
    live = _live(store)
    new = da.from_array(np.where(live, 5, np.nan).astype(np.float32), chunks=CHUNKS)
    publish, steps = FolderLayers.publish, []

    def step(operation):
        def run(*args, **kwargs):
            if len(steps) == crash_at:
                raise Killed(f"before {operation.__name__}")
            steps.append(operation.__name__)
            return operation(*args, **kwargs)

        return run

    def crashing_publish(self, *args):
        with monkeypatch.context() as patch:
            patch.setattr(Path, "rename", step(Path.rename))
            patch.setattr(shutil, "rmtree", step(shutil.rmtree))
            patch.setattr(zarr, "consolidate_metadata", step(zarr.consolidate_metadata))
            publish(self, *args)

    monkeypatch.setattr(FolderLayers, "publish", crashing_publish)
    try:
        write_layer(store, "anomaly", new, attrs={"state": "new"}, overwrite=True)
        crashed = False
    except Killed:
        crashed = True
    monkeypatch.undo()
    state = _visible_states(store, old)["anomaly"]
    if state == "new":
        assert float(open_survey(store).anomaly.max()) == 5.0
    if not crashed:  # every step done
        assert state == "new"
    write_layer(store, "anomaly", new, attrs={"state": "new"}, overwrite=True)  # the re-run
    assert _visible_states(store, old)["anomaly"] == "new"
    assert not [p.name for p in store.iterdir() if p.name.startswith(PARTIAL_PREFIX)]


def test_a_leftover_stays_invisible_while_other_layers_change(store):
    def explode(block, block_info=None):
        if block_info[0]["chunk-location"] == (1, 1, 1):
            raise Killed("mid-write")
        return block

    live = _live(store)
    facies = da.from_array(np.where(live, 1, -1).astype(np.int16), chunks=CHUNKS)
    with pytest.raises(Killed):  # a write that fails cleans up after itself
        write_layer(store, "facies", facies.map_blocks(explode, dtype=np.int16), attrs={})
    assert not [p.name for p in store.iterdir() if p.name.startswith(PARTIAL_PREFIX)]
    # what kill -9 leaves instead: a staged array with some of its chunks
    write_layer(store, "facies", facies, attrs={})
    leftover = store / f"{PARTIAL_PREFIX}facies"
    (store / "facies").rename(leftover)
    consolidate(store)
    for chunk in sorted((leftover / "c").rglob("*"))[::2]:
        if chunk.is_file():
            chunk.unlink()
    assert (store / f"{PARTIAL_PREFIX}facies").is_dir()  # the leftover, on disk only
    old = _write_old_layers(store, names=("anomaly",))
    assert _visible_states(store, old) == {"facies": None, "facies_confidence": None,
                                           "anomaly": "old", "anomaly_hint": None}  # fmt: skip
    remove_layer(store, "anomaly")
    assert _visible_states(store, old) == dict.fromkeys(LAYERS)
    write_layer(store, "facies", facies, attrs={})
    assert _visible_states(store, old)["facies"] == "new"
    assert not [p.name for p in store.iterdir() if p.name.startswith(PARTIAL_PREFIX)]
