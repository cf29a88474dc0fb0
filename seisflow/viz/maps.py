"""Map views in X/Y (metres in the survey CRS), with the ranked anomalies marked.

Maps are drawn with ``pcolormesh`` on the bin corners given by the store's affine
(``spatial:transform``), so a rotated survey is drawn rotated, with equal aspect, axes
labelled ``X (m) EPSG:xxxx`` / ``Y (m) EPSG:xxxx``, plain (not offset) tick labels and a
grid-north arrow (north is +Y in a projected CRS). :func:`anomaly_map` draws the anomaly
layer with the peaks :func:`seisflow.viz.ranking.top_anomalies` ranks numbered on it.
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
    crs_code,
    grid_xy,
    vertical_dim,
)
from seisflow.viz.ranking import TimeSelection, survey_layer, time_window, top_anomalies
from seisflow.viz.seismic import (
    SEQUENTIAL_NO_TRACE_COLOUR,
    add_legend,
    category_colours,
    colour_scale,
)

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

__all__ = ["anomaly_map", "map_view", "mark_anomalies", "north_arrow"]

#: Colour of bins without a trace on continuous (non-seismic) maps: a grey none of the
#: sequential maps (magma, viridis) contains.
MAP_NO_TRACE_COLOUR = SEQUENTIAL_NO_TRACE_COLOUR


def map_view(
    ax: Axes,
    ds: xr.Dataset,
    values: np.ndarray,
    *,
    cmap: str | Colormap | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
    symmetric: bool = False,
    clip_percentile: float = 99.0,
    meanings: Sequence[str] | None = None,
    colours: Sequence[str] | None = None,
    label: str | None = None,
    colorbar: bool | None = None,
    north: bool = True,
    title: str | None = None,
) -> QuadMesh:
    """Draw one value per bin ``(n_inline, n_crossline)`` at its true X/Y.

    Args:
        ax: Axes to draw into.
        ds: The survey (for its grid, affine and CRS).
        values: ``(n_inline, n_crossline)``: a time slice, an attribute map, facies codes.
        cmap: Colour map of continuous values (default ``viridis``; ``Greys`` with
            ``symmetric``).
        vmin, vmax: Colour limits (default: the 2nd and 98th percentiles).
        symmetric: Seismic amplitude: limits +/- the ``clip_percentile`` of ``|values|``;
            values that are never negative (a velocity cube ingested as amplitude) are
            drawn sequential instead (:func:`~seisflow.viz.seismic.colour_scale`).
        clip_percentile: Percentile of the symmetric clip.
        meanings: Draw ``values`` as category codes with these names (negatives blank)
            and a legend instead of a colour bar.
        colours: Colour of each category (the layer's ``colors`` attribute).
        label: Colour bar label.
        colorbar: Add a colour bar (continuous values; default: yes, but for a symmetric
            seismic clip).
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
            scale = colour_scale(values, clip_percentile=clip_percentile, cmap=cmap)
            base, vmin, vmax = scale.cmap, scale.vmin, scale.vmax
            colorbar = scale.sequential if colorbar is None else colorbar
        else:
            if data.count():
                low, high = np.percentile(data.compressed(), [2, 98])
                vmin = float(low) if vmin is None else vmin
                vmax = float(high) if vmax is None else vmax
            base = colormaps[cmap or "viridis"] if not isinstance(cmap, Colormap) else cmap
            base = base.with_extremes(bad=MAP_NO_TRACE_COLOUR)
        mesh = ax.pcolormesh(x, y, data, cmap=base, vmin=vmin, vmax=vmax, shading="flat")
        if colorbar is not False and ax.figure is not None:
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
    values = survey_layer(ds, layer)
    dim = vertical_dim(ds)
    unit = UNITS.get(dim, "")
    window = time_window(ds, time)
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
