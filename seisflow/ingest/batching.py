"""How a :class:`~seisflow.ingest.stream.PatchStream` hands out its blocks of patches: a
block is one unit's uint8 patches ``(n, C, size, size)`` and int64 positions ``(n, 4)``.
:func:`shuffled` mixes blocks through a buffer (training), :func:`trimmed` keeps a range
of a deterministic pass, :func:`emit` hands the patches out one by one or in batches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

__all__ = ["emit", "shuffled", "trimmed"]


def shuffled(
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


def trimmed(
    blocks: Iterator[tuple[np.ndarray, np.ndarray]], skip: int, count: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The ``count`` patches of ``blocks`` after the first ``skip``, in the same blocks."""
    for patches, where in blocks:
        kept = slice(min(skip, len(where)), skip + count)
        skip, count = skip - min(skip, len(where)), count - len(where[kept])
        if len(where[kept]):
            yield patches[kept], where[kept]
        if count <= 0:
            return


def emit(
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
