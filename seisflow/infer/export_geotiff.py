"""Export of a time slice or a vertical section of a layer as a GeoTIFF.

A time slice is a map in the survey CRS; a section a picture in a local frame of metres along
the line by minus the time. Either is refused, in one line, when it would have no extent: a
time slice of a store of one line (a 2-D line) is one pixel wide across the line, a section of
one trace or along traces that all sit at one X/Y (CDP X/Y words that hold no coordinates)
has no width. The file is written under a hidden staged name and renamed when complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from seisflow._version import __version__
from seisflow.errors import InputFileError, OutputPathError
from seisflow.infer.export_target import check_output, export_layer
from seisflow.ingest.georef import trace_xy
from seisflow.ingest.lines import along_line_distance, is_2d, line_name, trace_label
from seisflow.ingest.store import open_survey
from seisflow.outputs import GEOTIFF, claim_output, remove, staging_path, writing
from seisflow.storage import StoreLike, local_paths, locate

__all__ = ["export_geotiff"]

MIN_SPACING_M = 1e-6  # traces closer than this along a line have no distance between them


def export_geotiff(
    store: StoreLike,
    layer: str,
    out: str | Path,
    *,
    time: float | None = None,
    inline: int | None = None,
    crossline: int | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write a time slice or a vertical section of ``layer`` as a GeoTIFF.

    With ``time`` (ms, or m for a depth store): the slice at that time in the survey CRS.
    Rows are inlines and columns crosslines; the geotransform is the store's rotated
    inline/crossline -> X/Y affine shifted by half a bin, since SEG-Y coordinates are bin
    centres and GeoTIFF pixels are addressed by their corner.

    With ``inline`` or ``crossline``: the section along that line. Rows are samples
    (downwards) and columns the traces along the line. A section is not on the map plane, so
    it has no CRS but a local engineering frame: x is the distance in metres from the first
    trace's bin centre, y is minus the time (ms, or m in depth), with the same half-pixel
    shift. On a 3-D survey the trace spacing is the bin spacing along the line from the
    store's affine; on a 2-D line it is the true length of the line, trace to trace through
    their CDP X/Y, over its traces (a crooked line is longer than the straight line the
    affine fits), and the tag ``trace_distance_m`` lists every trace's distance from the
    first. Tags name the line, the vertical unit, the first and last trace numbers (``CDP=``
    on a 2-D line) and their map X/Y in the survey CRS, and ``xy_units``: the unit of the
    distances (the store's, ``m`` unless the file says feet).

    Args:
        store: A survey store.
        layer: The layer (or ``amplitude``) to export.
        out: The GeoTIFF to write (staged under a hidden name, renamed when complete).
        time: The slice's time.
        inline: The number of the inline section (``1`` along a 2-D line).
        crossline: The number of the crossline section.
        overwrite: Replace ``out`` if it exists.

    Returns:
        ``{"out", "layer", "shape", "domain", "units"}`` (the vertical axis, ``time`` or
        ``depth``, and its units, ``ms`` or ``m``) and ``"time"`` (the sample used),
        ``"inline"`` or ``"crossline"`` with ``"traces"``, what the section's columns are
        (``crossline``, ``inline``, or ``CDP`` along a 2-D line).

    Raises:
        InputFileError: An unknown layer or one not on the amplitude grid, a time or line
            outside the survey, a time slice of a store of one line or of traces spanning no
            area, a section of one trace or of traces at one X/Y.
        OutputPathError: Not exactly one of ``time``, ``inline``, ``crossline``; ``out``
            exists and ``overwrite`` is False, is a folder or has no GeoTIFF extension.
    """
    modes = {"time": time, "inline": inline, "crossline": crossline}
    given = {name: value for name, value in modes.items() if value is not None}
    if len(given) != 1:
        passed = ", ".join(f"--{name} {value:g}" for name, value in given.items()) or "none"
        raise OutputPathError(
            f"{out}: a GeoTIFF is a time slice or a vertical section, got {passed}: pass "
            "exactly one of --time MS, --inline N or --crossline N"
        )
    store, out = locate(store), Path(out)
    check_output(out, "geotiff")
    survey = open_survey(store)
    values = export_layer(survey, store, layer, "geotiff")
    domain = str(survey.amplitude.dims[2])
    units = survey[domain].attrs.get("units", "ms" if domain == "time" else "m")
    vertical = survey[domain].values
    step = float(np.diff(vertical).min()) if vertical.size > 1 else 0.0
    legend = values.attrs.get("flag_meanings", "")
    if time is not None:
        k = int(np.abs(vertical - time).argmin())
        if abs(vertical[k] - time) > step / 2 + 1e-9:
            raise InputFileError(
                f"--time {time:g} is outside {store}'s samples ({vertical[0]:g} to "
                f"{vertical[-1]:g} every {step:g}): choose a time inside them"
            )
        _check_map_plane(survey, store)
        out = claim_output(out, kind=GEOTIFF, overwrite=overwrite, inputs=local_paths(store))
        data = np.asarray(values[:, :, k].values)
        a, b, c, d, e, f = survey.attrs["spatial:transform"]
        transform = (a, b, c - 0.5 * (a + b), d, e, f - 0.5 * (d + e))
        crs = survey.attrs.get("proj:wkt2") or None
        _write_tiff(out, data, transform, crs, layer=layer, time=f"{vertical[k]:g}",
                    legend=legend)  # fmt: skip
        return {"out": str(out), "layer": layer, "time": float(vertical[k]), "shape": data.shape,
                "domain": domain, "units": units}  # fmt: skip
    dim, number = next(iter(given.items()))
    index = _line_index(survey, store, dim, int(number))
    spacing, label, tags = _section_frame(survey, store, dim, index, int(number))
    out = claim_output(out, kind=GEOTIFF, overwrite=overwrite, inputs=local_paths(store))
    data = values[index, :, :] if dim == "inline" else values[:, index, :]
    data = np.ascontiguousarray(np.asarray(data.values).T)  # rows: samples downwards
    dz = step or 1.0
    transform = (spacing, 0.0, -0.5 * spacing, 0.0, -dz, -float(vertical[0]) + 0.5 * dz)
    _write_tiff(out, data, transform, None, layer=layer, line=f"{dim}={int(number)}",
                vertical_unit=units, xy_crs=survey.attrs.get("proj:code") or "unknown",
                xy_units=survey.attrs.get("xy_units") or "m",
                trace_spacing_m=repr(spacing), legend=legend, **tags)  # fmt: skip
    return {"out": str(out), "layer": layer, dim: int(number), "shape": data.shape,
            "domain": domain, "units": units, "traces": label}  # fmt: skip


