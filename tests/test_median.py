"""The lateral median (:mod:`seisflow.infer.median`) against a brute-force nanmedian."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seisflow.infer.median import lateral_median


def brute_force(values: np.ndarray, wanted: np.ndarray, radius: int) -> np.ndarray:
    """:func:`numpy.nanmedian` of the neighbours of every wanted trace, in ``values``'
    precision, as float32; NaN elsewhere."""
    pad = ((radius, radius), (radius, radius), (0, 0))
    padded = np.pad(np.where(np.isfinite(values), values, np.nan), pad, constant_values=np.nan)
    expected = np.full(values.shape, np.nan, np.float32)
    for i, j in zip(*np.nonzero(wanted), strict=True):
        near = padded[i : i + 2 * radius + 1, j : j + 2 * radius + 1].reshape(-1, values.shape[2])
        finite = np.isfinite(near).any(axis=0)
        expected[i, j, finite] = np.nanmedian(near[:, finite], axis=0)
    return expected


@pytest.mark.parametrize("case", ["all live", "a missing trace", "centres only"])
def test_lateral_median_equals_nanmedian_of_the_neighbours(case):
    """Brute force at every wanted sample: runs of repeated time slices (computed once),
    partial neighbourhoods at the edges and around a missing trace, and full ones where the
    wanted traces have neighbours on every side."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(9, 8, 12)).astype(np.float32)
    values[..., 4:8] = values[..., 4:5]  # a run of four equal slices
    values[..., 9] = values[..., 8]
    live = np.ones((9, 8), bool)
    if case == "a missing trace":
        live[4, 3] = False
        values[4, 3] = np.nan
    wanted = live.copy()
    if case == "centres only":  # as a block with a halo asks: medians of its own traces
        wanted[:] = False
        wanted[2:7, 2:6] = True
    radius = 2
    expected = brute_force(values, wanted, radius)
    np.testing.assert_array_equal(lateral_median(values, wanted, radius), expected)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4)),
    radius=st.integers(0, 13),
    dtype=st.sampled_from([np.float32, np.float64]),
    levels=st.sampled_from([None, 3]),
    seed=st.integers(0, 2**16),
)
def test_lateral_median_property(shape, radius, dtype, levels, seed):
    """Any grid, radius (also wider than the grid), precision, ties (values on ``levels``
    levels), missing samples (NaN, inf) and traces, and choice of wanted traces."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=shape).astype(dtype)
    if levels is not None:
        values = np.round(values * levels / 3).astype(dtype)
    values[rng.random(shape) < 0.15] = np.nan
    values[rng.random(shape) < 0.05] = np.inf
    values[rng.random(shape[:2]) < 0.2] = np.nan
    wanted = rng.random(shape[:2]) < 0.7
    expected = brute_force(values, wanted, radius)
    np.testing.assert_array_equal(lateral_median(values, wanted, radius), expected)
