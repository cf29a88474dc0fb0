"""SEG-Y to survey store, as a recipe: validate -> scan headers -> geometry -> template -> write.

The write is one Dask graph: a task per column of chunks (a block of inlines x crosslines,
all samples) reads its traces from the SEG-Y in slabs and writes them into its chunk-aligned
region of ``amplitude``, returning the block's statistics (:mod:`~seisflow.ingest.blocks`).
The threaded scheduler runs it on one machine; ``scheduler="tcp://host:8786"`` runs the same
graph on a Dask distributed cluster (whose workers must see the same paths). Memory is
bounded by a few chunk columns, never by the volume. The store is written by one writer at a
time under a hidden staged name beside it and moved into place when complete
(:func:`~seisflow.ingest.store.staged_store`); an interrupted ingest is rebuilt on the next
run.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seisflow._version import __version__
from seisflow.checksums import crc32_of
from seisflow.errors import ConfigError
from seisflow.ingest.blocks import write_amplitude
from seisflow.ingest.fetch import local_file, source_size
from seisflow.ingest.geometry import Duplicates, Geometry, build_geometry
from seisflow.ingest.prestack import refuse_pre_stack
from seisflow.ingest.reference import Reference, survey_reference
from seisflow.ingest.segy import (
    ByteLocations,
    HeaderScan,
    header_words,
    open_segy,
    scan_headers,
)
from seisflow.ingest.store import compressor, create_store, finish, staged_store
from seisflow.storage import Location, StoreLike, local_paths, locate

__all__ = ["DEFAULT_CHUNKS", "IngestReport", "segy_to_zarr"]

DEFAULT_CHUNKS = (64, 64, 256)
#: Settings with a fixed set of values: option -> (values, what to give).
CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "--domain": (("time", "depth"), "time (ms) or depth (m or ft), or leave it out to read "
                 "it from the text header"),
    "--duplicates": (("error", "first", "last"),
                     "error to refuse two traces in one bin, or first or last to keep one"),
    "--endian": (("big", "little"), "big or little, or leave it out to read it from the file"),
}  # fmt: skip


@dataclass(frozen=True)
class IngestReport:
    """What an ingest wrote and found."""

    store: Path | Location
    shape: tuple[int, int, int]
    traces: int
    missing: int
    non_finite: int
    is_2d: bool
    crs: str | None
    seconds: float
    bytes_read: int
    placement: str = ""  # a 2-D line: how its traces were placed, and why
    domain: str = "time"  # the vertical axis, and what it was told from
    vertical_units: str = "ms"
    domain_evidence: str = ""


def segy_to_zarr(
    segy: str | Path | Location,
    store: StoreLike,
    *,
    locations: ByteLocations | None = None,
    crs: str | None = None,
    domain: Literal["time", "depth"] | None = None,
    chunks: tuple[int, int, int] | str = DEFAULT_CHUNKS,
    compressor_name: str = "blosc-lz4",
    duplicates: Duplicates = "error",
    endian: Literal["big", "little"] | None = None,
    overwrite: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> IngestReport:
    """Ingest a SEG-Y (or Seismic Unix) file into a survey store.

    Args:
        segy: The input file; opened read-only. A URL (``s3://...``) or remote
            :class:`~seisflow.storage.Location` is read in ranges into a temporary local
            copy first (:func:`~seisflow.ingest.fetch.local_file`).
        store: The Zarr store to create: a local path, or an object-storage URL or
            :class:`~seisflow.storage.Location`.
        locations: Trace-header byte locations (default: SEG-Y rev 1, 189/193/181/185).
        crs: EPSG code or WKT; by default an EPSG code found in the text header.
        domain: The vertical axis, ``time`` (ms) or ``depth`` (m, or ft in a feet file);
            None: read from the text header (:mod:`seisflow.ingest.reference`), else time.
        chunks: Chunk shape (inline, crossline, sample) of ``amplitude``, or ``"I,X,S"``.
        compressor_name: One of :data:`seisflow.ingest.store.COMPRESSORS`.
        duplicates: ``error`` on two traces in one cell, or keep the ``first`` / ``last``.
        endian: Byte order of the file, ``big`` or ``little``; None: told from its headers
            (the binary header's format code; for Seismic Unix, the first trace's sample
            count against the file size).
        overwrite: Replace an existing store.
        scheduler: Address of a Dask distributed scheduler; None for local threads.
        workers: Threads of the local scheduler (default: the number of CPUs).
        progress: Show a progress bar on stderr.

    Returns:
        An :class:`IngestReport`.

    Raises:
        ConfigError: On an invalid setting (the same message as the command line), before
            any output is created.
        SeisflowError: On bad input (see :mod:`seisflow.errors`); nothing is left behind.
    """
    start = datetime.now(UTC)
    origin, store = locate(segy), locate(store)
    codec = compressor(compressor_name)  # validate settings before any work
    chunks = _valid_chunks(chunks)
    if domain is not None:
        _valid_choice("--domain", domain)
    _valid_choice("--duplicates", duplicates)
    if endian is not None:
        _valid_choice("--endian", endian)
    with (
        staged_store(store, overwrite=overwrite, inputs=local_paths(origin),
                     purpose="seisflow ingest") as (target, partial),
        local_file(origin) as segy,
    ):  # fmt: skip
        scan = scan_headers(segy, locations or ByteLocations(), endian=endian)
        geometry = geometry_of(scan, duplicates=duplicates)
        reference = survey_reference(scan, geometry, crs=crs, domain=domain)
        shape = (*geometry.shape, scan.n_samples)
        chunks = tuple(min(c, n) for c, n in zip(chunks, shape, strict=True))
        create_store(
            partial,
            inlines=geometry.inlines,
            crosslines=geometry.crosslines,
            samples=scan.sample_times,
            domain=reference.domain,
            trace_mask=geometry.mask,
            cdp_x=reference.coordinates.x,
            cdp_y=reference.coordinates.y,
            grid_mapping=reference.crs.cf,
            vertical_units=reference.vertical_units,
            xy_units=reference.xy_units,
            chunks=chunks,  # type: ignore[arg-type]
            codec=codec,
        )
        with ThreadPoolExecutor(max_workers=1) as side:
            checksum = side.submit(crc32_of, segy)  # overlaps with the write
            stats = write_amplitude(scan, geometry, partial, chunks, scheduler, workers, progress)
            crc = checksum.result()
        attrs = _attributes(scan, geometry, reference, stats, crc, compressor_name, origin)
        attrs["created"] = start.isoformat(timespec="seconds")
        finish(partial, target, attrs)
    return IngestReport(
        store=store.path if store.is_local else store,
        shape=shape,  # type: ignore[arg-type]
        traces=scan.n_traces,
        missing=int((~geometry.mask).sum()),
        non_finite=stats["nan_count"] + stats["inf_count"],
        is_2d=geometry.is_2d,
        placement=geometry.placement,
        crs=reference.crs.code,
        domain=reference.domain,
        vertical_units=reference.vertical_units,
        domain_evidence=reference.domain_evidence,
        seconds=(datetime.now(UTC) - start).total_seconds(),
        bytes_read=source_size(origin),
    )


def geometry_of(scan: HeaderScan, *, duplicates: Duplicates) -> Geometry:
    """The grid, with other header words read only if traces share a bin (pre-stack gathers
    are refused: :func:`~seisflow.ingest.prestack.refuse_pre_stack`) or the grid is degenerate.

    Raises:
        SegyFormatError: For pre-stack gathers, and as :func:`~seisflow.ingest.geometry.
            build_geometry`.
    """

    def probe(byte: int) -> np.ndarray:
        with open_segy(scan.path, scan.endian) as handle:
            return header_words(handle, byte)

    refuse_pre_stack(scan, probe)
    return build_geometry(
        scan, duplicates=duplicates, probe=probe if scan.reader == "segyio" else None
    )


def _valid_chunks(chunks: object) -> tuple[int, int, int]:
    """Three positive integers from a sequence or an ``"I,X,S"`` string.

    Raises:
        ConfigError: Otherwise, naming the value and an example.
    """
    parts: object = chunks.split(",") if isinstance(chunks, str) else chunks
    try:
        values = tuple(_integer(part) for part in parts)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        values = ()
    if len(values) != 3 or min(values) < 1:
        seq = isinstance(chunks, tuple | list)
        shown = ",".join(map(str, chunks)) if seq else str(chunks)  # type: ignore[call-overload]
        raise ConfigError(
            f"--chunks {shown!r} is not three positive integers I,X,S such as 64,64,256"
        )
    return values  # type: ignore[return-value]


def _integer(value: object) -> int:
    """An integer from an int or a string of one (not a float, not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | str | np.integer):
        raise TypeError(value)
    return int(value)


def _valid_choice(option: str, value: object) -> None:
    """Refuse a value of ``option`` outside :data:`CHOICES` with the command line's words."""
    values, what = CHOICES[option]
    if value not in values:
        raise ConfigError(f"{option} {value!r} is not one of {', '.join(values)}: give {what}")


def _attributes(
    scan: HeaderScan,
    geometry: Geometry,
    reference: Reference,
    stats: dict[str, Any],
    crc: str,
    compressor_name: str,
    origin: Location,
) -> dict[str, Any]:
    """Group attributes: GeoZarr georeferencing, the vertical axis and units (see
    :meth:`~seisflow.ingest.reference.Reference.attributes`), headers, provenance and
    statistics; ``origin``: the file as the user named it (the path recorded: absolute, or
    the URL)."""
    path = str(origin.path.resolve()) if origin.is_local else origin.url
    return {
        **reference.attributes(),
        "spatial:dimensions": ["inline", "crossline"],
        "spatial:registration": "node",
        "geometry": {
            **reference.geometry_attributes(),
            "is_2d": geometry.is_2d,
            # what placed the traces on the grid (export finds them again by it): a 2-D
            # line's CDP word (byte_locations["cdp"]) or, when that is constant, file order
            "placed_by": ("cdp" if np.unique(scan.cdp).size > 1 else "file order")
            if geometry.is_2d
            else "inline/crossline",
            "sorting": geometry.sorting,
            "duplicates_dropped": geometry.dropped,
            "traces": scan.n_traces,
            "missing_cells": int((~geometry.mask).sum()),
        },
        "text_header": scan.text,
        "text_header_encoding": scan.text_encoding,
        "binary_header": scan.binary,
        "byte_locations": asdict(scan.locations),
        "sample_format": {"code": scan.format_code, "name": scan.format_name},
        "source": {
            "path": path,
            "size": scan.path.stat().st_size,
            "crc32": crc,
            "reader": scan.reader,
            "endian": scan.endian,
        },
        "compressor": compressor_name,
        "statistics": {
            k: stats[k]
            for k in ("count", "nan_count", "inf_count", "min", "max", "mean", "rms", "std")
        },
        "seisflow_version": __version__,
    }
