"""An anisotropic Potts regulariser for facies maps, solved by Iterated Conditional Modes.

Before the arg-max, the per-sample class costs ``c_s(k)`` (e.g. ``-log p(k | s)``) are
regularised by a Potts prior on the 6-neighbourhood of each sample ``s``; the labels ``x``
minimise (locally) the energy

    E(x) = sum_s c_s(x_s) + beta * sum_{s ~ n} w_sn [x_s != x_n],

with ``w = lateral`` for the 4 neighbours along axes 0 and 1 (along reflectors in flat-lying
data) and ``w = vertical`` for the 2 along axis 2 (time), so ``lateral > vertical`` favours
laterally continuous facies. ICM (Besag) starts from ``argmin_k c_s(k)`` and sets each sample
to the minimiser of its local energy ``c_s(k) + beta * sum_n w_sn [x_n != k]`` given its
neighbours, one colour of a 3-D checkerboard at a time: same-coloured samples are never
neighbours, so each half-sweep is an exact coordinate descent, E never increases and a label
changes only on a strict decrease. The confidence is the local posterior
``softmax_k(-(c_s(k) + beta * sum_n w_sn [x_n != k]))`` at the chosen label. Samples of
invalid traces are not updated, do not count as neighbours and are returned as -1 (NaN).

References:
    Besag, J. (1986). On the statistical analysis of dirty pictures. JRSS B 48(3), 259-302.
    Potts, R. B. (1952). Some generalized order-disorder transformations. Proc. Camb. Phil.
    Soc. 48(1), 106-109.
"""

from __future__ import annotations

import dask.array as da
import numpy as np

from seisflow.errors import ConfigError

__all__ = ["confidence", "icm", "icm_dask"]


def _check(*, beta: float, lateral: float, vertical: float, sweeps: int = 1) -> None:
    for name, value in (("beta", beta), ("lateral", lateral), ("vertical", vertical)):
        if not (np.isfinite(value) and value >= 0):
            raise ConfigError(f"potts {name} = {value!r}: use a finite number >= 0")
    if isinstance(sweeps, bool) or not isinstance(sweeps, int | np.integer) or sweeps < 1:
        raise ConfigError(f"potts sweeps = {sweeps!r}: use an integer >= 1")


def _costs(costs: np.ndarray | da.Array) -> np.ndarray | da.Array:
    ok = costs.ndim == 4 and 1 <= costs.shape[3] <= np.iinfo(np.int16).max
    if not (ok and np.issubdtype(costs.dtype, np.floating)):
        raise ConfigError(f"potts costs of shape {costs.shape} and dtype {costs.dtype}: "
                          "use float costs of shape (I, J, T, K)")  # fmt: skip
    return costs


