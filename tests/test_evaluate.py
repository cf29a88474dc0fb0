"""evaluate on planted layers: the truth itself scores 1, a relabelled truth scores 1, a
layer moved off its samples does not, and an inverted anomaly scores 0."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from seisflow.infer.evaluate import evaluate_layers, live_sample
from seisflow.infer.writeback import write_layer
from seisflow.ingest import open_survey, segy_to_zarr

PROVENANCE = {
    "seisflow:patch": {"size": 16, "axis": "inline", "stride": 8, "time_window": None,
                       "depth3d": 1},
    "seisflow:config": {"data": {"percentile": 99.5}},
}  # fmt: skip


@pytest.fixture(scope="module")
def planted(make_survey, tmp_path_factory):
    """A store, its truth and the truth's facies / anomaly as arrays on the store's grid."""
    survey = make_survey(seed=5)
    store = segy_to_zarr(survey.segy, tmp_path_factory.mktemp("evaluate") / "s.zarr").store
    truth = xr.open_zarr(survey.truth)
    live = open_survey(store).trace_mask.values[..., None]
    facies = np.where(live, truth.facies.values, -1).astype(np.int16)
    anomaly = np.where(live, truth.anomaly.values, np.nan).astype(np.float32)
    return store, survey.truth, facies, anomaly


def _score(store, truth, facies, anomaly):
    chunks = open_survey(store).amplitude.data.chunks
    k = int(facies.max()) + 1
    write_layer(store, "facies", da.from_array(facies, chunks=chunks), overwrite=True,
                attrs={"flag_values": list(range(k)), **PROVENANCE})  # fmt: skip
    write_layer(store, "anomaly", da.from_array(anomaly, chunks=chunks), overwrite=True,
                attrs=PROVENANCE)  # fmt: skip
    return evaluate_layers(store, truth, samples=20_000)


def test_the_truth_itself_scores_one(planted):
    store, truth, facies, anomaly = planted
    report = _score(store, truth, facies, anomaly)
    assert report["facies"] == {"ari": 1.0, "nmi": pytest.approx(1.0), "accuracy": 1.0}
    perfect = {"auroc": 1.0, "average_precision": 1.0}
    kinds = {"bright_spot", "gas_chimney", "noise_burst", "dead_trace"}
    assert report["anomaly"] == {**perfect, "kinds": dict.fromkeys(kinds, perfect)}
    assert set(report["anomaly_baselines"]) == {"envelope_contrast", "isolation_forest_qc",
                                                "abs_amplitude", "isolation_forest"}  # fmt: skip
    for name in ("isolation_forest_qc", "envelope_contrast"):  # the attributes see dead traces
        assert report["anomaly_baselines"][name]["kinds"]["dead_trace"]["auroc"] > 0.95


def test_per_kind_figures_equal_hand_computed_values(planted):
    """A layer that flags only bright spots and dead traces (1) and nothing else (0):
    those kinds score AUROC 1, the other two 0.5 (a tie with every clean sample), and over
    all anomalous samples a flagged share ``f`` scores ``f + (1 - f) / 2``; average
    precision over all is the precision at the one threshold that flags anything,
    weighted by the recall it reaches, plus the base rate for the rest."""
    store, truth, facies, anomaly = planted
    kind = xr.open_zarr(truth).anomaly_kind.values
    live = np.isfinite(anomaly)
    flagged = np.isin(kind, [1, 4])
    layer = np.where(live, flagged, np.nan).astype(np.float32)
    report = _score(store, truth, facies, layer)
    per_kind = report["anomaly"]["kinds"]
    assert per_kind["bright_spot"]["auroc"] == per_kind["dead_trace"]["auroc"] == 1.0
    assert per_kind["gas_chimney"]["auroc"] == per_kind["noise_burst"]["auroc"] == 0.5
    assert per_kind["bright_spot"]["average_precision"] == 1.0
    pick = live_sample(open_survey(store), 20_000, seed=0)
    sampled = kind[pick]
    f = np.isin(sampled[sampled > 0], [1, 4]).mean()
    assert report["anomaly"]["auroc"] == pytest.approx(f + (1 - f) / 2, abs=1e-12)
    base = (sampled > 0).mean()  # AP: recall f at precision 1, then the rest at the base rate
    assert report["anomaly"]["average_precision"] == pytest.approx(f + (1 - f) * base, abs=1e-12)


def test_relabelled_facies_still_score_one_and_an_inverted_anomaly_zero(planted):
    store, truth, facies, anomaly = planted
    codes = np.unique(facies[facies >= 0])
    shuffled = np.random.default_rng(0).permutation(codes)
    relabel = np.full(int(codes.max()) + 1, -1, dtype=np.int16)
    relabel[codes] = shuffled
    permuted = np.where(facies >= 0, relabel[np.maximum(facies, 0)], -1).astype(np.int16)
    assert (permuted != facies).any()
    report = _score(store, truth, permuted, -anomaly)
    assert report["facies"] == {"ari": 1.0, "nmi": pytest.approx(1.0), "accuracy": 1.0}
    assert report["anomaly"]["auroc"] == 0.0
    assert all(k["auroc"] == 0.0 for k in report["anomaly"]["kinds"].values())


def test_a_layer_moved_off_its_samples_scores_far_below_one(planted):
    store, truth, facies, anomaly = planted
    moved = np.roll(facies, facies.shape[2] // 3, axis=2)  # units shifted down by a third
    moved = np.where(facies >= 0, np.maximum(moved, 0), -1).astype(np.int16)
    report = _score(store, truth, moved, anomaly)
    assert report["facies"]["ari"] < 0.5
