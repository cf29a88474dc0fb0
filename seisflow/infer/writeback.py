"""Result layers written back into a survey store: chunk-aligned, atomic per layer.

A layer (``facies``, ``facies_confidence``, ``anomaly``, ...) lives beside ``amplitude`` on
the same grid and chunks. It is computed as a Dask graph of chunk-aligned region writes
into a hidden array ``_partial_<name>``; only when every chunk is written is that array
renamed to ``<name>`` and the store's metadata consolidated. A crash therefore leaves the
previous layer (or none) visible, never half of a new one; the next write clears the
leftover. ``amplitude`` is never opened for writing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import zarr

from seisflow.errors import InputFileError, OutputPathError
from seisflow.ingest.store import consolidate, open_survey

__all__ = ["PARTIAL_PREFIX", "remove_layer", "write_layer"]

#: Name prefix of a layer being written (invisible: not in the consolidated metadata).
PARTIAL_PREFIX = "_partial_"
FILL = {np.dtype(np.int16): -1, np.dtype(np.float32): np.nan}
RESERVED = frozenset(["amplitude", "trace_mask", "spatial_ref", "cdp_x", "cdp_y"])


def _check_name(name: str) -> None:
    if not name.isidentifier() or name.startswith("_") or name in RESERVED:
        raise OutputPathError(
            f"layer name {name!r} is not allowed: use a new identifier such as facies "
            f"({', '.join(sorted(RESERVED))} are the survey's own)"
        )


def write_layer(
    store: str | Path,
    name: str,
    data: da.Array,
    *,
    attrs: dict[str, Any],
    overwrite: bool = False,
    scheduler: Any = None,
) -> None:
    """Write ``data`` as the layer ``name`` of ``store``, atomically.

    Args:
        store: A survey store.
        name: The layer's name.
        data: int16 or float32 ``(inline, crossline, sample)`` on the amplitude grid; its
            Dask chunks should match the amplitude chunks (they are rechunked otherwise).
        attrs: The layer's attributes (long name, flags, provenance); ``grid_mapping`` and
            ``coordinates`` are added.
        overwrite: Replace an existing layer of that name.
        scheduler: A Dask scheduler (``"threads"``, a ``distributed.Client``) or None for
            the default threads.

    Raises:
        InputFileError: When ``store`` is not a survey store or ``data`` is off its grid.
        OutputPathError: When the layer exists and ``overwrite`` is False, or the name is
            reserved.
    """
    path = Path(store)
    _check_name(name)
    survey = open_survey(path)
    amplitude = survey.amplitude
    if tuple(data.shape) != amplitude.shape:
        raise InputFileError(
            f"layer {name} has shape {tuple(data.shape)} but {path} has the amplitude grid "
            f"{amplitude.shape}: compute the layer on that grid"
        )
    dtype = np.dtype(data.dtype)
    if dtype not in FILL:
        raise TypeError(f"layer {name}: dtype {dtype} is not int16 or float32")
    if name in survey and not overwrite:
        raise OutputPathError(f"{path} already has a {name} layer: pass --overwrite to replace it")
    chunks = tuple(int(c) for c in amplitude.encoding["chunks"])
    staged = PARTIAL_PREFIX + name
    shutil.rmtree(path / staged, ignore_errors=True)  # a leftover of an interrupted write
    group = zarr.open_group(str(path), mode="r+")
    target = group.create_array(
        staged,
        shape=amplitude.shape,
        chunks=chunks,
        dtype=dtype,
        fill_value=FILL[dtype],
        compressors=zarr.open_array(str(path), path="amplitude", mode="r").compressors,
        dimension_names=list(amplitude.dims),
        attributes={**attrs, "grid_mapping": "spatial_ref", "coordinates": "cdp_x cdp_y"},
    )
    da.store(da.asarray(data).rechunk(chunks), target, lock=False, scheduler=scheduler)
    _publish(path, staged, name)


def _publish(path: Path, staged: str, name: str) -> None:
    """Move the fully written ``staged`` array to ``name`` and consolidate."""
    old = path / f"{PARTIAL_PREFIX}old_{name}"
    shutil.rmtree(old, ignore_errors=True)
    if (path / name).exists():
        (path / name).rename(old)
    (path / staged).rename(path / name)
    shutil.rmtree(old, ignore_errors=True)
    consolidate(path)


def remove_layer(store: str | Path, name: str) -> None:
    """Delete the layer ``name`` (and any leftover of writing it) from ``store``."""
    path = Path(store)
    _check_name(name)
    for folder in (path / name, path / (PARTIAL_PREFIX + name)):
        shutil.rmtree(folder, ignore_errors=True)
    consolidate(path)
