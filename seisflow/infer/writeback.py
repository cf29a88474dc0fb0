"""Result layers written back into a survey store: chunk-aligned, atomic per layer.

A layer (``facies``, ``facies_confidence``, ``anomaly``, ...) lives beside ``amplitude`` on
the same grid and chunks. It is computed as a Dask graph of chunk-aligned region writes
into a hidden array ``_partial_<name>``; only when every chunk is written is that array
renamed to ``<name>`` and the store's metadata consolidated. Visible means listed in the
consolidated metadata, which never lists a ``_partial_*`` array, and drops the old layer
before its folder is moved aside. A crash (even kill -9) therefore leaves the previous layer,
none (killed during the swap itself) or the new one visible, never half of one; the next
write of that layer clears the leftover. ``amplitude`` is never opened for writing.

How a layer is staged and published depends on where the store lives: renamed folders on a
local disk (:mod:`seisflow.infer.folder_layers`), alternate chunk-key namespaces committed by
one metadata write on object storage, which has no rename
(:mod:`seisflow.infer.object_layers`). The promise is the same.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any

import dask.array as da
import numpy as np

from seisflow.cluster import local_threads
from seisflow.errors import InputFileError, OutputPathError
from seisflow.infer.folder_layers import FolderLayers
from seisflow.infer.object_layers import ObjectLayers
from seisflow.ingest.metadata import STAGED_PREFIX
from seisflow.ingest.store import open_survey
from seisflow.locks import StoreLock, holding
from seisflow.outputs import writing
from seisflow.storage import Location, StoreLike, locate

__all__ = [
    "PARTIAL_PREFIX",
    "remove_layer",
    "slabs",
    "write_grid",
    "write_layer",
    "write_layers",
]

#: Name prefix of a layer being written (invisible: not in the consolidated metadata).
PARTIAL_PREFIX = STAGED_PREFIX
FILL = {np.dtype(np.int16): -1, np.dtype(np.float32): np.nan}
RESERVED = frozenset(["amplitude", "trace_mask", "spatial_ref", "cdp_x", "cdp_y"])


def _check_name(name: str) -> None:
    if not name.isidentifier() or name.startswith("_") or name in RESERVED:
        raise OutputPathError(
            f"layer name {name!r} is not allowed: use a new identifier such as facies "
            f"({', '.join(sorted(RESERVED))} are the survey's own)"
        )


def write_layer(
    store: StoreLike,
    name: str,
    data: da.Array,
    *,
    attrs: dict[str, Any],
    overwrite: bool = False,
    scheduler: Any = None,
    lock: StoreLock | None = None,
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
        lock: The store's lock when the caller holds it (a recipe writing several layers);
            None takes it for this write.

    Raises:
        InputFileError: When ``store`` is not a survey store or ``data`` is off its grid.
        OutputPathError: When the layer exists and ``overwrite`` is False, the name is
            reserved, the disk is full or read-only, or a link sits where the layer goes.
        StoreBusyError: When another process is writing the store.
    """
    write_layers(store, {name: (data, attrs)}, overwrite=overwrite, scheduler=scheduler,
                 lock=lock)  # fmt: skip


def write_layers(
    store: StoreLike,
    layers: dict[str, tuple[da.Array, dict[str, Any]]],
    *,
    overwrite: bool = False,
    scheduler: Any = None,
    lock: StoreLock | None = None,
) -> None:
    """Write several layers of ``store`` (name -> ``(data, attrs)``, as in
    :func:`write_layer`) from one Dask computation, so work their graphs share is done once;
    all of them appear together, atomically."""
    path = locate(store)
    survey = open_survey(path)
    amplitude = survey.amplitude
    for name, (data, _) in layers.items():
        _check_name(name)
        if tuple(data.shape) != amplitude.shape:
            raise InputFileError(
                f"layer {name} has shape {tuple(data.shape)} but {path} has the amplitude "
                f"grid {amplitude.shape}: compute the layer on that grid"
            )
        if np.dtype(data.dtype) not in FILL:
            raise TypeError(f"layer {name}: dtype {np.dtype(data.dtype)} is not int16 or float32")
        if name in survey and not overwrite:
            raise OutputPathError(_exists(path, name))
    chunks = tuple(int(c) for c in amplitude.encoding["chunks"])
    names = tuple(layers)
    layers_here = _layers(path)
    with (
        holding(path, lock, purpose=f"writing the {' and '.join(names)} layer"),
        writing(path),
        layers_here.stage(names) as (group, staged, options),
    ):
        compressors = group["amplitude"].compressors
        sources, targets = [], []
        for folder, (data, attrs) in zip(staged, layers.values(), strict=True):
            dtype = np.dtype(data.dtype)
            targets.append(group.create_array(
                folder, shape=amplitude.shape, chunks=chunks, dtype=dtype, fill_value=FILL[dtype],
                compressors=compressors, dimension_names=list(amplitude.dims), **options[folder],
                attributes={**attrs, "grid_mapping": "spatial_ref", "coordinates": "cdp_x cdp_y"},
            ))  # fmt: skip
            sources.append(da.asarray(data).rechunk(chunks))
        with contextlib.ExitStack() as stack:  # own threads: waited for if a chunk fails
            where = {"scheduler": scheduler} if scheduler else stack.enter_context(local_threads())
            for rows in slabs(chunks, amplitude.shape, _threads(scheduler)):
                region = [(rows,)] * len(targets)
                da.store([s[rows] for s in sources], targets, regions=region, lock=False, **where)
        layers_here.publish(names)


