"""Map views in X/Y (metres in the survey CRS) and the ranked anomalies.

Maps are drawn with ``pcolormesh`` on the bin corners given by the store's affine
(``spatial:transform``), so a rotated survey is drawn rotated, with equal aspect, axes
labelled ``X (m) EPSG:xxxx`` / ``Y (m) EPSG:xxxx``, plain (not offset) tick labels and a
grid-north arrow (north is +Y in a projected CRS). :func:`top_anomalies` ranks the
anomaly layer's peaks with non-maximum suppression, so the top N are N separate bodies, not
N neighbouring samples of one; :func:`anomaly_map` draws them numbered on the anomaly map.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps
from matplotlib import patheffects as pe
from matplotlib.axes import Axes
from matplotlib.collections import QuadMesh
from matplotlib.colors import BoundaryNorm, Colormap, ListedColormap
from matplotlib.text import Annotation
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from seisflow.viz._survey import (
    UNITS,
    bin_spacing,
    crs_code,
    grid_xy,
    sample_index,
    transform,
    vertical_dim,
)
from seisflow.viz.seismic import NO_TRACE_COLOUR, add_legend, category_colours, symmetric_clip

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = ["anomaly_map", "map_view", "mark_anomalies", "north_arrow", "top_anomalies"]

#: Colour of bins without a trace on continuous (non-seismic) maps: a grey none of the
#: sequential maps (magma, viridis) contains.
MAP_NO_TRACE_COLOUR = "#D0D0D0"

#: Default separation of ranked anomalies, in bins.
SEPARATION_BINS = 5.0

TimeSelection = float | tuple[float, float] | None


def map_view(
    ax: Axes,
    ds: xr.Dataset,
    values: np.ndarray,
    *,
    cmap: str | Colormap = "viridis",
    vmin: float | None = None,
    vmax: float | None = None,
    symmetric: bool = False,
    clip_percentile: float = 99.0,
    meanings: Sequence[str] | None = None,
    colours: Sequence[str] | None = None,
    label: str | None = None,
    colorbar: bool = True,
    north: bool = True,
    title: str | None = None,
) -> QuadMesh:
    """Draw one value per bin ``(n_inline, n_crossline)`` at its true X/Y.

    Args:
        ax: Axes to draw into.
        ds: The survey (for its grid, affine and CRS).
        values: ``(n_inline, n_crossline)``: a time slice, an attribute map, facies codes.
        cmap: Colour map of continuous values.
        vmin, vmax: Colour limits (default: the 2nd and 98th percentiles).
        symmetric: Seismic amplitude: limits +/- the ``clip_percentile`` of ``|values|``.
        clip_percentile: Percentile of the symmetric clip.
        meanings: Draw ``values`` as category codes with these names (negatives blank)
            and a legend instead of a colour bar.
        colours: Colour of each category (the layer's ``colors`` attribute).
        label: Colour bar label.
        colorbar: Add a colour bar (continuous values).
        north: Draw a grid-north arrow.
        title: Optional title.

    Returns:
        The mesh.

    Raises:
        ValueError: When ``values`` is not on the survey's inline x crossline grid.
    """
    values = np.asarray(values)
    shape = (ds.sizes["inline"], ds.sizes["crossline"])
    if values.shape != shape:
        raise ValueError(
            f"map values have shape {values.shape}, the survey grid is (inline, crossline) "
            f"= {shape}"
        )
    x, y = grid_xy(ds, corners=True)
    if meanings is not None:
        n = len(meanings)
        palette = category_colours(n, colours)
        codes = np.ma.masked_where(values < 0, values)
        mesh = ax.pcolormesh(x, y, codes, cmap=ListedColormap(palette),
                             norm=BoundaryNorm(np.arange(-0.5, n), n), shading="flat")  # fmt: skip
        add_legend(ax, meanings, codes=values, colours=palette)
    else:
        data = np.ma.masked_invalid(values.astype(np.float64))
        if symmetric:
            clip = symmetric_clip(values, clip_percentile)
            vmin, vmax = -clip, clip
        elif data.count():
            low, high = np.percentile(data.compressed(), [2, 98])
            vmin = float(low) if vmin is None else vmin
            vmax = float(high) if vmax is None else vmax
        base = colormaps[cmap] if isinstance(cmap, str) else cmap
        bad = NO_TRACE_COLOUR if symmetric else MAP_NO_TRACE_COLOUR
        mesh = ax.pcolormesh(x, y, data, cmap=base.with_extremes(bad=bad), vmin=vmin,
                             vmax=vmax, shading="flat")  # fmt: skip
        if colorbar and ax.figure is not None:
            ax.figure.colorbar(mesh, ax=ax, label=label, shrink=0.8)
    _map_axes(ax, ds)
    if north:
        north_arrow(ax)
    if title:
        ax.set_title(title)
    return mesh


def _map_axes(ax: Axes, ds: xr.Dataset) -> None:
    """Equal aspect, axis labels in the CRS, plain tick labels (no offset)."""
    code = crs_code(ds)
    suffix = f" {code}" if code else ""
    ax.set_aspect("equal")
    ax.set_xlabel(f"X (m){suffix}")
    ax.set_ylabel(f"Y (m){suffix}")
    for axis in (ax.xaxis, ax.yaxis):  # few, whole-metre, plain (no offset) coordinates
        axis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
        axis.set_major_formatter(StrMethodFormatter("{x:.0f}"))


def north_arrow(
    ax: Axes, *, x: float = 0.93, y: float = 0.78, length: float = 0.1, label: str = "N"
) -> Annotation:
    """A grid-north arrow (pointing up, +Y) in axes fraction, ``label`` above its head.

    Args:
        ax: A map in a projected CRS (X east, Y north, equal aspect).
        x, y: Foot of the arrow, in axes fraction.
        length: Arrow length, in axes fraction.
        label: Text above the arrow head.

    Returns:
        The arrow (its text is ``label``).
    """
    halo = [pe.withStroke(linewidth=3, foreground="white")]
    return ax.annotate(
        label,
        xy=(x, y),
        xytext=(x, y + length),
        xycoords="axes fraction",
        textcoords="axes fraction",
        ha="center",
        va="bottom",
        fontweight="bold",
        path_effects=halo,
        arrowprops={"arrowstyle": "<|-,head_width=0.35,head_length=0.7", "color": "black",
                    "lw": 2, "path_effects": halo, "shrinkA": 1, "shrinkB": 0},
    )  # fmt: skip


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

    values = _layer(ds, layer)
    dim = vertical_dim(ds)
    window = _window(ds, time)
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


def mark_anomalies(ax: Axes, table: pd.DataFrame, *, colour: str = "cyan") -> None:
    """Ring and number (by rank) the anomalies of :func:`top_anomalies` on a map."""
    if not len(table):
        return
    ax.scatter(table["x"], table["y"], s=90, facecolors="none", edgecolors=colour,
               linewidths=1.8, zorder=3)  # fmt: skip
    halo = [pe.withStroke(linewidth=2.5, foreground="black")]
    for rank, row in table.iterrows():
        ax.annotate(str(rank), (row["x"], row["y"]), xytext=(6, 6), textcoords="offset points",
                    color=colour, fontweight="bold", fontsize="small", path_effects=halo,
                    zorder=4)  # fmt: skip


def anomaly_map(
    ax: Axes,
    ds: xr.Dataset,
    *,
    time: TimeSelection = None,
    n: int = 10,
    min_separation: float | None = None,
    layer: str = "anomaly",
    cmap: str | Colormap = "magma",
    colorbar: bool = True,
    title: str | None = None,
) -> QuadMesh:
    """Map the anomaly layer in X/Y with its top ``n`` anomalies ringed and numbered.

    Args:
        ax: Axes to draw into.
        ds: A survey with an anomaly layer.
        time: A time (ms) for that slice, a ``(first, last)`` window for the maximum over
            it, or None for the maximum over the whole trace.
        n: Anomalies to mark (0 for none); numbered as :func:`top_anomalies` ranks them.
        min_separation: Horizontal distance (m) between marked anomalies (default five bins).
        layer: The layer to draw.
        cmap: Colour map (bright = anomalous), from the median (the background, dark) to the
            maximum, so no anomaly saturates.
        colorbar: Add a colour bar.
        title: Title (default: what is drawn and when).

    Returns:
        The mesh.

    Raises:
        ValueError: When the layer is missing or ``time`` is outside the survey.
    """
    values = _layer(ds, layer)
    dim = vertical_dim(ds)
    unit = UNITS.get(dim, "")
    window = _window(ds, time)
    samples = np.asarray(ds[dim].values)[window]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN traces (no trace)
        plane = np.asarray(values.isel({dim: window}).max(dim).values)
    if title is None:
        if time is None:
            title = f"{layer}: maximum over each trace"
        elif samples.size == 1:
            title = f"{layer} at {samples[0]:g} {unit}"
        else:
            title = f"{layer}: maximum over {samples[0]:g}-{samples[-1]:g} {unit}"
    units = values.attrs.get("units")
    label = str(values.attrs.get("long_name", layer)) + (f" ({units})" if units else "")
    finite = plane[np.isfinite(plane)]
    low, high = (float(np.median(finite)), float(finite.max())) if finite.size else (0.0, 1.0)
    mesh = map_view(ax, ds, plane, cmap=cmap, vmin=low, vmax=max(high, low + 1e-12),
                    label=label, colorbar=colorbar, title=title)  # fmt: skip
    if n > 0:
        table = top_anomalies(ds, n, time=time, min_separation=min_separation, layer=layer)
        mark_anomalies(ax, table)
    return mesh


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


def _layer(ds: xr.Dataset, layer: str) -> xr.DataArray:
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


def _window(ds: xr.Dataset, time: TimeSelection) -> slice:
    """Sample indices of one time, a ``(first, last)`` window or everything."""
    if time is None:
        return slice(None)
    if isinstance(time, tuple | list):
        first, last = sorted(float(t) for t in time)
        start, stop = sample_index(ds, first), sample_index(ds, last)
        return slice(start, stop + 1)
    k = sample_index(ds, float(time))
    return slice(k, k + 1)
