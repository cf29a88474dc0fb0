"""Ingest safety: bad input gets one clear line; interrupted or distributed work is sound."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import segyio
from clitools import assert_one_line, run

from seisflow.errors import InputFileError, OutputPathError, SegyFormatError
from seisflow.ingest import ByteLocations, open_survey, segy_to_zarr
from seisflow.ingest.segy_writer import SegyWriter, binary_header, text_header
from seisflow.synth import synthesize
from seisflow.synth.config import SynthConfig

TF = segyio.TraceField


def write_segy(path, inline, crossline, samples, fmt="ieee", cdp=None):
    fields = {
        TF.INLINE_3D: np.asarray(inline),
        TF.CROSSLINE_3D: np.asarray(crossline),
        TF.CDP_X: np.zeros(len(inline), int),
        TF.CDP_Y: np.zeros(len(inline), int),
    }
    if cdp is not None:
        fields[TF.CDP] = np.asarray(cdp)
    with SegyWriter(
        path,
        samples=samples.shape[1],
        interval_us=4000,
        format=fmt,
        text=text_header([]),
        binary={},
        fields=list(fields),
    ) as writer:
        writer.write(fields, samples)
    return path


def test_missing_file(tmp_path):
    out = run("ingest", str(tmp_path / "nope.sgy"), str(tmp_path / "s.zarr"))
    assert_one_line(out, 1, "nope.sgy does not exist")
    assert not (tmp_path / "s.zarr").exists()


def test_not_segy(tmp_path):
    bad = tmp_path / "notes.sgy"
    bad.write_bytes(b"these are my field notes, not seismic " * 200)
    out = run("ingest", str(bad), str(tmp_path / "s.zarr"))
    assert_one_line(out, 1, "notes.sgy")
    assert bad.read_bytes().startswith(b"these are my field notes")  # input untouched


def test_truncated_file(make_survey, tmp_path):
    data = make_survey().segy.read_bytes()
    cut = tmp_path / "cut.sgy"
    cut.write_bytes(data[: len(data) - 100])
    out = run("ingest", str(cut), str(tmp_path / "s.zarr"))
    assert_one_line(out, 1, "cut.sgy", "bytes left over", "truncated")
    assert not (tmp_path / "s.zarr").exists()


def test_inconsistent_sample_count(make_survey, tmp_path):
    """A binary header that disagrees with the traces is named, with the count that fits."""
    data = bytearray(make_survey().segy.read_bytes())
    data[3220:3222] = (90).to_bytes(2, "big")  # the traces hold 96 samples
    wrong = tmp_path / "wrong_ns.sgy"
    wrong.write_bytes(bytes(data))
    out = run("ingest", str(wrong), str(tmp_path / "s.zarr"))
    assert_one_line(out, 1, "90 samples", "first trace header says 96 samples", "binary header")


def test_zero_traces(tmp_path):
    empty = tmp_path / "empty.sgy"
    empty.write_bytes(text_header([]) + binary_header({3217: 4000, 3221: 96, 3225: 5}))
    out = run("ingest", str(empty), str(tmp_path / "s.zarr"))
    assert_one_line(out, 1, "empty.sgy", "no traces")


def test_degenerate_byte_locations_suggest_alternatives(shared_segy, tmp_path):
    with pytest.raises(SegyFormatError) as caught:
        segy_to_zarr(
            shared_segy / "f3_crop_ibm.sgy",
            tmp_path / "s.zarr",
            locations=ByteLocations(inline=181, crossline=185),
        )
    message = str(caught.value)
    assert "(bytes 181/185) give a degenerate 4403 x 5617 grid for 414 traces" in message
    assert "bytes 189/193, 9/21 give a proper grid" in message
    out = run(
        "ingest",
        str(shared_segy / "f3_crop_ibm.sgy"),
        str(tmp_path / "s.zarr"),
        "--iline-byte",
        "181",
        "--xline-byte",
        "185",
    )
    assert_one_line(out, 1, "degenerate", "--iline-byte")


def test_duplicates_error_and_policies(tmp_path):
    samples = np.arange(4 * 3, dtype=np.float32).reshape(4, 3)
    path = write_segy(tmp_path / "dup.sgy", [1, 1, 2, 1], [5, 6, 5, 6], samples)
    with pytest.raises(SegyFormatError, match=r"traces 1 and 3 .* 1/6 .*--duplicates first"):
        segy_to_zarr(path, tmp_path / "e.zarr")
    first = open_survey(segy_to_zarr(path, tmp_path / "f.zarr", duplicates="first").store)
    last = open_survey(segy_to_zarr(path, tmp_path / "l.zarr", duplicates="last").store)
    np.testing.assert_array_equal(first.amplitude.sel(inline=1, crossline=6), samples[1])
    np.testing.assert_array_equal(last.amplitude.sel(inline=1, crossline=6), samples[3])
    assert first.attrs["geometry"]["duplicates_dropped"] == 1
    out = run("ingest", str(path), str(tmp_path / "c.zarr"))
    assert_one_line(out, 1, "duplicates")


def test_nan_and_inf_samples_are_ingested_and_counted(tmp_path):
    samples = np.ones((2, 5), dtype=np.float32)
    samples[0, 1], samples[1, 2] = np.nan, np.inf
    path = write_segy(tmp_path / "nan.sgy", [1, 1], [1, 2], samples)
    report = segy_to_zarr(path, tmp_path / "n.zarr")
    ds = open_survey(report.store)
    assert report.non_finite == 2
    assert ds.attrs["statistics"]["nan_count"] == 1 and ds.attrs["statistics"]["inf_count"] == 1
    assert np.isnan(ds.amplitude.values[0, 0, 1]) and np.isinf(ds.amplitude.values[0, 1, 2])
    out = run("ingest", str(path), str(tmp_path / "m.zarr"))
    assert out.returncode == 0 and "2 NaN/inf samples" in out.stderr


def test_existing_store_refused_and_untouched(make_survey, tmp_path):
    store = tmp_path / "s.zarr"
    segy_to_zarr(make_survey().segy, store)
    before = sorted(p.name for p in store.rglob("*"))
    with pytest.raises(OutputPathError, match="pass --overwrite"):
        segy_to_zarr(make_survey().segy, store)
    assert sorted(p.name for p in store.rglob("*")) == before
    segy_to_zarr(make_survey(seed=7).segy, store, overwrite=True)
    assert open_survey(store).attrs["source"]["path"].endswith("seed-7_shape-24x30x96.sgy")


def test_bad_settings(make_survey, tmp_path):
    out = run("ingest", str(make_survey().segy), str(tmp_path / "s.zarr"), "--compressor", "rar")
    assert_one_line(out, 1, "unknown compressor 'rar'", "blosc-lz4")
    out = run("ingest", str(make_survey().segy), str(tmp_path / "s.zarr"), "--crs", "EPSG:0")
    assert_one_line(out, 1, "--crs 'EPSG:0'")
    assert run("ingest", "a", "b", "--chunks", "0,1,1").returncode == 2


def test_open_survey_errors(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        open_survey(tmp_path / "none.zarr")
    (tmp_path / ".half.zarr.x1y2.seisflow-partial").mkdir()
    with pytest.raises(InputFileError, match="interrupted ingest"):
        open_survey(tmp_path / "half.zarr")
    import xarray as xr

    xr.Dataset({"other": ("x", [1, 2])}).to_zarr(tmp_path / "other.zarr", zarr_format=3)
    with pytest.raises(InputFileError, match="has no amplitude variable"):
        open_survey(tmp_path / "other.zarr")


def test_ingest_does_not_import_torch(make_survey, tmp_path):
    code = (
        "import sys; from seisflow.cli import main\n"
        "try:\n"
        f"    main(['ingest', {str(make_survey().segy)!r}, {str(tmp_path / 'x.zarr')!r}])\n"
        "except SystemExit as e:\n"
        "    assert e.code in (0, None), e.code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


def test_seismic_unix_through_obspy(make_survey, tmp_path):
    from obspy import read
    from obspy.core.util import AttribDict

    segy = make_survey(format="ieee").segy
    stream = read(str(segy), format="SEGY", unpack_trace_headers=True)
    for trace in stream:
        trace.stats.su = AttribDict({"trace_header": trace.stats.segy.trace_header})
    stream.write(str(tmp_path / "s.su"), format="SU")
    ds = open_survey(segy_to_zarr(tmp_path / "s.su", tmp_path / "su.zarr").store)
    reference = open_survey(segy_to_zarr(segy, tmp_path / "segy.zarr").store)
    assert ds.attrs["source"]["reader"] == "obspy"
    np.testing.assert_array_equal(ds.amplitude.values, reference.amplitude.values)
    np.testing.assert_array_equal(ds.cdp_x.values, reference.cdp_x.values)
    np.testing.assert_allclose(ds.time, reference.time)


def test_kill_9_then_rerun_equals_clean_ingest(tmp_path):
    big = synthesize(tmp_path / "big.sgy", SynthConfig(shape=(96, 120, 400), seed=2)).segy
    store = tmp_path / "big.zarr"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "seisflow",
            "ingest",
            str(big),
            str(store),
            "--chunks",
            "8,8,400",
            "--compressor",
            "zstd",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:  # wait until chunks are being written
        staged = list(tmp_path.glob(".big.zarr.*.seisflow-partial/amplitude/c"))
        if staged and sum(1 for _ in staged[0].rglob("*")) > 20:
            break
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not store.exists()  # never a store that looks complete but is not
    with pytest.raises(InputFileError, match="interrupted"):
        open_survey(store)
    rerun = run("ingest", str(big), str(store), "--chunks", "8,8,400")
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.sgy", "big.truth.zarr", "big.zarr"]
    clean = open_survey(segy_to_zarr(big, tmp_path / "clean.zarr", chunks=(8, 8, 400)).store)
    resumed = open_survey(store)
    np.testing.assert_array_equal(resumed.amplitude.values, clean.amplitude.values)
    np.testing.assert_array_equal(resumed.cdp_x.values, clean.cdp_x.values)


def test_local_cluster_equals_threads(make_survey, tmp_path):
    from distributed import LocalCluster

    segy = make_survey(missing_corner=True).segy
    threaded = open_survey(segy_to_zarr(segy, tmp_path / "t.zarr", chunks=(8, 8, 96)).store)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            report = segy_to_zarr(
                segy, tmp_path / "d.zarr", chunks=(8, 8, 96), scheduler=cluster.scheduler_address
            )
    distributed = open_survey(report.store)
    np.testing.assert_array_equal(distributed.amplitude.values, threaded.amplitude.values)
    assert distributed.attrs["statistics"] == threaded.attrs["statistics"]
