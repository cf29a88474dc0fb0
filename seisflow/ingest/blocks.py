"""The amplitude write of an ingest: one Dask task per column of chunks, with its statistics.

:func:`write_amplitude` builds the graph: a task per block of ``chunks[0]`` inlines x
``chunks[1]`` crosslines (all samples) reads the block's traces from the SEG-Y in slabs
(:func:`~seisflow.ingest.segy.read_block`: a run of whole rows of the block when its traces
lie one after another in the file), computes its statistics (:func:`block_stats`, over the
traces recorded there) and writes its chunk-aligned region of ``amplitude``. Memory is
bounded by a few such blocks, never by the volume. The threaded scheduler runs it on one
machine; a scheduler address runs the same graph on a Dask distributed cluster.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

import numpy as np

from seisflow.ingest.geometry import Geometry
from seisflow.ingest.segy import HeaderScan, open_segy, read_block
from seisflow.storage import Location

__all__ = ["block_stats", "merge_stats", "write_amplitude", "write_block"]

#: Samples per piece of a block's statistics: 1 MB of float32, so that the several passes
#: over a piece (min, max, sum, squares) read it from the CPU cache, not from memory.
STATS_PIECE = 1 << 18


def write_amplitude(
    scan: HeaderScan,
    geometry: Geometry,
    partial: Location,
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
            tasks.append(dask.delayed(write_block, pure=False)(
                source, partial, region, index, endian=scan.endian))  # fmt: skip
    if scheduler:
        from distributed import progress as show

        from seisflow.cluster import connect

        with connect(scheduler) as client:
            futures = client.compute(tasks)
            if progress:
                show(futures)
            results = client.gather(futures)
        return merge_stats(results)
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
    source: str | np.ndarray,
    store: Location,
    region: tuple[slice, slice],
    index: np.ndarray,
    endian: str | None = None,
) -> dict[str, Any]:
    """One task: read a block of traces, write its region of ``amplitude``, return stats.

    Args:
        source: The SEG-Y path (read with segyio) or the block's samples already in memory.
        store: The (partial) store.
        region: Inline and crossline index ranges of the block.
        index: File positions of the block's traces, int64 ``(n_il, n_xl)``; -1 = no trace.
        endian: Byte order of the SEG-Y (None: told from its binary header).
    """
    import zarr

    if isinstance(source, str):
        with open_segy(source, endian) as handle:
            block = read_block(handle, index)
    else:
        block = source
    live = index >= 0
    stats = block_stats(block if live.all() else block[live])
    array = zarr.open_array(store=store.zarr_store(), path="amplitude", mode="r+")
    if stats["nan_count"] == 0 and live.all() and hasattr(array, "with_config"):
        # no NaN in the block: no chunk of it can equal the NaN fill value, so zarr's check
        # for chunks to leave out (a pass over every chunk) would find none
        array = array.with_config({"write_empty_chunks": True})
    step = array.chunks[2]
    for k0 in range(0, block.shape[2], step):
        piece = np.ascontiguousarray(block[:, :, k0 : k0 + step])
        array[region[0], region[1], k0 : k0 + piece.shape[2]] = piece
    return stats


def block_stats(values: np.ndarray) -> dict[str, Any]:
    """Count, non-finite counts, min, max, sum and sum of squares of the finite values.

    Read in pieces of :data:`STATS_PIECE` samples: sums are float32 pairwise reductions
    (numpy's default) within a piece, added up in float64, accurate to about 1e-6 relative;
    the NaN / inf counts are taken only in a piece whose min or max is not finite.
    """
    flat = values.reshape(-1)
    nan_count = inf_count = 0
    low, high, total, total_sq = np.inf, -np.inf, 0.0, 0.0
    squares = np.empty(min(flat.size, STATS_PIECE), dtype=np.float32)
    for start in range(0, flat.size, STATS_PIECE):
        piece = flat[start : start + STATS_PIECE]
        piece_low, piece_high = piece.min(), piece.max()  # NaN if any sample is NaN
        if not (np.isfinite(piece_low) and np.isfinite(piece_high)):
            finite = np.isfinite(piece)
            nan = int(np.isnan(piece).sum())
            nan_count, inf_count = nan_count + nan, inf_count + piece.size - nan - int(finite.sum())
            piece = piece[finite]
            if not piece.size:
                continue
            piece_low, piece_high = piece.min(), piece.max()
        low, high = min(low, float(piece_low)), max(high, float(piece_high))
        total += float(np.add.reduce(piece, dtype=np.float32))
        square = np.multiply(piece, piece, out=squares[: piece.size])
        total_sq += float(np.add.reduce(square, dtype=np.float32))
    return {
        "count": int(flat.size),
        "nan_count": nan_count,
        "inf_count": inf_count,
        "min": low,
        "max": high,
        "sum": total,
        "sum_sq": total_sq,
        "finite": int(flat.size - nan_count - inf_count),
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
