"""An anomaly layer on a seismic section, its strongest anomalies ringed and ranked.

The section view an interpreter checks a map's alarms on: the inline's seismic (time
downwards), the anomaly layer over it with an opacity that grows with the score (the
background stays readable), and the ``n`` strongest anomalies of that inline ringed and
numbered, picked by :func:`~seisflow.viz.ranking.top_anomalies` on the inline alone (a
separation in crosslines and in time, so one body is one ring).
"""

from __future__ import annotations

import matplotlib.patheffects as pe
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes

from seisflow.viz._survey import vertical_dim
from seisflow.viz.ranking import top_anomalies
from seisflow.viz.seismic import overlay, section, section_extent

__all__ = ["anomaly_section"]


def anomaly_section(
    ax: Axes,
    ds: xr.Dataset,
    *,
    inline: int,
    n: int = 5,
    min_separation_ms: float = 40.0,
    layer: str = "anomaly",
    colour: str = "cyan",
) -> pd.DataFrame:
    """Draw inline ``inline`` with ``layer`` over it and its ``n`` top anomalies ringed.

    Args:
        ax: Axes to draw into.
        ds: A survey with the layer (higher = more anomalous; NaN where no trace).
        inline: The inline number.
        n: How many anomalies to ring.
        min_separation_ms: Vertical distance (ms, or m in depth) between two rings at one
            trace (the horizontal one is :func:`top_anomalies`' default).
        layer: The layer to draw and rank.
        colour: Colour of the rings and ranks.

    Returns:
        The ringed anomalies, as :func:`top_anomalies` lists them (``rank`` 1 strongest).

    Raises:
        KeyError: When ``inline`` is not a line of the survey.
    """
    dim = vertical_dim(ds)
    line = ds.sel(inline=[inline])
    table = top_anomalies(line, n, min_separation_ms=min_separation_ms, layer=layer)
    crosslines, times = ds.crossline.values, ds[dim].values
    label = f"{dim} ({'m' if dim == 'depth' else 'ms'})"
    section(ax, line.amplitude.values[0], traces=crosslines, times_ms=times,
            vertical_label=label, title=f"inline {inline}: {layer}, top {n} ranked")  # fmt: skip
    values = np.asarray(line[layer].values[0], dtype=np.float64).T  # (time, crossline)
    finite = values[np.isfinite(values)]
    low, high = np.percentile(finite, [50, 99.5]) if finite.size else (0.0, 1.0)
    name = line[layer].attrs.get("long_name", layer)
    overlay(ax, values, extent=section_extent(crosslines, times), vmin=float(low),
            vmax=float(high), alpha=0.8, label=name)  # fmt: skip
    if len(table):
        ax.scatter(table["crossline"], table[dim], s=110, facecolors="none", edgecolors=colour,
                   linewidths=1.8, zorder=3)  # fmt: skip
        halo = [pe.withStroke(linewidth=2.5, foreground="black")]
        for rank, row in table.iterrows():
            ax.annotate(str(rank), (row["crossline"], row[dim]), xytext=(6, 6),
                        textcoords="offset points", color=colour, fontweight="bold",
                        fontsize="small", path_effects=halo, zorder=4)  # fmt: skip
    return table
