"""Streams of uint8 patches of a survey store, for the trainer and for mapping.

:class:`PatchStream` works in *units*: one chunk column (inline chunk x crossline chunk x
the time window) in one direction. It reads a unit's region plus the halo its patches reach
into (``size - 1`` traces, ``depth - 1`` sections, from neighbouring chunks: any chunk shape
works), quantises it and cuts every patch whose first sample lies in the unit (none twice,
none lost). Training (``shuffle=True``): each epoch the units of each direction are permuted
(seeded) and dealt round-robin to the DataLoader workers x distributed ranks; each consumer
reads its share in an order that spans the survey from its first unit, the two directions
alternating, through a shuffle buffer, so every batch mixes both directions and all parts
of the survey from the first step. ``holdout``/``split`` keep a seeded fraction of the chunk
columns for evaluation only. The deterministic pass (``shuffle=False``, mapping) splits the
units in order into contiguous runs per consumer, so neighbouring chunks are read once; it
delivers every position exactly once across all consumers.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Literal

import numpy as np
import torch
import zarr
from torch.utils.data import IterableDataset, get_worker_info

from seisflow.errors import InputFileError
from seisflow.ingest.batching import emit, shuffled, trimmed
from seisflow.ingest.normalize import Normalization, measure
from seisflow.ingest.patches import (
    PatchSpec,
    columns,
    expand,
    holdout_block,
    holdout_columns,
    in_columns,
    positions,
    sample_range,
    spread,
    time_starts,
)
from seisflow.ingest.store import open_survey
from seisflow.storage import StoreLike, locate

__all__ = ["PatchStream", "shard", "tile"]

Unit = tuple[int, int, int]  # (axis, inline chunk index, crossline chunk index)


def shard() -> tuple[int, int]:
    """``(index, count)`` of this consumer among DataLoader workers x distributed ranks."""
    info = get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    return rank * workers + worker, world * workers


def _split(n_items: int, index: int, count: int) -> slice:
    """The ``index``-th of ``count`` contiguous, near-equal parts of ``range(n_items)``."""
    bounds = np.linspace(0, n_items, count + 1).round().astype(int)
    return slice(int(bounds[index]), int(bounds[index + 1]))


def tile(store: StoreLike, spec: PatchSpec, *, complete: bool = False) -> np.ndarray:
    """The deterministic grid of patch positions of a store, int64 ``(n, 4)``.

    ``(axis, i, j, k)`` rows in lexicographic order: every patch with a live trace (the
    mapping tiling, which covers every live sample), or with ``complete`` only patches whose
    traces are all live (the training positions).
    """
    dataset = open_survey(store)
    vertical = dataset[dataset.amplitude.dims[2]].values
    samples = sample_range(vertical, spec.time_window)
    return positions(spec, dataset.trace_mask.values, samples=samples, complete=complete)


class PatchStream(IterableDataset):
    """uint8 patches ``(C, size, size)`` of a survey store, for training and for mapping.

    Args:
        store: A survey store (see :mod:`seisflow.ingest.store`).
        spec: How patches are cut.
        seed: Seed of the unit order, the shuffle buffer and the hold-out: same seed, same
            stream.
        shuffle: True: an endless stream of complete patches (training), in random order.
            False: one deterministic pass over the mapping tiling (every patch with a live
            trace, in unit order within each consumer).
        return_positions: Yield ``(patch, position)`` with ``position`` int64 ``(4,)``.
        buffer: Size of the shuffle buffer (patches).
        normalization: How amplitudes become bytes (the run's, when scoring with a trained
            model); None: the store's own (:func:`~seisflow.ingest.normalize.measure`).
            Missing samples take :data:`~seisflow.ingest.normalize.MISSING`.
        batch_size: Yield batches ``(B, C, size, size)`` instead of single patches (use
            ``DataLoader(stream, batch_size=None)``): far less per-patch Python work.
        holdout: Fraction of the chunk columns held out for evaluation, chosen by ``seed``
            among the columns that hold a complete patch (see :attr:`holdout`); 0: none.
        split: ``"train"``: the patches that start outside the held-out columns;
            ``"eval"``: those that start inside them.

    Attributes:
        columns: The stream's patch columns ``(axis, i, j)``, int64 ``(m, 3)``, grouped by
            unit (see :func:`~seisflow.ingest.patches.columns`): a patch is cut from each at
            every one of :attr:`times`, so the stream holds its tiling in 24 bytes a column
            instead of 32 bytes a patch (some 30-60 patches a column over 1000 samples).
        times: Sample indices where patches start, int64 ``(t,)``.

    Raises:
        InputFileError: When the store has no ``amplitude`` or no patch fits in it (or in
            the chosen split).
    """

    def __init__(
        self,
        store: StoreLike,
        spec: PatchSpec,
        *,
        seed: int = 0,
        shuffle: bool = True,
        return_positions: bool = False,
        buffer: int = 8192,
        normalization: Normalization | None = None,
        batch_size: int | None = None,
        holdout: float = 0.0,
        split: Literal["train", "eval"] = "train",
    ) -> None:
        super().__init__()
        dataset = open_survey(store)
        self.batch_size = batch_size
        self.store = locate(store)
        self.spec = spec
        self.seed = seed
        self.shuffle = shuffle
        self.return_positions = return_positions
        self.buffer = buffer
        self.shape = tuple(int(n) for n in dataset.amplitude.shape)
        self.chunks = tuple(int(c) for c in dataset.amplitude.encoding["chunks"])
        vertical = dataset[dataset.amplitude.dims[2]].values
        self.samples = sample_range(vertical, spec.time_window)
        self.live = dataset.trace_mask.values
        self._check_fits(spec)
        self.normalization = normalization or measure(store)
        self.times = time_starts(spec, self.samples)
        every = columns(spec, self.live, complete=shuffle)
        self.holdout = self._holdout(every, holdout)
        block, held_out = tuple(self.holdout["block"]), np.array(self.holdout["columns"])
        held = in_columns(every, block, held_out.reshape(-1, 2))
        kept = every[held] if split == "eval" else (every[~held] if held.any() else every)
        self.columns, self._by_unit = self._group_by_unit(kept)
        del kept
        if self.columns.size == 0 and every.size:
            raise InputFileError(
                f"{store}: no patch for the {split} split of a {holdout:g} hold-out: it needs "
                "two or more chunk columns that hold a complete patch"
            )
        if self.columns.size == 0:
            raise InputFileError(
                f"{store}: no {'complete ' if shuffle else ''}{spec.size}x{spec.size} patch fits"
                f" on its {spec.axis} sections (grid {self.shape}, live traces "
                f"{int(self.live.sum())}): use a smaller patch size or another axis"
            )

    def _holdout(self, every: np.ndarray, fraction: float) -> dict[str, Any]:
        """The hold-out of patch columns ``every`` ``(m, 3)``: ``{"fraction", "seed", "block",
        "columns"}``; a column ``[c_i, c_x]`` covers inline indices ``c_i * block[0]`` up to
        ``(c_i + 1) * block[0]`` and crossline indices likewise (store chunk columns, halved
        while the survey has fewer than 10)."""
        block = holdout_block(self.shape[:2], self.chunks[:2])
        complete = every
        if fraction and not self.shuffle:  # the same columns as the training stream's
            complete = columns(self.spec, self.live, complete=True)
        held = holdout_columns(complete, block, fraction, self.seed)
        return {"fraction": float(fraction), "seed": int(self.seed), "block": list(block),
                "columns": held.tolist()}  # fmt: skip

    def _check_fits(self, spec: PatchSpec) -> None:
        n_samples = self.samples[1] - self.samples[0]
        for axis in spec.axes:
            traces = self.shape[1 - axis]
            sections = self.shape[axis]
            if spec.size > traces or spec.size > n_samples or spec.channels > sections:
                raise InputFileError(
                    f"{self.store}: a {spec.channels}x{spec.size}x{spec.size} patch on "
                    f"{('inline', 'crossline')[axis]} sections does not fit the volume "
                    f"({self.shape[0]} inlines x {self.shape[1]} crosslines x {n_samples} "
                    "samples in the window): use a smaller --set data.size or another axis"
                )

    def normalize(self, raw: np.ndarray) -> np.ndarray:
        """Exactly the stream's normalisation of any raw slice: uint8 of the same shape."""
        return self.normalization.quantize(raw)

    def __len__(self) -> int:
        """Patches in one pass (all consumers together)."""
        return len(self.columns) * len(self.times)

    def units(self) -> dict[Unit, int]:
        """Every unit in the deterministic pass's order (inline sections by inline chunk,
        crossline ones by crossline chunk), with its number of patches."""
        order = sorted(self._by_unit, key=lambda u: (u[0], u[1 + u[0]], u[2 - u[0]]))
        return {unit: len(self._by_unit[unit]) * len(self.times) for unit in order}

    def batches(self, start: int, stop: int) -> Iterator[Any]:
        """Patches ``start:stop`` of the deterministic pass (all of it, one consumer), handed
        out as the pass hands them: with ``start`` a multiple of :attr:`batch_size`, the very
        batches of ``iter(self)``. Reads only the units that hold them, in order, so a run
        of neighbouring units reads each chunk about once.

        Raises:
            ValueError: On a shuffled (training) stream.
        """
        if self.shuffle:
            raise ValueError("batches(start, stop) is a part of the deterministic pass only")
        counts = self.units()
        units = list(counts)
        ends = np.cumsum(list(counts.values()))
        first, last = (int(u) for u in np.searchsorted(ends, [start, stop - 1], side="right"))
        if stop <= start or first == len(units):
            return
        skip = start - int(ends[first]) + counts[units[first]]
        array = zarr.open_array(self.store.zarr_store(read_only=True), path="amplitude", mode="r")
        blocks = trimmed(self._blocks(array, units[first : last + 1]), skip, stop - start)
        yield from emit(blocks, self.batch_size, self.return_positions)

    def _units(self, epoch: int, index: int, count: int) -> list[Unit]:
        """Consumer ``index`` of ``count``'s units, in reading order, for ``epoch``.

        Deterministic pass: units sorted (inline sections by inline chunk, crossline ones by
        crossline chunk), a contiguous run per consumer. Training: each direction's units
        permuted by ``(seed, epoch)`` and dealt round-robin, each consumer's share ordered to
        span the survey from its first unit, the two directions alternating.
        """
        units = list(self.units())
        if not self.shuffle:
            return units[_split(len(units), index, count)]
        lanes = []
        for axis in self.spec.axes:
            mine = [u for u in units if u[0] == axis]
            dealt = np.random.default_rng([self.seed, epoch, axis]).permutation(len(mine))
            share = [mine[int(k)] for k in dealt[index::count]]
            where = np.array([(u[1] * self.chunks[0], u[2] * self.chunks[1]) for u in share])
            order = spread(where.reshape(-1, 2), np.random.default_rng(
                [self.seed, epoch, axis, index, count]))  # fmt: skip
            lanes.append([share[int(k)] for k in order])
        # interleave the directions in proportion: lane members at (k + 1/2) / len(lane)
        keyed = [((k + 0.5) / len(lane), a, u) for a, lane in enumerate(lanes)
                 for k, u in enumerate(lane)]  # fmt: skip
        return [u for _, _, u in sorted(keyed)]

    def __iter__(self) -> Iterator[Any]:
        yield from emit(self._epochs(), self.batch_size, self.return_positions)

    def _epochs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """This consumer's blocks, epoch after epoch (endless when shuffling), so batches
        run on across epoch ends and every training batch is full."""
        index, count = shard()
        rng = np.random.default_rng([self.seed, index, count])
        array = zarr.open_array(self.store.zarr_store(read_only=True), path="amplitude", mode="r")
        epoch = 0
        while True:
            blocks = self._blocks(array, self._units(epoch, index, count))
            if self.shuffle:
                blocks = shuffled(blocks, rng, self.buffer)
            yield from blocks
            epoch += 1
            if not self.shuffle:
                return

    def _blocks(
        self, array: zarr.Array, units: list[Unit]
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Each unit's patches and positions: uint8 ``(n, C, size, size)``, int64 ``(n, 4)``.

        The unit's region and halo are assembled from quantised store chunks (the last few
        kept, so a deterministic pass reads each chunk about once) and all its patches are
        cut in one gather from a sliding-window view of the region.
        """
        depth, size = self.spec.channels, self.spec.size
        tiles: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        for unit in units:
            chosen = expand(self._by_unit[unit], self.times)
            axis = unit[0]
            reach = (depth - 1, size - 1) if axis == 0 else (size - 1, depth - 1)
            lo = (unit[1] * self.chunks[0], unit[2] * self.chunks[1])
            hi = (min(lo[0] + self.chunks[0] + reach[0], self.shape[0]),
                  min(lo[1] + self.chunks[1] + reach[1], self.shape[1]))  # fmt: skip
            block = self._region(array, lo, hi, tiles)  # (inline, crossline, time)
            if axis == 1:
                block = block.transpose(1, 0, 2)  # (sections, along, time)
            section = chosen[:, 1 + axis] - lo[axis]
            along = chosen[:, 2 - axis] - lo[1 - axis]
            windows = np.lib.stride_tricks.sliding_window_view(block, (depth, size, size))
            gathered = windows[section, along, chosen[:, 3] - self.samples[0]]
            yield np.ascontiguousarray(gathered.transpose(0, 1, 3, 2)), chosen  # rows: time

    def _region(
        self,
        array: zarr.Array,
        lo: tuple[int, int],
        hi: tuple[int, int],
        tiles: OrderedDict[tuple[int, int], np.ndarray],
    ) -> np.ndarray:
        """Quantised uint8 ``(inline, crossline, time)`` of ``lo[0]:hi[0], lo[1]:hi[1]`` over
        the time window, from whole chunk columns (``lo`` lies on a chunk corner); the last
        ``4 x`` as many as a region spans stay in ``tiles``."""
        c0, c1 = self.chunks[0], self.chunks[1]
        rows = range(lo[0] // c0, (hi[0] - 1) // c0 + 1)
        cols = range(lo[1] // c1, (hi[1] - 1) // c1 + 1)
        for key in itertools.product(rows, cols):
            if key not in tiles:
                r, c = key
                raw = array[r * c0 : (r + 1) * c0, c * c1 : (c + 1) * c1, slice(*self.samples)]
                tiles[key] = self.normalization.quantize(raw)
            tiles.move_to_end(key)
        whole = np.concatenate(
            [np.concatenate([tiles[(r, c)] for c in cols], axis=1) for r in rows], axis=0
        )
        while len(tiles) > 4 * len(rows) * len(cols):
            tiles.popitem(last=False)
        return whole[: hi[0] - lo[0], : hi[1] - lo[1]]

    def _group_by_unit(self, p: np.ndarray) -> tuple[np.ndarray, dict[Unit, np.ndarray]]:
        """Patch columns ``p`` ``(m, 3)`` grouped by the chunk column ``(axis, i // chunk,
        j // chunk)`` of their first sample, each group in ``(i, j)`` order (so its patches,
        at every time start, in ``(i, j, k)`` order): the columns sorted so, and the groups
        as views of them."""
        n_i, n_j = (-(-n // c) for n, c in zip(self.shape[:2], self.chunks[:2], strict=True))
        key = (p[:, 0] * n_i + p[:, 1] // self.chunks[0]) * n_j + p[:, 2] // self.chunks[1]
        order = np.lexsort((p[:, 2], p[:, 1], key))
        key, p = key[order], p[order]
        del order
        edges = np.flatnonzero(np.diff(key)) + 1
        groups = np.split(p, edges) if len(p) else []
        return p, {(int(g[0, 0]), int(g[0, 1]) // self.chunks[0],
                    int(g[0, 2]) // self.chunks[1]): g for g in groups}  # fmt: skip
