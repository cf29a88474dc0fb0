"""The ``cluster`` facies read-out: k-means on smoothed mean topic proportions."""

from __future__ import annotations

import numpy as np
import pytest

from seisflow.infer.facies_cluster import cluster_layers
from seisflow.infer.maps import facies_layer
from seisflow.infer.score import PatchTable
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.stream import tile


@pytest.fixture(scope="module")
def store(make_survey, tmp_path_factory):
    root = tmp_path_factory.mktemp("facies_cluster")
    return segy_to_zarr(make_survey(missing_corner=True).segy, root / "s.zarr",
                        chunks=(8, 15, 48)).store  # fmt: skip


def test_two_mixtures_with_one_leading_topic_become_two_facies(store):
    """Upper patches are 70 % topic 0 and 30 % topic 1, lower ones 55 % / 45 %: the arg-max
    (``patch``) calls both topic 0; the clusters of the proportions tell them apart."""
    survey = open_survey(store)
    spec = PatchSpec(size=16, axis="inline", stride=8)
    where = tile(store, spec)
    n_time = survey.amplitude.shape[2]
    upper = where[:, 3] + spec.size // 2 < n_time // 2  # the patch centre's sample
    proportions = np.where(upper[:, None], [0.7, 0.3, 0.0], [0.55, 0.45, 0.0])
    table = PatchTable(where, proportions.astype(np.float32), np.zeros(len(where)), spec)
    live = survey.trace_mask.values
    patch = facies_layer(table, survey, "patch").compute()
    labels = cluster_layers(table, survey, seed=0, smooth=(1, 2))[0].compute()
    assert labels.dtype == np.int16
    np.testing.assert_array_equal(labels == -1, np.broadcast_to(~live[..., None], labels.shape))
    top, bottom = labels[live][:, 8 : n_time // 2 - 16], labels[live][:, n_time // 2 + 16 : -8]
    assert (patch[live] == 0).all()  # one facies by the arg-max
    assert len(np.unique(top)) == len(np.unique(bottom)) == 1 and top[0, 0] != bottom[0, 0]
    again = cluster_layers(table, survey, seed=0, smooth=(1, 2))[0].compute()
    np.testing.assert_array_equal(labels, again)  # deterministic for a seed


def test_chunks_stitching_their_own_margin_equal_the_smoothed_stitched_layer(store):
    """Each chunk of ``smoothed_proportions`` stitches its margin from the table itself; the
    result is the box mean (with halos from the neighbouring chunks) of the stitched layer,
    missing corner and volume edges included."""
    from seisflow.infer.facies_cluster import smoothed_proportions, stitched_proportions
    from seisflow.infer.per_sample import box_mean

    survey = open_survey(store)
    spec = PatchSpec(size=16, axis="both", stride=8)
    where = tile(store, spec)
    rng = np.random.default_rng(5)
    table = PatchTable(where, rng.dirichlet([1, 1, 1], len(where)).astype(np.float32),
                       np.zeros(len(where)), spec)  # fmt: skip
    assert len(survey.amplitude.data.chunks[0]) > 1 and len(survey.amplitude.data.chunks[2]) > 1
    got = smoothed_proportions(table, survey, (3, 5)).compute()
    expected = box_mean(stitched_proportions(table, survey), (3, 5)).compute()
    assert np.isnan(got).any()  # the missing corner
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, equal_nan=True)


def test_cluster_confidence_is_the_largest_stitched_proportion_from_the_same_stitch(store):
    """``cluster_layers`` stitches each chunk once for the facies and the confidence: the
    confidence is the largest of the stitched (not smoothed) proportions, exactly, NaN off
    the traces."""
    from seisflow.infer.facies_cluster import cluster_layers, stitched_proportions

    survey = open_survey(store)
    spec = PatchSpec(size=16, axis="both", stride=8)
    where = tile(store, spec)
    table = PatchTable(where, np.random.default_rng(6).dirichlet([1, 1, 1], len(where))
                       .astype(np.float32), np.zeros(len(where)), spec)  # fmt: skip
    facies, confidence = cluster_layers(table, survey, seed=0, smooth=(1, 2))
    assert facies.chunks == confidence.chunks == survey.amplitude.data.chunks
    expected = stitched_proportions(table, survey).max(axis=-1).compute()
    assert np.isnan(expected).any() and np.isfinite(expected).any()
    np.testing.assert_array_equal(confidence.compute(), expected)


def test_fit_sample_rows_equal_the_smoothed_volume_read_at_the_points(store):
    """The fit sample's rows equal the smoothed proportions of the whole volume read at the
    points, bit for bit, both where a chunk's few points are smoothed over their own boxes
    and where a chunk full of points is smoothed whole: points on the volume's edges, on
    chunk edges and on missing traces (NaN) included."""
    from seisflow.infer.facies_cluster import fit_sample_rows, smoothed_proportions

    survey = open_survey(store)
    spec = PatchSpec(size=16, axis="both", stride=8)
    where = tile(store, spec)
    table = PatchTable(where, np.random.default_rng(7).dirichlet([1, 1, 1], len(where))
                       .astype(np.float32), np.zeros(len(where)), spec)  # fmt: skip
    shape = survey.amplitude.shape
    rng = np.random.default_rng(8)
    # 300 points in the first chunk (8 x 15 x 48: smoothed whole), 40 over the others
    i = np.r_[0, shape[0] - 1, 7, 8, rng.integers(0, 8, 300), rng.integers(8, shape[0], 40)]
    j = np.r_[0, shape[1] - 1, 14, 15, rng.integers(0, 15, 300), rng.integers(0, shape[1], 40)]
    t = np.r_[0, shape[2] - 1, 47, 48, rng.integers(0, 48, 300), rng.integers(0, shape[2], 40)]
    got = fit_sample_rows(table, survey, (i, j, t), smooth=(3, 5))
    expected = smoothed_proportions(table, survey, (3, 5)).compute()[i, j, t]
    assert got.shape == (i.size, 3) and np.isnan(expected).any() and np.isfinite(expected).any()
    np.testing.assert_array_equal(got, expected)
    assert fit_sample_rows(table, survey, (i[:0], j[:0], t[:0])).shape == (0, 3)
