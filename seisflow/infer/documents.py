"""Documents for topic models: overlapping boxes of word cells, at several scales.

A tiling of ``size`` word cells (inline, crossline, time) with origins every ``size / 2``
cells along each axis covers a grid of words; every cell belongs to up to 2 documents per
axis (8 per scale), and the last box along an axis is clipped by the edge. Several tilings
(scales) give a corpus of short and long documents over the same words: a topic model sees
a word both in its close neighbourhood and in a wider one. Word cells of no trace
(codeword -1) are left out of every document.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import numpy as np

from seisflow.errors import ConfigError

__all__ = ["Scale", "document_counts", "memberships"]

#: A tiling's box, in word cells (inline, crossline, time); the stride is half of it.
Scale = tuple[int, int, int]


def _axis_documents(n: int, size: int) -> int:
    """Documents along an axis of ``n`` cells for boxes of ``size`` every ``size // 2``."""
    stride = size // 2
    return max(1, -(-max(n - size, 0) // stride) + 1)


def _check(scale: Scale) -> None:
    if any(s < 2 or s % 2 for s in scale):
        raise ConfigError(f"document scale {scale}: give even sizes of 2 or more word cells")


def memberships(shape: tuple[int, int, int], scale: Scale) -> Iterator[np.ndarray]:
    """For a grid of ``shape`` word cells: 8 int64 arrays of ``shape``, each giving every
    cell one of the documents of ``scale`` that hold it (-1 where that slot holds none).

    Every (cell, document) pair with the cell in the document appears exactly once over
    the 8 arrays. Documents are numbered in C order over the tiling's grid.
    """
    _check(scale)
    counts = [_axis_documents(n, s) for n, s in zip(shape, scale, strict=True)]
    per_axis = []
    for n, s, m in zip(shape, scale, counts, strict=True):
        p, stride = np.arange(n), s // 2
        slots = []
        for back in (0, 1):
            index = p // stride - back
            inside = (index >= 0) & (index < m) & (p - index * stride < s)
            slots.append(np.where(inside, index, -1))
        per_axis.append(slots)
    for a, b, c in itertools.product(*per_axis):
        i, j, k = np.ix_(a, b, c)
        doc = (i * counts[1] + j) * counts[2] + k
        yield np.where((i >= 0) & (j >= 0) & (k >= 0), doc, -1)


def document_counts(
    words: np.ndarray, *, vocabulary: int, scales: Sequence[Scale]
) -> tuple[np.ndarray, list[int]]:
    """The document-term matrix of ``words`` (int ``(I, J, T)`` codewords, -1 for none) over
    the documents of every scale: ``(D, vocabulary)`` int32 counts, and the number of
    documents of each scale (their rows come in the order of ``scales``)."""
    blocks, sizes = [], []
    live = words >= 0
    for scale in scales:
        n = int(np.prod([_axis_documents(a, s) for a, s in zip(words.shape, scale, strict=True)]))
        counts = np.zeros(n * vocabulary, np.int64)
        for doc in memberships(words.shape, scale):
            hold = live & (doc >= 0)
            counts += np.bincount(doc[hold] * vocabulary + words[hold], minlength=counts.size)
        blocks.append(counts.reshape(n, vocabulary).astype(np.int32))
        sizes.append(n)
    return np.concatenate(blocks), sizes
