"""The 8-bit view of the seismic: companding, missing samples, and the run's normalisation
carried from training to mapping and evaluation."""

from __future__ import annotations

import math
import shutil
import warnings

import numpy as np
import pytest
import torch
import xarray as xr
import zarr

from seisflow.errors import ConfigError
from seisflow.infer.evaluate import layer_normalization
from seisflow.infer.maps import map_survey
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.ingest.normalize import MISSING, ZERO, Normalization, fill_missing, measure
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.stream import PatchStream
from seisflow.runs import open_run
from seisflow.synth.anomalies import DEAD_TRACE
from seisflow.train import train
from seisflow.train.checkpoint import load_flow

SETTINGS = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=2",
            "train.eval_every=0", "data.size=16", "data.stride=8", "data.buffer=128",
            "model.topics=3", "model.prior=lda", "train.warmup=0",
            "data.companding=asinh"]  # fmt: skip


def test_clip_codes_are_exact_and_missing_is_its_own_code():
    raw = np.array([-5.0, -2.0, -1.0, 0.0, 1.0, 2.0, np.nan, 0.5])
    codes = Normalization(scale=2.0, companding="clip").quantize(raw)
    assert codes.dtype == np.uint8
    # 128 + round(127 * clip(x / 2, -1, 1)); NaN -> 0, a code no amplitude takes
    assert codes.tolist() == [1, 1, 64, 128, 192, 255, 0, 160]


def test_asinh_keeps_amplitudes_beyond_the_scale_apart():
    scale = 3.0
    asinh = Normalization(scale=scale, companding="asinh", headroom=4.0)
    clip = Normalization(scale=scale, companding="clip")
    above = scale * np.array([1.25, 1.5, 2.0, 3.0, 3.9])  # a bright spot's amplitudes
    assert len(set(clip.quantize(above).tolist())) == 1  # all clipped flat to 255
    codes = asinh.quantize(above).astype(int)
    assert (np.diff(codes) > 0).all() and codes.max() < 255
    expected = [ZERO + round(127 * math.asinh(4 * v / scale) / math.asinh(16)) for v in above]
    assert codes.tolist() == expected
    assert asinh.quantize(np.array([0.0, 4 * scale, -4 * scale, 40 * scale])).tolist() == [
        128, 255, 1, 255]  # fmt: skip
    x = np.linspace(-4 * scale, 4 * scale, 1001)  # the inverse, to within half a code
    back = asinh.amplitude(asinh.quantize(x))
    step = np.abs(np.gradient(asinh.amplitude(np.arange(1, 256)))).max()
    assert np.abs(back - x).max() <= step / 2 + 1e-6
    assert np.isnan(asinh.amplitude(np.array([MISSING])))[0]


def test_normalization_record_round_trips_and_checks_its_values():
    n = Normalization(scale=2.5, percentile=99.0, companding="clip", headroom=3.0)
    assert Normalization.from_dict(n.as_dict()) == n
    assert n.mismatch(Normalization(scale=2.6, percentile=99.0, companding="clip")) is None
    assert "8% apart" in n.mismatch(Normalization(scale=2.7, percentile=99.0, companding="clip"))
    assert "companding asinh" in n.mismatch(
        Normalization(scale=2.5, percentile=99.0, companding="asinh")
    )
    for bad in ({"scale": 0.0}, {"scale": float("nan")}, {"scale": 1.0, "headroom": 0.5},
                {"scale": 1.0, "companding": "mu"}):  # fmt: skip
        with pytest.raises(ConfigError):
            Normalization(**bad)
    patches = np.array([[0, 128, 7]], dtype=np.uint8)
    assert fill_missing(patches).tolist() == [[128, 128, 7]]


@pytest.fixture(scope="module")
def survey(make_survey, tmp_path_factory):
    """A store with a missing corner and dead traces, its truth, a tiny run trained with
    asinh companding (not the default: the record must carry it)."""
    root = tmp_path_factory.mktemp("normalize")
    made = make_survey(missing_corner=True)
    store = segy_to_zarr(made.segy, root / "s.zarr", chunks=(8, 15, 48)).store
    train(str(store), root / "run", overrides=SETTINGS, progress=False)
    return store, root / "run", made.truth


def test_missing_traces_never_look_like_dead_ones(survey):
    store, _, truth = survey
    dataset = open_survey(store)
    live = dataset.trace_mask.values
    dead = (xr.open_zarr(truth).anomaly_kind.values == DEAD_TRACE).all(axis=2) & live
    assert dead.any() and not live.all()
    spec = PatchSpec(size=16, axis="inline", stride=8)
    stream = PatchStream(store, spec, shuffle=False, return_positions=True, batch_size=512)
    seen = {"dead": 0, "missing": 0}
    for patches, where in stream:
        for patch, (_, i, j, _) in zip(patches.numpy(), where.numpy(), strict=True):
            columns = np.arange(j, j + spec.size)
            for c, column in enumerate(columns):
                codes = patch[0, :, c]
                if not live[i, column]:
                    assert (codes == MISSING).all()
                    seen["missing"] += 1
                elif dead[i, column]:
                    assert (codes == ZERO).all()
                    seen["dead"] += 1
                else:
                    assert (codes != MISSING).all()
    assert seen["dead"] and seen["missing"]
    # training patches never touch a missing trace
    training = PatchStream(store, spec, shuffle=True, batch_size=512)
    assert (next(iter(training)) != MISSING).all()


def test_the_run_carries_its_normalization_to_map_and_evaluate(survey, tmp_path):
    store, run_dir, _ = survey
    _, config, content = load_flow(run_dir)
    saved = Normalization.from_dict(content["source"]["normalization"])
    data = config.data
    assert saved == measure(store, percentile=data.percentile, companding=data.companding,
                            headroom=data.headroom)  # fmt: skip
    assert saved.companding == "asinh"
    run = open_run(run_dir, device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its own store: no warning
        assert run.normalization(store) == saved
    louder = tmp_path / "louder.zarr"  # the same survey, amplitudes x 1.5
    shutil.copytree(store, louder)
    amplitude = zarr.open_array(str(louder), path="amplitude", mode="r+")
    amplitude[...] = amplitude[...] * np.float32(1.5)
    with pytest.warns(UserWarning, match=r"louder.zarr: its amplitudes are not scaled.*50% apart"):
        used = run.normalization(louder)
    assert used == saved  # the run's, not the store's
    with pytest.warns(UserWarning, match="not scaled"):
        map_survey(louder, run_dir, batch_size=64, layers=("anomaly",), progress=False)
    attrs = open_survey(louder).anomaly.attrs
    assert Normalization.from_dict(attrs["seisflow:normalization"]) == saved
    assert layer_normalization(louder, attrs) == saved


def test_a_checkpoint_from_before_companding_is_read_as_clipped(survey, tmp_path):
    store, run_dir, _ = survey
    content = torch.load(run_dir / "checkpoint.pt", weights_only=False)
    del content["config"]["data"]["companding"]
    del content["source"]["normalization"]
    old = tmp_path / "old"
    old.mkdir()
    torch.save(content, old / "checkpoint.pt")
    run = open_run(old, device="cpu")
    assert run.config.data.companding == "clip"
    assert run.normalization(store) == measure(store, companding="clip")
    legacy = {"seisflow:config": {"data": {"percentile": 99.5}}}  # a layer mapped back then
    assert layer_normalization(store, legacy) == measure(store, companding="clip")
