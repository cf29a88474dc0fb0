"""The compiled sums of patch values over regions equal, bit for bit, a sample-by-sample
brute force that adds the patches in table order (what the numpy stitching did)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seisflow.infer import patch_sums
from seisflow.infer.patch_sums import PatchSums, complete_patches, footprints, grid_sums
from seisflow.infer.score import PatchTable
from seisflow.infer.stitch import chunk_mean
from seisflow.ingest.patches import PatchSpec, positions


def _brute_sums(
    foot: np.ndarray, axes: np.ndarray, values: np.ndarray, live: np.ndarray,
    location: list[tuple[int, int]],
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Each patch in order, each sample of its footprint: the value of the field cell the
    sample falls in (rows along time, columns along the patch's traces) added in float64."""
    (a0, a1), (b0, b1), (c0, c1) = location
    fields = values[:, :, None, None] if values.ndim == 2 else values
    total = np.zeros((2, a1 - a0, b1 - b0, c1 - c0, fields.shape[1]))
    count = np.zeros(total.shape[:4], dtype=np.int32)
    rows, columns = fields.shape[2:]
    for f, axis, field in zip(foot, axes, fields, strict=True):
        kind = int(not live[f[0] : f[1], f[2] : f[3]].all())
        traces = (f[2], f[3]) if axis == 0 else (f[0], f[1])
        for a in range(f[0], f[1]):
            for b in range(f[2], f[3]):
                trace = (b if axis == 0 else a) - traces[0]
                column = trace // ((traces[1] - traces[0]) // columns)
                for c in range(f[4], f[5]):
                    if a0 <= a < a1 and b0 <= b < b1 and c0 <= c < c1:
                        row = (c - f[4]) // ((f[5] - f[4]) // rows)
                        at = (kind, a - a0, b - b0, c - c0)
                        total[at] += field[:, row, column].astype(np.float64)
                        count[at] += 1
    return total, count


