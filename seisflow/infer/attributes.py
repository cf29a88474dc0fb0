"""Per-sample seismic QC attributes, chunk by chunk with Dask.

Features for the IsolationForest anomaly baseline (and later facies clustering), one float32
value per sample of ``amplitude``, NaN at missing traces. With ``x`` a trace,
``z = x + i h`` its analytic signal (``h`` the Hilbert transform along time) and
``sum_w`` a sum over a centred window of ``window`` samples:

* ``log_envelope``: ``log(e + floor)``, the envelope ``e = |z|``. ``floor`` is ``1e-3`` x
  the RMS amplitude of the live samples (``1e-12`` when that is 0), so a dead (all-zero)
  trace sits about 7 below its live neighbours. The RMS is the survey's, recorded by ingest,
  so the attribute does not depend on how the store is chunked (a dataset without it uses
  each chunk's).
* ``relative_envelope``: ``log_envelope`` minus its median over the
  ``(2 lateral + 1)^2`` traces around the sample at the same time (missing traces ignored):
  a local amplitude anomaly in natural-log units, 0 on a laterally uniform section.
* ``continuity_inline`` / ``continuity_crossline``: the mean, over the two neighbouring
  traces along the inline section (crosslines ``j -+ 1``) or the crossline section (inlines
  ``i -+ 1``), of the windowed normalised cross-correlation at zero lag
  ``sum_w(a b) / sqrt(sum_w(a^2) sum_w(b^2))``; neighbours that are missing or off the
  survey are skipped (NaN if none). Near 1 on continuous reflectors, near 0 across faults,
  noise and dead traces.
* ``frequency``: the envelope-weighted instantaneous frequency in cycles per sample,
  ``sum_w(x h' - h x') / (2 pi sum_w(x^2 + h^2))`` (Taner et al. 1979; Barnes 1993),
  discretised by the phase increments ``p_t = z[t+1] conj(z[t])`` (Barnes 1992):
  ``angle(sum_w(p_{t-1} + p_t)) / (2 pi)``. That is exact for a tone up to Nyquist, where
  the central difference for ``'`` would scale it by ``sin(2 pi f) / (2 pi f)`` (-9 % at
  0.12 cycles/sample). NaN where the window holds no energy.
* ``rms``: the windowed RMS amplitude ``sqrt(sum_w(x^2) / window)``, in the amplitude's
  units.

The trace mask, not the data, says which traces are missing; their samples (and any NaN of a
live trace) are taken as 0 for the Hilbert transform. Each Dask chunk holds whole traces
and a halo of ``max(lateral, 1)`` traces (the median needs ``lateral``, the continuity 1;
``log_envelope`` is per trace, so the two do not add up; less when fewer attributes are
asked for); edge chunks see only real neighbours. A task holds about 100 bytes per sample
of its chunk and halo (0.75 GB for 72 x 72 traces of 1500 samples). Windowed sums use
:func:`scipy.ndimage.uniform_filter1d` (reflected at trace ends); a window whose power is
below ``1e-10`` x its trace's mean power counts as silent (this absorbs the round-off of the
running sums).

References:
    Taner, Koehler, Sheriff. Complex seismic trace analysis. Geophysics 44(6), 1979.
    Bahorich, Farmer. 3-D seismic discontinuity for faults and stratigraphic features: the
    coherence cube. The Leading Edge 14(10), 1995.
    Barnes. The calculation of instantaneous frequency and instantaneous bandwidth.
    Geophysics 57(11), 1992.
    Barnes. Instantaneous spectral bandwidth and dominant frequency with applications to
    seismic reflection data. Geophysics 58(3), 1993.
    Marfurt, Kirlin, Farmer, Bahorich. 3-D seismic attributes using a semblance-based
    coherency algorithm. Geophysics 63(4), 1998.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import dask.array as da
import numpy as np
import xarray as xr
from scipy.ndimage import uniform_filter1d
from scipy.signal import hilbert

from seisflow.errors import ConfigError
from seisflow.infer.median import lateral_median

__all__ = ["ATTRIBUTES", "attributes", "block_attributes", "block_log_envelope", "survey_floor"]

#: The attributes :func:`attributes` can compute, in the order they are returned.
ATTRIBUTES: tuple[str, ...] = (
    "log_envelope",
    "relative_envelope",
    "continuity_inline",
    "continuity_crossline",
    "frequency",
    "rms",
)
_LONG_NAMES = {
    "log_envelope": "natural log of the envelope (instantaneous amplitude)",
    "relative_envelope": "log envelope minus its lateral median",
    "continuity_inline": "zero-lag correlation with the neighbouring traces of the inline",
    "continuity_crossline": "zero-lag correlation with the neighbouring traces of the crossline",
    "frequency": "envelope-weighted instantaneous frequency",
    "rms": "windowed RMS amplitude",
}
_UNITS = {"continuity_inline": "1", "continuity_crossline": "1", "frequency": "cycles/sample"}
_FLOOR = 1e-3  # log floor: this fraction of the RMS amplitude
_SILENT = 1e-10  # a window below this fraction of its trace's mean power holds no energy


def _check(names: Sequence[str], window: int, lateral: int, floor: float | None) -> None:
    """Raise :class:`ConfigError` for an unknown name or an invalid setting."""
    if isinstance(names, str) or not names:
        raise ConfigError(
            f"names={names!r}: pass a sequence of one or more of {', '.join(ATTRIBUTES)}"
        )
    unknown = [name for name in names if name not in ATTRIBUTES]
    if unknown:
        raise ConfigError(
            f"unknown attribute names {unknown!r}: choose from {', '.join(ATTRIBUTES)}"
        )
    if isinstance(window, bool) or not isinstance(window, int) or window < 1 or window % 2 == 0:
        raise ConfigError(
            f"window={window!r}: the time window must be an odd number of samples >= 1 "
            "(it is centred): use e.g. 11"
        )
    if isinstance(lateral, bool) or not isinstance(lateral, int) or lateral < 0:
        raise ConfigError(
            f"lateral={lateral!r}: the lateral median half-width must be an integer >= 0 "
            "(in traces): use e.g. 4"
        )
    if floor is not None and not (np.isfinite(floor) and floor > 0):
        raise ConfigError(f"floor={floor!r}: the log floor must be a finite number > 0 or None")


def _log_floor(rms: float) -> float:
    """``1e-3`` x the RMS amplitude, or ``1e-12`` when that is 0 (or undefined)."""
    floor = _FLOOR * float(rms)
    return floor if np.isfinite(floor) and floor > 0 else 1e-12


def _traces(block: np.ndarray, live: np.ndarray) -> np.ndarray:
    """float64 ``block`` with missing traces and non-finite samples taken as 0."""
    return np.where(live[..., None] & np.isfinite(block), block, 0).astype(np.float64)


def _block_floor(x: np.ndarray, live: np.ndarray) -> float:
    """The log floor from the RMS of the live samples of :func:`_traces` ``x``."""
    return _log_floor(np.sqrt(np.mean(np.square(x[live]))) if live.any() else 0.0)


def _continuity(
    x: np.ndarray, live: np.ndarray, power: np.ndarray, energy: np.ndarray, *, axis: int,
    window: int,
) -> np.ndarray:  # fmt: skip
    """Mean windowed zero-lag correlation with the (live) neighbours along ``axis`` (0 or 1)."""
    n = x.shape[axis]
    head = [slice(None)] * 3
    tail = [slice(None)] * 3
    head[axis], tail[axis] = slice(0, n - 1), slice(1, n)
    head_t, tail_t = tuple(head), tuple(tail)
    cross = uniform_filter1d(x[head_t] * x[tail_t], window, axis=-1)
    guard = _SILENT * np.sqrt(energy[head_t] * energy[tail_t]) + np.finfo(np.float64).tiny
    pair = cross / (np.sqrt(power[head_t] * power[tail_t]) + guard)
    both = (live[head_t[:2]] & live[tail_t[:2]])[..., None]
    pair = np.where(both, pair, 0.0)
    total = np.zeros(x.shape)
    count = np.zeros(live.shape)
    for side in (head_t, tail_t):  # the pair's correlation counts for both of its traces
        total[side] += pair
        count[side[:2]] += both[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count[..., None]
    return np.where((count > 0)[..., None], mean, np.nan).astype(np.float32)


def _frequency(z: np.ndarray, missing: np.ndarray, window: int) -> np.ndarray:
    """Envelope-weighted instantaneous frequency (cycles/sample) from the analytic signal."""
    turn = np.zeros(z.shape, dtype=np.complex128)  # p_{t-1} + p_t, p_t = z[t+1] conj(z[t])
    turn[..., :-1] = z[..., 1:] * np.conj(z[..., :-1])
    turn[..., 1:] += turn[..., :-1].copy()
    angle = np.arctan2(uniform_filter1d(turn.imag, window, axis=-1),
                       uniform_filter1d(turn.real, window, axis=-1))  # fmt: skip
    del turn
    weight = np.square(np.abs(z))
    silent = uniform_filter1d(weight, window, axis=-1) <= _SILENT * np.mean(
        weight, axis=-1, keepdims=True
    )
    return np.where(silent | missing, np.nan, angle / (2 * np.pi)).astype(np.float32)


def _compute(
    block: np.ndarray, live: np.ndarray, names: Sequence[str], window: int, lateral: int,
    floor: float | None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """The attributes ``names`` (float32) of one block (arguments checked)."""
    if block.ndim != 3 or live.shape != block.shape[:2]:
        raise ConfigError(
            f"block {block.shape} and live mask {live.shape} do not match: pass an "
            "(inline, crossline, time) block and its (inline, crossline) trace mask"
        )
    live = np.asarray(live, dtype=bool)
    x = _traces(block, live)
    z = hilbert(x, axis=-1)
    missing = ~live[..., None]
    out: dict[str, np.ndarray] = {}
    if {"log_envelope", "relative_envelope"} & set(names):
        if floor is None:
            floor = _block_floor(x, live)
        log_env = np.where(missing, np.nan, np.log(np.abs(z) + floor))
        if "relative_envelope" in names:
            rel = log_env - lateral_median(log_env, live, lateral)
            out["relative_envelope"] = rel.astype(np.float32)
        out["log_envelope"] = log_env.astype(np.float32)
        del log_env
    if {"continuity_inline", "continuity_crossline", "rms"} & set(names):
        power = np.maximum(uniform_filter1d(x * x, window, axis=-1), 0.0)
        if "rms" in names:
            out["rms"] = np.where(missing, np.nan, np.sqrt(power)).astype(np.float32)
        energy = np.mean(x * x, axis=-1, keepdims=True)
        for name, axis in (("continuity_inline", 1), ("continuity_crossline", 0)):
            if name in names:
                out[name] = _continuity(x, live, power, energy, axis=axis, window=window)
        del power
    if "frequency" in names:
        out["frequency"] = _frequency(z, missing, window)
    return {name: out[name] for name in names}


def block_attributes(
    block: np.ndarray, live: np.ndarray, *, window: int = 11, lateral: int = 4,
    floor: float | None = None,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Every attribute of :data:`ATTRIBUTES` on one block of whole traces (numpy only).

    Args:
        block: float ``(inline, crossline, time)``; the time axis holds whole traces.
        live: bool ``(inline, crossline)``, True where a trace was recorded.
        window: The centred time window of the continuity and the frequency, in samples (odd).
        lateral: Half-width, in traces, of the lateral median of ``relative_envelope``.
        floor: The floor added to the envelope before the log; None: ``1e-3`` x the RMS of
            the block's live samples (``1e-12`` if 0).

    Returns:
        ``{name: float32 array shaped like block}``, NaN at missing traces.

    Raises:
        ConfigError: For a bad setting or a mask that does not fit the block.
    """
    _check(ATTRIBUTES, window, lateral, floor)
    return _compute(np.asarray(block), np.asarray(live), ATTRIBUTES, window, lateral, floor)