def _valid(valid: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    valid = np.asarray(valid)
    if valid.shape != shape[:2] or valid.dtype != bool:
        raise ConfigError(f"potts valid of shape {valid.shape} and dtype {valid.dtype}: "
                          f"use a bool mask of shape {shape[:2]}")  # fmt: skip
    return valid


def _energy(costs: np.ndarray, labels: np.ndarray, beta: float, w: tuple) -> np.ndarray:
    """``(I, J, T, K)`` local energies ``c_s(k) - beta * sum_n w_n [x_n == k]``: the Potts
    term up to a per-sample constant (the weight of the valid neighbours); labels -1 (invalid)
    are no neighbours."""
    onehot = np.pad(labels[..., None] == np.arange(costs.shape[3]), [(1, 1)] * 3 + [(0, 0)])
    on = onehot.astype(costs.dtype)
    agree = w[0] * (on[:-2, 1:-1, 1:-1] + on[2:, 1:-1, 1:-1])
    agree += w[0] * (on[1:-1, :-2, 1:-1] + on[1:-1, 2:, 1:-1])
    agree += w[1] * (on[1:-1, 1:-1, :-2] + on[1:-1, 1:-1, 2:])
    return costs - beta * agree


def _icm(costs: np.ndarray, live: np.ndarray, colour: np.ndarray, *, beta: float, w: tuple,
         sweeps: int) -> np.ndarray:  # fmt: skip
    labels = np.where(live, np.argmin(costs, axis=3), -1).astype(np.int16)
    for _ in range(sweeps):
        changed = False
        for c in (0, 1):
            energy = _energy(costs, labels, beta, w)
            best = np.argmin(energy, axis=3)
            now = np.take_along_axis(energy, np.maximum(labels, 0)[..., None], 3)[..., 0]
            move = live & (colour == c) & (np.min(energy, axis=3) < now)
            labels[move] = best[move]
            changed |= bool(move.any())
        if not changed:  # a fixed point of the sweep: further sweeps change nothing
            break
    return labels


def icm(costs: np.ndarray, *, beta: float, lateral: float = 1.0, vertical: float = 0.5,
        sweeps: int = 5, valid: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """ICM labels ``(I, J, T)`` int16 of the Potts energy on float ``costs`` ``(I, J, T, K)``,
    at most ``sweeps`` sweeps (each one half-sweep per checkerboard colour, colour
    ``(i + j + t) % 2``; stops when a sweep changes nothing); -1 at traces where ``valid``
    (bool ``(I, J)``, None = all) is False."""
    _check(beta=beta, lateral=lateral, vertical=vertical, sweeps=sweeps)
    costs = _costs(np.asarray(costs))
    valid = np.ones(costs.shape[:2], bool) if valid is None else valid
    valid = _valid(valid, costs.shape)
    live = np.broadcast_to(valid[:, :, None], costs.shape[:3])
    colour = np.indices(costs.shape[:3]).sum(axis=0) % 2
    return _icm(costs, live, colour, beta=beta, w=(lateral, vertical), sweeps=sweeps)


def confidence(costs: np.ndarray, labels: np.ndarray, *, beta: float, lateral: float = 1.0,
               vertical: float = 0.5) -> np.ndarray:  # fmt: skip
    """The regularised local posterior ``(I, J, T)`` float32 of ``labels`` (int ``(I, J, T)``,
    -1 = invalid): ``softmax_k(-(costs[..., k] + beta * sum_n w_n [x_n != k]))`` at the
    label; NaN where the label is -1."""
    _check(beta=beta, lateral=lateral, vertical=vertical)
    costs, labels = _costs(np.asarray(costs)), np.asarray(labels)
    if labels.shape != costs.shape[:3]:
        raise ConfigError(f"potts labels of shape {labels.shape}: use {costs.shape[:3]}")
    energy = _energy(costs, labels, beta, (lateral, vertical))
    energy = energy - np.min(energy, axis=3, keepdims=True)
    with np.errstate(invalid="ignore"):  # NaN costs at invalid traces
        mine = np.take_along_axis(energy, np.maximum(labels, 0)[..., None], 3)[..., 0]
        post = np.exp(-mine) / np.sum(np.exp(-energy), axis=3)
    return np.where(labels >= 0, post, np.nan).astype(np.float32)


def icm_dask(costs: da.Array, *, beta: float, lateral: float = 1.0, vertical: float = 0.5,
             sweeps: int = 5, valid: np.ndarray) -> tuple[da.Array, da.Array]:  # fmt: skip
    """:func:`icm` and :func:`confidence` chunk by chunk: lazy (labels int16, confidence
    float32), both ``(I, J, T)``, equal to the whole-volume results. A half-sweep moves
    information one sample, so a halo of ``2 * sweeps`` samples per spatial axis keeps each
    chunk's interior exact (the confidence adds a halo of 1 on the final labels)."""
    _check(beta=beta, lateral=lateral, vertical=vertical, sweeps=sweeps)
    valid = _valid(valid, _costs(costs).shape)
    costs = costs.rechunk({3: -1})
    halo = 2 * sweeps
    small = {ax: -1 for ax in range(3) if costs.shape[ax] <= halo}
    costs = costs.rechunk(small) if small else costs
    depth = {ax: 0 if ax in small else halo for ax in range(3)} | {3: 0}
    # the global colour and validity travel as a last channel: 0/1 colour, -1 invalid
    i, j, t = (da.arange(costs.shape[ax], chunks=costs.chunks[ax]) for ax in range(3))
    code = (i[:, None, None] + j[None, :, None] + t[None, None, :]) % 2
    live = da.from_array(valid, chunks=costs.chunks[:2])[:, :, None]
    code = da.where(live, code, -1).astype(costs.dtype)[..., None]
    w, meta = (lateral, vertical), np.empty((0, 0, 0), np.int16)

    def block_icm(block: np.ndarray) -> np.ndarray:
        code = block[..., -1]
        return _icm(block[..., :-1], code >= 0, code, beta=beta, w=w, sweeps=sweeps)

    def block_confidence(block: np.ndarray) -> np.ndarray:
        return confidence(block[..., :-1], block[..., -1].astype(np.int16), beta=beta,
                          lateral=lateral, vertical=vertical)  # fmt: skip

    labels = da.map_overlap(block_icm, da.concatenate([costs, code], axis=3), depth=depth,
                            boundary="none", drop_axis=3, dtype=np.int16, meta=meta)  # fmt: skip
    both = da.concatenate([costs, labels.astype(costs.dtype)[..., None]], axis=3)
    one = {ax: 0 if ax in small else 1 for ax in range(3)} | {3: 0}
    conf = da.map_overlap(block_confidence, both, depth=one, boundary="none", drop_axis=3,
                          dtype=np.float32, meta=np.empty((0, 0, 0), np.float32))  # fmt: skip
    return labels, conf
