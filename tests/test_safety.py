"""Nothing lost, ever: the data-loss cases of issue 15, run as a user runs them.

Every case runs the real command (a subprocess) against real files in a temporary folder,
fingerprints every file before and after, and checks that nothing outside the output
changed: ``--overwrite`` replaces only what seisflow wrote and never a path holding an
input, temporary names never collide with user files, links planted in a store are never
written through, one writer at a time holds a store, and a full or read-only disk gives
one line and leaves nothing behind.
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
from clitools import assert_one_line, run

from seisflow.errors import OutputPathError, StoreBusyError
from seisflow.infer.writeback import PARTIAL_PREFIX, write_layer
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.locks import StoreLock, lock_path


def fingerprint(root: Path, *, skip: tuple[Path, ...] = ()) -> dict[str, str]:
    """SHA-256 of every file below ``root`` (links are recorded as their target, never
    followed), by relative path, leaving out anything under ``skip``."""
    prints = {}
    for path in sorted(root.rglob("*")):
        if any(path == s or s in path.parents for s in skip):
            continue
        if path.is_symlink():
            prints[str(path.relative_to(root))] = "-> " + os.readlink(path)
        elif path.is_file():
            prints[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return prints


@pytest.fixture
def segy(make_survey, tmp_path):
    """A copy of a small synthetic survey in the test's folder."""
    return Path(shutil.copy(make_survey().segy, tmp_path / "s.sgy"))


# --- --overwrite replaces only what seisflow wrote, never an input ------------------------


def test_overwrite_never_deletes_the_folder_holding_the_input(segy, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(segy, data / "s.sgy")
    (data / "notes.txt").write_text("field notes")
    before = fingerprint(tmp_path)
    out = run("ingest", data / "s.sgy", data, "--overwrite")
    assert_one_line(out, 1, f"{data} contains the input", "choose an output outside")
    assert fingerprint(tmp_path) == before


def test_overwrite_refuses_a_folder_that_is_not_a_store(segy, tmp_path):
    precious = tmp_path / "precious_dir"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    before = fingerprint(tmp_path)
    out = run("ingest", segy, precious, "--overwrite")
    assert_one_line(out, 1, "is a folder that is not a seisflow survey store",
                    "--overwrite replaces only what seisflow wrote")  # fmt: skip
    assert fingerprint(tmp_path) == before


def test_overwrite_refuses_the_input_itself(segy, tmp_path):
    before = fingerprint(tmp_path)
    assert_one_line(run("ingest", segy, segy, "--overwrite"), 1, "is the input")
    assert fingerprint(tmp_path) == before


def test_overwrite_replaces_a_store_and_spares_look_alike_names(make_survey, segy, tmp_path):
    store = tmp_path / "X.zarr"
    assert run("ingest", segy, store).returncode == 0
    for name in ("X.zarr.old", "X.zarr.partial", ".X.zarr.old"):  # a user's own files
        (tmp_path / name).write_text(f"mine: {name}")
    other = Path(shutil.copy(make_survey(seed=5).segy, tmp_path / "t.sgy"))
    before = fingerprint(tmp_path, skip=(store,))
    out = run("ingest", other, store, "--overwrite")
    assert out.returncode == 0, out.stderr
    assert fingerprint(tmp_path, skip=(store,)) == before
    assert open_survey(store).attrs["source"]["path"] == str(other.resolve())


def test_overwrite_through_a_link_replaces_the_target(make_survey, segy, tmp_path):
    real = tmp_path / "disk" / "real.zarr"
    segy_to_zarr(segy, real)
    (tmp_path / "sym").mkdir()
    link = tmp_path / "sym" / "link.zarr"
    link.symlink_to(real)
    other = Path(shutil.copy(make_survey(seed=6).segy, tmp_path / "t.sgy"))
    out = run("ingest", other, link, "--overwrite")
    assert out.returncode == 0, out.stderr
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert open_survey(link).attrs["source"]["path"] == str(other.resolve())
    assert sorted(p.name for p in real.parent.iterdir()) == ["real.zarr"]  # no leftovers
    assert sorted(p.name for p in link.parent.iterdir()) == ["link.zarr"]


def test_synth_and_export_overwrite_only_their_own_files(segy, tmp_path):
    mine = tmp_path / "mine.sgy"
    mine.write_bytes(segy.read_bytes()[:3600] + b"\0" * 100)  # not written by seisflow
    mine.write_bytes(b" " * 3200 + mine.read_bytes()[3200:])
    before = fingerprint(tmp_path)
    out = run("synth", mine, "--shape", "8,8,32", "--overwrite")
    assert_one_line(out, 1, "is a file that is not a SEG-Y file written by seisflow")
    assert fingerprint(tmp_path) == before
    # a synthetic survey is seisflow's own: it may be replaced
    assert run("synth", tmp_path / "own.sgy", "--shape", "8,8,32").returncode == 0
    again = run("synth", tmp_path / "own.sgy", "--shape", "8,8,32", "--seed", "1", "--overwrite")
    assert again.returncode == 0, again.stderr


def test_export_never_replaces_the_source(layered_survey, tmp_path):
    source = Path(open_survey(layered_survey).attrs["source"]["path"])
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    out = run("export", layered_survey, "facies", source, "--overwrite")
    assert_one_line(out, 1, "is the input")
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before


def test_demo_never_replaces_a_users_folder(tmp_path):
    from seisflow.demo import run_demo
    from seisflow.synth.config import SynthConfig

    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "demo.sgy").write_text("my own file that happens to have this name")
    before = fingerprint(tmp_path)
    for overwrite in (False, True):
        with pytest.raises(OutputPathError, match="work"):
            run_demo(folder, SynthConfig(shape=(8, 10, 32)), overwrite=overwrite, train=False,
                     progress=False)  # fmt: skip
        assert fingerprint(tmp_path) == before
    demo = tmp_path / "demo"  # a demo's own folder is replaced with --overwrite
    for _ in range(2):
        run_demo(demo, SynthConfig(shape=(8, 10, 32)), overwrite=True, train=False,
                 progress=False)  # fmt: skip
    assert (demo / "demo.zarr").is_dir()