def _check_map_plane(survey: Any, store: Path) -> None:
    """Refuse a time slice with no extent: a store of one line, or bins of no area."""
    sizes = {dim: survey.sizes[dim] for dim in ("inline", "crossline")}
    single = [dim for dim, size in sizes.items() if size == 1]
    if single:
        dim = single[0]
        number = int(survey[dim].values[0])
        what = (
            f"is a 2-D line ({sizes['crossline']} traces on inline {number})"
            if is_2d(survey.attrs)
            else f"holds a single {dim} ({number})"
        )
        raise InputFileError(
            f"{store} {what}: a time slice of it would be a GeoTIFF one pixel wide, with no "
            f"extent across the line; export the section along it with --{dim} {number}, or "
            "the whole line as SEG-Y"
        )
    if not survey.attrs.get("spatial:transform"):
        raise _no_coordinates(survey, store, "a time slice has no place on the map")
    a, b, _, d, e, _ = survey.attrs["spatial:transform"]
    area = abs(a * e - b * d)
    if not np.isfinite(area) or area < MIN_SPACING_M**2:
        raise InputFileError(
            f"{store}: the bins of its grid affine have an area of {area:.3g} m2, so its "
            f"traces' CDP X/Y ({_xy_bytes(survey)}) hold no map positions and a time slice "
            "has no place on the map; re-ingest with --cdpx-byte/--cdpy-byte naming the "
            "words that hold the coordinates, or export SEG-Y"
        )


