"""Export of a layer: as SEG-Y on the input geometry, or a slice or section as GeoTIFF.

The SEG-Y recipe: open the store -> find the layer and the source file it was ingested from
(checked by size) -> read the source's trace headers in place (a memory map of fixed-length
traces, in the source's byte order: :mod:`~seisflow.infer.export_source`) -> find every trace
on the grid by the header words the ingest placed it by (the store's ``byte_locations`` and
``geometry.placed_by``): inline / crossline on a 3-D survey, the CDP number on a 2-D line, the
position in the file on a 2-D line whose CDP word is constant -> write a new file: the
source's text header with seisflow's provenance block in its last free cards
(:mod:`~seisflow.infer.export_header`); the source's binary header with IEEE format (code 5)
and no extended headers; every trace header copied byte for byte; the layer's samples as
IEEE floats. Written under a hidden staged name beside OUT and renamed when complete;
``--overwrite`` replaces only a file seisflow wrote, never the source SEG-Y.

GeoTIFF slices and sections are written by :mod:`~seisflow.infer.export_geotiff`; the
output's format comes from its extension (:func:`~seisflow.infer.export_target.output_format`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from seisflow.infer.export_geotiff import export_geotiff
from seisflow.infer.export_header import provenance_lines, with_provenance
from seisflow.infer.export_source import Placement, checked_source, source_layout
from seisflow.infer.export_target import (
    GEOTIFF_SUFFIXES,
    SEGY_SUFFIXES,
    check_output,
    export_layer,
    output_format,
)
from seisflow.ingest.fetch import local_file
from seisflow.ingest.store import open_survey
from seisflow.outputs import SEGY, claim_output, remove, staging_path, writing
from seisflow.storage import Location, StoreLike, local_paths, locate

__all__ = ["GEOTIFF_SUFFIXES", "SEGY_SUFFIXES", "export_geotiff", "export_segy", "output_format"]

BLOCK = 20_000  # traces per read/write block: memory stays bounded


def export_segy(
    store: StoreLike, layer: str, out: str | Path, *, overwrite: bool = False
) -> dict[str, Any]:
    """Write ``layer`` of ``store`` as SEG-Y with the source file's geometry and headers.

    The output keeps the source's byte order (a little-endian source gives a little-endian
    file, as segyio and seisflow read with ``endian="little"``); a Seismic Unix source gives
    a SEG-Y file whose binary header is made from its first trace.

    Returns:
        ``{"out", "traces", "samples", "layer"}``.

    Raises:
        InputFileError: An unknown layer, a missing or changed source file, or one whose
            traces are not where the store has them.
        OutputPathError: ``out`` exists and ``overwrite`` is False, is a folder or has no
            SEG-Y extension (:data:`SEGY_SUFFIXES`).
    """
    store, out = locate(store), Path(out)
    check_output(out, "segy")
    survey = open_survey(store)
    values = export_layer(survey, store, layer, "segy")
    origin = locate(checked_source(survey, store))
    out = claim_output(out, kind=SEGY, overwrite=overwrite,
                       inputs=(*local_paths(origin), *local_paths(store)))  # fmt: skip
    with local_file(origin) as source:  # a SEG-Y on object storage: a temporary copy
        return _write_segy(store, survey, layer, values, source, out)


def _write_segy(
    store: Location, survey: Any, layer: str, values: Any, source: Path, out: Path
) -> dict[str, Any]:
    """Write ``out`` (claimed) from the local ``source`` file and the store's ``layer``."""
    layout = source_layout(source, survey, store)
    traces = layout.traces(source)
    place = Placement(survey, store, source, traces, layout.order)
    array = zarr.open_array(store.zarr_store(read_only=True), path=layer, mode="r")
    binary = bytearray(layout.binary)
    binary[24:26] = (5).to_bytes(2, layout.order)  # IEEE floats
    binary[304:306] = (0).to_bytes(2, layout.order)  # no extended text headers
    lines = provenance_lines(layer, values.attrs, survey.attrs, source.name)
    floats = ">f4" if layout.order == "big" else "<f4"
    ns = layout.samples
    partial = staging_path(out, folder=False)
    try:
        with writing(out), open(partial, "r+b") as handle:
            handle.write(with_provenance(layout.text, lines))
            handle.write(bytes(binary))
            for start in range(0, layout.count, BLOCK):
                heads = np.asarray(traces[start : start + BLOCK, :240])
                i, j = place(heads, start)
                box = array[i.min() : i.max() + 1, j.min() : j.max() + 1, :]  # sorted files:
                samples = box[i - i.min(), j - j.min()].astype(floats)  # a band of lines
                rows = np.empty((len(heads), 240 + 4 * ns), dtype=np.uint8)
                rows[:, :240] = heads
                rows[:, 240:] = samples.view(np.uint8).reshape(len(heads), 4 * ns)
                handle.write(rows.tobytes())
        with writing(out):
            os.replace(partial, out)
    finally:
        remove(partial)
    return {"out": str(out), "traces": int(layout.count), "samples": ns, "layer": layer}
