"""SEG-Y to survey store, as a recipe: validate -> scan headers -> geometry -> template -> write.

The write is one Dask graph: a task per column of chunks (a block of inlines x crosslines,
all samples) reads its traces from the SEG-Y in slabs and writes them into its chunk-aligned
region of ``amplitude``, returning the block's statistics. The threaded scheduler runs it on
one machine; ``scheduler="tcp://host:8786"`` runs the same graph on a Dask distributed
cluster (whose workers must see the same paths). Memory is bounded by a few chunk columns,
never by the volume. The store is written by one writer at a time under a hidden staged name
beside it and moved into place when complete (:func:`~seisflow.ingest.store.staged_store`);
an interrupted ingest is rebuilt on the next run.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seisflow._version import __version__
from seisflow.checksums import crc32_of
from seisflow.errors import ConfigError
from seisflow.ingest.geometry import Duplicates, Geometry, build_geometry
from seisflow.ingest.georef import fit_affine, resolve_crs, scaled_coordinates
from seisflow.ingest.segy import (
    ByteLocations,
    HeaderScan,
    header_words,
    open_segy,
    read_block,
    scan_headers,
)
from seisflow.ingest.store import compressor, create_store, finish, staged_store

__all__ = ["DEFAULT_CHUNKS", "IngestReport", "segy_to_zarr"]

DEFAULT_CHUNKS = (64, 64, 256)
#: Settings with a fixed set of values: option -> (values, what to give).
CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "--domain": (("time", "depth"), "time (ms) or depth (m)"),
    "--duplicates": (("error", "first", "last"),
                     "error to refuse two traces in one bin, or first or last to keep one"),
}  # fmt: skip


@dataclass(frozen=True)
class IngestReport:
    """What an ingest wrote and found."""

    store: Path
    shape: tuple[int, int, int]
    traces: int
    missing: int
    non_finite: int
    is_2d: bool
    crs: str | None
    seconds: float
    bytes_read: int
    placement: str = ""  # a 2-D line: how its traces were placed, and why


def segy_to_zarr(
    segy: str | Path,
    store: str | Path,
    *,
    locations: ByteLocations | None = None,
    crs: str | None = None,
    domain: Literal["time", "depth"] = "time",
    chunks: tuple[int, int, int] | str = DEFAULT_CHUNKS,
    compressor_name: str = "blosc-lz4",
    duplicates: Duplicates = "error",
    overwrite: bool = False,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> IngestReport:
    """Ingest a SEG-Y (or Seismic Unix) file into a survey store.

    Args:
        segy: The input file; opened read-only.
        store: The Zarr store to create.
        locations: Trace-header byte locations (default: SEG-Y rev 1, 189/193/181/185).
        crs: EPSG code or WKT; by default an EPSG code found in the text header.
        domain: Name of the vertical axis: ``time`` (ms) or ``depth`` (m).
        chunks: Chunk shape (inline, crossline, sample) of ``amplitude``, or ``"I,X,S"``.
        compressor_name: One of :data:`seisflow.ingest.store.COMPRESSORS`.
        duplicates: ``error`` on two traces in one cell, or keep the ``first`` / ``last``.
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
    segy, store = Path(segy), Path(store)
    codec = compressor(compressor_name)  # validate settings before any work
    chunks = _valid_chunks(chunks)
    _valid_choice("--domain", domain)
    _valid_choice("--duplicates", duplicates)
    with staged_store(store, overwrite=overwrite, inputs=(segy,),
                      purpose="seisflow ingest") as (target, partial):  # fmt: skip
        scan = scan_headers(segy, locations or ByteLocations())
        geometry = geometry_of(scan, duplicates=duplicates)
        crs_info = resolve_crs(crs, scan.text, path=segy)
        x, y, affine = _coordinates(scan, geometry)
        shape = (*geometry.shape, scan.n_samples)
        chunks = tuple(min(c, n) for c, n in zip(chunks, shape, strict=True))
        create_store(
            partial,
            inlines=geometry.inlines,
            crosslines=geometry.crosslines,
            samples=scan.sample_times,
            domain=domain,
            trace_mask=geometry.mask,
            cdp_x=x,
            cdp_y=y,
            grid_mapping=crs_info.cf,
            chunks=chunks,  # type: ignore[arg-type]
            codec=codec,
        )
        with ThreadPoolExecutor(max_workers=1) as side:
            checksum = side.submit(crc32_of, segy)  # overlaps with the write
            stats = _write_amplitude(scan, geometry, partial, chunks, scheduler, workers, progress)
            crc = checksum.result()
        attrs = _attributes(scan, geometry, crs_info, affine, stats, crc, domain, compressor_name)
        attrs["created"] = start.isoformat(timespec="seconds")
        finish(partial, target, attrs)
    return IngestReport(
        store=store,
        shape=shape,  # type: ignore[arg-type]
        traces=scan.n_traces,
        missing=int((~geometry.mask).sum()),
        non_finite=stats["nan_count"] + stats["inf_count"],
        is_2d=geometry.is_2d,
        placement=geometry.placement,
        crs=crs_info.code,
        seconds=(datetime.now(UTC) - start).total_seconds(),
        bytes_read=segy.stat().st_size,
    )


def geometry_of(scan: HeaderScan, *, duplicates: Duplicates) -> Geometry:
    """The grid, with other byte locations probed only if the grid is degenerate."""

    def probe(byte: int) -> np.ndarray:
        with open_segy(scan.path) as handle:
            return header_words(handle, byte)

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


