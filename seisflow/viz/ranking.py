"""The strongest anomalies of a layer, ranked and located (no drawing).

:func:`top_anomalies` ranks the anomaly layer's peaks with non-maximum suppression, so the
top N are N separate bodies, not N neighbouring samples of one, each located in lines,
time and projected X/Y (the store's affine, ``spatial:transform``).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from seisflow.viz._survey import bin_spacing, grid_xy, sample_index, transform, vertical_dim

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = ["SEPARATION_BINS", "TimeSelection", "survey_layer", "time_window", "top_anomalies"]

#: Default separation of ranked anomalies, in bins.
SEPARATION_BINS = 5.0

#: A time (ms; depth in m) for one slice, a ``(first, last)`` window, or None for all.
TimeSelection = float | tuple[float, float] | None


def top_anomalies(
    ds: xr.Dataset,
    n: int = 10,
    *,
    time: TimeSelection = None,
    min_separation: float | None = None,
    min_separation_ms: float | None = None,
    layer: str = "anomaly",
) -> pd.DataFrame:
    """The ``n`` strongest anomalies, ranked, each located in lines, time and X/Y.

    Peaks are picked greedily (non-maximum suppression): the highest sample is taken, every
    sample within ``min_separation`` metres horizontally (and, when ``min_separation_ms``
    is given, within that many ms vertically) is dropped, and so on. Without
    ``min_separation_ms`` the whole trace is dropped, so each row is a separate place on
    the map. A peak must also be the highest sample within that distance (a local maximum
    at that scale), so the flank of a strong body is never listed as a weaker anomaly.

    Without ``min_separation_ms`` only the per-trace maximum map is held in memory (Dask
    reduces the layer chunk by chunk); with it, the (windowed) layer is read whole: narrow
    it with ``time`` on a large survey.

    Args:
        ds: A survey with an anomaly layer (higher = more anomalous; NaN where no trace).
        n: How many to return (fewer when the layer runs out of samples).
        time: A time (ms; depth in m) for one slice, a ``(first, last)`` window, or None
            for the whole trace.
        min_separation: Horizontal distance (m) between reported anomalies; default five
            bins.
        min_separation_ms: Vertical distance (ms or m) between anomalies at one place;
            None: one anomaly per place.
        layer: The layer to rank.

    Returns:
        A DataFrame indexed by ``rank`` (1 = strongest) with columns ``inline``,
        ``crossline``, ``time`` (``depth`` for a depth survey), ``x``, ``y`` (m, in the
        store's CRS), ``score`` and, ranking an ``anomaly`` layer mapped with its
        ``anomaly_hint``, ``hint`` (``amplitude_high``, ``amplitude_low``, ``incoherent``).

    Raises:
        ValueError: When the layer is missing or ``time`` is outside the survey.
    """
    import pandas as pd
    import xarray as xr

    values = survey_layer(ds, layer)
    dim = vertical_dim(ds)
    window = time_window(ds, time)
    cube = values.isel({dim: window})
    samples = np.asarray(ds[dim].values)[window]
    x, y = grid_xy(ds)
    if min_separation is None:
        min_separation = SEPARATION_BINS * float(np.mean(bin_spacing(ds)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if min_separation_ms is None:  # reduce each trace to its peak first (lazy, light)
            filled = cube.fillna(-np.inf)
            scores = np.asarray(filled.max(dim).values, dtype=np.float64)[..., None]
            where = np.asarray(filled.argmax(dim).values)[..., None]
        else:
            scores = np.asarray(cube.fillna(-np.inf).values, dtype=np.float64)
            where = np.broadcast_to(np.arange(scores.shape[2]), scores.shape)
    scores = np.where(np.isfinite(scores), scores, -np.inf)
    a, b, _, d, e, _ = transform(ds)
    step = float(samples[1] - samples[0]) if samples.size > 1 else 1.0
    vertical = None if min_separation_ms is None else abs(min_separation_ms / step)
    offsets = _footprint((a, b, d, e), min_separation, vertical if scores.shape[2] > 1 else None)
    candidates = np.flatnonzero(_local_maxima(scores, offsets))
    candidates = candidates[np.argsort(-scores.ravel()[candidates], kind="stable")]
    inlines, crosslines = np.asarray(ds.inline.values), np.asarray(ds.crossline.values)
    rows: list[dict[str, float]] = []
    taken: list[tuple[float, float, float]] = []
    for flat in candidates:
        if len(rows) == n:
            break
        i, j, k = np.unravel_index(flat, scores.shape)
        t = float(samples[int(where[i, j, k])])
        if any(
            (x[i, j] - px) ** 2 + (y[i, j] - py) ** 2 < min_separation**2
            and (min_separation_ms is None or abs(t - pt) < min_separation_ms)
            for px, py, pt in taken
        ):
            continue  # a lower peak of an anomaly already listed
        taken.append((x[i, j], y[i, j], t))
        rows.append({"inline": int(inlines[i]), "crossline": int(crosslines[j]), dim: t,
                     "x": float(x[i, j]), "y": float(y[i, j]),
                     "score": float(scores[i, j, k])})  # fmt: skip
    table = pd.DataFrame(rows, columns=["inline", "crossline", dim, "x", "y", "score"])
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    if layer == "anomaly" and "anomaly_hint" in ds.data_vars:
        at = {name: xr.DataArray(table[name].to_numpy()) for name in ("inline", "crossline", dim)}
        meanings = ds.anomaly_hint.attrs["flag_meanings"].split()
        table["hint"] = [meanings[c] for c in ds.anomaly_hint.sel(at).values.astype(int)]
    return table


def _footprint(
    affine: tuple[float, float, float, float], radius: float, vertical: float | None
) -> list[tuple[int, int, int]]:
    """Index offsets ``(di, dj, dk)`` closer than ``radius`` m horizontally (on the grid of
    ``affine`` = ``(a, b, d, e)``) and ``vertical`` samples vertically (None: 0 only)."""
    a, b, d, e = affine
    reach_i = int(np.ceil(radius / max(float(np.hypot(b, e)), 1e-9)))
    reach_j = int(np.ceil(radius / max(float(np.hypot(a, d)), 1e-9)))
    reach_k = int(np.ceil(vertical)) if vertical else 0
    offsets = []
    for di in range(-reach_i, reach_i + 1):
        for dj in range(-reach_j, reach_j + 1):
            if (a * dj + b * di) ** 2 + (d * dj + e * di) ** 2 >= radius**2:
                continue
            for dk in range(-reach_k, reach_k + 1):
                if (di, dj, dk) != (0, 0, 0) and (vertical is None or abs(dk) < vertical):
                    offsets.append((di, dj, dk))
    return offsets


def _local_maxima(scores: np.ndarray, offsets: list[tuple[int, int, int]]) -> np.ndarray:
    """Finite samples at least as high as every neighbour at ``offsets`` (a plateau keeps
    each of its samples; the separation test then keeps one)."""
    peak = np.isfinite(scores)
    for offset in offsets:
        source = tuple(
            slice(max(o, 0), n + min(o, 0)) for o, n in zip(offset, scores.shape, strict=True)
        )
        target = tuple(
            slice(max(-o, 0), n + min(-o, 0)) for o, n in zip(offset, scores.shape, strict=True)
        )
        peak[target] &= scores[target] >= scores[source]
    return peak


def survey_layer(ds: xr.Dataset, layer: str) -> xr.DataArray:
    """The layer ``layer`` on the amplitude grid, or a ValueError naming what there is."""
    if layer not in ds.data_vars:
        found = ", ".join(str(v) for v in ds.data_vars) or "none"
        raise ValueError(
            f"the survey has no {layer} layer (layers: {found}): map one with seisflow map"
        )
    values = ds[layer]
    if values.dims[:2] != ("inline", "crossline") or values.ndim != 3:
        raise ValueError(
            f"{layer} has dims {values.dims}, not (inline, crossline, {vertical_dim(ds)})"
        )
    return values


def time_window(ds: xr.Dataset, time: TimeSelection) -> slice:
    """Sample indices of one time, a ``(first, last)`` window or everything."""
    if time is None:
        return slice(None)
    if isinstance(time, tuple | list):
        first, last = sorted(float(t) for t in time)
        start, stop = sample_index(ds, first), sample_index(ds, last)
        return slice(start, stop + 1)
    k = sample_index(ds, float(time))
    return slice(k, k + 1)
