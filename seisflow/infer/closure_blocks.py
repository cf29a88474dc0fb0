"""Dask arrays whose blocks a closure works out from data it holds (a patch table), named
without hashing that data.

:func:`dask.array.map_blocks` names its result by a hash of its arguments, the function
included; a closure has no cheaper hash than its pickle, so naming a block function that
holds a map's patch table (its positions and values: hundreds of megabytes on a 16 GB
survey, memory-mapped files) pickled the whole table twice, reading every page of it into
anonymous memory: the map's memory peak (2.25 GB while the anomaly layer's graph was built
for a 16 GB survey, against under 1 GB for its slabs; ``benchmarks/RESULTS.md``,
2026-12-05). A name drawn at random is unique, as dask asks, and costs nothing; what it
gives up is dask merging two equal arrays built by separate calls, which the map never
builds.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import dask.array as da
import numpy as np

__all__ = ["closure_blocks"]


def closure_blocks(
    block: Callable[..., np.ndarray],
    *,
    chunks: tuple[tuple[int, ...], ...],
    dtype: Any,
    label: str,
) -> da.Array:
    """A lazy array on ``chunks`` whose every block is ``block(block_info=...)`` (as
    :func:`dask.array.map_blocks` with no input arrays), of ``dtype``, named
    ``label-<random hex>``: ``block`` is never hashed."""
    meta = np.empty((0,) * len(chunks), dtype=dtype)
    return da.map_blocks(block, chunks=chunks, dtype=dtype, meta=meta,
                         name=f"{label}-{uuid.uuid4().hex}")  # fmt: skip
