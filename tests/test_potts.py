"""The Potts/ICM facies regulariser: exact labels on hand-made costs, a sample-by-sample
reference ICM, a hand-computed confidence, and chunked (dask) = whole-volume."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from seisflow.errors import ConfigError
from seisflow.infer.potts import confidence, icm, icm_dask

OFFSETS = [((-1, 0, 0), "lateral"), ((1, 0, 0), "lateral"), ((0, -1, 0), "lateral"),
           ((0, 1, 0), "lateral"), ((0, 0, -1), "vertical"), ((0, 0, 1), "vertical")]  # fmt: skip


def local_energy(costs, labels, s, *, beta, lateral, vertical):
    """``(K,)`` energies ``c_s(k) + beta * sum_n w_n [x_n != k]`` at sample ``s``, written
    straight from the definition (neighbours outside the volume or labelled -1 do not count)."""
    w = {"lateral": lateral, "vertical": vertical}
    energy = costs[s].astype(np.float64).copy()
    for offset, kind in OFFSETS:
        n = tuple(a + b for a, b in zip(s, offset, strict=True))
        if all(0 <= a < m for a, m in zip(n, labels.shape, strict=True)) and labels[n] >= 0:
            energy += beta * w[kind] * (np.arange(costs.shape[3]) != labels[n])
    return energy


def reference_icm(costs, *, beta, lateral, vertical, sweeps):
    """Sample-by-sample ICM: colour 0 then colour 1 of the checkerboard, in raster order,
    moving only on a strict decrease of the local energy."""
    labels = np.argmin(costs, axis=3).astype(np.int16)
    for _ in range(sweeps):
        for colour in (0, 1):
            for s in np.ndindex(labels.shape):
                if sum(s) % 2 == colour:
                    e = local_energy(costs, labels, s, beta=beta, lateral=lateral,
                                     vertical=vertical)  # fmt: skip
                    if e.min() < e[labels[s]]:
                        labels[s] = np.argmin(e)
    return labels


def two_class(classes):
    """Costs ``(..., 2)``: 0 for the class in ``classes`` (0 or 1), 1 for the other."""
    return np.stack([classes.astype(np.float64), 1.0 - classes], axis=-1)


@pytest.mark.parametrize(("beta", "removed"), [(0.05, False), (0.07, True), (1.0, True)])
def test_isolated_sample(beta, removed):
    costs = two_class(np.zeros((5, 5, 5)))
    costs[2, 2, 2] = [0.3, 0.0]  # class 1 by 0.3; neighbours weigh 4 x 1 + 2 x 0.5 = 5
    expected = np.zeros((5, 5, 5), np.int16)
    expected[2, 2, 2] = 0 if removed else 1
    out = icm(costs, beta=beta, lateral=1.0, vertical=0.5)
    assert out.dtype == np.int16
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(icm(costs, beta=0.0), np.argmin(costs, axis=3))


@pytest.mark.parametrize("sweeps", [1, 4])
def test_tie_keeps_label(sweeps):
    """A tie between the current label and another moves nothing (so ICM cannot cycle)."""
    costs = np.array([[[[0.5, 0.0]], [[0.0, 1.0]]]])  # (1, 2, 1, 2); sample 0: E = 0.5, 0.5
    out = icm(costs, beta=0.5, lateral=1.0, sweeps=sweeps)
    np.testing.assert_array_equal(out, [[[1], [0]]])


@pytest.mark.parametrize(("lateral", "vertical", "layer_kept"), [(1.0, 0.1, True),
                                                                 (0.1, 1.0, False)])  # fmt: skip
def test_anisotropy(lateral, vertical, layer_kept):
    """A one-sample layer (constant time) survives a strong lateral coupling and a one-trace
    column does not; swapping the weights swaps the outcome."""
    layer, column = np.zeros((5, 6, 7)), np.zeros((5, 6, 7))
    layer[:, :, 3] = column[2, 3, :] = 1
    for base, kept in ((layer, layer_kept), (column, not layer_kept)):
        costs = two_class(base)
        costs[base == 1] = [0.3, 0.0]  # class 1 by 0.3 on the structure
        out = icm(costs, beta=1.0, lateral=lateral, vertical=vertical, sweeps=5)
        np.testing.assert_array_equal(out, base if kept else np.zeros_like(base))


def test_planar_boundary_kept():
    shape, t0 = (6, 7, 30), 13
    expected = np.broadcast_to((np.arange(30) >= t0).astype(np.int16), shape)
    rng = np.random.default_rng(0)
    costs = two_class(expected) + rng.normal(0.0, 0.4, (*shape, 2))
    assert (np.argmin(costs, axis=3) != expected).sum() > 20  # noise flips some samples
    np.testing.assert_array_equal(icm(costs, beta=1.0, sweeps=5), expected)


def test_invalid_traces():
    """Two invalid traces strongly favour class 1 around a valid trace slightly favouring 0:
    as neighbours they would flip it; invalid, they are -1 and do not count."""
    costs = two_class(np.zeros((1, 3, 8)))
    costs[:, 1] = [0.0, 0.3]
    costs[:, [0, 2]] = [0.0, -10.0]
    valid = np.array([[False, True, False]])
    expected = np.full((1, 3, 8), -1, np.int16)
    expected[:, 1] = 0
    out = icm(costs, beta=1.0, valid=valid)
    np.testing.assert_array_equal(out, expected)
    assert (icm(costs, beta=1.0)[:, 1] == 1).all()  # counted, they would pull it
    conf = confidence(costs, out, beta=1.0)
    assert np.isnan(conf[:, [0, 2]]).all()
    np.testing.assert_allclose(conf[:, 1:2], confidence(costs[:, 1:2], out[:, 1:2], beta=1.0))
    costs[:, [0, 2]] = np.nan  # costs undefined at invalid traces: same labels
    np.testing.assert_array_equal(icm(costs, beta=1.0, valid=valid), expected)


@pytest.mark.parametrize("sweeps", [1, 2, 30])
def test_matches_sample_by_sample_icm(sweeps):
    rng = np.random.default_rng(1)
    costs = rng.normal(0.0, 1.0, (4, 5, 6, 3))
    settings = {"beta": 0.6, "lateral": 1.0, "vertical": 0.4}
    out = icm(costs, sweeps=sweeps, **settings)
    np.testing.assert_array_equal(out, reference_icm(costs, sweeps=sweeps, **settings))
    if sweeps == 30:  # converged: every sample is at its local minimum
        for s in np.ndindex(out.shape):
            assert np.argmin(local_energy(costs, out, s, **settings)) == out[s]


def test_confidence_by_hand():
    costs = np.zeros((3, 3, 3, 3))
    costs[1, 1, 1] = [0.2, 0.5, 1.0]
    labels = np.zeros((3, 3, 3), np.int16)
    labels[0, 1, 1], labels[1, 0, 1], labels[1, 1, 0] = 1, 2, 1  # two lateral, one vertical
    labels[1, 1, 1] = 1
    beta, lateral, vertical = 0.7, 1.2, 0.4
    # disagreeing weight (of 4 x 1.2 + 2 x 0.4 = 5.6) per class: 0 -> 5.6 - 2 x 1.2 - 0.4,
    # 1 -> 5.6 - 1.2 - 0.4, 2 -> 5.6 - 1.2; softmax(-[2.16, 3.3, 4.08])[1] = 0.218094
    energy = np.array([0.2 + beta * 2.8, 0.5 + beta * 4.0, 1.0 + beta * 4.4])
    expected = np.exp(-energy[1]) / np.exp(-energy).sum()
    out = confidence(costs, labels, beta=beta, lateral=lateral, vertical=vertical)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[1, 1, 1], expected, rtol=1e-6)
    rng = np.random.default_rng(2)
    costs, labels = rng.normal(size=(3, 4, 5, 3)), rng.integers(0, 3, (3, 4, 5))
    for s in [(0, 0, 0), (2, 3, 4), (1, 2, 2)]:
        e = local_energy(costs, labels, s, beta=beta, lateral=lateral, vertical=vertical)
        p = np.exp(-e) / np.exp(-e).sum()
        out = confidence(costs, labels, beta=beta, lateral=lateral, vertical=vertical)
        np.testing.assert_allclose(out[s], p[labels[s]], rtol=1e-6)


@pytest.mark.parametrize(
    ("shape", "chunks", "sweeps"),
    [((12, 13, 40, 3), (5, 6, 20, 2), 3), ((12, 13, 40, 3), (5, 6, 20, 3), 1),
     ((12, 13, 5, 3), (7, 4, 2, 3), 2), ((12, 13, 40, 3), (6, 7, 13, 3), 40)],
)  # fmt: skip
def test_chunked_equals_whole(shape, chunks, sweeps):
    rng = np.random.default_rng(3)
    costs = rng.normal(0.0, 1.0, shape).astype(np.float32)
    valid = rng.random(shape[:2]) > 0.15
    costs[~valid] = np.nan
    settings = {"beta": 0.8, "lateral": 1.0, "vertical": 0.5, "sweeps": sweeps}
    whole = icm(costs, valid=valid, **settings)
    assert (whole[valid] != np.argmin(costs, axis=3)[valid]).mean() > 0.05  # ICM moved
    labels, conf = icm_dask(da.from_array(costs, chunks=chunks), valid=valid, **settings)
    assert (labels.dtype, conf.dtype) == (np.int16, np.float32)
    labels, conf = da.compute(labels, conf)
    np.testing.assert_array_equal(labels, whole)
    settings.pop("sweeps")
    expected = confidence(costs, whole, **settings)
    np.testing.assert_allclose(conf, expected, rtol=1e-6, atol=0)
    assert np.isnan(conf[~valid]).all() and np.isfinite(conf[valid]).all()


@pytest.mark.parametrize(
    "bad",
    [{"beta": -0.1}, {"sweeps": 0}, {"sweeps": 2.5}, {"lateral": -1.0},
     {"vertical": float("nan")}, {"valid": np.ones((2, 2), bool)}],
)  # fmt: skip
def test_bad_settings(bad):
    costs = np.zeros((3, 4, 5, 2))
    settings = {"beta": 1.0, "lateral": 1.0, "vertical": 0.5, "sweeps": 2,
                "valid": np.ones((3, 4), bool)} | bad  # fmt: skip
    with pytest.raises(ConfigError, match=next(iter(bad))):
        icm(costs, **settings)
    with pytest.raises(ConfigError, match=next(iter(bad))):
        icm_dask(da.from_array(costs), **settings)
    if "sweeps" not in bad and "valid" not in bad:
        with pytest.raises(ConfigError, match=next(iter(bad))):
            confidence(costs, np.zeros((3, 4, 5), np.int16), beta=settings["beta"],
                       lateral=settings["lateral"], vertical=settings["vertical"])  # fmt: skip
    with pytest.raises(ConfigError, match="costs"):
        icm(np.zeros((3, 4, 5)), beta=1.0)
