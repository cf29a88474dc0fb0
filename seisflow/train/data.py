"""Training data: the image benchmarks and survey stores behind one interface.

A source hands the trainer uint8 batches ``(B, C, H, W)`` for a given step and this
process's share of the global batch, plus a fixed evaluation set:

* :class:`ImageSource` indexes the batch of step ``s`` directly (a seeded permutation per
  epoch), so every rank takes its contiguous slice of the same global batch and a resumed
  run reads exactly the batches it would have read;
* :class:`SurveySource` streams patches of a store with
  :class:`~seisflow.ingest.stream.PatchStream`, sharded by rank; a resumed run skips the
  batches already consumed (reading is far faster than training, so this costs little).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from seisflow.config import DataConfig
from seisflow.errors import ConfigError, InputFileError
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.stream import IMAGE_SETS, PatchStream, load_images, normalization

__all__ = ["ImageSource", "Source", "SurveySource", "open_source", "rank_slice"]


def rank_slice(batch_size: int, rank: int, world: int) -> slice:
    """The contiguous part of a global batch that ``rank`` of ``world`` processes."""
    if batch_size % world:
        raise ConfigError(
            f"train batch_size {batch_size} does not split over {world} processes: "
            f"use a multiple of {world}"
        )
    share = batch_size // world
    return slice(rank * share, (rank + 1) * share)


class ImageSource:
    """An image benchmark (``mnist``, ``fashion_mnist``, ``cifar10_automobile``).

    Args:
        name: The benchmark.
        data_dir: Folder holding ``<name>.npz`` (nothing is downloaded).
        seed: Seed of the image order.
    """

    kind = "images"

    def __init__(self, name: str, *, data_dir: str | Path, seed: int) -> None:
        self.name = name
        self.images, _ = load_images(name, data_dir, split="train")
        self.data_dir = Path(data_dir)
        self.seed = seed
        self._epoch: tuple[int, np.ndarray] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def prepare(self) -> None:
        """Nothing to prepare: the images are in memory."""

    def _order(self, epoch: int) -> np.ndarray:
        if self._epoch is None or self._epoch[0] != epoch:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))
            self._epoch = (epoch, order)
        return self._epoch[1]

    def global_batch(self, step: int, batch_size: int) -> np.ndarray:
        """Indices of the images of step ``step``: positions ``step * B .. (step + 1) * B``
        of the endless sequence of per-epoch permutations."""
        n = len(self.images)
        flat = np.arange(step * batch_size, (step + 1) * batch_size)
        return np.array([self._order(int(p // n))[p % n] for p in flat])

    def batches(self, *, start: int, batch_size: int, rank: int, world: int) -> Iterator[Tensor]:
        """This rank's share of the global batch of every step from ``start`` on."""
        part = rank_slice(batch_size, rank, world)
        step = start
        while True:
            yield torch.from_numpy(self.images[self.global_batch(step, batch_size)[part]])
            step += 1

    def first_batch(self, batch_size: int) -> Tensor:
        """The whole global batch of step 0 (the data-dependent initialisation)."""
        return torch.from_numpy(self.images[self.global_batch(0, batch_size)])

    def eval_set(self, size: int) -> Tensor:
        """``size`` test images spread evenly over the test split."""
        images, _ = load_images(self.name, self.data_dir, split="test")
        pick = np.linspace(0, len(images) - 1, min(size, len(images))).round().astype(int)
        return torch.from_numpy(images[pick])


class SurveySource:
    """Patches of a survey store.

    Args:
        store: The survey store.
        data: Patch cutting and streaming settings.
        seed: Seed of the patch order.
    """

    kind = "survey"

    def __init__(self, store: str | Path, *, data: DataConfig, seed: int) -> None:
        self.name = str(store)
        self.data = data
        self.seed = seed
        self.spec = PatchSpec(size=data.size, axis=data.axis, stride=data.stride,
                              time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one patch."""
        return self.spec.shape

    def prepare(self) -> None:
        """Compute (and cache in the store) the normalisation, once, before any stream."""
        normalization(self.name, percentile=self.data.percentile)

    def _stream(self, *, seed: int, batch_size: int) -> PatchStream:
        return PatchStream(self.name, self.spec, seed=seed, shuffle=True, batch_size=batch_size,
                           buffer=self.data.buffer, percentile=self.data.percentile)  # fmt: skip

    def batches(self, *, start: int, batch_size: int, rank: int, world: int) -> Iterator[Tensor]:
        """This rank's stream of batches (the stream shards itself by rank), from step
        ``start`` on."""
        share = rank_slice(batch_size, rank, world)
        stream = self._stream(seed=self.seed, batch_size=share.stop - share.start)
        loader = DataLoader(stream, batch_size=None, num_workers=self.data.workers)
        batches = iter(loader)
        for _ in range(start):
            next(batches)
        return batches

    def first_batch(self, batch_size: int) -> Tensor:
        """The first global batch of a single-process stream."""
        return next(iter(self._stream(seed=self.seed, batch_size=batch_size)))

    def eval_set(self, size: int) -> Tensor:
        """A fixed sample of ``size`` patches (a stream with its own seed; not held out:
        a survey has no test split)."""
        stream = self._stream(seed=self.seed + 7919, batch_size=size)
        return next(iter(stream))


Source = ImageSource | SurveySource


def open_source(source: str, *, data: DataConfig, seed: int, data_dir: str | Path | None) -> Source:
    """An image benchmark by name, or a survey store by path.

    Raises:
        InputFileError: When ``source`` is neither.
    """
    if source in IMAGE_SETS:
        if data_dir is None:
            raise InputFileError(
                f"the {source} benchmark reads {IMAGE_SETS[source]} from a folder: pass "
                "--data-dir (for example ../shared/data/images)"
            )
        return ImageSource(source, data_dir=data_dir, seed=seed)
    path = Path(source)
    if not (path / "zarr.json").is_file():
        raise InputFileError(
            f"{source} is neither an image benchmark ({', '.join(IMAGE_SETS)}) nor a survey "
            "store: give a store written by `seisflow ingest` or one of those names"
        )
    return SurveySource(path, data=data, seed=seed)