@st.composite
def _cases(draw: st.DrawFn) -> tuple[PatchTable, np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """A tiling of a small grid with missing traces, values of one dtype (per patch or a
    field over it) and a region of the grid."""
    size = draw(st.sampled_from([2, 4, 6]))
    stride = draw(st.integers(1, size))
    axis = draw(st.sampled_from(["inline", "crossline", "both"]))
    depth = draw(st.sampled_from([None, 1, 3]))
    spec = PatchSpec(size=size, axis=axis, stride=stride, depth3d=depth)
    shape = tuple(draw(st.integers(size + 2, 13)) for _ in range(3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    live = rng.random(shape[:2]) > draw(st.sampled_from([0.0, 0.1, 0.4]))
    where = positions(spec, live, samples=(0, shape[2]), complete=False)
    dtype = draw(st.sampled_from([np.float16, np.float32, np.float64]))
    values = rng.normal(size=(len(where), draw(st.integers(1, 3)))).astype(dtype)
    if draw(st.booleans()):  # a field of 2 x 2 or 1 x 2 cells over each patch
        rows = draw(st.sampled_from([1, 2] if size % 2 == 0 else [1]))
        cells = rng.normal(size=(*values.shape, rows, 2 if size % 2 == 0 else 1))
        values = cells.astype(dtype)
    table = PatchTable(where, np.zeros((len(where), 1), np.float32), np.zeros(len(where)), spec)
    starts = [draw(st.integers(0, n - 1)) for n in shape]
    location = [(s, draw(st.integers(s + 1, n))) for s, n in zip(starts, shape, strict=True)]
    return table, values, live, location


@settings(max_examples=60, deadline=None)
@given(case=_cases())
def test_patch_sums_equal_the_brute_force_exactly(case):
    table, values, live, location = case
    spec = table.spec
    foot = footprints(table.positions, size=spec.size, depth=spec.channels)
    complete = complete_patches(table.positions, size=spec.size, depth=spec.channels, live=live)
    sums = PatchSums(positions=table.positions, size=spec.size, depth=spec.channels,
                     complete=complete, values=values)  # fmt: skip
    total, count = sums(location)
    want_total, want_count = _brute_sums(foot, table.positions[:, 0], values, live, location)
    np.testing.assert_array_equal(count, want_count)
    np.testing.assert_array_equal(total, want_total)
    (a0, a1), (b0, b1), (c0, c1) = location
    met = (foot[:, 0] < a1) & (foot[:, 1] > a0) & (foot[:, 2] < b1) & (foot[:, 3] > b0)
    met &= (foot[:, 4] < c1) & (foot[:, 5] > c0)
    np.testing.assert_array_equal(sums.overlapping(location), np.flatnonzero(met))


@settings(max_examples=40, deadline=None)
@given(case=_cases(), steps=st.tuples(*[st.integers(1, 5)] * 3), first=st.integers(0, 4))
def test_grid_sums_are_the_region_sums_at_the_grid_points(case, steps, first):
    table, values, live, _ = case
    if values.ndim == 4:  # one value per patch on the grid
        values = values[:, :, 0, 0]
    spec = table.spec
    shape = (*live.shape, int(table.positions[:, 3].max()) + spec.size)
    points = tuple(np.arange(min(first, n - 1), n, s) for n, s in zip(shape, steps, strict=True))
    complete = complete_patches(table.positions, size=spec.size, depth=spec.channels, live=live)
    total, count = grid_sums(table.positions, size=spec.size, depth=spec.channels,
                             complete=complete, values=values, points=points)  # fmt: skip
    sums = PatchSums(positions=table.positions, size=spec.size, depth=spec.channels,
                     complete=complete, values=values)  # fmt: skip
    dense_total, dense_count = sums([(0, n) for n in shape])
    at = np.ix_(*points)
    np.testing.assert_array_equal(count, dense_count[:, at[0], at[1], at[2]])
    np.testing.assert_array_equal(total, dense_total[:, at[0], at[1], at[2]])


@settings(max_examples=30, deadline=None)
@given(case=_cases(), slab=st.integers(1, 5))
def test_chunk_mean_a_few_samples_at_a_time_is_the_mean_of_the_whole_region_sums(case, slab):
    table, values, live, location = case
    spec = table.spec
    complete = complete_patches(table.positions, size=spec.size, depth=spec.channels, live=live)
    sums = PatchSums(positions=table.positions, size=spec.size, depth=spec.channels,
                     complete=complete, values=values)  # fmt: skip
    total, count = sums(location)
    first = count[0] > 0  # complete patches first, the others where none covers a sample
    total, count = np.where(first[..., None], total[0], total[1]), np.where(first, *count)
    (a0, a1), (b0, b1), _ = location
    mean, covered, complete = chunk_mean(table, values, live, slab=slab)(location)
    np.testing.assert_array_equal(covered, (count > 0) & live[a0:a1, b0:b1, None])
    np.testing.assert_array_equal(complete, first & live[a0:a1, b0:b1, None])
    np.testing.assert_array_equal(mean, total / np.maximum(count, 1)[..., None])
    single, *_ = chunk_mean(table, values, live, slab=slab, dtype=np.float32)(location)
    assert single.dtype == np.float32
    np.testing.assert_array_equal(single, mean.astype(np.float32))


@pytest.mark.parametrize("rows", [1 << 16, 7])  # one block of patches, or many
def test_complete_patches_are_those_over_live_traces_only(rows, monkeypatch):
    monkeypatch.setattr(patch_sums, "_ROWS", rows)
    rng = np.random.default_rng(3)
    live = rng.random((11, 12)) > 0.15
    spec = PatchSpec(size=4, axis="both", stride=1, depth3d=2)
    where = positions(spec, live, samples=(0, 8), complete=False)
    foot = footprints(where, size=spec.size, depth=spec.channels)
    want = [live[f[0] : f[1], f[2] : f[3]].all() for f in foot]
    assert 0 < sum(want) < len(want)
    got = complete_patches(where, size=spec.size, depth=spec.channels, live=live.astype(np.uint8))
    np.testing.assert_array_equal(got, want)


def test_chunk_mean_of_an_empty_table_covers_nothing():
    spec = PatchSpec(size=4, axis="inline", stride=2)
    table = PatchTable(np.zeros((0, 4), np.int64), np.zeros((0, 2), np.float32), np.zeros(0),
                       spec)  # fmt: skip
    mean_of = chunk_mean(table, table.proportions, np.ones((5, 6), bool))
    mean, covered, complete = mean_of([(0, 5), (1, 6), (0, 3)])
    assert mean.shape == (5, 5, 3, 2) and not (covered.any() or complete.any() or mean.any())


def test_patch_sums_hold_five_bytes_a_patch_and_the_cell_bounds():
    spec = PatchSpec(size=4, axis="both", stride=2)
    live = np.ones((10, 13), bool)
    where = positions(spec, live, samples=(0, 9), complete=False)
    sums = PatchSums(positions=where, size=4, depth=1, complete=np.ones(len(where), bool),
                     values=np.zeros((len(where), 3)))  # fmt: skip
    cells = (where[:, 1].max() // 4 + 1) * (where[:, 2].max() // 4 + 1)
    assert sums.held_bytes() == 5 * len(where) + 8 * (cells + 1)
