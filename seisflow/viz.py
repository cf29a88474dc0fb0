"""Plots with seismic conventions (matplotlib).

Sections are drawn with time increasing downwards, a symmetric amplitude clip at a
percentile of ``|amplitude|`` (robust to spikes and noise bursts), peaks black on a grey
scale (or red-blue), and axes labelled with line numbers and time in ms. Categorical layers
(facies, anomaly kinds) are drawn with a fixed colour per code and a legend from their CF
``flag_meanings``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.image import AxesImage
from matplotlib.patches import Patch

__all__ = [
    "CATEGORY_COLOURS",
    "categorical",
    "image_rows",
    "section",
    "section_extent",
    "slice_extent",
    "symmetric_clip",
    "time_slice",
]

#: Colour of each category code (colour-blind-friendly, after Paul Tol's "bright" scheme).
CATEGORY_COLOURS: tuple[str, ...] = (
    "#4477AA",
    "#EE6677",
    "#228833",
    "#CCBB44",
    "#66CCEE",
    "#AA3377",
    "#BBBBBB",
    "#000000",
)


def symmetric_clip(values: np.ndarray, percentile: float = 99.0) -> float:
    """The ``percentile`` of ``|values|`` over finite values (1.0 when there are none)."""
    finite = np.abs(values[np.isfinite(values)])
    clip = float(np.percentile(finite, percentile)) if finite.size else 0.0
    return clip if clip > 0 else 1.0


def section(
    ax: Axes,
    amplitude: np.ndarray,
    *,
    traces: np.ndarray,
    times_ms: np.ndarray,
    trace_label: str = "crossline",
    clip_percentile: float = 99.0,
    cmap: str = "Greys",
    title: str | None = None,
) -> AxesImage:
    """Draw a seismic section: traces left to right, time downwards.

    Args:
        ax: Axes to draw into.
        amplitude: ``(n_traces, n_samples)``; NaN (no trace) is left blank.
        traces: Line numbers of the traces, ``(n_traces,)``, for the horizontal axis.
        times_ms: Sample times, ``(n_samples,)``.
        trace_label: Name of the horizontal axis (``crossline``, ``inline``, ``trace``).
        clip_percentile: Colour limits are +/- this percentile of ``|amplitude|``.
        cmap: ``Greys`` (peaks black) or a diverging map such as ``RdBu_r``.
        title: Optional title.
    """
    clip = symmetric_clip(amplitude, clip_percentile)
    image = ax.imshow(
        amplitude.T,
        cmap=cmap,
        vmin=-clip,
        vmax=clip,
        aspect="auto",
        interpolation="bilinear",
        extent=section_extent(traces, times_ms),
    )
    ax.set_xlabel(trace_label)
    ax.set_ylabel("time (ms)")
    if title:
        ax.set_title(title)
    return image


def time_slice(
    ax: Axes,
    amplitude: np.ndarray,
    *,
    inlines: np.ndarray,
    crosslines: np.ndarray,
    clip_percentile: float = 99.0,
    cmap: str = "Greys",
    title: str | None = None,
) -> AxesImage:
    """Draw a time slice ``(n_inlines, n_crosslines)`` with crosslines across, inlines up."""
    clip = symmetric_clip(amplitude, clip_percentile)
    image = ax.imshow(
        amplitude,
        cmap=cmap,
        vmin=-clip,
        vmax=clip,
        aspect="auto",
        origin="lower",
        interpolation="nearest",
        extent=slice_extent(inlines, crosslines),
    )
    ax.set_xlabel("crossline")
    ax.set_ylabel("inline")
    if title:
        ax.set_title(title)
    return image


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
        legend: Add a legend naming each code present.
    """
    n = len(meanings)
    colours = [CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)] for k in range(n)]
    masked = np.ma.masked_where((codes < 0) | np.isin(codes, list(skip)), codes)
    image = ax.imshow(
        masked,
        cmap=ListedColormap(colours),
        norm=BoundaryNorm(np.arange(-0.5, n), n),
        alpha=alpha,
        aspect="auto",
        interpolation="nearest",
        extent=tuple(extent),
        origin=origin,
    )
    if legend:
        present = [k for k in np.unique(codes) if 0 <= k < n and k not in skip]
        handles = [Patch(color=colours[k], alpha=0.8, label=meanings[k]) for k in present]
        ax.legend(handles=handles, loc="lower right", fontsize="small", framealpha=0.8)
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


def image_rows(
    ax: Axes,
    rows: Sequence[np.ndarray],
    *,
    labels: Sequence[str],
    columns: int = 10,
    title: str | None = None,
) -> AxesImage:
    """Rows of small images as one mosaic with a label per row (topic samples, clusters).

    Args:
        ax: Where to draw.
        rows: One array per row, ``(n, C, H, W)`` with ``C`` 1 or 3, values 0..1 (float) or
            0..255 (uint8); at most ``columns`` are drawn, a short row is left blank.
        labels: One label per row.
        columns: Images per row.
        title: Optional title.
    """
    c, h, w = next(r.shape[1:] for r in rows if r.size) if any(r.size for r in rows) else (1, 2, 2)
    mosaic = np.ones(((h + 1) * len(rows) + 1, (w + 1) * columns + 1, c), dtype=np.float32)
    for i, row in enumerate(rows):
        images = row[:columns].astype(np.float32) / (255.0 if row.dtype == np.uint8 else 1.0)
        for j, image in enumerate(images):
            top, left = 1 + i * (h + 1), 1 + j * (w + 1)
            mosaic[top : top + h, left : left + w] = image.transpose(1, 2, 0)
    shown = ax.imshow(mosaic[..., 0] if c == 1 else mosaic.clip(0, 1), cmap="gray",
                      vmin=0.0, vmax=1.0, interpolation="nearest")  # fmt: skip
    ax.set_yticks([1 + i * (h + 1) + h / 2 for i in range(len(rows))], labels=list(labels))
    ax.set_xticks([])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title)
    return shown
