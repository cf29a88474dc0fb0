"""QC attributes: analytic values on tones, noise, dead and missing traces; chunked = whole."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
import zarr
from dask.callbacks import Callback

from seisflow.errors import ConfigError
from seisflow.infer.attributes import ATTRIBUTES, attributes, block_attributes
from seisflow.ingest import open_survey, segy_to_zarr

CONTINUITY = ("continuity_inline", "continuity_crossline")
EDGE = 20  # samples skipped at each trace end where a check says "away from the ends"


def tones(shape=(5, 5, 200), *, amplitude=3.0, f0=0.05):
    """Identical traces A cos(2 pi f0 t): 200 samples hold whole cycles of f0 = 0.05 or 0.2,
    so the FFT Hilbert transform is exact (envelope A, phase 2 pi f0 t)."""
    t = np.arange(shape[2])
    trace = amplitude * np.cos(2 * np.pi * f0 * t)
    return np.broadcast_to(trace, shape).astype(np.float32).copy(), np.ones(shape[:2], bool)


def floor_of(block, live):
    """The documented default log floor: 1e-3 x the RMS of the live samples."""
    return 1e-3 * np.sqrt(np.mean(np.square(block[live].astype(np.float64))))


@pytest.mark.parametrize("f0", [0.05, 0.2])
def test_tone_section(f0):
    block, live = tones(f0=f0)
    out = block_attributes(block, live)
    assert set(out) == set(ATTRIBUTES)
    assert all(v.dtype == np.float32 and v.shape == block.shape for v in out.values())
    core = {name: value[:, :, EDGE:-EDGE] for name, value in out.items()}
    # envelope 3 plus the floor 1e-3 x RMS (3 / sqrt 2); float32 output: 1e-5
    expected = np.log(3 + 1e-3 * 3 / np.sqrt(2))
    np.testing.assert_allclose(core["log_envelope"], expected, atol=1e-5)
    # exact for a tone (the central-difference form would give sin(2 pi f0) / (2 pi), 1.6 %
    # low at 0.05 and 24 % low at 0.2)
    np.testing.assert_allclose(core["frequency"], f0, atol=1e-4)
    for name in CONTINUITY:
        np.testing.assert_allclose(core[name], 1, atol=1e-5)
    np.testing.assert_allclose(core["relative_envelope"], 0, atol=1e-5)


def test_dipping_tone_continuity_and_rms_are_analytic():
    """A tone of f0 = 1/11 cycles/sample dipping p samples per trace: a window of 11 samples
    holds two whole cycles of cos(2 phase), so the windowed zero-lag correlation of two
    neighbours is exactly cos(2 pi f0 p) and the windowed RMS exactly A / sqrt 2."""
    f0, amplitude, p_crossline, p_inline = 1 / 11, 2.5, 1.0, 0.5
    i, j, t = np.meshgrid(np.arange(4), np.arange(6), np.arange(200), indexing="ij")
    block = amplitude * np.cos(2 * np.pi * f0 * (t - p_crossline * j - p_inline * i))
    out = block_attributes(block.astype(np.float32), np.ones((4, 6), bool), window=11)
    core = {name: value[:, :, EDGE:-EDGE] for name, value in out.items()}
    np.testing.assert_allclose(core["continuity_inline"], np.cos(2 * np.pi * f0 * p_crossline),
                               atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(core["continuity_crossline"], np.cos(2 * np.pi * f0 * p_inline),
                               atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(core["rms"], amplitude / np.sqrt(2), rtol=1e-5)


def test_time_reversal():
    # Every attribute is centred in time: reversing the traces mirrors it (the Hilbert
    # transform of x reversed is -h reversed, so frequencies keep their sign). A one-sided
    # phase increment would shift the frequency of this chirp (0.02 + 0.001 t) by 0.0005.
    t = np.arange(160)
    rng = np.random.default_rng(3)
    block = np.cos(2 * np.pi * (0.02 * t + 0.0005 * t**2)) + 0.3 * rng.standard_normal((4, 5, 160))
    block = block.astype(np.float32)
    live = np.ones((4, 5), bool)
    forward = block_attributes(block, live)
    backward = block_attributes(block[..., ::-1].copy(), live)
    for name in ATTRIBUTES:
        np.testing.assert_allclose(
            backward[name][..., ::-1], forward[name], atol=2e-5, err_msg=name
        )


def test_white_noise_continuity():
    rng = np.random.default_rng(17)
    block = rng.standard_normal((8, 8, 400)).astype(np.float32)
    out = block_attributes(block, np.ones((8, 8), bool))
    for name in CONTINUITY:
        c = out[name][1:-1, 1:-1, EDGE:-EDGE].astype(np.float64)  # two neighbours each
        # The correlation r of two independent 11-sample white-noise windows is the cosine
        # of two random directions in R^11: mean 0, E[r^2] = 1/11, and the two neighbours'
        # r are uncorrelated, so their mean c has E[c^2] = 1/22 = 0.0455. Over 20 seeds
        # mean(c^2) was 0.0456 +- 0.0017 and mean(c) 0 +- 0.010: bounds of ~5 sd.
        assert abs(np.mean(c**2) - 1 / 22) < 0.008
        assert abs(np.mean(c)) < 0.05
        # E|c| is about 0.17 (0.172 +- 0.003 over 20 seeds), far from the 1 of a reflector;
        # 0.22 leaves a margin (0.15 would be too tight for 11-sample windows).
        assert np.mean(np.abs(c)) < 0.22


def test_dead_trace():
    block, live = tones()
    block[2, 2] = 0  # recorded, but all zero
    out = block_attributes(block, live)
    floor = floor_of(block, live)
    log_env, rel = out["log_envelope"][..., EDGE:-EDGE], out["relative_envelope"][..., EDGE:-EDGE]
    np.testing.assert_allclose(log_env[2, 2], np.log(floor), atol=1e-5)
    assert np.all(log_env[1:4, 1:4].max(axis=(0, 1)) - log_env[2, 2] > 5)
    # 24 of the 25 traces are alike: the median is theirs
    np.testing.assert_allclose(rel[2, 2], np.log(floor) - np.log(3 + floor), atol=1e-5)
    assert np.all(rel[2, 2] < -5)
    others = np.ones((5, 5), bool)
    others[2, 2] = False
    np.testing.assert_allclose(rel[others], 0, atol=1e-5)
    # the dead trace correlates with nothing; its neighbours average 1 and 0
    cont = out["continuity_inline"][..., EDGE:-EDGE]
    np.testing.assert_allclose(cont[2, 2], 0, atol=1e-6)
    np.testing.assert_allclose(cont[2, [1, 3]], 0.5, atol=1e-5)
    np.testing.assert_allclose(cont[1, 2], 1, atol=1e-5)
    assert np.all(np.isnan(out["frequency"][2, 2]))  # no energy


@pytest.mark.parametrize("fill", [np.nan, 1e6])
def test_missing_trace_is_skipped(fill):
    # traces of different amplitudes, the same waveform: correlations stay 1, and the lateral
    # median (lateral=1) is the median of the live amplitudes around, computed here by hand
    gain = 1 + 0.37 * np.arange(25).reshape(5, 5) % 2.9
    base, _ = tones(amplitude=1.0)
    block = (base * gain[..., None]).astype(np.float32)
    full = block_attributes(block, np.ones((5, 5), bool), lateral=1)
    live = np.ones((5, 5), bool)
    live[2, 2] = False
    block[2, 2] = fill  # the mask, not the data, says the trace is missing
    out = block_attributes(block, live, lateral=1)
    for name in ATTRIBUTES:
        assert np.all(np.isnan(out[name][2, 2])), name
        assert not np.any(np.isnan(out[name][live])), name
    floor = 1e-3 * np.sqrt(np.mean(gain[live] ** 2) / 2)
    log_env = np.where(live, np.log(gain + floor), np.nan)
    for i, j in zip(*np.nonzero(live), strict=True):
        near = log_env[max(i - 1, 0) : i + 2, max(j - 1, 0) : j + 2]
        expected = log_env[i, j] - np.nanmedian(near)
        rel = out["relative_envelope"][i, j, EDGE:-EDGE]
        np.testing.assert_allclose(rel, expected, atol=1e-5)
    for name in CONTINUITY:  # the neighbours keep their other neighbour: 1, not 0.5
        np.testing.assert_allclose(out[name][live][:, EDGE:-EDGE], 1, atol=1e-5)
        np.testing.assert_allclose(out[name][live], full[name][live], atol=1e-6)
    np.testing.assert_allclose(out["frequency"][live], full["frequency"][live], atol=1e-6)


def test_muted_zone_and_nan_samples():
    rng = np.random.default_rng(5)
    t = np.arange(200)
    block = (100 * rng.standard_normal((3, 3, 200)) + 1000 * np.cos(0.3 * t)).astype(np.float32)
    block[..., 100:] = 0  # a bottom mute after large values, where the running window sums
    out = block_attributes(block, np.ones((3, 3), bool))  # of products leave only round-off
    for name in CONTINUITY:  # silent windows correlate with nothing: 0, not NaN or noise
        np.testing.assert_allclose(out[name][..., 110:], 0, atol=1e-4)
    # NaN samples of a live trace are taken as 0 (a NaN would spread over the whole trace)
    holed = block.copy()
    holed[1, 1, 40:45] = np.nan
    zeroed = np.nan_to_num(holed)
    live = np.ones((3, 3), bool)
    got, expected = block_attributes(holed, live), block_attributes(zeroed, live)
    for name in ATTRIBUTES:
        np.testing.assert_array_equal(got[name], expected[name])
        assert not np.any(np.isnan(got[name])), name


def survey(chunks=(3, 4, 50), statistics=None):
    """A small in-memory survey: reflectors of varying strength in noise, a missing corner, a
    missing trace inside and a dead trace, chunked along all three axes."""
    rng = np.random.default_rng(4)
    shape = (7, 9, 120)
    t = np.arange(shape[2])
    strength = rng.uniform(0, 3, shape[:2])[..., None]
    block = rng.standard_normal(shape) + strength * np.cos(2 * np.pi * 0.07 * t)
    live = np.ones(shape[:2], bool)
    live[:2, :3] = live[4, 5] = False
    block[~live] = np.nan
    block[3, 1] = 0
    block = block.astype(np.float32)
    coords = {"inline": np.arange(100, 107), "crossline": np.arange(20, 38, 2),
              "time": np.arange(shape[2]) * 4.0}  # fmt: skip
    dataset = xr.Dataset(
        {"amplitude": (("inline", "crossline", "time"), da.from_array(block, chunks=chunks)),
         "trace_mask": (("inline", "crossline"), da.from_array(live, chunks=chunks[:2]))},
        coords=coords, attrs={"statistics": statistics} if statistics else {},
    )  # fmt: skip
    return dataset, block, live


class Tasks(Callback):
    """Counts the Dask tasks run while active."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def _pretask(self, key, dask, state):
        self.count += 1


