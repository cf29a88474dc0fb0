"""The ``lda`` facies read-out: topics of textured words in long, multi-scale documents.

The recipe:

1. features: the standardised attributes of every sample
   (:func:`~seisflow.infer.attribute_facies.standardised_attributes`), with any ``extra``
   per-sample layers beside them (e.g. the flow's stitched topic proportions), each
   standardised on a seeded sample;
2. words: their means over cells of ``cell`` samples, quantised by a k-means codebook of
   ``vocabulary`` codewords (:mod:`seisflow.infer.vocabulary`);
3. documents: overlapping boxes of word cells at each of ``scales``
   (:mod:`seisflow.infer.documents`), stop words dropped;
4. topics: LDA by variational EM to convergence, restarts kept by held-out ELBO
   (:mod:`seisflow.infer.lda_fit`), ``topics`` of them, merged into ``k`` by the Hellinger
   distance of their word distributions (:mod:`seisflow.infer.topic_merge`);
5. each word cell's facies probabilities: its topic responsibilities
   ``phi ∝ theta_d beta_w`` averaged over the documents holding it (a stop word takes its
   documents' mixtures ``theta_d``), summed within merged groups;
6. facies: nearest-cell probabilities at every sample, arg-max (or a Potts/ICM step on
   ``-log p``, :mod:`seisflow.infer.potts`), -1 at missing traces.

Steps 1-2 run chunk by chunk with Dask; the word grid (the survey's size over the cell's
volume, 1/16 with :data:`CELL`), the document-term matrix and the cells' probabilities are
held in memory from step 2 on: a few hundred MB for a survey of 10^8 samples, so this
read-out is for surveys up to about that size (a 1000 x 1000 x 1500 survey would need tens
of GB).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dask.array as da
import numpy as np
import xarray as xr

from seisflow.errors import ConfigError
from seisflow.infer.attribute_facies import standardised_attributes
from seisflow.infer.documents import Scale, document_counts, memberships
from seisflow.infer.lda_fit import TopicFit, fit_topics
from seisflow.infer.per_sample import standardise
from seisflow.infer.potts import icm_dask
from seisflow.infer.topic_merge import merge_topics
from seisflow.infer.vocabulary import fit_codebook, stop_words, word_features

__all__ = [
    "CELL",
    "SCALES",
    "WordTopics",
    "cell_probabilities",
    "facies_labels",
    "lda_facies",
    "word_topics",
]

#: Word cell (inline, crossline, time) in samples.
CELL: tuple[int, int, int] = (2, 2, 4)
#: Document boxes in word cells: 8 x 8 x 32 and 16 x 16 x 64 samples with :data:`CELL`
#: (128 and 1 024 words).
SCALES: tuple[Scale, ...] = ((4, 4, 8), (8, 8, 16))


@dataclass(frozen=True)
class WordTopics:
    """Facies probabilities of the word cells.

    Attributes:
        probabilities: float32 ``(I // c0, J // c1, T // c2, k)``, NaN where no trace.
        cell: The word cell in samples.
        fit: The topic model before merging.
        groups: The merged facies of each fitted topic, ``(topics,)``.
        stop: The codewords dropped as stop words, bool ``(vocabulary,)``.
    """

    probabilities: np.ndarray
    cell: tuple[int, int, int]
    fit: TopicFit
    groups: np.ndarray
    stop: np.ndarray


def word_topics(
    dataset: xr.Dataset,
    *,
    k: int,
    seed: int = 0,
    topics: int | None = None,
    vocabulary: int = 128,
    cell: tuple[int, int, int] = CELL,
    scales: Sequence[Scale] = SCALES,
    extra: da.Array | None = None,
    restarts: int = 4,
) -> WordTopics:
    """Steps 1-5 of the recipe on a survey (``amplitude``, ``trace_mask``).

    Args:
        dataset: The survey.
        k: Facies.
        seed: Seed of every sample, codebook, split and start.
        topics: Topics fitted before merging into ``k``; None: ``k`` (no merging).
        vocabulary: Codewords.
        cell: Word cell in samples.
        scales: Document boxes in word cells.
        extra: Per-sample layers ``(I, J, T, F)`` set beside the attributes, or None.
        restarts: LDA starts.
    """
    topics = k if topics is None else topics
    if k < 2 or topics < k:
        raise ConfigError(f"word facies k={k} topics={topics}: give k >= 2 and topics >= k")
    live = dataset.trace_mask.values.astype(bool)
    features = standardised_attributes(dataset, seed=seed, fit_samples=100_000)
    if extra is not None:
        extra = standardise(extra, live, samples=50_000, seed=seed, salt=0xE7)
        features = da.concatenate([features, extra], axis=3)
    cells = word_features(features, cell)
    codebook = fit_codebook(cells, size=vocabulary, seed=seed)
    words = codebook.quantise(cells)
    counts, _ = document_counts(words, vocabulary=vocabulary, scales=scales)
    stop = stop_words(counts)
    kept = np.cumsum(~stop) - 1
    fit = fit_topics(counts[:, ~stop], topics=topics, seed=seed, restarts=restarts)
    groups = merge_topics(fit.topic_words, into=k)
    beta = np.zeros((topics, vocabulary))
    beta[:, ~stop] = fit.topic_words
    probabilities = _responsibilities(words, np.where(stop, -1, kept), counts[:, ~stop], fit,
                                      beta, scales)  # fmt: skip
    merged = np.zeros((*words.shape, k), np.float32)
    for topic, group in enumerate(groups):
        merged[..., group] += probabilities[..., topic]
    merged[words < 0] = np.nan
    return WordTopics(merged, tuple(cell), fit, groups, stop)  # type: ignore[arg-type]


def _responsibilities(words: np.ndarray, kept: np.ndarray, counts: np.ndarray, fit: TopicFit,
                      beta: np.ndarray, scales: Sequence[Scale]) -> np.ndarray:  # fmt: skip
    """Each cell's topic responsibilities averaged over its documents: ``(..., topics)``."""
    theta = fit.document_topics(counts)
    total = np.zeros((*words.shape, theta.shape[1]))
    held = np.zeros(words.shape)
    offset, live = 0, words >= 0
    stop = kept[np.maximum(words, 0)] < 0
    for scale in scales:
        n = 0
        for doc in memberships(words.shape, scale):
            hold = live & (doc >= 0)
            n = max(n, int(doc.max()) + 1)
            mixture = theta[offset + doc[hold]]
            phi = np.where(stop[hold, None], mixture, mixture * beta[:, words[hold]].T)
            total[hold] += phi / np.maximum(phi.sum(axis=1, keepdims=True), 1e-300)
            held[hold] += 1
        offset += n
    return total / np.maximum(held, 1)[..., None]


def cell_probabilities(topics: WordTopics, shape: tuple[int, ...],
                       chunks: tuple[tuple[int, ...], ...]) -> da.Array:  # fmt: skip
    """Lazy float32 ``(I, J, T, k)``: each sample takes its word cell's facies probabilities
    (samples past the last whole cell take the last cell); NaN where the cell has no trace.
    ``shape`` and ``chunks`` are the survey's ``(I, J, T)``."""
    cells = topics.probabilities
    k = cells.shape[-1]

    def block(block_info: dict | None = None) -> np.ndarray:
        if block_info is None:  # dask's meta probe
            return np.empty((0, 0, 0, k), np.float32)
        spans = block_info[None]["array-location"][:3]
        grid = zip(spans, topics.cell, cells.shape[:3], strict=True)
        index = [np.minimum(np.arange(a, b) // c, n - 1) for (a, b), c, n in grid]
        return cells[np.ix_(*index)]

    return da.map_blocks(block, chunks=(*chunks, (k,)), dtype=np.float32)


def facies_labels(probabilities: da.Array, live: np.ndarray, *, potts: float = 0.0) -> da.Array:
    """Lazy int16 ``(I, J, T)`` facies from probabilities ``(I, J, T, k)``: the arg-max, or
    with ``potts`` > 0 a Potts/ICM step on ``-log p`` (:func:`seisflow.infer.potts.icm_dask`,
    lateral weight 1, vertical 0.5); -1 where ``live`` (bool ``(I, J)``) is False."""
    if potts:
        costs = -da.log(da.maximum(probabilities, np.float32(1e-6)))
        return icm_dask(costs, beta=potts, valid=live)[0]

    def argmax(block: np.ndarray) -> np.ndarray:
        labels = np.argmax(np.nan_to_num(block, nan=-1.0), axis=-1).astype(np.int16)
        return np.where(np.isnan(block[..., 0]), np.int16(-1), labels)

    mask = da.from_array(live, chunks=probabilities.chunks[:2])[:, :, None]
    labels = probabilities.map_blocks(argmax, drop_axis=3, dtype=np.int16)
    return da.where(mask, labels, np.int16(-1)).astype(np.int16)


def lda_facies(dataset: xr.Dataset, *, k: int, seed: int = 0) -> tuple[da.Array, da.Array]:
    """The ``lda`` read-out with its defaults: lazy int16 facies ``0..k-1`` (-1 where no
    trace) and float32 confidence (the facies' probability; NaN where no trace), both
    ``(I, J, T)`` on the survey's chunks."""
    topics = word_topics(dataset, k=k, seed=seed)
    amplitude = dataset.amplitude
    probabilities = cell_probabilities(topics, amplitude.shape, amplitude.data.chunks)
    live = dataset.trace_mask.values.astype(bool)
    labels = facies_labels(probabilities, live)

    def largest(block: np.ndarray) -> np.ndarray:
        return np.max(block, axis=-1).astype(np.float32)  # NaN stays NaN (no trace)

    mask = da.from_array(live, chunks=amplitude.data.chunks[:2])[:, :, None]
    confidence = probabilities.map_blocks(largest, drop_axis=3, dtype=np.float32)
    return labels, da.where(mask, confidence, np.float32(np.nan)).astype(np.float32)
