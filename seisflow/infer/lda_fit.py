"""Latent Dirichlet Allocation fitted properly: variational EM to convergence, restarts kept
by their held-out evidence bound.

The in-model LDA prior (:class:`seisflow.models.priors.lda.LdaPrior`) is the paper's model
and is fitted with a few EM steps on short documents; the facies read-out of
:mod:`seisflow.infer.word_facies` fits topics afresh over a richer vocabulary and long
documents. Batch variational Bayes (scikit-learn's ``LatentDirichletAllocation``, symmetric
Dirichlet priors ``1/K``) runs until the bound changes by less than ``tolerance`` per
evaluation; of ``restarts`` random starts, the one whose ELBO on held-out documents (a
seeded share ``held_out`` of them, never fitted) is highest is kept, and the bound per
held-out word is reported.

References:
    Blei, Ng, Jordan. Latent Dirichlet Allocation. JMLR 3, 2003.
    Hoffman, Blei, Bach. Online learning for Latent Dirichlet Allocation. NeurIPS 2010.
    Wallach, Murray, Salakhutdinov, Mimno. Evaluation methods for topic models. ICML 2009.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.decomposition import LatentDirichletAllocation

from seisflow.errors import ConfigError

__all__ = ["TopicFit", "fit_topics"]


@dataclass(frozen=True)
class TopicFit:
    """A fitted topic model.

    Attributes:
        model: The kept scikit-learn model (``transform`` gives documents' topic mixtures).
        topic_words: ``(K, V)`` float64, each row a topic's distribution over the words.
        held_out: The kept start's ELBO per held-out word (nats), higher is better.
        restarts: Every start's ELBO per held-out word, in the order they ran.
    """

    model: LatentDirichletAllocation
    topic_words: np.ndarray
    held_out: float
    restarts: tuple[float, ...]

    def document_topics(self, counts: np.ndarray) -> np.ndarray:
        """Posterior mean topic mixtures of documents ``(D, V)``: ``(D, K)``, rows sum to 1."""
        return np.asarray(self.model.transform(counts))


def fit_topics(
    counts: np.ndarray,
    *,
    topics: int,
    seed: int = 0,
    restarts: int = 4,
    held_out: float = 0.1,
    max_iter: int = 200,
    tolerance: float = 0.01,
) -> TopicFit:
    """Fit ``topics`` topics to the document-term matrix ``counts`` ``(D, V)``.

    Args:
        counts: Word counts per document.
        topics: ``K``.
        seed: Seed of the held-out split and of the starts.
        restarts: Random starts; the best by held-out ELBO is kept.
        held_out: Share of the documents held out to judge the starts (at least one).
        max_iter: EM iterations at most per start.
        tolerance: Stop a start when its perplexity changes by less than this.

    Raises:
        ConfigError: For fewer than 2 topics, fewer than 1 restart, a held-out share
            outside (0, 0.5], or fewer than 4 documents holding words.
    """
    if topics < 2 or restarts < 1 or not 0 < held_out <= 0.5:
        raise ConfigError(
            f"topic fit topics={topics} restarts={restarts} held_out={held_out}: give 2 or "
            "more topics, 1 or more restarts and a held-out share in (0, 0.5]"
        )
    counts = counts[counts.sum(axis=1) > 0]
    if len(counts) < 4:
        raise ConfigError(f"topic fit: {len(counts)} documents hold words; 4 or more are needed")
    rng = np.random.default_rng([seed, 0x1DA])
    order = rng.permutation(len(counts))
    cut = max(1, round(held_out * len(counts)))
    judge, train = counts[order[:cut]], counts[order[cut:]]
    words = float(judge.sum())
    models: list[LatentDirichletAllocation] = []
    bounds: list[float] = []
    for start in range(restarts):
        model = LatentDirichletAllocation(
            n_components=topics, learning_method="batch", max_iter=max_iter,
            evaluate_every=5, perp_tol=tolerance, random_state=int(rng.integers(2**31)) + start,
        )  # fmt: skip
        models.append(model.fit(train))
        bounds.append(float(model.score(judge)) / words)
    best = models[int(np.argmax(bounds))]
    topic_words = best.components_ / best.components_.sum(axis=1, keepdims=True)
    return TopicFit(best, topic_words, max(bounds), tuple(bounds))
