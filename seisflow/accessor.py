"""The ``ds.seisflow`` accessor: a thin, stateless view of a survey dataset.

Registered with xarray's documented mechanism (``xr.register_dataset_accessor``) when this
module is imported: by :mod:`seisflow.ingest` (so by ``seisflow.open_survey``), or
explicitly by ``import seisflow.accessor``. Nothing is cached on the accessor: every call
reads the dataset afresh.

>>> ds = seisflow.open_survey("survey.zarr")
>>> ds.seisflow.section(inline=1200)                   # a DataArray (crossline, time)
>>> ax = ds.seisflow.plot("facies", inline=1200)        # seismic + facies overlay
>>> ax.figure                                           # shows the figure in Jupyter
>>> ds.seisflow.xy(1200, 2400)                          # (X, Y) in metres
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["SurveyAccessor"]

#: Variables of a survey that are not result layers.
OWN = frozenset(["amplitude", "trace_mask", "spatial_ref"])


@xr.register_dataset_accessor("seisflow")
class SurveyAccessor:
    """Sections, slices, plots, coordinates and a summary of a seisflow survey dataset."""

    def __init__(self, dataset: xr.Dataset) -> None:
        self._ds = dataset

    # --- selections ----------------------------------------------------------------------
    def section(
        self,
        *,
        inline: int | None = None,
        crossline: int | None = None,
        layer: str = "amplitude",
    ) -> xr.DataArray:
        """One inline or one crossline of ``layer`` (give exactly one line number).

        Args:
            inline: Inline number: the section spans (crossline, time).
            crossline: Crossline number: the section spans (inline, time).
            layer: ``amplitude`` or a result layer on the same grid (``facies``, ...).

        Returns:
            The section, lazily (``.values`` reads it), with its coordinates.

        Raises:
            ValueError: When neither or both lines are given, the line is not in the survey
                (the message gives the range), or the layer is missing or off the grid.
        """
        ds = self._survey()
        if (inline is None) == (crossline is None):
            raise ValueError(
                f"give exactly one of inline= or crossline= (got inline={inline}, "
                f"crossline={crossline})"
            )
        dim, number = ("inline", inline) if inline is not None else ("crossline", crossline)
        values = self._layer(layer)
        return values.isel({dim: _line_index(ds, dim, int(number))})  # type: ignore[arg-type]

    def time_slice(self, t: float, *, layer: str = "amplitude") -> xr.DataArray:
        """The sample nearest ``t`` (ms; m for a depth survey) of ``layer``, (inline,
        crossline).

        Raises:
            ValueError: When ``t`` is outside the samples (the message gives the range) or
                the layer is missing or off the grid.
        """
        from seisflow.viz._survey import sample_index, vertical_dim

        ds = self._survey()
        values = self._layer(layer)
        return values.isel({vertical_dim(ds): sample_index(ds, float(t))})

    # --- plots ---------------------------------------------------------------------------
    def plot(
        self,
        layer: str | None = None,
        *,
        inline: int | None = None,
        crossline: int | None = None,
        time: float | None = None,
        ax: Axes | None = None,
        clip_percentile: float = 99.0,
        cmap: str | None = None,
        alpha: float | None = None,
        xy: bool = False,
        title: str | None = None,
    ) -> Axes:
        """Draw a section or time slice of the seismic, with ``layer`` over it.

        Args:
            layer: None (or ``amplitude``) for the seismic alone; a categorical layer
                (one with ``flag_meanings``, e.g. ``facies``) as coloured classes with a
                legend; a continuous one (``anomaly``, ``facies_confidence``) as a colour
                overlay with a colour bar.
            inline, crossline, time: At most one; none draws the middle inline (the line
                itself on a 2-D line: its traces labelled by CDP, the line by its name
                from the text header, with a top axis of the distance along the line).
            ax: Axes to draw into (default: a new ``matplotlib.figure.Figure``, no pyplot;
                show ``ax.figure`` in a notebook).
            clip_percentile: Symmetric amplitude clip (percentile of ``|amplitude|``).
            cmap: ``Greys`` (peaks black, the default) or ``RdBu_r`` (peaks red); seismic
                that is never negative (a velocity or envelope cube) is drawn on a
                sequential map with a colour bar (:func:`seisflow.viz.colour_scale`).
            alpha: Opacity of the layer (default 0.45 categorical, 0.5 continuous).
            xy: Draw a time slice as a map in X/Y (m) instead of line numbers.
            title: Title (default: what is drawn).

        Returns:
            The Axes drawn into.

        Raises:
            ValueError: As :meth:`section` and :meth:`time_slice`; for more than one of
                ``inline``, ``crossline``, ``time``.
        """
        from seisflow import viz
        from seisflow.viz._survey import UNITS, vertical_dim

        ds = self._survey()
        given = {k: v for k, v in (("inline", inline), ("crossline", crossline),
                                   ("time", time)) if v is not None}  # fmt: skip
        if len(given) > 1:
            raise ValueError(f"give at most one of inline=, crossline=, time= (got {given})")
        if not given:
            given = {"inline": int(ds.inline.values[ds.sizes["inline"] // 2])}
        if ax is None:
            from matplotlib.figure import Figure

            ax = Figure(figsize=(9, 6), layout="constrained").subplots()
        layer = None if layer == "amplitude" else layer
        over = self._layer(layer) if layer else None
        dim = vertical_dim(ds)
        samples = ds[dim].values
        unit = UNITS.get(dim, "")
        (where, number), = given.items()  # fmt: skip
        if where == "time":
            sliced = self.time_slice(number)
            amp = sliced.values
            codes = self.time_slice(number, layer=layer).values if layer else None
            label = f"{dim} slice {float(sliced[dim]):g} {unit}"
            if xy:
                viz.map_view(ax, ds, amp, cmap=cmap, symmetric=True,
                             clip_percentile=clip_percentile)  # fmt: skip
                if over is not None and codes is not None:
                    self._map_overlay(ax, over, codes, alpha)
            else:
                inlines, crosslines = ds.inline.values, ds.crossline.values
                viz.time_slice(ax, amp, inlines=inlines, crosslines=crosslines,
                               clip_percentile=clip_percentile, cmap=cmap)  # fmt: skip
                extent = viz.slice_extent(inlines, crosslines)
                if over is not None and codes is not None:
                    self._overlay(ax, over, codes, extent, alpha, origin="lower")
        else:
            section = self.section(**{where: number})
            traces = section[section.dims[0]].values
            across, label = viz.section_labels(ds, where, int(number))  # CDP on a 2-D line
            viz.section(ax, section.values, traces=traces, times_ms=samples,
                        trace_label=across, vertical_label=f"{dim} ({unit})",
                        clip_percentile=clip_percentile, cmap=cmap)  # fmt: skip
            if where == "inline":
                viz.distance_axis(ax, ds, traces)
            if over is not None:
                codes = self.section(**{where: number}, layer=layer).values.T
                extent = viz.section_extent(traces, samples)
                self._overlay(ax, over, codes, extent, alpha, origin="upper")
        if title is None:
            title = label + (f": {layer}" if layer else "")
        ax.set_title(title)
        return ax

    @staticmethod
    def _overlay(
        ax: Axes,
        layer: xr.DataArray,
        values: np.ndarray,
        extent: list[float],
        alpha: float | None,
        *,
        origin: str,
    ) -> None:
        from seisflow import viz

        meanings = _meanings(layer)
        if meanings is not None:
            viz.categorical(ax, values, meanings=meanings, extent=extent, origin=origin,
                            alpha=0.45 if alpha is None else alpha,
                            colours=layer.attrs.get("colors"))  # fmt: skip
        else:
            viz.overlay(ax, values, extent=extent, origin=origin, label=_label(layer),
                        alpha=0.5 if alpha is None else alpha)  # fmt: skip

    def _map_overlay(
        self, ax: Axes, layer: xr.DataArray, values: np.ndarray, alpha: float | None
    ) -> None:
        from seisflow.viz._survey import grid_xy

        x, y = grid_xy(self._ds, corners=True)
        meanings = _meanings(layer)
        if meanings is not None:
            from matplotlib.colors import BoundaryNorm, ListedColormap

            from seisflow import viz

            n = len(meanings)
            palette = viz.category_colours(n, layer.attrs.get("colors"))
            ax.pcolormesh(x, y, np.ma.masked_where(values < 0, values),
                          cmap=ListedColormap(palette), norm=BoundaryNorm(np.arange(-0.5, n), n),
                          alpha=0.45 if alpha is None else alpha)  # fmt: skip
            viz.add_legend(ax, meanings, codes=values, colours=palette)
        else:
            mesh = ax.pcolormesh(x, y, np.ma.masked_invalid(values), cmap="magma",
                                 alpha=0.5 if alpha is None else alpha)  # fmt: skip
            ax.figure.colorbar(mesh, ax=ax, label=_label(layer), shrink=0.8)

    # --- coordinates and summary -----------------------------------------------------------
    def xy(self, inline: int, crossline: int) -> tuple[float, float]:
        """X and Y (m, in the store's CRS) of the bin at ``(inline, crossline)``: the
        trace's ``cdp_x`` / ``cdp_y``, or the grid's affine where there is no trace.

        Raises:
            ValueError: When either line is not in the survey (the message gives the range).
        """
        from seisflow.ingest.georef import trace_xy

        ds = self._survey()
        i = _line_index(ds, "inline", int(inline))
        j = _line_index(ds, "crossline", int(crossline))
        return trace_xy(ds, i, j)

    def info(self) -> dict[str, Any]:
        """The :func:`seisflow.describe` summary (grid, extent, corners, CRS, samples,
        layers); ``store`` and ``size_on_disk_bytes`` are None when the dataset was not
        opened from a store."""
        from seisflow.ingest.store import summarize

        ds = self._survey()
        return summarize(ds, path=ds.encoding.get("source"))

    # --- checks --------------------------------------------------------------------------
    def _survey(self) -> xr.Dataset:
        """The dataset, checked to be a seisflow survey."""
        ds = self._ds
        missing = [n for n in ("amplitude", "inline", "crossline") if n not in ds.variables]
        if missing or not ({"time", "depth"} & set(ds.dims)):
            found = ", ".join(str(v) for v in ds.data_vars) or "none"
            raise ValueError(
                "this Dataset is not a seisflow survey: it needs amplitude (inline, crossline, "
                f"time|depth) (found variables: {found}); open one with seisflow.open_survey"
            )
        return ds

    def _layer(self, layer: str) -> xr.DataArray:
        """``layer`` of the survey, checked to lie on the amplitude grid."""
        ds = self._survey()
        if layer not in ds.data_vars:
            found = ", ".join(str(v) for v in ds.data_vars if v not in OWN) or "none"
            raise ValueError(f"the survey has no {layer} layer (layers: {found})")
        values = ds[layer]
        if values.dims != ds.amplitude.dims:
            raise ValueError(
                f"{layer} has dims {values.dims}, not the amplitude grid {ds.amplitude.dims}: "
                "it cannot be drawn on a section or slice"
            )
        return values


def _line_index(ds: xr.Dataset, dim: str, number: int) -> int:
    from seisflow.viz._survey import line_index

    return line_index(ds, dim, number)


def _meanings(layer: xr.DataArray) -> list[str] | None:
    """The category names of a categorical layer (CF ``flag_meanings``), else None."""
    meanings = layer.attrs.get("flag_meanings")
    return str(meanings).split() if meanings else None


def _label(layer: xr.DataArray) -> str:
    units = layer.attrs.get("units")
    return str(layer.attrs.get("long_name", layer.name)) + (f" ({units})" if units else "")
