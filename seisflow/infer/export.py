"""Export of a layer: as SEG-Y on the input geometry, or a slice or section as GeoTIFF.

The recipe: open the store -> find the layer and the source SEG-Y it was ingested from
(checked by size) -> read the source's trace headers in place (a memory map: fixed-length
traces after the 3600-byte header and any extended text headers) -> locate every trace on
the grid by its inline / crossline header words -> write a new file: a text header naming
the layer, the model and the legend; the source's binary header with IEEE format (code 5)
and no extended headers; every trace header copied byte for byte; the layer's samples as
IEEE floats. Written under a hidden staged name beside OUT and renamed when complete;
``--overwrite`` replaces only a file seisflow wrote, never the source SEG-Y.

The output's extension says what it is: :data:`SEGY_SUFFIXES` for SEG-Y and
:data:`GEOTIFF_SUFFIXES` for GeoTIFF (see :func:`output_format`); any other, or a folder,
is refused before anything is read.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import zarr

from seisflow._version import __version__
from seisflow.errors import InputFileError, OutputPathError
from seisflow.ingest.georef import trace_xy
from seisflow.ingest.segy_writer import text_header
from seisflow.ingest.store import open_survey
from seisflow.outputs import GEOTIFF, SEGY, claim_output, remove, staging_path, writing

__all__ = ["GEOTIFF_SUFFIXES", "SEGY_SUFFIXES", "export_geotiff", "export_segy", "output_format"]

BYTES_PER_SAMPLE = {1: 4, 2: 4, 3: 2, 5: 4, 6: 8, 8: 1, 9: 8, 10: 4, 11: 2, 12: 8, 16: 1}
BLOCK = 20_000  # traces per read/write block: memory stays bounded
#: Extensions of a SEG-Y output (``.seg`` is the short form some packages write).
SEGY_SUFFIXES: tuple[str, ...] = (".sgy", ".segy", ".seg")
#: Extensions of a GeoTIFF output.
GEOTIFF_SUFFIXES: tuple[str, ...] = (".tif", ".tiff")
Format = Literal["segy", "geotiff"]
NAMES: dict[Format, str] = {"segy": "SEG-Y", "geotiff": "a GeoTIFF"}


def output_format(out: str | Path) -> Format:
    """What ``out`` is to be, from its extension (case-insensitive): ``segy`` or ``geotiff``.

    Raises:
        OutputPathError: When ``out`` is an existing folder, or its extension is neither a
            SEG-Y nor a GeoTIFF one.
    """
    out = Path(out)
    if out.is_dir():
        raise OutputPathError(
            f"{out} is a folder: name the file to write, e.g. {out / 'facies.sgy'} or "
            f"{out / 'facies.tif'}"
        )
    suffix = out.suffix.lower()
    if suffix in SEGY_SUFFIXES:
        return "segy"
    if suffix in GEOTIFF_SUFFIXES:
        return "geotiff"
    raise OutputPathError(
        f"{out}: the extension {suffix or '(none)'} names no format seisflow writes: end the "
        f"name with {', '.join(SEGY_SUFFIXES)} for SEG-Y or {', '.join(GEOTIFF_SUFFIXES)} for "
        "a GeoTIFF"
    )


def _check_output(out: Path, kind: Format) -> None:
    """Refuse ``out`` when it is a folder or its extension names another format."""
    found = output_format(out)
    if found != kind:
        raise OutputPathError(
            f"{out}: the extension {out.suffix} is for {NAMES[found]}, not {NAMES[kind]}: "
            f"name the file with {', '.join(SEGY_SUFFIXES if kind == 'segy' else GEOTIFF_SUFFIXES)}"
        )


def _layer(survey: Any, store: Path, layer: str, kind: Format) -> Any:
    layers = [n for n in survey.data_vars if n not in ("amplitude", "trace_mask", "spatial_ref")]
    if layer not in survey.data_vars or layer == "spatial_ref":
        raise InputFileError(
            f"{store} has no layer {layer!r}: choose one of {', '.join([*layers, 'amplitude'])}"
        )
    if survey[layer].dims != survey.amplitude.dims:
        on_grid = [n for n in layers if survey[n].dims == survey.amplitude.dims]
        raise InputFileError(
            f"{store}: {layer} is not on the amplitude grid (its dimensions are "
            f"{', '.join(map(str, survey[layer].dims))}) and cannot be written as "
            f"{NAMES[kind]}: export one of {', '.join([*on_grid, 'amplitude'])}"
        )
    return survey[layer]


def _source(survey: Any, store: Path) -> Path:
    record = survey.attrs.get("source", {})
    path = Path(record.get("path", ""))
    if not path.is_file() or path.stat().st_size != record.get("size"):
        raise InputFileError(
            f"{store} was ingested from {path}, which is missing or changed (size "
            f"{record.get('size')} expected): its trace headers are copied into the export, "
            "so put the original file back at that path"
        )
    return path


def export_segy(
    store: str | Path, layer: str, out: str | Path, *, overwrite: bool = False
) -> dict[str, Any]:
    """Write ``layer`` of ``store`` as SEG-Y with the source file's geometry and headers.

    Returns:
        ``{"out", "traces", "samples", "layer"}``.

    Raises:
        InputFileError: An unknown layer, or a missing or changed source file.
        OutputPathError: ``out`` exists and ``overwrite`` is False, is a folder or has no
            SEG-Y extension (:data:`SEGY_SUFFIXES`).
    """
    store, out = Path(store), Path(out)
    _check_output(out, "segy")
    survey = open_survey(store)
    values = _layer(survey, store, layer, "segy")
    source = _source(survey, store)
    out = claim_output(out, kind=SEGY, overwrite=overwrite, inputs=(source, store))
    with open(source, "rb") as handle:
        handle.read(3200)
        binary = bytearray(handle.read(400))
    ns = int.from_bytes(binary[20:22], "big")
    code = int.from_bytes(binary[24:26], "big")
    extended = max(0, int.from_bytes(binary[304:306], "big", signed=True))
    offset = 3600 + 3200 * extended
    record = 240 + ns * BYTES_PER_SAMPLE.get(code, 4)
    count = (source.stat().st_size - offset) // record
    traces = np.memmap(source, dtype=np.uint8, mode="r", offset=offset, shape=(count, record))
    if ns != survey.amplitude.shape[2]:
        raise InputFileError(
            f"{source} has {ns} samples per trace but {store} has {survey.amplitude.shape[2]}: "
            "the store was not ingested from this file"
        )
    locations = survey.attrs["byte_locations"]
    inlines, crosslines = survey.inline.values, survey.crossline.values
    array = zarr.open_array(str(store), path=layer, mode="r")
    binary[24:26] = (5).to_bytes(2, "big")
    binary[304:306] = (0).to_bytes(2, "big")
    meanings = values.attrs.get("flag_meanings", "")
    lines = [
        f"SEISFLOW LAYER {layer}: {values.attrs.get('long_name', '')}",
        f"LEGEND {meanings}" if meanings else "CONTINUOUS VALUES",
        "MODEL SHA-256 (THE WHOLE DIGEST OF THE RUN'S CHECKPOINT ON THE NEXT LINE):",
        str(values.attrs.get("seisflow:model_sha256", "n/a")),
        f"SOURCE {source.name}",
        f"CRS {survey.attrs.get('proj:code') or 'unknown'}",
        "GEOMETRY AND TRACE HEADERS COPIED FROM THE SOURCE; IEEE FLOAT SAMPLES",
    ]
    partial = staging_path(out, folder=False)
    try:
        with writing(out), open(partial, "r+b") as handle:
            handle.write(text_header(lines))
            handle.write(bytes(binary))
            for start in range(0, count, BLOCK):
                block = np.asarray(traces[start : start + BLOCK])
                heads = block[:, :240]
                il = _word(heads, locations["inline"])
                xl = _word(heads, locations["crossline"])
                i = np.searchsorted(inlines, il).clip(0, inlines.size - 1)
                j = np.searchsorted(crosslines, xl).clip(0, crosslines.size - 1)
                if np.any(inlines[i] != il) or np.any(crosslines[j] != xl):
                    raise InputFileError(
                        f"{source}: traces {start}-{start + len(block) - 1} hold lines that "
                        f"{store} does not: the store was not ingested from this file"
                    )
                box = array[i.min() : i.max() + 1, j.min() : j.max() + 1, :]  # sorted files:
                samples = box[i - i.min(), j - j.min()].astype(">f4")  # a band of lines
                rows = np.empty((len(block), 240 + 4 * ns), dtype=np.uint8)
                rows[:, :240] = heads
                rows[:, 240:] = samples.view(np.uint8).reshape(len(block), 4 * ns)
                handle.write(rows.tobytes())
        with writing(out):
            os.replace(partial, out)
    finally:
        remove(partial)
    return {"out": str(out), "traces": int(count), "samples": ns, "layer": layer}


def _word(headers: np.ndarray, byte: int) -> np.ndarray:
    """The big-endian int32 header word at 1-based ``byte`` of every header."""
    return headers[:, byte - 1 : byte + 3].copy().view(">i4").ravel().astype(np.int64)


def export_geotiff(
    store: str | Path,
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
    trace's bin centre (the bin spacing along the line from the store's affine), y is minus
    the time (ms, or m in depth), with the same half-pixel shift. Tags name the line, the
    vertical unit, the first and last trace numbers and their map X/Y in the survey CRS.

    Args:
        store: A survey store.
        layer: The layer (or ``amplitude``) to export.
        out: The GeoTIFF to write (staged under a hidden name, renamed when complete).
        time: The slice's time.
        inline: The number of the inline section.
        crossline: The number of the crossline section.
        overwrite: Replace ``out`` if it exists.

    Returns:
        ``{"out", "layer", "shape", "domain", "units"}`` (the vertical axis, ``time`` or
        ``depth``, and its units, ``ms`` or ``m``) and ``"time"`` (the sample used),
        ``"inline"`` or ``"crossline"``.

    Raises:
        InputFileError: An unknown layer or one not on the amplitude grid, or a time or line
            outside the survey.
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
    store, out = Path(store), Path(out)
    _check_output(out, "geotiff")
    survey = open_survey(store)
    values = _layer(survey, store, layer, "geotiff")
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
        out = claim_output(out, kind=GEOTIFF, overwrite=overwrite, inputs=(store,))
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
    out = claim_output(out, kind=GEOTIFF, overwrite=overwrite, inputs=(store,))
    a, b, _, d, e, _ = survey.attrs["spatial:transform"]
    if dim == "inline":  # traces along j: one crossline index is (a, d) metres away
        data, along, spacing = values[index, :, :], "crossline", float(np.hypot(a, d))
        ends = [(index, 0), (index, survey.sizes["crossline"] - 1)]
    else:  # traces along i: one inline index is (b, e) metres away
        data, along, spacing = values[:, index, :], "inline", float(np.hypot(b, e))
        ends = [(0, index), (survey.sizes["inline"] - 1, index)]
    data = np.ascontiguousarray(np.asarray(data.values).T)  # rows: samples downwards
    traces = survey[along].values
    (x0, y0), (x1, y1) = (trace_xy(survey, i, j) for i, j in ends)
    dz = step or 1.0
    transform = (spacing, 0.0, -0.5 * spacing, 0.0, -dz, -float(vertical[0]) + 0.5 * dz)
    _write_tiff(out, data, transform, None, layer=layer, line=f"{dim}={int(number)}",
                vertical_unit=units,
                first_trace=f"{along}={int(traces[0])}", last_trace=f"{along}={int(traces[-1])}",
                first_x=repr(x0), first_y=repr(y0), last_x=repr(x1), last_y=repr(y1),
                xy_crs=survey.attrs.get("proj:code") or "unknown",
                trace_spacing_m=repr(spacing), legend=legend)  # fmt: skip
    return {"out": str(out), "layer": layer, dim: int(number), "shape": data.shape,
            "domain": domain, "units": units}  # fmt: skip


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
