"""The synthetic survey: SEG-Y read back with segyio against the ground-truth store."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest
import segyio
import xarray as xr

from seisflow.errors import ConfigError, OutputPathError
from seisflow.synth import ANOMALY_KINDS, FACIES, synthesize, truth_path
from seisflow.synth.config import SynthConfig

TF = segyio.TraceField
VARIANTS = [
    {"format": "ibm"},
    {"format": "ieee"},
    {"sorting": "crossline"},
    {"xline_step": 3},
    {"missing_corner": True},
    {"format": "ieee", "sorting": "crossline", "xline_step": 2, "missing_corner": True},
]


def read_back(path) -> dict[str, np.ndarray]:
    """Every header word the synth writes, and the samples, with segyio."""
    with segyio.open(path, ignore_geometry=True) as f:
        words = {
            name: np.asarray(f.attributes(byte)[:])
            for name, byte in [
                ("inline", TF.INLINE_3D),
                ("crossline", TF.CROSSLINE_3D),
                ("cdp_x", TF.CDP_X),
                ("cdp_y", TF.CDP_Y),
                ("scalar", TF.SourceGroupScalar),
                ("ns", TF.TRACE_SAMPLE_COUNT),
                ("dt", TF.TRACE_SAMPLE_INTERVAL),
                ("seq", TF.TRACE_SEQUENCE_FILE),
            ]
        }
        words["samples"] = f.trace.raw[:]
        words["format"] = np.array(int(f.format))
        words["bin_ns"] = np.array(f.bin[segyio.BinField.Samples])
        words["bin_dt"] = np.array(f.bin[segyio.BinField.Interval])
        words["text"] = np.array(segyio.tools.wrap(f.text[0]))
    return words


def as_cube(words: dict, truth: xr.Dataset) -> np.ndarray:
    """The SEG-Y samples placed on the truth grid (NaN where no trace)."""
    cube = np.full(
        (truth.sizes["inline"], truth.sizes["crossline"], truth.sizes["time"]),
        np.nan,
        dtype=np.float32,
    )
    i = np.searchsorted(truth.inline.values, words["inline"])
    j = np.searchsorted(truth.crossline.values, words["crossline"])
    cube[i, j] = words["samples"]
    return cube


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_headers_match_truth_geometry(make_survey, variant):
    result = make_survey(**variant)
    config = SynthConfig(shape=(24, 30, 96), **variant)
    words = read_back(result.segy)
    truth = xr.open_zarr(result.truth).load()
    n_il, n_xl, ns = config.shape

    # grid numbering
    np.testing.assert_array_equal(truth.inline, 1000 + np.arange(n_il))
    np.testing.assert_array_equal(truth.crossline, 2000 + config.xline_step * np.arange(n_xl))
    np.testing.assert_allclose(truth.time, 4.0 * np.arange(ns))
    # exactly the live traces, each once
    live = truth.live.values
    i = np.searchsorted(truth.inline.values, words["inline"])
    j = np.searchsorted(truth.crossline.values, words["crossline"])
    assert np.all(truth.inline.values[i] == words["inline"])
    assert np.all(truth.crossline.values[j] == words["crossline"])
    assert len(set(zip(i, j, strict=True))) == words["inline"].size == live.sum()
    assert live[i, j].all()
    assert live.all() != config.missing_corner
    # coordinates: header value x scalar (-100 = divide by 100) equals the truth
    assert np.all(words["scalar"] == -100)
    np.testing.assert_allclose(words["cdp_x"] / 100, truth.cdp_x.values[i, j], atol=0.006)
    np.testing.assert_allclose(words["cdp_y"] / 100, truth.cdp_y.values[i, j], atol=0.006)
    # sample count, interval, format
    assert np.all(words["ns"] == ns) and int(words["bin_ns"]) == ns
    assert np.all(words["dt"] == 4000) and int(words["bin_dt"]) == 4000
    assert int(words["format"]) == {"ibm": 1, "ieee": 5}[config.format]
    np.testing.assert_array_equal(words["seq"], np.arange(1, live.sum() + 1))
    # trace order
    key = (i, j) if config.sorting == "inline" else (j, i)
    assert np.all(np.diff(key[0] * 10_000 + key[1]) > 0)
    assert "EPSG:32631" in str(words["text"])


def test_segyio_infers_regular_geometry(make_survey):
    """A complete grid is a regular cube to segyio, with the sorting we asked for."""
    for sorting, code in (
        ("inline", segyio.TraceSortingFormat.INLINE_SORTING),
        ("crossline", segyio.TraceSortingFormat.CROSSLINE_SORTING),
    ):
        with segyio.open(make_survey(sorting=sorting).segy) as f:
            assert f.sorting == code
            assert len(f.ilines) == 24 and len(f.xlines) == 30


def test_amplitudes_do_not_depend_on_format_sorting_or_blocks(make_survey, tmp_path):
    reference = make_survey()
    truth = xr.open_zarr(reference.truth).load()
    cube = as_cube(read_back(reference.segy), truth)
    for variant in ({"format": "ieee"}, {"sorting": "crossline"}):
        other = as_cube(read_back(make_survey(**variant).segy), truth)
        np.testing.assert_allclose(other, cube, rtol=1e-5, atol=1e-3)
    small_blocks = synthesize(
        tmp_path / "b.sgy", SynthConfig(shape=(24, 30, 96)), block_samples=5_000, workers=1
    )
    assert _digest(small_blocks.segy) == _digest(reference.segy)
    np.testing.assert_array_equal(xr.open_zarr(small_blocks.truth).facies, truth.facies)


def _digest(path) -> str:
    """Hash of everything after the text header (which names the file's truth store)."""
    return hashlib.sha256(path.read_bytes()[3200:]).hexdigest()


def test_deterministic_for_a_seed(make_survey, tmp_path):
    first = make_survey(seed=5)
    again = synthesize(tmp_path / "again.sgy", SynthConfig(shape=(24, 30, 96), seed=5))
    other = synthesize(tmp_path / "other.sgy", SynthConfig(shape=(24, 30, 96), seed=6))
    assert _digest(first.segy) == _digest(again.segy)
    assert _digest(first.segy) != _digest(other.segy)
    a, b = xr.open_zarr(first.truth), xr.open_zarr(again.truth)
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())