# --- links planted inside a store are never written through ------------------------------


@pytest.mark.parametrize("planted", ["_partial_anomaly", "anomaly", "_partial_old_anomaly"])
def test_links_inside_a_store_are_refused(segy, tmp_path, planted):
    store = segy_to_zarr(segy, tmp_path / "s.zarr").store
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the store's")
    (store / planted).symlink_to(outside, target_is_directory=True)
    before = fingerprint(tmp_path)
    shape = open_survey(store).amplitude.shape
    with pytest.raises(OutputPathError, match=f"{planted} is a symbolic link"):
        write_layer(store, "anomaly", da.zeros(shape, dtype=np.float32), attrs={},
                    overwrite=True)  # fmt: skip
    assert fingerprint(tmp_path) == before


# --- one writer per store -----------------------------------------------------------------

HOLD = """
import sys, time
from pathlib import Path
from seisflow.locks import StoreLock
with StoreLock(sys.argv[1], purpose="a test holding the lock"):
    Path(sys.argv[2]).touch()
    time.sleep(600)
"""


def _hold_lock(store: Path, signal_file: Path) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(store), str(signal_file)])
    deadline = time.monotonic() + 60
    while not signal_file.exists():
        assert holder.poll() is None and time.monotonic() < deadline, "the holder did not start"
        time.sleep(0.01)
    return holder


def test_a_second_writer_is_refused_and_a_killed_ones_lock_is_stale(segy, tmp_path):
    store = segy_to_zarr(segy, tmp_path / "s.zarr").store
    holder = _hold_lock(store, tmp_path / "held")
    try:
        before = fingerprint(tmp_path)
        out = run("ingest", segy, store, "--overwrite")
        assert_one_line(out, 1, f"{store} is being written by a test holding the lock",
                        f"pid {holder.pid}", "one writer at a time")  # fmt: skip
        shape = open_survey(store).amplitude.shape  # readers are not blocked
        with pytest.raises(StoreBusyError):
            write_layer(store, "anomaly", da.zeros(shape, dtype=np.float32), attrs={})
        assert fingerprint(tmp_path) == before
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert lock_path(store).exists()  # left by the killed holder: stale, taken over
    write_layer(store, "anomaly", da.zeros(shape, dtype=np.float32), attrs={})
    assert "anomaly" in open_survey(store)
    assert not lock_path(store).exists()


def test_a_held_lock_is_reentrant_only_through_the_holder(segy, tmp_path):
    store = segy_to_zarr(segy, tmp_path / "s.zarr").store
    shape = open_survey(store).amplitude.shape
    with StoreLock(store, purpose="test") as lock:
        with pytest.raises(StoreBusyError):  # a second lock, even in this process
            StoreLock(store, purpose="other").__enter__()
        for name in ("a", "b"):
            write_layer(store, name, da.ones(shape, dtype=np.float32), attrs={}, lock=lock)
    assert {"a", "b"} <= set(open_survey(store).data_vars)


# --- full and read-only disks: one line, nothing left behind ------------------------------


