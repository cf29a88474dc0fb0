"""Training data: the image benchmarks and survey stores behind one interface.

A source hands the trainer uint8 batches ``(B, C, H, W)`` for a given step and this
process's share of the global batch, plus a fixed evaluation set:

* :class:`ImageSource` indexes the batch of step ``s`` directly (a seeded permutation per
  epoch), so every rank takes its contiguous slice of the same global batch and a resumed
  run reads exactly the batches it would have read;
* :class:`SurveySource` streams patches of a store with
  :class:`~seisflow.ingest.stream.PatchStream`, sharded by rank; a resumed run skips the
  batches already consumed (reading is far faster than training, so this costs little).
  A seeded fraction ``data.holdout`` (default 0.1) of the store's chunk columns is held
  out: the evaluation set comes only from them, training batches never
  (:attr:`SurveySource.holdout` says which; :func:`source_record` records it in the run).

A store with nothing to learn (no finite amplitude, or one value throughout, by the
statistics written at ingest) is refused before training, and so is a first batch whose
patches are all one byte value (:func:`check_signal`: what the patches actually see, e.g.
a time window in a muted zone). A run records its source (:func:`source_record`: for a store
its path and the checksum of the SEG-Y it was ingested from), and ``--resume`` accepts only
the same source (:func:`check_same_source`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr
from torch import Tensor
from torch.utils.data import DataLoader

from seisflow.errors import ConfigError, InputFileError
from seisflow.images import IMAGE_SETS, load_images
from seisflow.ingest.normalize import Normalization, measure
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.stream import PatchStream
from seisflow.storage import Location, StoreLike, locate
from seisflow.train.config import DataConfig

__all__ = [
    "ImageSource",
    "Source",
    "SurveySource",
    "check_amplitudes",
    "check_same_source",
    "check_signal",
    "open_source",
    "rank_slice",
    "source_record",
]


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

    Raises:
        InputFileError: When the store holds nothing to learn (see :func:`check_amplitudes`).
    """

    kind = "survey"

    def __init__(self, store: StoreLike, *, data: DataConfig, seed: int) -> None:
        self.name = str(store)
        self.location = locate(store)
        self.data = data
        self.seed = seed
        self.attrs = dict(zarr.open_group(self.location.zarr_store(read_only=True), mode="r").attrs)
        check_amplitudes(self.name, self.attrs.get("statistics"))
        self.spec = PatchSpec(size=data.size, axis=data.axis, stride=data.stride,
                              time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip
        self._holdout: dict[str, Any] | None = None
        self._normalization: Normalization | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one patch."""
        return self.spec.shape

    def prepare(self) -> None:
        """Measure the normalisation once, before any stream (it never writes the store)."""
        _ = self.normalization

    @property
    def normalization(self) -> Normalization:
        """How this store's amplitudes become bytes for training: its scale at
        ``data.percentile``, ``data.companding``, ``data.headroom`` (recorded in the run)."""
        if self._normalization is None:
            self._normalization = measure(self.location, percentile=self.data.percentile,
                                          companding=self.data.companding,
                                          headroom=self.data.headroom)  # fmt: skip
        return self._normalization

    def _stream(
        self, *, batch_size: int, split: str = "train", positions: bool = False
    ) -> PatchStream:
        return PatchStream(self.location, self.spec, seed=self.seed, shuffle=True,
                           batch_size=batch_size, buffer=self.data.buffer,
                           normalization=self.normalization, holdout=self.data.holdout,
                           split="eval" if split == "eval" else "train",
                           return_positions=positions)  # fmt: skip

    @property
    def holdout(self) -> dict[str, Any]:
        """The held-out chunk columns, as the streams choose them (seeded):
        ``{"fraction", "seed", "block": [inlines, crosslines], "columns": [[c_i, c_x], ...]}``,
        column ``[c_i, c_x]`` covering inline indices ``c_i * block[0]`` to ``(c_i + 1) *
        block[0] - 1`` and the crossline indices likewise (array indices, not line numbers).
        Patches starting there are the evaluation set and never a training patch."""
        if self._holdout is None:
            self._holdout = self._stream(batch_size=1).holdout
        return self._holdout

    def sample(self, size: int, split: str = "train") -> tuple[Tensor, Tensor]:
        """The first ``size`` patches of the single-process stream of ``split`` (``"train"``
        or ``"eval"``; the eval set stops at its number of patches) and their positions:
        uint8 ``(size, C, H, W)`` and int64 ``(size, 4)``."""
        stream = self._stream(batch_size=size, split=split, positions=True)
        if split == "eval":
            stream.batch_size = min(size, len(stream))
        self._holdout = stream.holdout
        patches, where = next(iter(stream))
        return patches, where

    def batches(self, *, start: int, batch_size: int, rank: int, world: int) -> Iterator[Tensor]:
        """This rank's stream of batches (the stream shards itself by rank), from step
        ``start`` on."""
        share = rank_slice(batch_size, rank, world)
        stream = self._stream(batch_size=share.stop - share.start)
        loader = DataLoader(stream, batch_size=None, num_workers=self.data.workers)
        batches = iter(loader)
        for _ in range(start):
            next(batches)
        return batches

    def first_batch(self, batch_size: int) -> Tensor:
        """The first global batch of a single-process training stream (both directions and
        all parts of the survey, outside the held-out columns)."""
        return self.sample(batch_size)[0]

    def eval_set(self, size: int) -> Tensor:
        """A fixed sample of at most ``size`` patches from the held-out chunk columns only
        (see :attr:`holdout`): never a training patch. With ``data.holdout = 0`` nothing is
        held out and the first ``size`` training patches stand in (a training figure)."""
        return self.sample(size, "eval" if self.data.holdout else "train")[0]


Source = ImageSource | SurveySource


def check_amplitudes(store: str, statistics: Any) -> None:
    """Refuse a store whose ingest statistics show no finite amplitude, or a single value
    (stores without statistics pass: :func:`check_signal` still guards the patches).

    Raises:
        InputFileError: Naming the store and the values found.
    """
    if not isinstance(statistics, Mapping):
        return
    count, nan, inf = (statistics.get(k) for k in ("count", "nan_count", "inf_count"))
    low, high = statistics.get("min"), statistics.get("max")
    counts = all(isinstance(n, int) for n in (count, nan, inf))
    finite = count - nan - inf if counts else None
    bounds = all(isinstance(v, int | float) and math.isfinite(v) for v in (low, high))
    fix = "check the SEG-Y it was ingested from (sample format, byte order) or train on another"
    if finite == 0:
        raise InputFileError(
            f"{store} holds no finite amplitude to train on ({count} samples of live traces: "
            f"{nan} NaN, {inf} inf, per the statistics written at ingest): {fix} store"
        )
    if bounds and low == high:
        raise InputFileError(
            f"{store} holds a single amplitude value ({low:g} in all {finite or count} finite "
            f"samples, per the statistics written at ingest): nothing to learn; {fix} store"
        )


def check_signal(data: Source, first: Tensor, *, sample: int = 256) -> None:
    """Refuse data whose first training batch holds a single byte value, unless a larger
    sample of ``sample`` patches (or images) varies.

    Raises:
        InputFileError: Naming the source and the value.
    """
    if int(first.min()) != int(first.max()):
        return
    more = data.first_batch(max(sample, len(first)))
    if int(more.min()) != int(more.max()):
        return
    what = "patches" if data.kind == "survey" else "images"
    window = data.data.time_window if isinstance(data, SurveySource) else None
    where = f" (data.time_window {list(window)})" if window is not None else ""
    raise InputFileError(
        f"{data.name}: the first {len(more)} training {what}{where} all hold the byte value "
        f"{int(more.min())}, so there is nothing to learn: train on a part of the data that "
        "carries signal (data.time_window, data.axis) or on another source"
    )


def source_record(data: Source, data_dir: str | Path | None) -> dict[str, Any]:
    """What a checkpoint records of its training data: kind and name, and for a store its
    absolute path, the SEG-Y source it was ingested from (path and CRC-32), the chunk
    columns held out for evaluation (``holdout``, see :attr:`SurveySource.holdout`) and the
    input normalisation (``normalization``, see :attr:`SurveySource.normalization`)."""
    folder = str(data_dir) if data_dir is not None else None
    record: dict[str, Any] = {"kind": data.kind, "name": data.name, "data_dir": folder}
    if isinstance(data, SurveySource):
        origin = data.attrs.get("source")
        origin = origin if isinstance(origin, Mapping) else {}
        record.update(path=_absolute(data.location), segy=origin.get("path"),
                      crc32=origin.get("crc32"), holdout=data.holdout,
                      normalization=data.normalization.as_dict())  # fmt: skip
    return record


def _absolute(location: Location) -> str:
    """A store's absolute path, or its URL."""
    return str(location.path.resolve()) if location.is_local else location.url


def check_same_source(saved: Mapping[str, Any], current: Mapping[str, Any], run_dir: Path) -> None:
    """Refuse to resume a run on other data than it was trained on: another benchmark, or
    another survey (another SEG-Y checksum; without checksums, another store path).

    Raises:
        ConfigError: Naming both sources and how to start a new run instead.
    """
    same = saved.get("kind") == current.get("kind")
    if same and current.get("kind") == "images":
        same = saved.get("name") == current.get("name")
    elif same:
        if saved.get("crc32") and current.get("crc32"):
            same = saved["crc32"] == current["crc32"]
        else:  # a checkpoint from before checksums were recorded: compare the paths
            old = saved.get("path") or str(Path(str(saved.get("name"))).resolve())
            same = old == current.get("path")
    if not same:
        raise ConfigError(
            f"{run_dir} was trained on {_describe(saved)}, not {_describe(current)}: resume "
            "on the data it was trained on, or start a new run in another RUN_DIR"
        )


def _describe(record: Mapping[str, Any]) -> str:
    """A source in words: its name, and for a store the SEG-Y checksum when known."""
    if record.get("kind") == "survey" and record.get("crc32"):
        return f"{record.get('name')} (SEG-Y {record.get('segy')}, CRC-32 {record['crc32']})"
    return str(record.get("name"))


def open_source(
    source: str | Location, *, data: DataConfig, seed: int, data_dir: str | Path | None
) -> Source:
    """An image benchmark by name, or a survey store by path, URL or
    :class:`~seisflow.storage.Location`.

    Raises:
        InputFileError: When ``source`` is neither.
    """
    if isinstance(source, str) and source in IMAGE_SETS:
        if data_dir is None:
            raise InputFileError(
                f"the {source} benchmark reads {IMAGE_SETS[source]} from a folder: pass "
                "--data-dir (for example ../shared/data/images)"
            )
        return ImageSource(source, data_dir=data_dir, seed=seed)
    location = locate(source)
    if not location.child("zarr.json").exists():
        raise InputFileError(
            f"{source} is neither an image benchmark ({', '.join(IMAGE_SETS)}) nor a survey "
            "store: give a store written by `seisflow ingest` or one of those names"
        )
    return SurveySource(location, data=data, seed=seed)
