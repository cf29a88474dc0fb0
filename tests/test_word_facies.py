"""The ``lda`` facies read-out: vocabulary, documents, the LDA fit, merging, the read-out."""

from __future__ import annotations

import itertools

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from sklearn.metrics import adjusted_rand_score

from seisflow.errors import ConfigError
from seisflow.infer.documents import document_counts, memberships
from seisflow.infer.lda_fit import fit_topics
from seisflow.infer.topic_merge import hellinger, merge_topics
from seisflow.infer.vocabulary import fit_codebook, stop_words, word_features
from seisflow.infer.word_facies import cell_probabilities, facies_labels, word_topics


def _corpus(seed: int = 0, docs: int = 300, length: int = 200):
    """4 planted topics, each on 10 words of its own (plus a little of every word);
    documents mostly of one topic (theta ~ Dir(0.1))."""
    rng = np.random.default_rng(seed)
    beta = np.full((4, 40), 0.02 / 40)
    for k in range(4):
        beta[k, 10 * k : 10 * k + 10] += 0.98 * rng.dirichlet(np.ones(10))
    theta = rng.dirichlet(np.full(4, 0.1), size=docs)
    counts = np.stack([rng.multinomial(length, t @ beta) for t in theta])
    return counts, theta, beta


def test_the_lda_fit_recovers_planted_topics():
    counts, theta, _ = _corpus()
    fit = fit_topics(counts, topics=4, seed=0, restarts=2)
    found = fit.document_topics(counts)
    assert adjusted_rand_score(theta.argmax(1), found.argmax(1)) > 0.95
    # every planted topic is one fitted topic: its 10 words hold most of that topic's mass
    mass = np.stack([fit.topic_words[:, 10 * k : 10 * k + 10].sum(1) for k in range(4)])
    assert sorted(mass.argmax(1)) == [0, 1, 2, 3] and mass.max(1).min() > 0.9
    assert len(fit.restarts) == 2 and fit.held_out == max(fit.restarts)
    np.testing.assert_allclose(fit.topic_words.sum(1), 1.0)


def test_the_lda_fit_refuses_bad_settings():
    counts, _, _ = _corpus(docs=20)
    with pytest.raises(ConfigError, match="topics=1"):
        fit_topics(counts, topics=1)
    with pytest.raises(ConfigError, match="3 documents hold words"):
        fit_topics(counts[:3], topics=2)


def test_merging_joins_planted_duplicates_and_keeps_distinct_topics():
    _, _, beta = _corpus(seed=1)
    twin = beta[1] * np.random.default_rng(2).uniform(0.9, 1.1, 40)
    topics = np.vstack([beta[0], beta[1], beta[2], twin / twin.sum(), beta[3]])
    np.testing.assert_array_equal(merge_topics(topics, into=4), [0, 1, 2, 1, 3])
    np.testing.assert_array_equal(merge_topics(topics, into=5), np.arange(5))
    assert hellinger(topics[[0, 0]])[0] == pytest.approx(0.0, abs=1e-12)
    disjoint = np.eye(3)
    np.testing.assert_allclose(hellinger(disjoint), 1.0)
    with pytest.raises(ConfigError, match="into 6"):
        merge_topics(topics, into=6)


