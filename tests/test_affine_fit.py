"""The grid's affine fit (:func:`seisflow.ingest.georef.fit_affine`) against a least-squares
solve over every point (``numpy.linalg.lstsq`` on the whole design matrix)."""

from __future__ import annotations

import numpy as np
import pytest

import seisflow.ingest.georef as georef
from seisflow.ingest.georef import fit_affine


def _whole(x: np.ndarray, y: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, float]:
    """The reference: one least-squares solve over every point at once."""
    i, j = np.nonzero(where)
    design = np.column_stack([j, i, np.ones_like(i)]).astype(np.float64)
    (a, b, c), *_ = np.linalg.lstsq(design, x[where], rcond=None)
    (d, e, f), *_ = np.linalg.lstsq(design, y[where], rcond=None)
    rms = np.sqrt(
        np.mean((a * j + b * i + c - x[where]) ** 2 + (d * j + e * i + f - y[where]) ** 2)
    )
    return np.array([a, b, c, d, e, f]), float(rms)


@pytest.mark.parametrize("block", [1 << 18, 7])  # one block, or a few inlines at a time
def test_the_blockwise_fit_is_the_least_squares_fit_over_every_trace(monkeypatch, block):
    """A rotated UTM grid with jittered positions and missing traces: the same coefficients
    and residual, to rounding, whether the products are summed in one block or many."""
    monkeypatch.setattr(georef, "_FIT_POINTS", block)
    rng = np.random.default_rng(11)
    i, j = np.meshgrid(np.arange(23), np.arange(31), indexing="ij")
    angle = np.deg2rad(28.0)
    x = 605_000.0 + 12.5 * np.cos(angle) * j - 25.0 * np.sin(angle) * i + rng.normal(0, 2, i.shape)
    y = (
        6_078_000.0
        + 12.5 * np.sin(angle) * j
        + 25.0 * np.cos(angle) * i
        + rng.normal(0, 2, i.shape)
    )
    where = rng.random(i.shape) > 0.2
    x[~where], y[~where] = np.nan, np.nan  # missing traces hold no coordinates
    affine = fit_affine(x, y, where)
    expected, rms = _whole(x, y, where)
    np.testing.assert_allclose(affine.coefficients, expected, rtol=1e-9, atol=1e-8)
    assert affine.rms_residual == pytest.approx(rms, rel=1e-9)


def test_a_2d_line_takes_no_inline_slope():
    """All points on inline 0: the inline slopes are undetermined and the fit takes them as
    0 (the minimum-norm solution, as the whole-design least squares does)."""
    j = np.arange(40, dtype=np.float64)
    x, y = (1000.0 + 3.0 * j)[None], (500.0 - 4.0 * j)[None]
    affine = fit_affine(x, y, np.ones((1, 40), bool))
    expected, _ = _whole(x, y, np.ones((1, 40), bool))
    np.testing.assert_allclose(affine.coefficients, expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(affine.coefficients, [3.0, 0.0, 1000.0, -4.0, 0.0, 500.0],
                               atol=1e-9)  # fmt: skip
    assert affine.rms_residual == pytest.approx(0.0, abs=1e-9)


def test_no_points_give_a_zero_affine():
    empty = np.full((3, 4), np.nan)
    affine = fit_affine(empty, empty, np.zeros((3, 4), bool))
    assert affine.coefficients == (0.0,) * 6 and affine.rms_residual == 0.0
