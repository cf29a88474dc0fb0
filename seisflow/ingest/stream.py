"""Streams of uint8 patches for the trainer: survey stores and the image benchmarks.

:class:`PatchStream` reads a survey store chunk column by chunk column, quantises each column
once, cuts every patch whose first sample lies in it, and passes them through a shuffle
buffer. Work is split into contiguous runs of chunk columns, one run per DataLoader worker
and distributed rank, so in a deterministic pass every position is delivered exactly once
across all of them; within a run, the neighbouring column a patch reaches into is read once
and reused. :class:`ImageStream` serves the image benchmarks through the same interface, so
one trainer serves both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr
from torch.utils.data import IterableDataset, get_worker_info

from seisflow.errors import InputFileError
from seisflow.ingest.patches import PatchSpec, positions, quantize, robust_clip
from seisflow.ingest.store import open_survey

__all__ = [
    "IMAGE_SETS",
    "ImageStream",
    "PatchStream",
    "load_images",
    "normalization",
    "shard",
    "tile",
]

#: Image benchmark names and the ``.npz`` files they are read from.
IMAGE_SETS = {
    "mnist": "mnist.npz",
    "fashion_mnist": "fashion_mnist.npz",
    "cifar10_automobile": "cifar10_automobile.npz",
}
NORMALIZATION_KEY = "seisflow:normalization"


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


def normalization(
    store: str | Path, *, percentile: float = 99.5, max_chunks: int = 24, seed: int = 0
) -> dict[str, Any]:
    """The clip level of a store: the ``percentile`` of ``|amplitude|`` over a chunk sample.

    Reads at most ``max_chunks`` whole chunks of ``amplitude``, spread at random (seeded) over
    the chunk grid, never the whole volume; the same store always gives the same result.
    Reading never writes: nothing is cached in the store (a reader that wrote attributes
    would race the store's one writer). A value cached in the store's attributes
    (``seisflow:normalization``) by an earlier version is reused while the percentile
    matches.

    Returns:
        ``{"percentile", "clip", "chunks_read", "chunks_total"}``.
    """
    group = zarr.open_group(str(store), mode="r")
    cached = group.attrs.get(NORMALIZATION_KEY)
    if cached and cached.get("percentile") == percentile:
        return dict(cached)
    array = group["amplitude"]
    grid = [int(np.ceil(n / c)) for n, c in zip(array.shape, array.chunks, strict=True)]
    total = int(np.prod(grid))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(total, size=min(max_chunks, total), replace=False)
    values = []
    for flat in np.sort(chosen):
        block = array.blocks[np.unravel_index(flat, grid)]
        finite = block[np.isfinite(block)]
        values.append(rng.choice(finite, size=min(finite.size, 200_000), replace=False))
    return {
        "percentile": percentile,
        "clip": robust_clip(np.concatenate(values), percentile),
        "chunks_read": int(chosen.size),
        "chunks_total": total,
    }


def tile(store: str | Path, spec: PatchSpec, *, complete: bool = False) -> np.ndarray:
    """The deterministic grid of patch positions of a store, int64 ``(n, 4)``.

    ``(axis, i, j, k)`` rows in lexicographic order: every patch with a live trace (the
    mapping tiling, which covers every live sample), or with ``complete`` only patches whose
    traces are all live (the training positions).
    """
    dataset = open_survey(store)
    vertical = dataset[dataset.amplitude.dims[2]].values
    samples = _sample_range(vertical, spec.time_window)
    return positions(spec, dataset.trace_mask.values, samples=samples, complete=complete)


class PatchStream(IterableDataset):
    """uint8 patches ``(C, size, size)`` of a survey store, for training and for mapping.

    Args:
        store: A survey store (see :mod:`seisflow.ingest.store`).
        spec: How patches are cut.
        seed: Seed of the chunk order and of the shuffle buffer: same seed, same stream.
        shuffle: True: an endless stream of complete patches (training), in random order.
            False: one deterministic pass over the mapping tiling (every patch with a live
            trace, in tiling order within each consumer).
        return_positions: Yield ``(patch, position)`` with ``position`` int64 ``(4,)``.
        buffer: Size of the shuffle buffer (patches).
        percentile: Clip percentile of ``|amplitude|`` (see :func:`normalization`).
        batch_size: Yield batches ``(B, C, size, size)`` instead of single patches (use
            ``DataLoader(stream, batch_size=None)``): far less per-patch Python work.

    Raises:
        InputFileError: When the store has no ``amplitude`` or a patch does not fit in it.
    """

    def __init__(
        self,
        store: str | Path,
        spec: PatchSpec,
        *,
        seed: int = 0,
        shuffle: bool = True,
        return_positions: bool = False,
        buffer: int = 8192,
        percentile: float = 99.5,
        batch_size: int | None = None,
    ) -> None:
        super().__init__()
        dataset = open_survey(store)
        self.batch_size = batch_size
        self.store = str(store)
        self.spec = spec
        self.seed = seed
        self.shuffle = shuffle
        self.return_positions = return_positions
        self.buffer = buffer
        self.shape = tuple(int(n) for n in dataset.amplitude.shape)
        self.chunks = tuple(int(c) for c in dataset.amplitude.encoding["chunks"])
        vertical = dataset[dataset.amplitude.dims[2]].values
        self.samples = _sample_range(vertical, spec.time_window)
        self.live = dataset.trace_mask.values
        self._check_fits(spec)
        self.clip = normalization(store, percentile=percentile)["clip"]
        self.positions = positions(spec, self.live, samples=self.samples, complete=shuffle)
        self._by_unit = self._group_by_unit()
        if self.positions.size == 0:
            raise InputFileError(
                f"{store}: no {'complete ' if shuffle else ''}{spec.size}x{spec.size} patch fits"
                f" on its {spec.axis} sections (grid {self.shape}, live traces "
                f"{int(self.live.sum())}): use a smaller patch size or another axis"
            )

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
        return quantize(raw, self.clip)

    def __len__(self) -> int:
        """Patches in one pass (all consumers together)."""
        return int(self.positions.shape[0])

    def _units(self, epoch: int) -> list[tuple[int, int, int]]:
        """Chunk columns ``(axis, row, column)`` in reading order for ``epoch``."""
        units = []
        for axis in self.spec.axes:
            rows = range(0, int(np.ceil(self.shape[axis] / self.chunks[axis])))
            columns = range(0, int(np.ceil(self.shape[1 - axis] / self.chunks[1 - axis])))
            order = list(rows)
            if self.shuffle:
                np.random.default_rng([self.seed, epoch, axis]).shuffle(order)
            units += [(axis, row, column) for row in order for column in columns]
        return units

    def __iter__(self) -> Iterator[Any]:
        yield from _emit(self._epochs(), self.batch_size, self.return_positions)

    def _epochs(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """This consumer's blocks, epoch after epoch (endless when shuffling), so batches
        run on across epoch ends and every training batch is full."""
        index, count = shard()
        rng = np.random.default_rng([self.seed, index, count])
        array = zarr.open_array(self.store, path="amplitude", mode="r")
        epoch = 0
        while True:
            units = self._units(epoch)
            blocks = self._blocks(array, units[_split(len(units), index, count)])
            if self.shuffle:
                blocks = _shuffled(blocks, rng, self.buffer)
            yield from blocks
            epoch += 1
            if not self.shuffle:
                return

    def _blocks(
        self, array: zarr.Array, units: list[tuple[int, int, int]]
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Each unit's patches and positions: uint8 ``(n, C, size, size)``, int64 ``(n, 4)``.

        The unit's column is read once (plus the reach into the next, cached) and all its
        patches are cut in one gather from a sliding-window view of the quantised block.
        """
        depth, size = self.spec.channels, self.spec.size
        cache: dict[tuple[int, int, int], np.ndarray] = {}
        for unit in units:
            chosen = self._by_unit.get(unit)
            if chosen is None:
                continue
            block, origin = self._read(array, unit, size - 1, cache)  # (sections, along, time)
            axis = unit[0]
            section = chosen[:, 1 + axis] - origin[0]
            along = chosen[:, 2 - axis] - origin[1]
            windows = np.lib.stride_tricks.sliding_window_view(block, (depth, size, size))
            gathered = windows[section, along, chosen[:, 3]]  # (n, depth, traces, time)
            yield np.ascontiguousarray(gathered.transpose(0, 1, 3, 2)), chosen

    def _group_by_unit(self) -> dict[tuple[int, int, int], np.ndarray]:
        """Positions grouped by the chunk column ``(axis, row, column)`` of their first sample."""
        p = self.positions
        axis = p[:, 0]
        section = np.where(axis == 0, p[:, 1], p[:, 2])
        along = np.where(axis == 0, p[:, 2], p[:, 1])
        row = section // np.where(axis == 0, self.chunks[0], self.chunks[1])
        column = along // np.where(axis == 0, self.chunks[1], self.chunks[0])
        keys = np.stack([axis, row, column], axis=1)
        order = np.lexsort((p[:, 3], p[:, 2], p[:, 1], keys[:, 2], keys[:, 1], keys[:, 0]))
        keys, p = keys[order], p[order]
        edges = np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1
        return {
            (int(k[0, 0]), int(k[0, 1]), int(k[0, 2])): group
            for k, group in zip(np.split(keys, edges), np.split(p, edges), strict=True)
        }

    def _read(
        self,
        array: zarr.Array,
        unit: tuple[int, int, int],
        reach: int,
        cache: dict[tuple[int, int, int], np.ndarray],
    ) -> tuple[np.ndarray, tuple[int, int]]:
        """Quantised ``(sections, along, time)`` block of a unit and its origin indices: its
        chunk column plus ``reach`` traces of the next column (and ``depth - 1`` sections for
        3-D patches), reusing the cached column."""
        axis, row, column = unit
        depth_reach = self.spec.channels - 1
        sec_chunk, along_chunk = self.chunks[axis], self.chunks[1 - axis]
        sections = slice(
            row * sec_chunk, min((row + 1) * sec_chunk + depth_reach, self.shape[axis])
        )
        start = column * along_chunk
        own = self._column(array, axis, sections, column, cache)
        parts = [own]
        if reach and start + along_chunk < self.shape[1 - axis]:
            following = self._column(array, axis, sections, column + 1, cache)
            parts.append(following[:, :reach])
        cache.pop((axis, row, column - 1), None)  # walking forward: the previous is done
        block = np.concatenate(parts, axis=1) if len(parts) > 1 else own
        return block, (sections.start, start)

    def _column(
        self,
        array: zarr.Array,
        axis: int,
        sections: slice,
        column: int,
        cache: dict[tuple[int, int, int], np.ndarray],
    ) -> np.ndarray:
        """Quantised ``(sections, along, samples)`` of one chunk column, cached by key."""
        key = (axis, sections.start // self.chunks[axis], column)
        if key not in cache:
            along = self.chunks[1 - axis]
            span = slice(column * along, min((column + 1) * along, self.shape[1 - axis]))
            raw = array[sections, span, :] if axis == 0 else array[span, sections, :]
            block = quantize(raw, self.clip)
            cache[key] = block if axis == 0 else block.transpose(1, 0, 2)
        return cache[key]


def _shuffled(
    blocks: Iterator[tuple[np.ndarray, np.ndarray]], rng: np.random.Generator, buffer: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Shuffle through a buffer, on whole arrays: once ``2 * buffer`` patches are held, emit
    all but a random ``buffer`` of them in random order; the rest wait for later blocks."""
    held: list[tuple[np.ndarray, np.ndarray]] = []
    count = 0
    for block in blocks:
        held.append(block)
        count += len(block[0])
        if count < 2 * buffer:
            continue
        patches, where = (np.concatenate(parts) for parts in zip(*held, strict=True))
        order = rng.permutation(count)
        yield patches[order[:-buffer]], where[order[:-buffer]]
        held, count = [(patches[order[-buffer:]], where[order[-buffer:]])], buffer
    if held:
        patches, where = (np.concatenate(parts) for parts in zip(*held, strict=True))
        order = rng.permutation(count)
        yield patches[order], where[order]


def _emit(
    blocks: Iterator[tuple[np.ndarray, np.ndarray]], batch_size: int | None, positions: bool
) -> Iterator[Any]:
    """Hand out patches one by one, or in batches of ``batch_size`` (the last may be short)."""
    if batch_size is None:
        for patches, where in blocks:
            if positions:
                yield from zip(list(torch.from_numpy(patches)), list(torch.from_numpy(where)),
                               strict=True)  # fmt: skip
            else:
                yield from list(torch.from_numpy(patches))
        return
    pending: list[tuple[np.ndarray, np.ndarray]] = []
    count = 0
    for block in blocks:
        pending.append(block)
        count += len(block[0])
        if count < batch_size:
            continue
        patches, where = (np.concatenate(parts) for parts in zip(*pending, strict=True))
        whole = count - count % batch_size
        for start in range(0, whole, batch_size):
            batch = torch.from_numpy(patches[start : start + batch_size])
            yield (
                (batch, torch.from_numpy(where[start : start + batch_size])) if positions else batch
            )
        pending, count = [(patches[whole:], where[whole:])], count - whole
    if count:
        patches, where = (np.concatenate(parts) for parts in zip(*pending, strict=True))
        yield (
            (torch.from_numpy(patches), torch.from_numpy(where))
            if positions
            else torch.from_numpy(patches)
        )


def _sample_range(vertical: np.ndarray, window: tuple[float, float] | None) -> tuple[int, int]:
    """Sample indices ``(first, stop)`` of a vertical window in axis units (all if None)."""
    if window is None:
        return 0, int(vertical.size)
    first = int(np.searchsorted(vertical, window[0], side="left"))
    stop = int(np.searchsorted(vertical, window[1], side="right"))
    return first, max(first, stop)


def load_images(
    name: str, data_dir: str | Path, *, split: str = "train"
) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of a benchmark, from ``data_dir/<name>.npz`` (no download).

    Returns:
        ``(images, labels)``: uint8 ``(N, C, H, W)`` and int64 ``(N,)``.

    Raises:
        InputFileError: For an unknown name or a missing file (the message names it).
    """
    if name not in IMAGE_SETS:
        raise InputFileError(f"unknown image set {name!r}: choose one of {', '.join(IMAGE_SETS)}")
    path = Path(data_dir) / IMAGE_SETS[name]
    if not path.is_file():
        raise InputFileError(
            f"{path} not found: the {name} benchmark reads {IMAGE_SETS[name]} from --data-dir "
            "(nothing is downloaded); point --data-dir at the folder that holds it"
        )
    with np.load(path) as data:
        images, labels = data[f"x_{split}"], data[f"y_{split}"]
    images = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(images, dtype=np.uint8), labels.astype(np.int64)


class ImageStream(IterableDataset):
    """uint8 images ``(C, H, W)`` through the same interface as :class:`PatchStream`.

    Args:
        images: uint8 ``(N, C, H, W)`` (see :func:`load_images`).
        seed: Seed of the order: same seed, same stream.
        shuffle: True: endless, reshuffled every epoch; False: one pass in order.
        return_positions: Yield ``(image, index)`` with the image's index in ``images``.
    """

    def __init__(
        self,
        images: np.ndarray,
        *,
        seed: int = 0,
        shuffle: bool = True,
        return_positions: bool = False,
    ) -> None:
        super().__init__()
        self.images = images
        self.seed = seed
        self.shuffle = shuffle
        self.return_positions = return_positions

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __iter__(self) -> Iterator[Any]:
        index, count = shard()
        epoch = 0
        while True:
            order = np.arange(len(self))
            if self.shuffle:
                np.random.default_rng([self.seed, epoch]).shuffle(order)
            for k in order[_split(order.size, index, count)]:
                image = torch.from_numpy(self.images[k])
                yield (image, torch.tensor(int(k))) if self.return_positions else image
            epoch += 1
            if not self.shuffle:
                return