def slabs(chunks: tuple[int, ...], shape: tuple[int, ...], threads: int) -> list[slice]:
    """Inline ranges of whole chunk rows, each of at least ``4 * threads`` chunks (so every
    thread stays busy), to compute one after the other: the memory a layer's graph holds at
    once is bounded by a slab, not by the volume, however Dask orders its tasks."""
    per_row = math.prod(math.ceil(n / c) for n, c in zip(shape[1:], chunks[1:], strict=True))
    rows = max(1, math.ceil(4 * threads / per_row)) * chunks[0]
    return [slice(lo, min(lo + rows, shape[0])) for lo in range(0, shape[0], rows)]


def _threads(scheduler: Any) -> int:
    """Threads the computation runs on: the cluster's workers' or this machine's CPUs."""
    if scheduler is not None and hasattr(scheduler, "nthreads"):
        return max(1, sum(scheduler.nthreads().values()))
    return os.cpu_count() or 1


def _layers(location: Location) -> FolderLayers | ObjectLayers:
    """How layers are staged and published where ``location`` lives."""
    return FolderLayers(location.path) if location.is_local else ObjectLayers(location)


def _exists(path: Location, name: str) -> str:
    article = "an" if name[0] in "aeiou" else "a"
    return f"{path} already has {article} {name} layer: pass --overwrite to replace it"


def write_grid(
    store: StoreLike,
    name: str,
    values: np.ndarray,
    coords: dict[str, np.ndarray],
    *,
    attrs: dict[str, Any],
    overwrite: bool = False,
    lock: StoreLock | None = None,
) -> None:
    """Write ``values`` as the layer ``name`` on a grid of its own (not the amplitude grid),
    with one coordinate array per dimension, atomically: all of them appear together.

    Args:
        store: A survey store.
        name: The layer's name.
        values: float32 array; its dimensions are the keys of ``coords``, in order.
        coords: Dimension name -> 1-D coordinate values (e.g. the grid's inline numbers).
        attrs: The layer's attributes.
        overwrite: Replace an existing layer of that name.
        lock: The store's lock when the caller holds it; None takes it for this write.

    Raises:
        OutputPathError: When the layer exists and ``overwrite`` is False, a name is
            reserved, or the store cannot be written.
        StoreBusyError: When another process is writing the store.
    """
    path = locate(store)
    for label in (name, *coords):
        _check_name(label)
    if name in open_survey(path) and not overwrite:
        raise OutputPathError(_exists(path, name))
    if values.shape != tuple(len(c) for c in coords.values()):
        raise ValueError(f"layer {name}: shape {values.shape} does not match its coordinates")
    arrays = {name: (np.asarray(values, dtype=np.float32), list(coords), attrs)}
    arrays.update({dim: (np.asarray(c), [dim], {}) for dim, c in coords.items()})
    layers_here = _layers(path)
    with (
        holding(path, lock, purpose=f"writing the {name} layer"),
        writing(path),
        layers_here.stage(tuple(arrays)) as (group, staged, options),
    ):
        for folder, (data, dims, extra) in zip(staged, arrays.values(), strict=True):
            target = group.create_array(folder, shape=data.shape, dtype=data.dtype,
                                        chunks=data.shape or None, dimension_names=dims,
                                        attributes=extra, **options[folder])  # fmt: skip
            target[...] = data
        layers_here.publish(tuple(arrays))


def remove_layer(store: StoreLike, name: str, *, lock: StoreLock | None = None) -> None:
    """Delete the layer ``name`` (and any leftover of writing it) from ``store``."""
    path = locate(store)
    _check_name(name)
    with holding(path, lock, purpose=f"removing the {name} layer"), writing(path):
        _layers(path).remove(name)