def block_log_envelope(
    block: np.ndarray, live: np.ndarray, *, floor: float | None = None, slab: int = 16
) -> np.ndarray:
    """``log_envelope`` of one block of whole traces, ``slab`` inlines at a time (a few tens
    of MB of float64 and complex128 work arrays at once, not some 40 bytes per sample of the
    block): the same values as :func:`block_attributes`, the envelope being per trace.

    Args:
        block: float ``(inline, crossline, time)``; the time axis holds whole traces.
        live: bool ``(inline, crossline)``, True where a trace was recorded.
        floor: As for :func:`block_attributes` (None: from the whole block's live samples).
        slab: Inlines computed at once.

    Returns:
        float32 like ``block``, NaN at missing traces.
    """
    block, live = np.asarray(block), np.asarray(live, dtype=bool)
    if floor is None:
        floor = _block_floor(_traces(block, live), live)
    _check(("log_envelope",), 1, 0, floor)
    out = np.empty(block.shape, dtype=np.float32)
    for i in range(0, block.shape[0], slab):
        part = _compute(block[i : i + slab], live[i : i + slab], ("log_envelope",), 1, 0, floor)
        out[i : i + slab] = part["log_envelope"]
    return out


def survey_floor(dataset: xr.Dataset) -> float | None:
    """The log floor of ``dataset``'s envelope: ``1e-3`` x the RMS amplitude in its
    ``statistics`` attribute (written by ingest), or None without it."""
    rms = (dataset.attrs.get("statistics") or {}).get("rms")
    return None if rms is None else _log_floor(rms)