@pytest.mark.parametrize("lateral", [4, 1, 0])
def test_chunked_equals_whole(lateral):
    # chunks of 3 x 4 traces are narrower than the halo of 4: dask merges them
    dataset, block, live = survey(statistics={"rms": 1.7})
    with Tasks() as tasks:
        result = attributes(dataset, lateral=lateral)
    assert tasks.count == 0  # nothing computed yet
    assert list(result.data_vars) == list(ATTRIBUTES)
    for name in ATTRIBUTES:
        assert isinstance(result[name].data, da.Array)
        assert result[name].dims == ("inline", "crossline", "time")
        assert result[name].attrs["long_name"]
        assert len(result[name].chunks[2]) == 1  # whole traces
    assert result.frequency.attrs["units"] == "cycles/sample"
    np.testing.assert_array_equal(result.crossline, dataset.crossline)
    np.testing.assert_array_equal(result.time, dataset.time)
    whole = block_attributes(block, live, lateral=lateral, floor=1e-3 * 1.7)
    computed = result.compute()
    for name in ATTRIBUTES:
        # atol for values near 0 (correlations, relative envelopes), rtol 1e-5 elsewhere
        np.testing.assert_allclose(computed[name].values, whole[name], rtol=1e-5, atol=1e-6,
                                   equal_nan=True, err_msg=name)  # fmt: skip
        assert np.all(np.isnan(computed[name].values[~live])), name
        valued = live.copy()
        valued[3, 1] = name != "frequency"  # the dead trace has no frequency
        assert not np.any(np.isnan(computed[name].values[valued])), name


