"""Words that carry texture: features averaged over small cells, quantised by a codebook.

A *word* is a cell of ``cell`` = (inline, crossline, time) samples. Its feature vector is
the mean of per-sample features over the cell's defined samples (the standardised
attributes of :func:`~seisflow.infer.attribute_facies.standardised_attributes`, optionally
with flow layers beside them), computed chunk by chunk with Dask. A codebook of ``size``
centres, k-means (k-means++) on a seeded sample of live cells, turns each cell into one of
``size`` codewords: the vocabulary of :mod:`seisflow.infer.word_facies`. Codewords that
carry no information are *stop words* (:func:`stop_words`): those in nearly every document,
and those almost never used.

References:
    Sivic, Zisserman. Video Google: a text retrieval approach to object matching in videos.
    ICCV 2003 (visual words by k-means, stop lists).
"""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import numpy as np
from sklearn.cluster import KMeans

from seisflow.errors import ConfigError

__all__ = ["Codebook", "fit_codebook", "stop_words", "word_features"]


def _nanmean(block: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
    """Mean over ``axis`` of the finite values; NaN where there are none."""
    finite = np.isfinite(block)
    total = np.where(finite, block, 0.0).sum(axis=axis)
    count = finite.sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).astype(np.float32)


def word_features(features: da.Array, cell: tuple[int, int, int]) -> np.ndarray:
    """The mean of ``features`` ``(I, J, T, F)`` over each cell of ``cell`` samples:
    ``(I // c0, J // c1, T // c2, F)`` float32 (samples past the last whole cell are left
    out), NaN where a cell holds no defined value (a missing trace)."""
    if min(cell) < 1:
        raise ConfigError(f"word cell {cell}: give 1 or more samples along each axis")
    whole = tuple(n - n % c for n, c in zip(features.shape[:3], cell, strict=True))
    if min(whole) == 0:
        raise ConfigError(f"word cell {cell} is larger than the survey {features.shape[:3]}")
    trimmed = features[: whole[0], : whole[1], : whole[2]]
    chunks = tuple(max(c, n - n % c) for n, c in
                   zip((trimmed.chunksize[0], trimmed.chunksize[1], whole[2]), cell,
                       strict=True))  # fmt: skip
    trimmed = trimmed.rechunk((*chunks, -1))
    return da.coarsen(_nanmean, trimmed, dict(enumerate(cell)), trim_excess=True).compute()


@dataclass(frozen=True)
class Codebook:
    """``centres`` ``(V, F)``: a word's codeword is its nearest centre."""

    centres: np.ndarray

    @property
    def size(self) -> int:
        return int(self.centres.shape[0])

    def quantise(self, cells: np.ndarray) -> np.ndarray:
        """Codewords of ``cells`` ``(..., F)``: int32 ``(...)``, -1 where a cell is NaN in
        every feature (no trace); NaN features otherwise count as 0 (the mean)."""
        flat = cells.reshape(-1, cells.shape[-1])
        missing = np.isnan(flat).all(axis=1)
        rows = np.nan_to_num(flat, nan=0.0)
        words = np.empty(len(rows), np.int32)
        for start in range(0, len(rows), 16_384):  # bounded distance arrays
            part = rows[start : start + 16_384]
            distance = ((part[:, None, :] - self.centres[None]) ** 2).sum(-1)
            words[start : start + 16_384] = distance.argmin(1)
        return np.where(missing, -1, words).reshape(cells.shape[:-1])


def fit_codebook(cells: np.ndarray, *, size: int, seed: int, samples: int = 50_000) -> Codebook:
    """k-means (k-means++, 2 starts) of ``size`` centres on up to ``samples`` cells
    ``(..., F)`` with a defined value, drawn with ``seed``."""
    flat = cells.reshape(-1, cells.shape[-1])
    rows = np.nan_to_num(flat[~np.isnan(flat).all(axis=1)], nan=0.0)
    if size < 2 or size > len(rows):
        raise ConfigError(
            f"vocabulary size {size}: give 2 to {len(rows)} (the live word cells) codewords"
        )
    rng = np.random.default_rng([seed, 0xC0DE])
    if len(rows) > samples:
        rows = rows[rng.choice(len(rows), samples, replace=False)]
    model = KMeans(size, n_init=2, random_state=seed).fit(rows)
    return Codebook(model.cluster_centers_.astype(np.float32))


def stop_words(counts: np.ndarray, *, max_share: float = 0.9, min_count: int = 5) -> np.ndarray:
    """Bool ``(V,)``: the codewords of a document-term matrix ``counts`` ``(D, V)`` to drop —
    those present in more than ``max_share`` of the documents (ubiquitous) and those used
    fewer than ``min_count`` times in all (near-empty)."""
    present = (counts > 0).mean(axis=0)
    return (present > max_share) | (counts.sum(axis=0) < min_count)
