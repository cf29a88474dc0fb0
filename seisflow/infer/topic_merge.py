"""Over-cluster, then merge: topics joined by the similarity of their word distributions.

Fitting more topics than facies (e.g. 12 for 5) lets a topic model split a unit whose words
vary, where a fit with exactly as many topics as units often merges two units and splits
another. The topics are then joined by average-linkage agglomerative clustering on the
Hellinger distance between their word distributions, ``H(p, q) = || sqrt p - sqrt q || /
sqrt 2`` (0 for equal distributions, 1 for disjoint ones), down to ``into`` groups: the
number of facies asked for is the stated criterion. Two topics that are one unit's words
split at random (near-equal distributions) are joined first.

References:
    Blei, Lafferty. A correlated topic model of science. AOAS 2007 (topic similarity).
"""

from __future__ import annotations

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

from seisflow.errors import ConfigError

__all__ = ["hellinger", "merge_topics"]


def hellinger(topic_words: np.ndarray) -> np.ndarray:
    """Condensed pairwise Hellinger distances of the rows of ``topic_words`` ``(K, V)``
    (each a distribution): ``(K (K - 1) / 2,)``, as :func:`scipy.spatial.distance.pdist`."""
    return pdist(np.sqrt(topic_words), metric="euclidean") / np.sqrt(2.0)


def merge_topics(topic_words: np.ndarray, *, into: int) -> np.ndarray:
    """The group of each of the ``K`` topics ``(K, V)``: int64 ``(K,)``, ``into`` groups
    ``0..into-1`` (fewer only where distances tie exactly).

    Groups are numbered by their first topic, so an identity merge (``into == K``) returns
    ``0..K-1``.
    """
    k = len(topic_words)
    if not 1 <= into <= k:
        raise ConfigError(f"merge {k} topics into {into}: give 1 to {k} groups")
    if into == k:
        return np.arange(k)
    tree = linkage(hellinger(topic_words), method="average")
    groups = fcluster(tree, t=into, criterion="maxclust")
    _, first = np.unique(groups, return_index=True)
    order = {int(groups[i]): rank for rank, i in enumerate(sorted(first))}
    return np.array([order[int(g)] for g in groups], dtype=np.int64)
