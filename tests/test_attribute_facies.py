"""The attribute facies baseline: k-means and a Gaussian mixture on standard attributes."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from seisflow.errors import ConfigError
from seisflow.infer.attribute_facies import attribute_facies


def _two_units(seed: int = 0) -> xr.Dataset:
    """An upper unit of weak, low-frequency continuous reflections over a lower unit of
    strong, high-frequency ones (both with a little noise); one missing trace."""
    rng = np.random.default_rng(seed)
    t = np.arange(160)
    upper = 1.0 * np.cos(2 * np.pi * 0.04 * t)
    lower = 4.0 * np.cos(2 * np.pi * 0.2 * t)
    trace = np.where(t < 80, upper, lower)
    amplitude = trace * np.ones((8, 10, 1)) + 0.05 * rng.standard_normal((8, 10, 160))
    live = np.ones((8, 10), dtype=bool)
    live[3, 4] = False
    amplitude[~live] = 0.0
    return xr.Dataset(
        {"amplitude": (("inline", "crossline", "time"),
                       da.from_array(amplitude.astype(np.float32), chunks=(4, 5, 80))),
         "trace_mask": (("inline", "crossline"), da.from_array(live, chunks=(4, 5)))},
        coords={"inline": np.arange(8), "crossline": np.arange(10), "time": t * 4.0},
    )  # fmt: skip


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_two_planted_units_are_separated(method):
    survey = _two_units()
    lazy = attribute_facies(survey, k=2, method=method, seed=0, fit_samples=5000)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.int16
    labels = lazy.compute()
    assert (labels[3, 4] == -1).all()  # the missing trace
    live = survey.trace_mask.values
    upper, lower = labels[live][:, 12:68], labels[live][:, 92:148]  # away from the contact
    assert len(np.unique(upper)) == len(np.unique(lower)) == 1
    assert upper[0, 0] != lower[0, 0]
    again = attribute_facies(survey, k=2, method=method, seed=0, fit_samples=5000).compute()
    np.testing.assert_array_equal(labels, again)  # deterministic for a seed


def test_the_chunked_smoothing_is_the_box_mean_over_live_samples():
    from seisflow.infer.per_sample import box_mean

    rng = np.random.default_rng(2)
    values = rng.standard_normal((8, 10, 30, 4)).astype(np.float32)
    live = np.ones((8, 10), dtype=bool)
    live[3, 4] = live[0, 0] = False
    values[~live] = np.nan
    values[5, 5, 7, 2] = np.nan  # an undefined attribute at a live sample (the others alike)
    lazy = box_mean(da.from_array(values, chunks=(3, 4, 30, 4)), (2, 3)).compute()
    expected = np.full(values.shape, np.nan, dtype=np.float32)
    for i, j, t, f in np.ndindex(values.shape):
        if live[i, j]:
            box = values[max(i - 2, 0) : i + 3, max(j - 2, 0) : j + 3, max(t - 3, 0) : t + 4, f]
            expected[i, j, t, f] = np.nanmean(box)
    np.testing.assert_allclose(lazy, expected, rtol=1e-5, atol=1e-6, equal_nan=True)


def test_smoothing_keeps_the_two_units_apart():
    survey = _two_units(1)
    labels = attribute_facies(survey, k=2, seed=0, fit_samples=5000, smooth=(2, 6)).compute()
    assert (labels[3, 4] == -1).all()
    live = survey.trace_mask.values
    upper, lower = labels[live][:, 12:68], labels[live][:, 92:148]
    assert len(np.unique(upper)) == len(np.unique(lower)) == 1
    assert upper[0, 0] != lower[0, 0]


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError, match="choose kmeans or gmm"):
        attribute_facies(_two_units(), k=2, method="dbscan")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="k=0"):
        attribute_facies(_two_units(), k=0)
    with pytest.raises(ConfigError, match=r"smooth=\(-1, 2\)"):
        attribute_facies(_two_units(), k=2, smooth=(-1, 2))
