"""Sections and time slices with seismic conventions, and categorical overlays.

Sections are drawn with time increasing downwards, a symmetric amplitude clip at a
percentile of ``|amplitude|`` (robust to spikes and noise bursts), peaks black on a grey
scale (or red on ``RdBu_r``), and axes labelled with line numbers and time in ms. Bins
without a trace are drawn in a pale colour of their own (:data:`NO_TRACE_COLOUR`), never as
white, which on the grey scale would read as a strong trough. A layer that is never negative
(velocity, envelope) has no troughs to balance its peaks: it is drawn on a sequential map
(:data:`SEQUENTIAL_CMAP`) between percentiles of its values, with a colour bar, and empty
bins in grey (see :func:`colour_scale`). Categorical layers (facies, anomaly kinds) are
drawn with a fixed colour per code and a legend from their CF ``flag_meanings``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, Colormap, ListedColormap
from matplotlib.image import AxesImage
from matplotlib.patches import Patch

from seisflow.infer.palette import CATEGORY_COLOURS, cycled_colours

__all__ = [
    "CATEGORY_COLOURS",
    "NO_TRACE_COLOUR",
    "SEQUENTIAL_CMAP",
    "SEQUENTIAL_NO_TRACE_COLOUR",
    "ColourScale",
    "add_legend",
    "categorical",
    "category_colours",
    "colour_scale",
    "overlay",
    "section",
    "section_extent",
    "seismic_cmap",
    "slice_extent",
    "symmetric_clip",
    "time_slice",
]


#: Colour of bins without a trace (NaN amplitude): pale yellow, not on the grey or red-blue
#: scales, so a missing trace never reads as a trough (white on ``Greys``) or as zero.
NO_TRACE_COLOUR = "#FFF1C1"
#: Colour map of a layer that is never negative (velocity, envelope): sequential and
#: perceptually uniform, so equal steps of the value look like equal steps of colour.
SEQUENTIAL_CMAP = "viridis"
#: Colour of bins without a trace on a sequential map: a grey none of them contains (the
#: pale yellow of :data:`NO_TRACE_COLOUR` is close to the top of ``viridis``).
SEQUENTIAL_NO_TRACE_COLOUR = "#D0D0D0"


@dataclass(frozen=True)
class ColourScale:
    """How a continuous image is coloured: its map (empty bins set) and limits."""

    cmap: Colormap
    vmin: float
    vmax: float
    sequential: bool  # a never-negative layer on a sequential map (False: a symmetric clip)


def colour_scale(
    values: np.ndarray, *, clip_percentile: float = 99.0, cmap: str | Colormap | None = None
) -> ColourScale:
    """The colours of ``values``: sequential for a never-negative layer, else symmetric.

    A layer whose finite values are all >= 0 and not all equal (velocity, envelope, a
    probability) is drawn on ``cmap`` (default :data:`SEQUENTIAL_CMAP`) from the
    ``100 - clip_percentile`` to the ``clip_percentile`` percentile of its values, empty bins
    in :data:`SEQUENTIAL_NO_TRACE_COLOUR`; anything else (seismic amplitude) on ``cmap``
    (default ``Greys``) within +/- :func:`symmetric_clip`, empty bins in
    :data:`NO_TRACE_COLOUR`.
    """
    values = np.asarray(values)
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() >= 0 and finite.max() > finite.min():
        low, high = np.percentile(finite, [100 - clip_percentile, clip_percentile])
        if high <= low:  # most values equal: span them all
            low, high = finite.min(), finite.max()
        base = colormaps[cmap or SEQUENTIAL_CMAP] if not isinstance(cmap, Colormap) else cmap
        return ColourScale(base.with_extremes(bad=SEQUENTIAL_NO_TRACE_COLOUR), float(low),
                           float(high), sequential=True)  # fmt: skip
    clip = symmetric_clip(values, clip_percentile)
    return ColourScale(seismic_cmap(cmap or "Greys"), -clip, clip, sequential=False)


def symmetric_clip(values: np.ndarray, percentile: float = 99.0) -> float:
    """The ``percentile`` of ``|values|`` over finite values (1.0 when there are none)."""
    values = np.asarray(values)
    finite = np.abs(values[np.isfinite(values)])
    clip = float(np.percentile(finite, percentile)) if finite.size else 0.0
    return clip if clip > 0 else 1.0


def seismic_cmap(cmap: str | Colormap = "Greys") -> Colormap:
    """``cmap`` with bins without a trace (NaN) in :data:`NO_TRACE_COLOUR`."""
    base = colormaps[cmap] if isinstance(cmap, str) else cmap
    return base.with_extremes(bad=NO_TRACE_COLOUR)


def section(
    ax: Axes,
    amplitude: np.ndarray,
    *,
    traces: np.ndarray,
    times_ms: np.ndarray,
    trace_label: str = "crossline",
    vertical_label: str = "time (ms)",
    clip_percentile: float = 99.0,
    cmap: str | Colormap | None = None,
    title: str | None = None,
    colorbar: bool | None = None,
    label: str | None = None,
) -> AxesImage:
    """Draw a seismic section: traces left to right, time downwards.

    Args:
        ax: Axes to draw into.
        amplitude: ``(n_traces, n_samples)``; NaN (no trace) is drawn in
            :data:`NO_TRACE_COLOUR`.
        traces: Line numbers of the traces, ``(n_traces,)``, for the horizontal axis.
        times_ms: Sample times, ``(n_samples,)`` (or depths, with ``vertical_label``).
        trace_label: Name of the horizontal axis (``crossline``, ``inline``, ``CDP``).
        vertical_label: Name of the vertical axis (``depth (m)`` for a depth store).
        clip_percentile: Colour limits are +/- this percentile of ``|amplitude|`` (a
            never-negative layer: this and the ``100 - clip_percentile`` percentile).
        cmap: ``Greys`` (peaks black, the default) or a diverging map such as ``RdBu_r``
            (peaks red); a never-negative layer defaults to :data:`SEQUENTIAL_CMAP`.
        title: Optional title.
        colorbar: Add a colour bar (default: for a never-negative layer only).
        label: The colour bar's label.

    Returns:
        The image (its colour limits are ``(-clip, clip)``, or see :func:`colour_scale`).
    """
    amplitude = np.asarray(amplitude)
    scale = colour_scale(amplitude, clip_percentile=clip_percentile, cmap=cmap)
    image = ax.imshow(
        amplitude.T,
        cmap=scale.cmap,
        vmin=scale.vmin,
        vmax=scale.vmax,
        aspect="auto",
        interpolation="bilinear",
        extent=section_extent(traces, times_ms),
    )
    ax.set_xlabel(trace_label)
    ax.set_ylabel(vertical_label)
    if title:
        ax.set_title(title)
    _colour_bar(ax, image, scale, colorbar, label)
    return image


def time_slice(
    ax: Axes,
    amplitude: np.ndarray,
    *,
    inlines: np.ndarray,
    crosslines: np.ndarray,
    clip_percentile: float = 99.0,
    cmap: str | Colormap | None = None,
    title: str | None = None,
    colorbar: bool | None = None,
    label: str | None = None,
) -> AxesImage:
    """Draw a time slice ``(n_inlines, n_crosslines)`` with crosslines across, inlines up.

    The slice is drawn in line numbers; :func:`seisflow.viz.map_view` draws it in X/Y.

    Args:
        ax: Axes to draw into.
        amplitude: ``(n_inlines, n_crosslines)``; NaN (no trace) in :data:`NO_TRACE_COLOUR`.
        inlines: Inline numbers ``(n_inlines,)`` (vertical axis, increasing upwards).
        crosslines: Crossline numbers ``(n_crosslines,)`` (horizontal axis).
        clip_percentile: Colour limits are +/- this percentile of ``|amplitude|`` (see
            :func:`colour_scale` for a never-negative layer).
        cmap: ``Greys`` (default) or a diverging map such as ``RdBu_r``; a never-negative
            layer defaults to :data:`SEQUENTIAL_CMAP`.
        title: Optional title.
        colorbar: Add a colour bar (default: for a never-negative layer only).
        label: The colour bar's label.

    Returns:
        The image.
    """
    amplitude = np.asarray(amplitude)
    scale = colour_scale(amplitude, clip_percentile=clip_percentile, cmap=cmap)
    image = ax.imshow(
        amplitude,
        cmap=scale.cmap,
        vmin=scale.vmin,
        vmax=scale.vmax,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        extent=slice_extent(inlines, crosslines),
    )
    ax.set_xlabel("crossline")
    ax.set_ylabel("inline")
    if title:
        ax.set_title(title)
    _colour_bar(ax, image, scale, colorbar, label)
    return image


def _colour_bar(
    ax: Axes, image: AxesImage, scale: ColourScale, colorbar: bool | None, label: str | None
) -> None:
    """A colour bar beside ``ax`` when asked, or by default on a sequential scale."""
    wanted = scale.sequential if colorbar is None else colorbar
    if wanted and ax.figure is not None:
        ax.figure.colorbar(image, ax=ax, label=label, shrink=0.8)


def category_colours(n: int, colours: Sequence[str] | None = None) -> list[str]:
    """Colours of codes ``0..n-1``: ``colours`` (a layer's CF-style ``colors`` attribute)
    where given and long enough, else :data:`CATEGORY_COLOURS` cycled."""
    if colours is not None and len(colours) >= n:
        return [str(c) for c in colours[:n]]
    return cycled_colours(n)


def categorical(
    ax: Axes,
    codes: np.ndarray,
    *,
    meanings: Sequence[str],
    extent: Sequence[float],
    alpha: float = 0.45,
    skip: Sequence[int] = (),
    origin: str = "upper",
    legend: bool = True,
    colours: Sequence[str] | None = None,
) -> AxesImage:
    """Overlay a categorical layer (codes ``0..len(meanings)-1``, negatives blank).

    Args:
        ax: Axes that already hold the section or slice the layer sits on.
        codes: Integer codes in the orientation of the image being overlaid.
        meanings: Name of each code (CF ``flag_meanings`` split on spaces).
        extent: The ``imshow`` extent of the underlying image.
        alpha: Opacity of the overlay.
        skip: Codes left transparent (for example 0 = "none" for anomalies).
        origin: ``upper`` for sections, ``lower`` for slices.
        legend: Add a legend naming each code present, in code order.
        colours: Colour of each code (the layer's ``colors`` attribute); default
            :data:`CATEGORY_COLOURS`.

    Returns:
        The overlay image.
    """
    codes = np.asarray(codes)
    n = len(meanings)
    palette = category_colours(n, colours)
    masked = np.ma.masked_where((codes < 0) | np.isin(codes, list(skip)), codes)
    image = ax.imshow(
        masked,
        cmap=ListedColormap(palette),
        norm=BoundaryNorm(np.arange(-0.5, n), n),
        alpha=alpha,
        aspect="auto",
        interpolation="nearest",
        extent=tuple(extent),
        origin=origin,
    )
    if legend:
        add_legend(ax, meanings, codes=codes, skip=skip, colours=palette)
    return image


def add_legend(
    ax: Axes,
    meanings: Sequence[str],
    *,
    codes: np.ndarray | None = None,
    skip: Sequence[int] = (),
    colours: Sequence[str] | None = None,
    loc: str = "lower right",
) -> None:
    """A legend of the categories present in ``codes`` (every one when None)."""
    n = len(meanings)
    palette = category_colours(n, colours)
    found = range(n) if codes is None else np.unique(np.asarray(codes))
    present = [int(k) for k in found if 0 <= k < n and k not in skip]
    handles = [Patch(color=palette[k], alpha=0.8, label=meanings[k]) for k in present]
    if handles:
        ax.legend(handles=handles, loc=loc, fontsize="small", framealpha=0.8)


def overlay(
    ax: Axes,
    values: np.ndarray,
    *,
    extent: Sequence[float],
    cmap: str | Colormap = "magma",
    alpha: float = 0.5,
    vmin: float | None = None,
    vmax: float | None = None,
    origin: str = "upper",
    label: str | None = None,
    colorbar: bool = True,
    ramp: bool = True,
) -> AxesImage:
    """Overlay a continuous layer (anomaly, confidence) on a section or slice; NaN blank.

    With ``ramp`` the opacity grows with the value, from clear at ``vmin`` to ``alpha`` at
    ``vmax``, so the seismic stays readable under the background and the highs stand out.

    Args:
        ax: Axes that already hold the section or slice.
        values: In the orientation of the image being overlaid.
        extent: The ``imshow`` extent of the underlying image.
        cmap: Colour map of the layer.
        alpha: Opacity of the overlay.
        vmin, vmax: Colour limits (default: the median, so the background half is clear,
            and the maximum, so no high saturates).
        origin: ``upper`` for sections, ``lower`` for slices.
        label: Colour bar label.
        colorbar: Add a colour bar (needs ``ax.figure``).
        ramp: Opacity proportional to the value (else ``alpha`` everywhere).

    Returns:
        The overlay image.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size:
        vmin = float(np.median(finite)) if vmin is None else vmin
        vmax = float(finite.max()) if vmax is None else vmax
    base = colormaps[cmap] if isinstance(cmap, str) else cmap
    if ramp:
        rgba = base(np.linspace(0, 1, 256))
        rgba[:, 3] = np.linspace(0, 1, 256) * alpha
        base = ListedColormap(rgba, name=f"{base.name}_ramp")
    image = ax.imshow(
        np.ma.masked_invalid(values),
        cmap=base,
        alpha=None if ramp else alpha,
        vmin=vmin,
        vmax=vmax,
        aspect="auto",
        interpolation="nearest",
        extent=tuple(extent),
        origin=origin,
    )
    if colorbar and ax.figure is not None:
        ax.figure.colorbar(image, ax=ax, label=label, shrink=0.8)
    return image


def slice_extent(inlines: np.ndarray, crosslines: np.ndarray) -> list[float]:
    """``imshow`` extent of a time slice drawn with ``origin="lower"`` (inlines upwards)."""
    left, right, top, bottom = _extent(crosslines, inlines)
    return [left, right, bottom, top]


def section_extent(traces: np.ndarray, times_ms: np.ndarray) -> list[float]:
    """``imshow`` extent of a section: traces across, time downwards."""
    return _extent(traces, times_ms)


def _extent(horizontal: np.ndarray, vertical: np.ndarray) -> list[float]:
    """``imshow`` extent putting sample centres on their coordinates, vertical downwards."""
    dh = float(horizontal[1] - horizontal[0]) if len(horizontal) > 1 else 1.0
    dv = float(vertical[1] - vertical[0]) if len(vertical) > 1 else 1.0
    return [
        float(horizontal[0]) - dh / 2,
        float(horizontal[-1]) + dh / 2,
        float(vertical[-1]) + dv / 2,
        float(vertical[0]) - dv / 2,
    ]