def test_every_facies_and_anomaly_is_present_and_visible(make_survey):
    result = make_survey(missing_corner=True)
    truth = xr.open_zarr(result.truth).load()
    cube = as_cube(read_back(result.segy), truth)
    live = truth.live.values
    facies = truth.facies.values[live]
    kinds = truth.anomaly_kind.values[live]
    assert set(np.unique(facies)) == set(range(len(FACIES)))
    assert set(np.unique(kinds)) == set(range(len(ANOMALY_KINDS)))
    assert truth.facies.attrs["flag_meanings"].split() == list(FACIES)
    np.testing.assert_array_equal(truth.anomaly.values, truth.anomaly_kind.values > 0)

    amp = cube[live]
    normal = kinds == 0

    def rms(mask):
        return float(np.sqrt(np.mean(amp[mask] ** 2)))

    parallel = rms(normal & (facies == FACIES.index("parallel_beds")))
    dead = (kinds == ANOMALY_KINDS.index("dead_trace")).all(axis=1)
    assert dead.any() and np.all(amp[dead] == 0)
    assert rms(kinds == ANOMALY_KINDS.index("noise_burst")) > 2.5 * parallel
    assert rms(kinds == ANOMALY_KINDS.index("bright_spot")) > 2.0 * parallel
    assert rms(kinds == ANOMALY_KINDS.index("gas_chimney")) < 0.8 * rms(
        normal
        & np.isin(facies, [FACIES.index("clinoforms"), FACIES.index("chaotic_mass_transport")])
    )
    shale = interior(facies, FACIES.index("transparent_shale"), halo=6)
    assert rms(normal & shale) < 0.5 * rms(normal & interior(facies, 0, halo=6))


def interior(facies: np.ndarray, code: int, halo: int) -> np.ndarray:
    """Samples of ``code`` at least ``halo`` samples (in time) from another facies."""
    inside = facies == code
    out = inside.copy()
    for k in range(1, halo + 1):
        out[:, k:] &= inside[:, :-k]
        out[:, :-k] &= inside[:, k:]
    return out


def test_no_anomalies_option(make_survey):
    truth = xr.open_zarr(make_survey(anomalies=False).truth)
    assert not truth.anomaly.any()
    words = read_back(make_survey(anomalies=False).segy)
    assert np.all(np.abs(words["samples"]).max(axis=1) > 0)  # no dead trace


def test_memory_is_bounded_by_the_block_not_the_survey(tmp_path):
    """Peak traced memory stays flat when the survey grows 4x at a fixed block size.

    Measured in a fresh process, so no thread left behind by another test allocates while
    tracemalloc is on."""
    code = f"""
import json, tracemalloc
from pathlib import Path
from seisflow.synth.config import SynthConfig
from seisflow.synth import synthesize
peaks = []
for n_il in (48, 192):  # both long enough for the render pipeline to fill up
    tracemalloc.start()
    synthesize(Path({str(tmp_path)!r}) / f"m{{n_il}}.sgy",
               SynthConfig(shape=(n_il, 64, 256), seed=1), block_samples=64 * 256 * 2,
               workers=2)
    peaks.append(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
print(json.dumps(peaks))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)  # fmt: skip
    peaks = json.loads(out.stdout.strip().splitlines()[-1])
    survey_bytes = 192 * 64 * 256 * 4
    assert peaks[1] < 1.3 * peaks[0], peaks
    assert peaks[1] < 0.5 * survey_bytes, (peaks, survey_bytes)


def test_existing_output_is_refused_and_kept(make_survey):
    result = make_survey(seed=7)
    before = _digest(result.segy)
    with pytest.raises(OutputPathError, match="exists"):
        synthesize(result.segy, SynthConfig(shape=(24, 30, 96), seed=8))
    assert _digest(result.segy) == before
    assert truth_path(result.segy) == result.truth


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    from seisflow.synth import render

    def explode(self, block):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(render.Survey, "render", explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        synthesize(tmp_path / "x.sgy", SynthConfig(shape=(24, 30, 96)))
    assert list(tmp_path.iterdir()) == []


def test_unit_tops_set_the_facies_mix(tmp_path):
    """Moving the unit tops changes how much of the record each facies takes; bad tops are
    refused with the value and an example."""
    shape = (16, 16, 96)
    default = synthesize(tmp_path / "a.sgy", SynthConfig(shape=shape, seed=3))
    tops = (0.05, 0.15, 0.25, 0.35, 0.9)
    thick = synthesize(tmp_path / "b.sgy", SynthConfig(shape=shape, seed=3, unit_tops=tops))
    share = [np.bincount(xr.open_zarr(r.truth).facies.values.ravel(), minlength=5) / (16 * 16 * 96)
             for r in (default, thick)]  # fmt: skip
    shale = FACIES.index("transparent_shale")
    assert share[1][shale] > share[0][shale] + 0.3  # the shale unit spans 0.35-0.9
    with pytest.raises(ConfigError, match=r"unit_tops \(0.5, 0.4"):
        SynthConfig(unit_tops=(0.5, 0.4, 0.6, 0.7, 0.8))
    with pytest.raises(ConfigError, match="five increasing fractions"):
        SynthConfig(unit_tops=(0.1, 0.2, 0.3))