@pytest.fixture
def mount(tmp_path):
    """Mount a small tmpfs: ``mount(name, size_kb) -> Path``; ``readonly(path)`` remounts it
    read-only. Skips where mounting is not permitted (not root)."""
    mounted = []

    def make(name: str, size_kb: int) -> Path:
        point = tmp_path / name
        point.mkdir()
        out = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs",
                              str(point)], capture_output=True, text=True)  # fmt: skip
        if out.returncode:
            pytest.skip(f"cannot mount a small tmpfs here ({out.stderr.strip()}): needs root")
        mounted.append(point)
        return point

    yield make
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


def readonly(point: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)


def test_full_disk_one_line_nothing_left(mount, segy):
    disk = mount("full", 256)  # the store needs about a megabyte
    out = run("ingest", segy, disk / "s.zarr")
    assert_one_line(out, 1, f"cannot write {disk / 's.zarr'}", "No space left on device")
    assert list(disk.iterdir()) == []
    out = run("synth", disk / "t.sgy", "--shape", "24,30,96")
    assert_one_line(out, 1, "No space left on device")
    assert list(disk.iterdir()) == []


@pytest.fixture(scope="module")
def trained(make_survey, tmp_path_factory):
    """A small store and a tiny lda run trained on it: ``(store, run)``; copy the store."""
    from seisflow.train import train

    root = tmp_path_factory.mktemp("trained")
    store = segy_to_zarr(make_survey(missing_corner=True).segy, root / "s.zarr").store
    settings = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=2",
                "train.eval_every=0", "data.size=16", "data.stride=8", "data.buffer=128",
                "model.topics=3", "model.prior=lda", "train.warmup=0"]  # fmt: skip
    train(str(store), root / "run", overrides=settings, progress=False)
    return store, root / "run"


def test_two_maps_at_once_one_writer_and_whole_layers(trained, tmp_path):
    source, run_dir = trained
    store = Path(shutil.copytree(source, tmp_path / "s.zarr"))
    live = open_survey(store).trace_mask.values
    command = [sys.executable, "-m", "seisflow", "map", str(store), str(run_dir), "--overwrite",
               "--stride", "16", "--quiet"]  # fmt: skip
    refusals = 0
    for _ in range(3):
        pair = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True) for _ in range(2)]  # fmt: skip
        results = [(p.wait(timeout=600), p.stderr.read()) for p in pair]
        for code, err in results:
            assert code in (0, 1), err
            if code == 1:  # refused at once, in one line, naming the other writer
                lines = err.strip().splitlines()
                assert len(lines) == 1 and "is being written by seisflow map (pid" in lines[0]
        assert 0 in [code for code, _ in results]
        refusals += sum(code == 1 for code, _ in results)
        survey = open_survey(store)  # every layer whole, nothing staged, no lock left
        assert not (survey.facies.values[~live] != -1).any()
        assert (survey.facies.values[live] >= 0).all()
        assert np.isfinite(survey.anomaly.values[live]).all()
        assert np.isfinite(survey.facies_confidence.values[live]).all()
        assert not [p for p in store.iterdir() if p.name.startswith(PARTIAL_PREFIX)]
        assert not lock_path(store).exists()
        if refusals:
            break
    assert refusals, "the two maps never overlapped in three tries"


def test_map_on_a_full_disk_leaves_the_store_as_it_was(mount, trained):
    source, run_dir = trained
    size = sum(p.stat().st_size for p in source.rglob("*") if p.is_file())
    disk = mount("full", size // 1024 + 64)  # room for the store, not for its layers
    store = Path(shutil.copytree(source, disk / "s.zarr"))
    before = fingerprint(disk)
    out = run("map", store, run_dir, "--stride", "16", "--quiet")
    assert_one_line(out, 1, "No space left on device")
    assert fingerprint(disk) == before
    assert not [p for p in store.iterdir() if p.name.startswith(PARTIAL_PREFIX)]


def test_read_only_folder_one_line_nothing_left(mount, segy, layered_survey, trained):
    disk = mount("ro", 4096)
    store = Path(shutil.copytree(layered_survey, disk / "s.zarr"))
    readonly(disk)
    before = fingerprint(disk)
    commands = [
        ("ingest", segy, disk / "t.zarr"),
        ("synth", disk / "t.sgy", "--shape", "8,8,32"),
        ("export", store, "facies", disk / "f.sgy"),
        ("export", store, "facies", disk / "f.tif", "--time", "100"),
        ("ingest", segy, store, "--overwrite"),
        ("map", store, trained[1], "--overwrite", "--stride", "16", "--quiet"),
    ]
    for command in commands:
        out = run(*command)
        assert_one_line(out, 1, "Read-only file system")
        assert fingerprint(disk) == before, command