def test_chunked_without_statistics():
    # no survey RMS: each chunk's sets the log floor (1e-3 x about 1.7), which moves log(e +
    # floor) by under 1e-3 where e > 1; the other attributes do not depend on it
    dataset, block, live = survey()
    computed = attributes(dataset).compute()
    whole = block_attributes(block, live)
    strong = whole["log_envelope"] > 0  # envelope > 1 (False at NaN)
    diff = np.abs(computed["log_envelope"].values - whole["log_envelope"])
    assert np.all(diff[strong] < 1e-3)
    assert 0 < np.nanmax(diff) < 1  # per chunk indeed; at most log(ratio of the RMS) at e = 0
    for name in (*CONTINUITY, "frequency"):
        np.testing.assert_allclose(computed[name].values, whole[name], rtol=1e-5, atol=1e-6,
                                   equal_nan=True, err_msg=name)  # fmt: skip


@pytest.mark.parametrize(
    "names", [["frequency", "continuity_crossline"], ["log_envelope"], ["relative_envelope"]]
)
def test_subset_of_names(names):
    # a smaller halo (1 for continuity, 0 for log_envelope alone) still gives the same values
    dataset, block, live = survey(statistics={"rms": 1.7})
    result = attributes(dataset, names=names, lateral=2)
    assert list(result.data_vars) == names
    whole = block_attributes(block, live, lateral=2, floor=1.7e-3)
    for name in names:
        np.testing.assert_allclose(result[name].values, whole[name], rtol=1e-5, atol=1e-6,
                                   equal_nan=True)  # fmt: skip