def _stacked(
    block: np.ndarray, live: np.ndarray, *, names: tuple[str, ...], window: int, lateral: int,
    floor: float | None,
) -> np.ndarray:  # fmt: skip
    """The attributes of one overlapped chunk, concatenated along time (one Dask task)."""
    result = _compute(block, live[..., 0], names, window, lateral, floor)
    return np.concatenate([result[name] for name in names], axis=-1)


def attributes(
    dataset: xr.Dataset, *, names: Sequence[str] = ATTRIBUTES, window: int = 11,
    lateral: int = 4, floor: float | None = None,
) -> xr.Dataset:  # fmt: skip
    """The QC attributes of a survey, as a lazy (Dask) Dataset; nothing is read until computed.

    The chunks get whole traces and a halo of neighbouring traces (``dask.array.overlap``,
    ``boundary="none"``); one task per chunk computes every attribute asked for.

    Args:
        dataset: A survey (:func:`seisflow.ingest.open_survey`, or a selection of one) with
            ``amplitude`` (inline, crossline, time|depth) and ``trace_mask``.
        names: The attributes to compute, from :data:`ATTRIBUTES`.
        window: The centred time window of the continuity and the frequency, in samples (odd).
        lateral: Half-width, in traces, of the lateral median of ``relative_envelope``.
        floor: The floor added to the envelope before the log; None: ``1e-3`` x the RMS
            amplitude in the dataset's ``statistics`` attribute (written by ingest). A dataset
            without it gets ``1e-3`` x the RMS of each chunk's live samples (halo included),
            so that values near the floor then depend a little on the chunking.

    Returns:
        One float32 variable per name, on the dims and coordinates of ``amplitude``, chunked
        as ``amplitude`` along inline and crossline (merged where a chunk is narrower than
        the halo) with whole traces.

    Raises:
        ConfigError: For an unknown name, a bad setting or a dataset without the variables.
    """
    _check(names, window, lateral, floor)
    names = tuple(dict.fromkeys(names))
    if "amplitude" not in dataset or "trace_mask" not in dataset:
        raise ConfigError(
            f"the dataset holds {', '.join(map(str, dataset.data_vars)) or 'no variables'}, "
            "not amplitude and trace_mask: open the survey with seisflow.ingest.open_survey"
        )
    amplitude, mask = dataset["amplitude"], dataset["trace_mask"]
    if amplitude.ndim != 3 or tuple(mask.dims) != tuple(amplitude.dims[:2]):
        raise ConfigError(
            f"amplitude {amplitude.dims} and trace_mask {mask.dims} do not fit: amplitude "
            "must be (inline, crossline, time) with trace_mask on its first two dims"
        )
    data = da.asarray(amplitude.data).rechunk({2: -1})
    live = da.asarray(mask.data).astype(bool).rechunk(data.chunks[:2])[..., None]
    floor = survey_floor(dataset) if floor is None else floor
    halo = max(lateral if "relative_envelope" in names else 0,
               1 if {"continuity_inline", "continuity_crossline"} & set(names) else 0)  # fmt: skip
    depth = {0: halo, 1: halo, 2: 0}
    data, live = (da.overlap.overlap(a, depth=depth, boundary="none", allow_rechunk=True)
                  for a in (data, live))  # fmt: skip
    nt = data.shape[2]
    stacked = da.map_blocks(
        partial(_stacked, names=names, window=window, lateral=lateral, floor=floor),
        data, live, chunks=(*data.chunks[:2], (nt * len(names),)), dtype=np.float32,
        meta=np.empty((0, 0, 0), np.float32),
    )  # fmt: skip
    stacked = da.overlap.trim_internal(stacked, depth, boundary="none")
    variables = {}
    for k, name in enumerate(names):
        attrs = {"long_name": _LONG_NAMES[name]}
        if name in _UNITS:
            attrs["units"] = _UNITS[name]
        variables[name] = xr.DataArray(
            stacked[:, :, k * nt : (k + 1) * nt], dims=amplitude.dims, coords=amplitude.coords,
            attrs=attrs,
        )  # fmt: skip
    return xr.Dataset(variables, attrs={"window": window, "lateral": lateral})
