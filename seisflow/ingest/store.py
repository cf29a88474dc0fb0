"""The survey store: one Zarr v3 group every part of seisflow shares.

Layout (see DESIGN.md, "The survey store"):

* dims ``inline``, ``crossline`` (int32 line numbers) and ``time`` (ms) or ``depth`` (m);
* ``amplitude`` float32 (inline, crossline, time|depth), NaN where no trace;
* ``trace_mask`` bool (inline, crossline); ``cdp_x`` / ``cdp_y`` float64 coordinates;
* ``spatial_ref``: a scalar variable with the CF grid mapping (``crs_wkt``); every
  georeferenced variable names it in ``grid_mapping`` and lists ``cdp_x cdp_y`` in
  ``coordinates``;
* group attributes: GeoZarr ``proj:code`` / ``proj:wkt2`` / ``spatial:transform`` /
  ``spatial:registration``, the headers, byte locations, sample format, source fingerprint,
  seisflow version, creation time and amplitude statistics.

A store is written by one writer at a time (:class:`~seisflow.locks.StoreLock`) under a
hidden staged name beside it (``.<name>.<random>.seisflow-partial``) and moved into place
when complete, so a store at its final name is always whole; ``--overwrite`` replaces only a
seisflow survey store and never one that holds the input. Metadata is consolidated for fast
opening.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
import zarr
from zarr.codecs import BloscCodec, ZstdCodec

from seisflow.errors import InputFileError, OutputPathError
from seisflow.ingest.lines import line_summary
from seisflow.ingest.metadata import STAGED_PREFIX, consolidate
from seisflow.ingest.units import coordinate_attrs
from seisflow.locks import StoreLock
from seisflow.object_store import (
    UNFINISHED,
    committed,
    occupied,
    remove_store,
    staging,
    swap_in,
)
from seisflow.outputs import (
    SURVEY_STORE,
    claim_output,
    remove,
    replace_with,
    staging_path,
    stale_staging,
    writing,
)
from seisflow.storage import Location, StoreLike, locate

__all__ = [
    "COMPRESSORS",
    "STAGED_PREFIX",
    "compressor",
    "consolidate",
    "create_store",
    "describe",
    "finish",
    "open_survey",
    "staged_store",
    "summarize",
]

#: Compressor names accepted by ``--compressor``. blosc-lz4 is the default: on two cores the
#: compressor is the ceiling of ingest, and lz4 is the fastest that still compresses.
COMPRESSORS: dict[str, Any] = {
    "blosc-lz4": lambda: BloscCodec(cname="lz4", clevel=5, shuffle="shuffle"),
    "blosc-zstd": lambda: BloscCodec(cname="zstd", clevel=3, shuffle="shuffle"),
    "zstd": lambda: ZstdCodec(level=5),
    "none": lambda: None,
}


def compressor(name: str) -> Any:
    """The zarr codec for a compressor name, or None for ``none``.

    Raises:
        OutputPathError: For an unknown name (the message lists the known ones).
    """
    if name not in COMPRESSORS:
        raise OutputPathError(
            f"unknown compressor {name!r}: choose one of {', '.join(COMPRESSORS)}"
        )
    return COMPRESSORS[name]()


@contextlib.contextmanager
def staged_store(
    path: StoreLike, *, overwrite: bool, inputs: Iterable[Path], purpose: str
) -> Iterator[tuple[Location, Location]]:
    """Claim ``path`` for a new store and hold its lock; yields ``(target, partial)``: where
    the store goes (a link to a store is followed) and the empty staged folder to build it
    in, which :func:`finish` moves into place. Leftovers of interrupted runs are cleared
    first; the staged folder is removed when the block fails.

    On object storage, which has no rename, the store is built at its own prefix
    (``partial`` is ``target``) and becomes visible when :func:`finish` writes its
    consolidated metadata. With ``--overwrite`` it is built beside the old store, which
    stays whole until the new one is committed, then copied into its place
    (:func:`~seisflow.object_store.swap_in`).

    Raises:
        OutputPathError: When ``path`` exists (without ``overwrite``), is not a seisflow
            survey store, is or contains an input, or cannot be written.
        StoreBusyError: When another process is writing it.
    """
    location = locate(path)
    if not location.is_local:
        with StoreLock(location, purpose=purpose):
            remove_store(staging(location))  # an interrupted earlier replacement's
            replacing = occupied(location, overwrite=overwrite)
            partial = staging(location) if replacing else location
            try:
                yield location, partial
            except BaseException:
                remove_store(partial)
                raise
            if replacing:
                swap_in(partial, location)
        return
    target = claim_output(location.path, kind=SURVEY_STORE, overwrite=overwrite, inputs=inputs)
    with StoreLock(target, purpose=purpose), writing(location.path):
        for stale in stale_staging(target):  # an interrupted earlier run: start again
            remove(stale)
        partial = staging_path(target, folder=True)
        try:
            yield Location(str(target)), Location(str(partial))
        except BaseException:
            remove(partial)
            raise


def create_store(
    partial: Location,
    *,
    inlines: np.ndarray,
    crosslines: np.ndarray,
    samples: np.ndarray,
    domain: str,
    trace_mask: np.ndarray,
    cdp_x: np.ndarray,
    cdp_y: np.ndarray,
    grid_mapping: dict[str, Any],
    chunks: tuple[int, int, int],
    codec: Any,
    vertical_units: str | None = None,
    xy_units: str = "m",
) -> None:
    """Create the store's arrays and coordinates; ``amplitude`` is left to region writes.

    Args:
        partial: Where to create it (the partial folder, or an object-store prefix).
        inlines, crosslines: Line numbers, ``(n_il,)`` and ``(n_xl,)``.
        samples: Sample times (``domain="time"``) or depths, ``(n_samples,)``, in
            ``vertical_units`` (default: ms for time, m for depth).
        domain: ``time`` or ``depth``: the name of the vertical dimension.
        trace_mask: Bool ``(n_il, n_xl)``.
        cdp_x, cdp_y: Float64 ``(n_il, n_xl)`` coordinates, NaN where no trace.
        grid_mapping: CF attributes of ``spatial_ref`` (empty when the CRS is unknown).
        chunks: Chunk shape of ``amplitude``.
        codec: zarr compressor of ``amplitude`` (None for no compression).
        vertical_units: ``ms``, ``m`` or ``ft``: the ``units`` of the vertical coordinate.
        xy_units: ``m``, ``ft`` or ``deg``: the units of ``cdp_x`` / ``cdp_y`` (degrees are
            CF longitude / latitude).
    """
    import dask.array as da

    dims = ("inline", "crossline", domain)
    shape = (inlines.size, crosslines.size, samples.size)
    georef = {"grid_mapping": "spatial_ref"}
    units = vertical_units or {"time": "ms", "depth": "m"}[domain]
    dataset = xr.Dataset(
        data_vars={
            "amplitude": (
                dims,
                da.empty(shape, chunks=chunks, dtype=np.float32),
                {"long_name": "seismic amplitude", **georef},
            ),
            "trace_mask": (dims[:2], trace_mask, {"long_name": "trace recorded", **georef}),
            "spatial_ref": ((), np.int32(0), grid_mapping),
        },
        coords={
            "inline": ("inline", inlines.astype(np.int32), {"long_name": "inline number"}),
            "crossline": (
                "crossline",
                crosslines.astype(np.int32),
                {"long_name": "crossline number"},
            ),
            domain: (domain, samples.astype(np.float64), {"units": units, "positive": "down"}),
            "cdp_x": (dims[:2], cdp_x, coordinate_attrs("x", xy_units)),
            "cdp_y": (dims[:2], cdp_y, coordinate_attrs("y", xy_units)),
        },
        attrs={UNFINISHED: True},  # until finish(): an interrupted build is told by it
    )
    encoding = {
        "amplitude": {
            "chunks": chunks,
            "compressors": [codec] if codec else [],
            "fill_value": np.nan,
        }
    }
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Consolidated metadata", UserWarning)
        dataset.to_zarr(
            partial.zarr_store(),
            mode="w",
            compute=False,
            zarr_format=3,
            consolidated=False,
            encoding=encoding,
        )


def finish(partial: Location, path: Location, attrs: dict[str, Any]) -> None:
    """Write the final attributes, consolidate, and move the store into place (see
    :func:`~seisflow.outputs.replace_with`; on object storage the consolidated metadata is
    the commit point and nothing moves)."""
    store = partial.zarr_store()
    group = zarr.open_group(store, mode="r+", use_consolidated=False)
    group.attrs.put({k: v for k, v in {**group.attrs, **_jsonable(attrs)}.items()
                     if k != UNFINISHED})  # fmt: skip
    consolidate(store)
    if partial.is_local and partial.path != path.path:
        replace_with(partial.path, path.path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def open_survey(path: StoreLike) -> xr.Dataset:
    """Open a survey store lazily (dask-backed) with xarray: a local path, a URL or a
    :class:`~seisflow.storage.Location`. Reading never writes.

    Raises:
        InputFileError: When the store is missing, incomplete or has no ``amplitude``.
    """
    location = locate(path)
    if not location.exists():
        if location.is_local and stale_staging(location.path):
            raise InputFileError(
                f"{path} was never completed (an interrupted ingest left "
                f"{stale_staging(location.path)[0].name}): run seisflow ingest again"
            )
        raise InputFileError(f"{path} does not exist: check the path or run seisflow ingest")
    if not location.is_local and not committed(location):
        raise InputFileError(
            f"{path} was never completed (no consolidated metadata: an interrupted ingest): "
            "run seisflow ingest again"
        )
    try:
        dataset = xr.open_zarr(location.zarr_store(read_only=True), consolidated=True)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise InputFileError(
            f"{path} is not a seisflow survey store ({type(exc).__name__}: {exc}): "
            "create one with seisflow ingest"
        ) from None
    dataset.encoding["source"] = location.url  # as xarray records a path it opened
    if "amplitude" not in dataset:
        raise InputFileError(
            f"{path} has no amplitude variable (found: {', '.join(dataset.data_vars) or 'none'})"
            ": create the store with seisflow ingest"
        )
    return dataset


def describe(path: StoreLike) -> dict[str, Any]:
    """A summary of a survey store: grid, extent, corners, CRS, samples, layers, size, and
    for a 2-D line its name, CDPs and length (:func:`~seisflow.ingest.lines.line_summary`).

    Raises:
        InputFileError: As :func:`open_survey`.
    """
    return summarize(open_survey(path), path=path)


def summarize(dataset: xr.Dataset, *, path: StoreLike | None = None) -> dict[str, Any]:
    """The :func:`describe` summary of an open survey dataset.

    Args:
        dataset: A survey (from :func:`open_survey`, or a selection keeping its grid).
        path: The store, for ``store`` and ``size_on_disk_bytes`` (None: both None).
    """
    location = locate(path) if path is not None else None
    attrs = dataset.attrs
    domain = attrs.get("domain", "time")
    inlines, crosslines = dataset.inline.values, dataset.crossline.values
    vertical = dataset[domain].values
    mask = dataset.trace_mask.values
    x, y = dataset.cdp_x.values[mask], dataset.cdp_y.values[mask]
    known = np.isfinite(x) & np.isfinite(y)  # all NaN: a file without coordinates
    x, y = x[known], y[known]
    a, b, c, d, e, f = attrs.get("spatial:transform") or [np.nan] * 6
    corners = []
    for i in (0, inlines.size - 1):
        for j in (0, crosslines.size - 1):
            corners.append(
                {
                    "inline": int(inlines[i]),
                    "crossline": int(crosslines[j]),
                    "x": round(a * j + b * i + c, 2) if x.size else None,
                    "y": round(d * j + e * i + f, 2) if x.size else None,
                }
            )
    layers = [
        name for name in dataset.data_vars if name not in ("amplitude", "trace_mask", "spatial_ref")
    ]
    size = location.size_bytes() if location else None
    return {
        "store": str(location) if location else None,
        "grid": {
            "inlines": _axis(inlines),
            "crosslines": _axis(crosslines),
            "samples": int(vertical.size),
            "traces": int(mask.sum()),
            "missing_traces": int((~mask).sum()),
            "is_2d": bool(attrs.get("geometry", {}).get("is_2d", False)),
        },
        "line": line_summary(dataset),  # a 2-D line: its name, CDPs and length; else None
        "extent": {
            "x": [float(x.min()), float(x.max())] if x.size else None,
            "y": [float(y.min()), float(y.max())] if y.size else None,
        },
        "corners": corners,
        "crs": attrs.get("proj:code") or "unknown",
        "crs_source": attrs.get("crs_source", "unknown"),
        "crs_evidence": attrs.get("crs_evidence", ""),
        "xy_units": attrs.get("xy_units", "m"),
        "coordinate_source": attrs.get("coordinate_source", ""),
        "affine_rms_residual_m": attrs.get("spatial:transform_rms_m"),
        "domain_evidence": attrs.get("domain_evidence", ""),
        "samples": {
            "domain": domain,
            "first": float(vertical[0]),
            "last": float(vertical[-1]),
            "interval": float(vertical[1] - vertical[0]) if vertical.size > 1 else None,
            "units": dataset[domain].attrs.get("units"),
        },
        "layers": layers,
        "chunks": list(dataset.amplitude.encoding.get("chunks", ())),
        "statistics": attrs.get("statistics"),
        "size_on_disk_bytes": size,
        "source": attrs.get("source", {}).get("path"),
    }


def _axis(values: np.ndarray) -> dict[str, int]:
    step = int(values[1] - values[0]) if values.size > 1 else 1
    return {
        "first": int(values[0]),
        "last": int(values[-1]),
        "step": step,
        "count": int(values.size),
    }