def test_documents_hold_every_cell_of_their_box_once():
    rng = np.random.default_rng(3)
    words = rng.integers(-1, 5, size=(5, 7, 9))
    scale = (2, 4, 4)
    counts, sizes = document_counts(words, vocabulary=5, scales=[scale])
    # brute force: boxes of `scale` every scale/2, the last one along an axis reaching the edge
    origins = []
    for n, s in zip(words.shape, scale, strict=True):
        starts = list(range(0, max(n - s, 0) + 1, s // 2))
        if starts[-1] + s < n:
            starts.append(starts[-1] + s // 2)
        origins.append(starts)
    expected = []
    for i, j, t in itertools.product(*origins):
        box = words[i : i + scale[0], j : j + scale[1], t : t + scale[2]].ravel()
        expected.append(np.bincount(box[box >= 0], minlength=5))
    assert sizes == [len(expected)]
    np.testing.assert_array_equal(counts, np.array(expected))
    slots = np.stack(list(memberships(words.shape, scale)))
    assert slots.shape == (8, *words.shape)
    assert ((slots >= 0).sum(0) >= 1).all()  # every cell is in some document
    with pytest.raises(ConfigError, match="even sizes"):
        next(memberships(words.shape, (3, 4, 4)))


def test_the_codebook_finds_planted_words_and_stop_words_are_flagged():
    rng = np.random.default_rng(4)
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    truth = rng.integers(0, 3, 600)
    cells = (centres[truth] + 0.3 * rng.standard_normal((600, 2))).astype(np.float32)
    cells[:5] = np.nan  # no trace
    book = fit_codebook(cells.reshape(20, 30, 2), size=3, seed=0)
    words = book.quantise(cells.reshape(20, 30, 2)).ravel()
    assert (words[:5] == -1).all()
    assert adjusted_rand_score(truth[5:], words[5:]) == 1.0
    counts = np.array([[3, 1, 0, 0], [2, 0, 4, 0], [5, 0, 4, 1]])
    np.testing.assert_array_equal(stop_words(counts, max_share=0.9, min_count=2),
                                  [True, True, False, True])  # fmt: skip
    with pytest.raises(ConfigError, match="vocabulary size 1"):
        fit_codebook(cells, size=1, seed=0)


def test_word_features_are_cell_means_over_live_samples():
    rng = np.random.default_rng(5)
    values = rng.standard_normal((6, 5, 12, 2)).astype(np.float32)
    values[0, 0] = np.nan  # a missing trace
    cells = word_features(da.from_array(values, chunks=(3, 3, 12, 2)), (2, 2, 4))
    assert cells.shape == (3, 2, 3, 2)
    np.testing.assert_allclose(cells[0, 1, 2], values[0:2, 2:4, 8:12].mean((0, 1, 2)), rtol=1e-5)
    np.testing.assert_allclose(cells[0, 0, 0], np.nanmean(values[0:2, 0:2, 0:4], axis=(0, 1, 2)),
                               rtol=1e-5)  # fmt: skip


def _mixed_units(seed: int = 0) -> xr.Dataset:
    """An upper unit of thin beds alternating between two textures (weak low-frequency,
    strong low-frequency) over a lower unit alternating between two others (weak and strong
    high-frequency): per-sample attributes see four kinds, the units are two mixtures."""
    rng = np.random.default_rng(seed)
    t = np.arange(192)
    bed = (t // 6) % 2  # 6-sample beds
    low, high = np.cos(2 * np.pi * 0.04 * t), np.cos(2 * np.pi * 0.22 * t)
    trace = np.where(t < 96, np.where(bed, 4.0, 1.0) * low, np.where(bed, 4.0, 1.0) * high)
    amplitude = trace * np.ones((16, 16, 1)) + 0.05 * rng.standard_normal((16, 16, 192))
    live = np.ones((16, 16), dtype=bool)
    live[5, 6] = False
    amplitude[~live] = 0.0
    return xr.Dataset(
        {"amplitude": (("inline", "crossline", "time"),
                       da.from_array(amplitude.astype(np.float32), chunks=(8, 8, 192))),
         "trace_mask": (("inline", "crossline"), da.from_array(live, chunks=(8, 8)))},
        coords={"inline": np.arange(16), "crossline": np.arange(16), "time": t * 4.0},
    )  # fmt: skip


def test_the_lda_read_out_finds_units_made_of_mixed_beds():
    survey = _mixed_units()
    live = survey.trace_mask.values
    topics = word_topics(survey, k=2, seed=0, topics=4, vocabulary=12,
                         scales=[(4, 4, 8), (8, 8, 16)], restarts=2)  # fmt: skip
    assert topics.probabilities.shape == (8, 8, 48, 2)
    np.testing.assert_allclose(np.nansum(topics.probabilities, -1)[live[::2, ::2]], 1.0,
                               rtol=1e-5)  # fmt: skip
    probabilities = cell_probabilities(topics, survey.amplitude.shape,
                                       survey.amplitude.data.chunks)  # fmt: skip
    np.testing.assert_array_equal(probabilities[7, 9, 131].compute(),
                                  topics.probabilities[3, 4, 32])  # fmt: skip
    for potts in (0.0, 1.0):
        lazy = facies_labels(probabilities, live, potts=potts)
        labels = lazy.compute()
        assert lazy.dtype == np.int16 and (labels[5, 6] == -1).all()
        upper, lower = labels[live][:, 16:80], labels[live][:, 112:176]  # off the contact
        assert len(np.unique(upper)) == len(np.unique(lower)) == 1
        assert upper[0, 0] != lower[0, 0]
