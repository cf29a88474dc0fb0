"""Whole figures of a survey: its sections and slice with the ground truth, and its maps.

Unlike the other drawing functions, these build a ``matplotlib.figure.Figure`` of several
panels (object API, no pyplot state) and return it; the caller saves it
(``fig.savefig(path)``). :func:`survey_overview` draws an inline, a crossline and a time
slice of a cube, alone and with the synthetic truth's facies and anomalies;
:func:`map_overview` draws the mapped layers of a survey store: an inline with the facies
overlay, the facies and the anomaly time slices in X/Y.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from seisflow.viz.maps import anomaly_map, map_view
from seisflow.viz.seismic import categorical, section, section_extent, slice_extent, time_slice

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["map_overview", "survey_overview"]


def survey_overview(
    cube: np.ndarray, truth: xr.Dataset, *, inline: int, crossline: int, time_ms: float
) -> Figure:
    """Sections and a slice of ``cube``, alone (top row) and with the truth (bottom row).

    The top row holds inline ``inline``, crossline ``crossline`` and the time slice at
    ``time_ms``; the bottom row the inline with its true facies, the inline with its true
    anomaly kinds and the time slice with its true facies on the live traces.

    Args:
        cube: ``(inline, crossline, time)`` amplitudes on the truth's grid.
        truth: The synthetic ground truth (``seisflow synth``'s ``*.truth.zarr``): the
            ``inline``, ``crossline`` and ``time`` coordinates, the ``facies`` and
            ``anomaly_kind`` codes (with their CF ``flag_meanings``) and the ``live`` mask.
        inline: Inline number of the inline sections.
        crossline: Crossline number of the crossline section.
        time_ms: Time (ms) of the time slices.

    Returns:
        A new 18 x 10 inch figure of six panels (2 rows, 3 columns).
    """
    il = int(np.searchsorted(truth.inline.values, inline))
    xl = int(np.searchsorted(truth.crossline.values, crossline))
    k = int(np.searchsorted(truth.time.values, time_ms))
    inlines, crosslines = truth.inline.values, truth.crossline.values
    times = truth.time.values
    facies = truth.facies.values
    kinds = truth.anomaly_kind.values
    facies_names = truth.facies.attrs["flag_meanings"].split()
    kind_names = truth.anomaly_kind.attrs["flag_meanings"].split()
    fig = Figure(figsize=(18, 10), layout="constrained")
    axes = fig.subplots(2, 3)
    section(
        axes[0, 1],
        cube[:, xl],
        traces=inlines,
        times_ms=times,
        trace_label="inline",
        title=f"crossline {crossline}",
    )
    for row, column in ((0, 0), (1, 0), (1, 1)):
        section(
            axes[row, column],
            cube[il],
            traces=crosslines,
            times_ms=times,
            title=f"inline {inline}",
        )
    for row in range(2):
        time_slice(
            axes[row, 2],
            cube[:, :, k],
            inlines=inlines,
            crosslines=crosslines,
            title=f"time slice {time_ms:g} ms",
        )
    extent = section_extent(crosslines, times)
    categorical(axes[1, 0], facies[il].T, meanings=facies_names, extent=extent)
    categorical(axes[1, 1], kinds[il].T, meanings=kind_names, skip=[0], extent=extent, alpha=0.6)
    live = truth.live.values
    categorical(
        axes[1, 2],
        np.where(live, facies[:, :, k], -1),
        meanings=facies_names,
        extent=slice_extent(inlines, crosslines),
        origin="lower",
    )
    axes[1, 0].set_title(f"inline {inline}: true facies")
    axes[1, 1].set_title(f"inline {inline}: true anomalies")
    axes[1, 2].set_title(f"time slice {time_ms:g} ms: true facies (live traces)")
    return fig


def map_overview(dataset: xr.Dataset, *, inline: int, time_ms: float) -> Figure:
    """The inline with the facies overlay, the facies and anomaly time slices in X/Y.

    The anomaly map rings and numbers the five strongest anomalies of the slice.

    Args:
        dataset: An opened survey store (:func:`seisflow.ingest.open_survey`) holding the
            ``facies`` layer (with its CF ``flag_meanings`` and optionally ``colors``) and
            the ``anomaly`` layer (``seisflow map``).
        inline: Inline number of the section.
        time_ms: Time (ms) of the time slices.

    Returns:
        A new 18 x 6 inch figure of three panels (and the anomaly map's colour bar).
    """
    il = int(np.searchsorted(dataset.inline.values, inline))
    k = int(np.searchsorted(dataset.time.values, time_ms))
    crosslines, times = dataset.crossline.values, dataset.time.values
    facies = dataset.facies.values
    names = dataset.facies.attrs["flag_meanings"].split()
    fig = Figure(figsize=(18, 6), layout="constrained")
    axes = fig.subplots(1, 3)
    section(axes[0], dataset.amplitude.values[il], traces=crosslines, times_ms=times,
            title=f"inline {inline}: facies (topics) over the seismic")  # fmt: skip
    categorical(axes[0], facies[il].T, meanings=names,
                extent=section_extent(crosslines, times), alpha=0.45)  # fmt: skip
    map_view(axes[1], dataset, facies[:, :, k], meanings=names,
             colours=dataset.facies.attrs.get("colors"),
             title=f"time slice {time_ms:g} ms: facies in X/Y")  # fmt: skip
    anomaly_map(axes[2], dataset, time=time_ms, n=5,
                title=f"time slice {time_ms:g} ms: anomaly, top 5 ranked")  # fmt: skip
    return fig