def _coordinates(scan: HeaderScan, geometry: Geometry) -> tuple[np.ndarray, np.ndarray, Any]:
    """CDP X/Y on the grid (NaN where no trace) and the affine fitted to the live traces."""
    x_trace = scaled_coordinates(scan.cdp_x, scan.scalar)
    y_trace = scaled_coordinates(scan.cdp_y, scan.scalar)
    x = np.full(geometry.shape, np.nan)
    y = np.full(geometry.shape, np.nan)
    live = geometry.mask
    x[live] = x_trace[geometry.trace_index[live]]
    y[live] = y_trace[geometry.trace_index[live]]
    i, j = np.nonzero(live)
    return x, y, fit_affine(i, j, x[live], y[live])


def _write_amplitude(
    scan: HeaderScan,
    geometry: Geometry,
    partial: Path,
    chunks: tuple[int, ...],
    scheduler: str | None,
    workers: int | None,
    progress: bool,
) -> dict[str, Any]:
    """The Dask graph of chunk-aligned region writes; returns merged statistics."""
    import dask

    n_il, n_xl = geometry.shape
    tasks = []
    for i0 in range(0, n_il, chunks[0]):
        for j0 in range(0, n_xl, chunks[1]):
            region = (slice(i0, min(i0 + chunks[0], n_il)), slice(j0, min(j0 + chunks[1], n_xl)))
            index = geometry.trace_index[region]
            source = str(scan.path) if scan.samples is None else _gather(scan.samples, index)
            tasks.append(dask.delayed(write_block, pure=False)(source, str(partial), region, index))
    if scheduler:
        from distributed import progress as show

        from seisflow.cluster import connect

        with connect(scheduler) as client:
            futures = client.compute(tasks)
            if progress:
                show(futures)
            results = client.gather(futures)
        return merge_stats(results)
    import sys

    from dask.diagnostics import ProgressBar

    from seisflow.cluster import local_threads

    bar = ProgressBar(out=sys.stderr) if progress else contextlib.nullcontext()
    with local_threads(workers) as threads, bar:
        results = dask.compute(*tasks, **threads)
    return merge_stats(results)


def _gather(samples: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Samples of an in-memory file (obspy path) on a grid of trace positions."""
    out = np.full((*index.shape, samples.shape[1]), np.nan, dtype=np.float32)
    out[index >= 0] = samples[index[index >= 0]]
    return out


def write_block(
    source: str | np.ndarray, store: str, region: tuple[slice, slice], index: np.ndarray
) -> dict[str, Any]:
    """One task: read a block of traces, write its region of ``amplitude``, return stats.

    Args:
        source: The SEG-Y path (read with segyio) or the block's samples already in memory.
        store: The (partial) store path.
        region: Inline and crossline index ranges of the block.
        index: File positions of the block's traces, int64 ``(n_il, n_xl)``; -1 = no trace.
    """
    import zarr

    if isinstance(source, str):
        with open_segy(source) as handle:
            block = read_block(handle, index)
    else:
        block = source
    array = zarr.open_array(store=store, path="amplitude", mode="r+")
    array[region[0], region[1], :] = block
    return block_stats(block[index >= 0])


def block_stats(values: np.ndarray) -> dict[str, Any]:
    """Count, non-finite counts, min, max, sum and sum of squares of the finite values.

    Sums are float32 pairwise reductions (numpy's default), accurate to about 1e-6 relative.
    """
    finite = np.isfinite(values)
    good = values if finite.all() else values[finite]
    nan_count = int(np.isnan(values).sum()) if good.size != values.size else 0
    return {
        "count": int(values.size),
        "nan_count": nan_count,
        "inf_count": int(values.size - good.size - nan_count),
        "min": float(good.min()) if good.size else np.inf,
        "max": float(good.max()) if good.size else -np.inf,
        "sum": float(good.sum(dtype=np.float32)),
        "sum_sq": float(np.square(good).sum(dtype=np.float32)),
        "finite": int(good.size),
    }


def merge_stats(blocks: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> dict[str, Any]:
    """Merge per-block statistics into the survey's: mean, RMS and standard deviation."""
    total = {
        key: sum(b[key] for b in blocks)
        for key in ("count", "nan_count", "inf_count", "sum", "sum_sq", "finite")
    }
    n = max(total["finite"], 1)
    mean = total["sum"] / n
    return {
        **total,
        "min": min(b["min"] for b in blocks),
        "max": max(b["max"] for b in blocks),
        "mean": mean,
        "rms": float(np.sqrt(total["sum_sq"] / n)),
        "std": float(np.sqrt(max(total["sum_sq"] / n - mean**2, 0.0))),
    }


def _attributes(
    scan: HeaderScan,
    geometry: Geometry,
    crs: Any,
    affine: Any,
    stats: dict[str, Any],
    crc: str,
    domain: str,
    compressor_name: str,
) -> dict[str, Any]:
    """Group attributes: GeoZarr georeferencing, headers, provenance and statistics."""
    source = scan.path.resolve()
    return {
        "proj:code": crs.code,
        "proj:wkt2": crs.wkt2,
        "spatial:dimensions": ["inline", "crossline"],
        "spatial:transform": list(affine.coefficients),
        "spatial:transform_rms_m": affine.rms_residual,
        "spatial:registration": "node",
        "crs_source": crs.source,
        "domain": domain,
        "geometry": {
            "is_2d": geometry.is_2d,
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
            "path": str(source),
            "size": source.stat().st_size,
            "crc32": crc,
            "reader": scan.reader,
        },
        "compressor": compressor_name,
        "statistics": {
            k: stats[k]
            for k in ("count", "nan_count", "inf_count", "min", "max", "mean", "rms", "std")
        },
        "seisflow_version": __version__,
    }
