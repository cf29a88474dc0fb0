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

__all__ = ["cluster_scores", "kmeans", "matched_accuracy", "matched_labels", "third_label_rate"]


def _matching(labels: np.ndarray, clusters: np.ndarray) -> tuple[dict[int, int], int]:
    """The one-to-one cluster -> label matching with the most agreements (Hungarian), and
    the number of agreements."""
    label_values, label_index = np.unique(labels, return_inverse=True)
    cluster_values, cluster_index = np.unique(clusters, return_inverse=True)
    table = np.zeros((cluster_values.size, label_values.size), dtype=np.int64)
    np.add.at(table, (cluster_index, label_index), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    pairs = zip(rows, cols, strict=True)
    mapping = {int(cluster_values[r]): int(label_values[c]) for r, c in pairs}
    return mapping, int(table[rows, cols].sum())


def matched_labels(labels: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """``clusters`` renamed to the true ``labels`` they are matched with one-to-one
    (Hungarian, most agreements; the matching is computed where both are >= 0); a cluster
    left unmatched keeps ``max(labels) + 1 + its number``, and negatives stay as they are."""
    both = (labels >= 0) & (clusters >= 0)
    mapping, _ = _matching(labels[both], clusters[both])
    spare = int(labels.max()) + 1
    out = np.where(clusters >= 0, spare + clusters, clusters)
    for cluster, label in mapping.items():
        out[clusters == cluster] = label
    return out


def third_label_rate(labels: np.ndarray, clusters: np.ndarray, *, window: int = 8) -> float:
    """How often a read-out invents a third unit at a boundary.

    Clusters are matched one-to-one to labels (Hungarian, over the samples with a label
    ``>= 0``). A boundary sample has two or more labels within ``window`` samples along the
    last axis (time); the rate is the fraction of boundary samples whose matched label is
    none of those (an unmatched cluster counts as none).

    Args:
        labels: int ``(..., T)`` true units, -1 where there is no data.
        clusters: int ``(..., T)`` the read-out, same shape.
        window: Half-width along the last axis, in samples.

    Returns:
        The rate in [0, 1] (0 when there is no boundary sample).
    """
    from scipy.ndimage import maximum_filter1d

    valid = labels >= 0
    mapping, _ = _matching(labels[valid], clusters[valid])
    matched = np.full(clusters.shape, -2, dtype=np.int64)
    for cluster, label in mapping.items():
        matched[clusters == cluster] = label
    present = {int(v): maximum_filter1d((labels == v).astype(np.uint8), 2 * window + 1, axis=-1)
               for v in np.unique(labels[valid])}  # fmt: skip
    units = sum(p.astype(np.int64) for p in present.values())
    boundary = valid & (units >= 2)
    if not boundary.any():
        return 0.0
    inside = np.zeros(labels.shape, dtype=bool)
    for value, near in present.items():
        inside |= (matched == value) & (near > 0)
    return float((boundary & ~inside).sum() / boundary.sum())


def matched_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Accuracy after the one-to-one matching of clusters to labels that maximises it
    (Hungarian algorithm); with more clusters than labels, unmatched clusters count as
    wrong, so splitting a class is not rewarded."""
    _, hits = _matching(labels, clusters)
    return float(hits / labels.size)


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
