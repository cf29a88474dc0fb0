"""Sections of 2-D lines: traces labelled by CDP, the line by its name, and an axis of the
true distance along the line.

A 2-D line is stored as one inline whose crosslines are CDP numbers
(:mod:`seisflow.ingest.lines`). Its section is drawn against the CDPs (bottom axis, labelled
``CDP``), titled by the line's name when the text header gives one, and given a second,
top axis of the distance (m) from the first trace measured trace to trace through the CDP
X/Y: on a crooked line that is the length a geologist walks, longer than the straight line
between the ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes

from seisflow.ingest.lines import along_line_distance, is_2d, line_name, trace_label

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes._secondary_axes import SecondaryAxis

__all__ = ["distance_axis", "line_title", "section_labels"]

MIN_LENGTH_M = 1e-6  # a line shorter than this has no distance axis


def line_title(ds: xr.Dataset) -> str:
    """``2-D line L31`` (the name from the text header), or ``2-D line`` without one."""
    name = line_name(str(ds.attrs.get("text_header", "")))
    return f"2-D line {name}" if name else "2-D line"


def section_labels(ds: xr.Dataset, dim: str, number: int) -> tuple[str, str]:
    """The horizontal axis label and the title of the section along ``dim`` = ``number``:
    ``("CDP", "2-D line L31")`` along a 2-D line, ``("crossline", "inline 7")`` on a 3-D
    survey."""
    along = "crossline" if dim == "inline" else "inline"
    if is_2d(ds.attrs) and dim == "inline":
        return trace_label(ds.attrs), line_title(ds)
    label = trace_label(ds.attrs) if dim == "crossline" and is_2d(ds.attrs) else None
    return along, f"{dim} {number}" if label is None else f"{label} {number}"


def distance_axis(ax: Axes, ds: xr.Dataset, traces: np.ndarray) -> SecondaryAxis | None:
    """Add a top axis of the distance (m) along the 2-D line of ``ds`` to a section drawn
    against its trace numbers ``traces``; None (nothing added) on a 3-D survey or a line
    whose traces all sit at one X/Y."""
    if not is_2d(ds.attrs):
        return None
    distance = along_line_distance(ds.cdp_x.values[0], ds.cdp_y.values[0])
    traces = np.asarray(traces, dtype=np.float64)
    if traces.size < 2 or not np.isfinite(distance[-1]) or distance[-1] < MIN_LENGTH_M:
        return None
    keep = np.concatenate([[True], np.diff(distance) > 0])  # invertible: strictly increasing

    def forward(t: np.ndarray) -> np.ndarray:
        return _linear(t, traces, distance)

    def inverse(d: np.ndarray) -> np.ndarray:
        return _linear(d, distance[keep], traces[keep])

    axis = ax.secondary_xaxis("top", functions=(forward, inverse))
    axis.set_xlabel("distance along the line (m)")
    return axis


def _linear(value: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """``np.interp`` extended linearly beyond both ends (axis limits reach half a trace
    past the first and last trace)."""
    value = np.asarray(value, dtype=np.float64)
    out = np.interp(value, xp, fp)
    if xp.size > 1:
        low = (fp[1] - fp[0]) / (xp[1] - xp[0])
        high = (fp[-1] - fp[-2]) / (xp[-1] - xp[-2])
        out = np.where(value < xp[0], fp[0] + (value - xp[0]) * low, out)
        out = np.where(value > xp[-1], fp[-1] + (value - xp[-1]) * high, out)
    return out