def test_survey_store(make_survey, tmp_path):
    survey_files = make_survey(missing_corner=True)
    store = segy_to_zarr(survey_files.segy, tmp_path / "s.zarr", chunks=(8, 15, 48)).store
    before = zarr.open_array(str(store), path="amplitude")[...].tobytes()
    dataset = open_survey(store)
    result = attributes(dataset)  # the survey's RMS (ingest statistics) sets the log floor
    assert result.log_envelope.chunks[:2] == dataset.amplitude.chunks[:2]
    computed = result.compute()
    live = dataset.trace_mask.values
    rms = dataset.attrs["statistics"]["rms"]
    whole = block_attributes(dataset.amplitude.values, live, floor=1e-3 * rms)
    for name in ATTRIBUTES:
        np.testing.assert_allclose(computed[name].values, whole[name], rtol=1e-5, atol=1e-6,
                                   equal_nan=True, err_msg=name)  # fmt: skip
    assert not live.all()
    assert np.all(np.isnan(computed.frequency.values[~live]))
    assert zarr.open_array(str(store), path="amplitude")[...].tobytes() == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"names": ["envelope"]}, "choose from log_envelope"), ({"names": "frequency"}, "sequence"),
     ({"names": []}, "sequence"),
     ({"window": 10}, "window=10"), ({"window": 0}, "window=0"), ({"lateral": -1}, "lateral=-1"),
     ({"floor": 0.0}, "floor=0.0")],
)  # fmt: skip
def test_bad_arguments(kwargs, match):
    dataset, block, live = survey()
    with pytest.raises(ConfigError, match=match):
        attributes(dataset, **kwargs)
    if "names" not in kwargs:
        with pytest.raises(ConfigError, match=match):
            block_attributes(block, live, **kwargs)


def test_bad_inputs():
    dataset, block, live = survey()
    with pytest.raises(ConfigError, match="not amplitude and trace_mask"):
        attributes(dataset.drop_vars("trace_mask"))
    with pytest.raises(ConfigError, match="do not match"):
        block_attributes(block, live[:, :5])
