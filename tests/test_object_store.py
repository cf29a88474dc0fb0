"""Survey stores on object storage: real servers on loopback (moto's S3, Azurite for Azure
Blob Storage, gcp-storage-emulator for Google Cloud Storage; ``tests/cloud_servers.py``).

The whole job (ingest -> info -> train -> map -> evaluate -> export) on ``s3://``, ``az://``
and ``gs://`` equals the same on local disk; layers are committed by one metadata write (no
rename on object storage), so a map killed mid-write leaves the old layer whole; one writer at
a time through a lock object.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dask.array as da
import fsspec
import numpy as np
import pytest
import torch
import xarray as xr

from seisflow.errors import InputFileError, OutputPathError, StoreBusyError
from seisflow.infer.evaluate import evaluate_layers
from seisflow.infer.export import export_segy
from seisflow.infer.maps import map_survey
from seisflow.infer.object_layers import ObjectLayers
from seisflow.infer.writeback import write_layer
from seisflow.ingest import describe, open_survey, segy_to_zarr
from seisflow.ingest.store import create_store
from seisflow.locks import StoreLock
from seisflow.storage import locate

CHUNKS = (8, 15, 48)
RUN = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=3",
       "train.eval_every=0", "data.size=16", "data.stride=8", "data.buffer=128",
       "model.topics=3", "model.prior=lda", "train.warmup=0"]  # fmt: skip
MAP = {"stride": 16, "batch_size": 64}
LAYERS = ("facies", "facies_confidence", "anomaly", "anomaly_hint")


def _s3() -> fsspec.AbstractFileSystem:
    return fsspec.filesystem("s3", skip_instance_cache=True)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _cli(*args: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "seisflow", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)


def test_the_whole_job_on_object_storage_equals_the_same_on_local_disk(make_survey, cloud_bucket,
                                                                        tmp_path):  # fmt: skip
    survey = make_survey(missing_corner=True)
    local, remote = tmp_path / "s.zarr", f"{cloud_bucket}/surveys/s.zarr"
    segy_to_zarr(survey.segy, local, chunks=CHUNKS)
    done = _cli("ingest", survey.segy, remote, "--chunks", "8,15,48")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""  # nothing at exit either (adlfs's finalizers: storage.py)
    mine, theirs = open_survey(local), open_survey(remote)
    assert _same(mine.amplitude.values, theirs.amplitude.values)  # byte for byte
    for name in ("trace_mask", "cdp_x", "cdp_y"):
        assert _same(mine[name].values, theirs[name].values)
    info = json.loads(_cli("info", remote, "--json").stdout)
    expected = describe(local)
    assert info["store"] == remote and info["size_on_disk_bytes"] > 0
    for key in ("grid", "extent", "corners", "crs", "samples", "statistics", "chunks"):
        assert info[key] == expected[key], key
    # train on each (same seed): the same weights
    for where, store in (("local", local), ("remote", remote)):
        done = _cli("train", store, tmp_path / f"run_{where}", "--quiet",
                    *[part for s in RUN for part in ("--set", s)])  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    weights = [torch.load(tmp_path / f"run_{w}" / "checkpoint.pt", weights_only=False)["model"]
               for w in ("local", "remote")]  # fmt: skip
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    # map each with the run trained on object storage: the same layers exactly
    for store in (local, remote):
        map_survey(store, tmp_path / "run_remote", progress=False, **MAP)
    mine, theirs = open_survey(local), open_survey(remote)
    for name in LAYERS:
        assert _same(mine[name].values, theirs[name].values), name
    assert xr.open_zarr(remote).facies.attrs["seisflow:model_sha256"]  # plain xarray reads it
    scores = [evaluate_layers(store, survey.truth) for store in (local, remote)]
    for report in scores:
        report.pop("store")
    assert scores[0] == scores[1]
    outs = [
        export_segy(store, "facies", tmp_path / f"f{i}.sgy")
        for i, store in enumerate((local, remote))
    ]
    files = [Path(out["out"]).read_bytes() for out in outs]
    assert len(files[0]) == len(files[1]) and files[0][3200:] == files[1][3200:]


def test_storage_options_on_the_command_line(make_survey, bucket, s3_server):
    store = f"{bucket}/s.zarr"
    segy_to_zarr(make_survey().segy, store, chunks=CHUNKS)
    environment = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    args = [sys.executable, "-m", "seisflow", "info", store, "--json"]
    given = subprocess.run([*args, "--storage-option", f"endpoint_url={s3_server}"],
                           env=environment, capture_output=True, text=True, timeout=300,
                           check=False)  # fmt: skip
    assert given.returncode == 0, given.stderr[-2000:]
    assert json.loads(given.stdout)["grid"]["traces"] == 24 * 30
    bad = _cli("info", store, "--storage-option", "endpoint_url")
    assert bad.returncode != 0 and "is not key=value" in bad.stderr


def test_an_ingest_that_never_finished_is_invisible_and_rebuilt(make_survey, bucket):
    store = locate(f"{bucket}/s.zarr")
    shape = (2, 3, 4)
    create_store(store, inlines=np.arange(2), crosslines=np.arange(3), samples=np.arange(4.0),
                 domain="time", trace_mask=np.ones(shape[:2], bool), cdp_x=np.zeros(shape[:2]),
                 cdp_y=np.zeros(shape[:2]), grid_mapping={}, chunks=shape, codec=None)  # fmt: skip
    with pytest.raises(InputFileError, match="never completed"):  # what a kill -9 leaves
        open_survey(store)
    segy_to_zarr(make_survey().segy, store, chunks=CHUNKS)  # cleared, no --overwrite needed
    assert open_survey(store).amplitude.shape == (24, 30, 96)
    with pytest.raises(OutputPathError, match="pass --overwrite"):
        segy_to_zarr(make_survey().segy, store)
    _s3().pipe_file(f"{bucket.removeprefix('s3://')}/other/data.bin", b"x")
    with pytest.raises(OutputPathError, match="not a seisflow survey store"):
        segy_to_zarr(make_survey().segy, f"{bucket}/other", overwrite=True)
    assert _s3().cat_file(f"{bucket.removeprefix('s3://')}/other/data.bin") == b"x"


class Killed(Exception):
    pass


def test_an_overwrite_keeps_the_old_store_until_the_new_one_is_whole(make_survey, cloud_bucket,
                                                                      monkeypatch):  # fmt: skip
    store = f"{cloud_bucket}/s.zarr"
    first, second = make_survey(missing_corner=True), make_survey(seed=7)
    segy_to_zarr(first.segy, store, chunks=CHUNKS)
    old = open_survey(store).amplitude.values
    fs, root = locate(store).filesystem()
    staged = f"{root.rsplit('/', 1)[0]}/.s.zarr.seisflow-new"
    import seisflow.ingest.convert as convert

    def killed(*args, **kwargs):
        raise Killed("finish")

    monkeypatch.setattr(convert, "finish", killed)  # the new store fails before its commit
    with pytest.raises(Killed):
        segy_to_zarr(second.segy, store, overwrite=True, chunks=CHUNKS)
    monkeypatch.undo()
    assert _same(open_survey(store).amplitude.values, old)  # the old store, whole
    assert not fs.exists(staged)
    # killed while the committed new store is copied into place: a leftover, cleared next time
    monkeypatch.setattr(fs, "copy", killed)
    with pytest.raises(Killed):
        segy_to_zarr(second.segy, store, overwrite=True, chunks=CHUNKS)
    monkeypatch.undo()
    with pytest.raises(InputFileError, match="never completed"):
        open_survey(store)
    assert fs.exists(f"{staged}/zarr.json")  # the new store, whole beside it
    segy_to_zarr(second.segy, store, chunks=CHUNKS)  # no --overwrite needed for a leftover
    new = open_survey(store).amplitude.values
    assert new.shape == (24, 30, 96) and not _same(new, old) and not fs.exists(staged)
    segy_to_zarr(first.segy, store, overwrite=True, chunks=CHUNKS)  # and back, in one go
    assert _same(open_survey(store).amplitude.values, old) and not fs.exists(staged)
    assert _same(xr.open_zarr(store).amplitude.values, old)


def test_one_writer_at_a_time_on_object_storage(cloud_bucket):
    if cloud_bucket.startswith("gs://"):
        pytest.skip("gcp-storage-emulator ignores ifGenerationMatch=0, the exclusive create")
    store = f"{cloud_bucket}/s.zarr"
    fs = locate(store).filesystem()[0]
    with (
        StoreLock(store, purpose="seisflow map"),
        pytest.raises(StoreBusyError, match=r"seisflow map \(pid"),
    ):
        StoreLock(store, purpose="seisflow map").__enter__()
    with StoreLock(store, purpose="again"):  # released: taken again
        pass
    lock = f"{cloud_bucket.split('://')[1]}/.s.zarr.seisflow-lock"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    record = {"purpose": "seisflow map", "pid": int(dead.stdout), "host": os.uname().nodename}
    fs.pipe_file(lock, json.dumps(record).encode())  # left by a killed process here
    with StoreLock(store, purpose="takes over"):
        assert json.loads(fs.cat_file(lock))["purpose"] == "takes over"
    assert not fs.exists(lock)


@pytest.fixture
def remote_store(make_survey, cloud_bucket):
    store = f"{cloud_bucket}/s.zarr"
    segy_to_zarr(make_survey(missing_corner=True).segy, store, chunks=CHUNKS)
    return store


def _layer(store, value):
    live = open_survey(store).trace_mask.values[..., None]
    shape = open_survey(store).amplitude.shape
    data = np.where(np.broadcast_to(live, shape), value, np.nan).astype(np.float32)
    return data, da.from_array(data, chunks=CHUNKS)


@pytest.mark.parametrize("crash_at", range(4))
def test_a_crash_at_each_step_of_a_commit_leaves_a_whole_layer(remote_store, crash_at,
                                                                   monkeypatch):  # fmt: skip
    old, old_lazy = _layer(remote_store, 1.0)
    new, new_lazy = _layer(remote_store, 2.0)
    write_layer(remote_store, "anomaly", old_lazy, attrs={"state": "old"})
    steps: list[str] = []
    publish = ObjectLayers.publish

    def crashing(self, names):
        for name in ("pipe_file", "rm"):
            operation = getattr(self.fs, name)

            def step(*args, _operation=operation, _name=name, **kwargs):
                if len(steps) == crash_at:
                    raise Killed(_name)
                steps.append(_name)
                return _operation(*args, **kwargs)

            monkeypatch.setattr(self.fs, name, step)
        import seisflow.infer.object_layers as module

        consolidate = module.consolidate

        def step_consolidate(*args, **kwargs):
            if len(steps) == crash_at:
                raise Killed("consolidate")
            steps.append("consolidate")
            return consolidate(*args, **kwargs)

        monkeypatch.setattr(module, "consolidate", step_consolidate)
        publish(self, names)

    monkeypatch.setattr(ObjectLayers, "publish", crashing)
    try:
        write_layer(remote_store, "anomaly", new_lazy, attrs={"state": "new"}, overwrite=True)
        crashed = False
    except Killed:
        crashed = True
    monkeypatch.undo()
    survey = open_survey(remote_store)
    state = survey.anomaly.attrs["state"]
    assert _same(survey.anomaly.values, {"old": old, "new": new}[state])  # whole, either one
    assert state == ("old" if crash_at == 0 else "new")  # the metadata write is the commit
    assert crashed == (crash_at < 3)  # the commit, the metadata's move, the old chunks' removal
    write_layer(remote_store, "anomaly", new_lazy, attrs={"state": "new"}, overwrite=True)
    again = open_survey(remote_store)
    assert again.anomaly.attrs["state"] == "new" and _same(again.anomaly.values, new)
    fs, root = locate(remote_store).filesystem()
    left = [k for k in fs.find(root) if "/_partial_" in k]
    assert not left  # the re-run cleared what the crash left
    encodings = {k.split("/anomaly/")[1][:2] == "c/" for k in fs.find(f"{root}/anomaly")
                 if not k.endswith("zarr.json")}  # fmt: skip
    assert len(encodings) == 1  # one namespace of chunks: the old one deleted


def test_a_map_killed_mid_write_on_s3_leaves_the_old_layer_whole(tiny_run, make_survey, bucket):
    run = tiny_run[1]
    store = f"{bucket}/s.zarr"
    segy_to_zarr(make_survey(missing_corner=True).segy, store, chunks=CHUNKS)
    old, old_lazy = _layer(store, 1.0)
    fs, root = locate(store).filesystem()
    staged = f"{root}/_partial_anomaly/zarr.json"
    watcher = _s3()
    for _ in range(6):
        write_layer(store, "anomaly", old_lazy, attrs={"state": "old"}, overwrite=True)
        process = subprocess.Popen(
            [sys.executable, "-m", "seisflow", "map", store, str(run), "--overwrite", "--quiet",
             "--layers", "anomaly", "--stride", "16"],
            stderr=subprocess.PIPE, text=True)  # fmt: skip
        deadline, committed = time.monotonic() + 300, True
        while process.poll() is None and time.monotonic() < deadline:
            watcher.invalidate_cache()
            if watcher.exists(staged):  # the new anomaly is staged: its chunks are being written
                # Freeze the map, let the requests it already sent land, then see whether the
                # commit (one metadata write) came before the freeze; a kill after it leaves
                # the new layer by design (test_a_crash_at_each_step_of_a_commit_...).
                os.kill(process.pid, signal.SIGSTOP)
                time.sleep(0.5)
                committed = open_survey(store).anomaly.attrs.get("state") != "old"
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        _, err = process.communicate(timeout=120)
        if process.returncode == -signal.SIGKILL and not committed:
            break
        assert process.returncode in (0, -signal.SIGKILL), err[-2000:]
    else:
        pytest.fail("seisflow map was never killed before its commit on s3:// in 6 tries")
    survey = open_survey(store)
    assert survey.anomaly.attrs["state"] == "old"
    assert _same(survey.anomaly.values, old)
    assert _same(xr.open_zarr(store).anomaly.values, old)
    lock = f"{root.rsplit('/', 1)[0]}/.s.zarr.seisflow-lock"
    assert fs.exists(lock)  # the killed map's lock: taken over, it died on this machine
    map_survey(store, run, layers=("anomaly",), overwrite=True, progress=False, stride=16)
    assert "state" not in open_survey(store).anomaly.attrs
    assert not fs.exists(staged) and not fs.exists(lock)


def test_a_segy_on_s3_ingests_and_exports_like_the_local_file(make_survey, bucket, tmp_path):
    segy = make_survey(missing_corner=True).segy
    url = f"{bucket}/in/survey.sgy"
    _s3().put_file(str(segy), url.removeprefix("s3://"))
    done = _cli("ingest", url, tmp_path / "remote.zarr", "--chunks", "8,15,48")
    assert done.returncode == 0, done.stderr[-2000:]
    local = segy_to_zarr(segy, tmp_path / "local.zarr", chunks=CHUNKS).store
    theirs, mine = open_survey(tmp_path / "remote.zarr"), open_survey(local)
    assert _same(theirs.amplitude.values, mine.amplitude.values)
    assert theirs.attrs["source"]["path"] == url
    assert theirs.attrs["source"]["crc32"] == mine.attrs["source"]["crc32"]
    outs = [export_segy(s, "amplitude", tmp_path / f"{i}.sgy")["out"]
            for i, s in enumerate((tmp_path / "remote.zarr", local))]  # fmt: skip
    assert Path(outs[0]).read_bytes()[3600:] == Path(outs[1]).read_bytes()[3600:]
    with pytest.raises(InputFileError, match="does not exist"):
        segy_to_zarr(f"{bucket}/in/missing.sgy", tmp_path / "x.zarr")
