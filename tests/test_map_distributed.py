"""``map --scheduler``: the patches are scored on the cluster's workers (the flow travels to
other processes), and the table and the layers equal those of a map in this process."""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from seisflow.infer.maps import map_survey
from seisflow.infer.score import score_patches
from seisflow.infer.score_cluster import score_on_cluster, spans
from seisflow.ingest import open_survey
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.stream import PatchStream
from seisflow.runs import open_run


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each."""
    from distributed import LocalCluster

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster:
            yield cluster


def _spec(run):
    data = run.config.data
    return PatchSpec(size=data.size, axis=data.axis, stride=data.stride,
                     time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip


def test_spans_cut_at_batch_edges_before_unit_edges():
    assert spans([10, 7, 9, 5], 4, 2) == [(0, 16), (16, 31)]  # unit edge 17 -> batch edge 16
    assert spans([10, 7, 9, 5], 4, 9) == [(0, 8), (8, 16), (16, 24), (24, 31)]  # one per unit
    assert spans([3, 3, 3], 8, 3) == [(0, 9)]  # every unit inside the first batch
    assert spans([5], 2, 4) == [(0, 5)]


def test_batches_of_a_span_are_the_pass_own(tiny_run):
    store, run_dir = tiny_run
    run = open_run(run_dir, device="cpu")
    stream = PatchStream(store, _spec(run), shuffle=False, return_positions=True, batch_size=24,
                         normalization=run.normalization(store))  # fmt: skip
    whole = [(codes.numpy(), where.numpy()) for codes, where in stream]
    n = len(stream)
    assert sum(stream.units().values()) == n == sum(len(w) for _, w in whole)
    codes, where = (np.concatenate(parts) for parts in zip(*whole, strict=True))
    for start, stop in [(0, n), (24, 96), (48, 49), (30, 200), (n - 5, n)]:
        part = list(stream.batches(start, stop))  # batches of 24 from start, the last short
        assert [len(w) for _, w in part[:-1]] == [24] * (len(part) - 1)
        np.testing.assert_array_equal(np.concatenate([c for c, _ in part]), codes[start:stop])
        np.testing.assert_array_equal(np.concatenate([w for _, w in part]), where[start:stop])
    assert list(stream.batches(len(stream), len(stream) + 3)) == []


def test_score_on_cluster_equals_score_patches(tiny_run, cluster):
    from distributed import Client

    store, run_dir = tiny_run
    run = open_run(run_dir, device="cpu")
    spec, normalization = _spec(run), run.normalization(store)
    options = {"normalization": normalization, "batch_size": 24, "words": True, "density": True}
    here = score_patches(run.flow, store, spec, **options)
    with Client(cluster, set_as_default=False) as client:
        # 5 tasks over 12 units: spans cut inside units, batches straddle units
        there = score_on_cluster(client, run.flow, store, spec, tasks=5, **options)
        assert len(there.positions) == len(here.positions) > 300
        for name in ("positions", "proportions", "anomaly", "words"):
            assert np.array_equal(getattr(there, name), getattr(here, name)), name
        assert there.density.keys() == here.density.keys()
        for name, values in here.density.items():
            assert np.array_equal(there.density[name], values), name
        anomaly = score_on_cluster(client, run.flow, store, spec, normalization=normalization,
                                   batch_size=64, topics=False, progress=True)  # fmt: skip
    assert anomaly.proportions.shape == (len(here.positions), 0) and anomaly.words is None
    np.testing.assert_array_equal(anomaly.positions, here.positions)


def test_map_on_a_cluster_writes_the_threaded_layers(tiny_run, cluster, tmp_path, monkeypatch):
    store, run = tiny_run
    threaded = shutil.copytree(store, tmp_path / "threads.zarr")
    distributed = shutil.copytree(store, tmp_path / "cluster.zarr")
    layers = ("facies", "anomaly")
    here = map_survey(threaded, run, layers=layers, batch_size=32, progress=False)

    def here_only(*args, **kwargs):
        raise AssertionError("with a scheduler the patches are scored on its workers")

    monkeypatch.setattr("seisflow.infer.maps.score_patches", here_only)
    there = map_survey(distributed, run, layers=layers, batch_size=32, progress=False,
                       scheduler=cluster.scheduler_address)  # fmt: skip
    assert there["layers"] == here["layers"] == ["facies", "facies_confidence", "anomaly",
                                                 "anomaly_hint"]  # fmt: skip
    assert there["patches"] == here["patches"]
    a, b = open_survey(threaded), open_survey(distributed)
    for name in here["layers"]:
        values = a[name].values
        assert np.array_equal(b[name].values, values, equal_nan=values.dtype.kind == "f"), name
        assert np.isfinite(values).any() if values.dtype.kind == "f" else (values >= 0).any()
