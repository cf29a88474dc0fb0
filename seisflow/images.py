"""The image benchmarks: their ``.npz`` files and a stream of their images for the trainer.

Kept only to validate the model against published numbers (MNIST, Fashion-MNIST, CIFAR-10
automobile); nothing is downloaded. :class:`ImageStream` serves images through the same
interface as :class:`~seisflow.ingest.stream.PatchStream`, so one trainer serves both.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset

from seisflow.errors import InputFileError
from seisflow.ingest.stream import shard

__all__ = ["IMAGE_SETS", "SUPER_CLASSES", "ImageStream", "load_images", "super_labels"]

#: Image benchmark names and the ``.npz`` files they are read from.
IMAGE_SETS = {
    "mnist": "mnist.npz",
    "fashion_mnist": "fashion_mnist.npz",
    "cifar10_automobile": "cifar10_automobile.npz",
}

#: Coarser classes of a benchmark: name -> classes. Fashion-MNIST's labels are 0 T-shirt/top,
#: 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker, 8 bag, 9 ankle boot.
SUPER_CLASSES: dict[str, dict[str, tuple[int, ...]]] = {
    "fashion_mnist": {"clothing": (0, 1, 2, 3, 4, 6), "footwear": (5, 7, 9), "bags": (8,)},
}


def super_labels(name: str, labels: np.ndarray) -> np.ndarray | None:
    """Each label's super-class, numbered in :data:`SUPER_CLASSES` order; None for a
    benchmark without super-classes.

    Raises:
        InputFileError: For a label no super-class holds.
    """
    groups = SUPER_CLASSES.get(name)
    if groups is None:
        return None
    lookup = {label: index for index, members in enumerate(groups.values()) for label in members}
    unknown = sorted(set(np.unique(labels).tolist()) - set(lookup))
    if unknown:
        raise InputFileError(f"{name}: labels {unknown} are in no super-class of {list(groups)}")
    return np.array([lookup[int(v)] for v in labels], dtype=np.int64)


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
    """uint8 images ``(C, H, W)`` through the same interface as ``PatchStream``.

    Each epoch's order is split into contiguous, near-equal parts, one per DataLoader worker
    and distributed rank.

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
            bounds = np.linspace(0, order.size, count + 1).round().astype(int)
            for k in order[bounds[index] : bounds[index + 1]]:
                image = torch.from_numpy(self.images[k])
                yield (image, torch.tensor(int(k))) if self.return_positions else image
            epoch += 1
            if not self.shuffle:
                return
