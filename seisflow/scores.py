"""Scores of an unsupervised clustering against reference labels, and the k-means baseline.

Used to validate topics on the image benchmarks (labels: the classes) and, later, facies maps
on synthetic surveys (labels: the true facies). Thin, documented wrappers over scikit-learn
and SciPy so every caller computes the same numbers.

References:
    Hubert, Arabie. Comparing partitions. Journal of Classification 2, 1985 (ARI).
    Vinh, Epps, Bailey. Information theoretic measures for clusterings comparison. JMLR 11,
    2010 (NMI).
    Kuhn. The Hungarian method for the assignment problem. 1955 (matched accuracy).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

__all__ = ["cluster_scores", "kmeans", "matched_accuracy"]


def matched_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Accuracy after the one-to-one matching of clusters to labels that maximises it
    (Hungarian algorithm); with more clusters than labels, unmatched clusters count as
    wrong, so splitting a class is not rewarded."""
    _, label_index = np.unique(labels, return_inverse=True)
    _, cluster_index = np.unique(clusters, return_inverse=True)
    table = np.zeros((cluster_index.max() + 1, label_index.max() + 1), dtype=np.int64)
    np.add.at(table, (cluster_index, label_index), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / labels.size)


def cluster_scores(labels: np.ndarray, clusters: np.ndarray) -> dict[str, float] | None:
    """ARI, NMI and matched accuracy of ``clusters`` against ``labels`` (both ``(N,)``), or
    None when the labels hold a single class (the scores are then undefined)."""
    if np.unique(labels).size < 2:
        return None
    return {
        "ari": float(adjusted_rand_score(labels, clusters)),
        "nmi": float(normalized_mutual_info_score(labels, clusters)),
        "accuracy": matched_accuracy(labels, clusters),
    }


def kmeans(features: np.ndarray, k: int, *, seed: int = 0) -> np.ndarray:
    """Cluster ``features`` ``(N, F)`` into ``k`` groups (k-means++, 4 restarts): ``(N,)``."""
    features = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    model = KMeans(n_clusters=k, n_init=4, random_state=seed)
    return model.fit_predict(features).astype(np.int64)
