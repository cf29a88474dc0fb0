"""The two-sided lateral contrast read-out."""

from __future__ import annotations

import numpy as np

from seisflow.infer.contrast import lateral_contrast, lazy_lateral_contrast


def _section(seed: int = 0) -> np.ndarray:
    """A laterally smooth volume (inline, crossline, time) with small noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(64)
    base = np.sin(2 * np.pi * t / 16.0)[None, None, :] * np.ones((6, 20, 1))
    return (base + 0.05 * rng.standard_normal(base.shape)).astype(np.float32)


def test_a_trace_simpler_than_its_neighbours_ranks_first():
    volume = _section()
    volume[3, 9] = 0.0  # a dead trace: lower "bits" than all around it
    live = np.ones(volume.shape[:2], dtype=bool)
    contrast = lateral_contrast(volume, live, radius=2)
    per_trace = np.nanmean(contrast, axis=2)
    assert np.unravel_index(np.argmax(per_trace), per_trace.shape) == (3, 9)
    one_sided = volume.mean(axis=2)  # "more is more anomalous" ranks it nowhere near first
    assert np.unravel_index(np.argmax(one_sided), one_sided.shape) != (3, 9)
    # the robust scale: the noise (std 0.05) reads as about 1 away from the dead trace
    clean = contrast[:, :5]
    assert 0.5 < float(np.median(clean)) / 0.6745 < 1.5


def test_missing_traces_are_ignored():
    volume = _section(1)
    live = np.ones(volume.shape[:2], dtype=bool)
    live[2, 4:7] = False
    garbage = volume.copy()
    garbage[2, 4:7] = 1e6  # whatever sits at a missing trace
    with_missing = lateral_contrast(garbage, live, radius=2)
    assert np.isnan(with_missing[2, 4:7]).all()
    nan_filled = volume.copy()
    nan_filled[2, 4:7] = np.nan
    np.testing.assert_array_equal(with_missing, lateral_contrast(nan_filled, live, radius=2))
    assert np.isfinite(with_missing[live]).all() and float(np.nanmax(with_missing)) < 10


def test_deterministic():
    volume, live = _section(2), np.ones((6, 20), dtype=bool)
    np.testing.assert_array_equal(lateral_contrast(volume, live), lateral_contrast(volume, live))


def test_the_chunked_contrast_equals_the_whole_volume_one():
    import dask.array as da

    volume = _section(3)
    volume[2, 11] *= 0.1
    live = np.ones(volume.shape[:2], dtype=bool)
    live[4, 3:6] = False
    whole = lateral_contrast(volume, live, radius=3)
    chunked = da.from_array(volume, chunks=(2, 7, 20))
    lazy = lazy_lateral_contrast(chunked, live, radius=3, samples=10**9)  # every sample
    assert lazy.chunks == chunked.chunks
    np.testing.assert_allclose(lazy.compute(), whole, rtol=1e-5, equal_nan=True)
    trusted = np.ones(volume.shape, dtype=bool)
    trusted[2, 11, :30] = False  # e.g. samples only patches with fill values cover
    whole = lateral_contrast(volume, live, radius=3, trusted=trusted)
    assert (whole[2, 11, :30] == 0).all() and whole[2, 11, 30:].min() > 0
    lazy = lazy_lateral_contrast(chunked, live, radius=3, samples=10**9,
                                 trusted=da.from_array(trusted, chunks=(3, 5, 16)))  # fmt: skip
    np.testing.assert_allclose(lazy.compute(), whole, rtol=1e-5, equal_nan=True)


def test_chunks_stitching_their_own_halo_equal_the_overlapped_contrast():
    """``sourced_lateral_contrast`` of a patch table's stitched score (each chunk stitching
    its halo) equals ``lazy_lateral_contrast`` of the stitched layer (halos from the
    neighbouring chunks): untrusted samples next to a missing trace, the scale from a
    subset of chunks and the volume edges included."""
    import dask.array as da

    from seisflow.infer.contrast import sourced_lateral_contrast
    from seisflow.infer.score import PatchTable
    from seisflow.infer.stitch import complete_coverage, reduce_first, stitch, stitched_source
    from seisflow.ingest.patches import PatchSpec, positions

    shape, chunks = (14, 17, 40), ((5, 5, 4), (6, 6, 5), (16, 16, 8))
    live = np.ones(shape[:2], bool)
    live[6, 2:4] = False
    spec = PatchSpec(size=8, axis="inline", stride=4)
    where = positions(spec, live, samples=(0, shape[2]), complete=False)
    rng = np.random.default_rng(7)
    table = PatchTable(where, np.zeros((len(where), 0)), rng.normal(size=len(where)), spec)
    patch = stitch(table, chunks, reduce_first, values=table.anomaly[:, None], live=live,
                   dtype=np.float32)  # fmt: skip
    trusted = complete_coverage(table, shape, chunks, live)
    assert not trusted.compute()[live].all()  # some live samples only incomplete patches cover
    for samples, signed in ((10**9, False), (2000, True)):  # every chunk, or a seeded few
        expected = lazy_lateral_contrast(patch, live, radius=3, trusted=trusted,
                                         samples=samples, signed=signed).compute()  # fmt: skip
        source = stitched_source(table, table.anomaly, live)
        values, sure = source([(0, n) for n in shape])  # the stitched score, trusted samples
        np.testing.assert_array_equal(values, patch.compute())
        np.testing.assert_array_equal(sure, trusted.compute())
        for slab in (256, 5):  # a chunk at once, or a few samples at a time
            got = sourced_lateral_contrast(source, shape, chunks, live, radius=3,
                                           samples=samples, signed=signed, slab=slab)  # fmt: skip
            assert isinstance(got, da.Array) and got.chunks == chunks
            np.testing.assert_array_equal(got.compute(), expected)