def _section_frame(
    survey: Any, store: Path, dim: str, index: int, number: int
) -> tuple[float, str, dict[str, str]]:
    """The trace spacing (m), what the traces are numbered by and the tags of the section
    along ``dim`` = ``number``.

    Raises:
        InputFileError: For a section of one trace, of traces without X/Y or at one X/Y.
    """
    along = "crossline" if dim == "inline" else "inline"
    count = survey.sizes[along]
    cut = (index, slice(None)) if dim == "inline" else (slice(None), index)
    ends = [(index, 0), (index, count - 1)] if dim == "inline" else [(0, index), (count - 1, index)]
    numbers = survey[along].values
    label = trace_label(survey.attrs) if along == "crossline" else along
    if count == 1:
        if is_2d(survey.attrs):
            inline = int(survey.inline.values[0])
            where = f"{trace_label(survey.attrs)} {number} of the 2-D line"
            fix = f"export the section along the line with --inline {inline}"
        else:
            where = f"{along} {int(numbers[0])}"
            fix = "choose a line with two traces or more"
        raise InputFileError(
            f"--{dim} {number} of {store} holds a single trace ({where}): a section GeoTIFF "
            f"of it would have no width; {fix}"
        )
    tags: dict[str, str] = {}
    transform = survey.attrs.get("spatial:transform")
    x, y = survey.cdp_x.values[cut], survey.cdp_y.values[cut]
    if not transform or not np.any(np.isfinite(x) & np.isfinite(y)):
        raise _no_coordinates(survey, store, "a section GeoTIFF of them would have no width")
    a, b, _, d, e, _ = transform
    if is_2d(survey.attrs) and dim == "inline":  # the true length of a (crooked) line
        distance = along_line_distance(x, y)
        spacing = float(distance[-1]) / (count - 1)
        tags["trace_distance_m"] = " ".join(f"{v:.2f}" for v in distance)
        name = line_name(str(survey.attrs.get("text_header", "")))
        if name:
            tags["line_name"] = name
    else:  # one bin of the grid along the line: (a, d) or (b, e) metres
        spacing = float(np.hypot(a, d) if dim == "inline" else np.hypot(b, e))
    (x0, y0), (x1, y1) = (trace_xy(survey, i, j) for i, j in ends)
    if not np.isfinite(spacing) or spacing < MIN_SPACING_M:
        raise InputFileError(
            f"the traces along {dim} {number} of {store} all sit at X {x0:.2f}, Y {y0:.2f} (CDP "
            f"X/Y, {_xy_bytes(survey)}): a section GeoTIFF of them would have no width; "
            "re-ingest with --cdpx-byte/--cdpy-byte naming the words that hold the "
            "coordinates, or export the line as SEG-Y"
        )
    return spacing, label, {
        "first_trace": f"{label}={int(numbers[0])}",
        "last_trace": f"{label}={int(numbers[-1])}",
        "first_x": repr(x0), "first_y": repr(y0), "last_x": repr(x1), "last_y": repr(y1),
        **tags,
    }  # fmt: skip


def _no_coordinates(survey: Any, store: Path, consequence: str) -> InputFileError:
    """The error for a store whose traces have no X/Y (words that hold no positions)."""
    found = survey.attrs.get("coordinate_source") or "unknown"
    return InputFileError(
        f"the traces of {store} have no X/Y (coordinate source: {found}; CDP X/Y at "
        f"{_xy_bytes(survey)} hold no positions): {consequence}; re-ingest with "
        "--cdpx-byte/--cdpy-byte naming the words that hold the coordinates, or export SEG-Y"
    )


def _xy_bytes(survey: Any) -> str:
    """``bytes 181/185``: where the store's CDP X/Y were read."""
    locations = survey.attrs.get("byte_locations", {})
    return f"bytes {locations.get('cdp_x', 181)}/{locations.get('cdp_y', 185)}"


def _line_index(survey: Any, store: Path, dim: str, number: int) -> int:
    """The array index of inline or crossline ``number``; an error naming the valid range."""
    lines = survey[dim].values
    hits = np.flatnonzero(lines == number)
    if hits.size == 0:
        steps = np.unique(np.diff(lines))
        every = f" every {int(steps[0])}" if steps.size == 1 else ""
        raise InputFileError(
            f"--{dim} {number} is not in {store}: its {dim}s run from {int(lines[0])} to "
            f"{int(lines[-1])}{every}; choose one of them"
        )
    return int(hits[0])


def _write_tiff(
    out: Path,
    data: np.ndarray,
    transform: tuple[float, ...],
    crs: str | None,
    **tags: str,
) -> None:
    """Write ``data`` as a one-band GeoTIFF via a staged name and an atomic rename.

    No-data is -1 for int16 and NaN otherwise; ``transform`` is the GDAL-order affine
    ``(a, b, c, d, e, f)`` of the pixel corners.
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.transform import Affine

    nodata = -1 if data.dtype == np.int16 else np.nan
    partial = staging_path(out, folder=False)
    try:
        with writing(out):
            with rasterio.open(partial, "w", driver="GTiff", height=data.shape[0],
                               width=data.shape[1], count=1, dtype=data.dtype, crs=crs,
                               transform=Affine(*transform), nodata=nodata) as raster:  # fmt: skip
                raster.write(data, 1)
                raster.update_tags(seisflow_version=__version__, **tags)
            os.replace(partial, out)
    except RasterioIOError as exc:  # GDAL's own write errors carry no errno
        raise OutputPathError(f"cannot write {out}: {exc}; free some space or choose a "
                              "writable folder (nothing was kept)") from None  # fmt: skip
    finally:
        remove(partial)
