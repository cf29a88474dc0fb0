"""Sinkhorn-Knopp equipartition: balanced soft assignments of documents to topics.

``sinkhorn(log_scores)`` rescales ``exp(log_scores)`` ``(N, K)`` alternately by column and
by row until every topic (column) holds ``N / K`` documents' worth of mass and every document
(row) sums to 1: the assignment closest to the scores in which all topics are used equally.
As a training target (SwAV's codes) it spreads a batch over the topics without asking any
document's proportions to be uniform.

References:
    Cuturi. Sinkhorn distances: lightspeed computation of optimal transport. NeurIPS 2013.
    Caron, Misra, Mairal, Goyal, Bojanowski, Joulin. Unsupervised learning of visual
    features by contrasting cluster assignments (SwAV). NeurIPS 2020.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["sinkhorn"]


def sinkhorn(log_scores: Tensor, *, iterations: int = 3) -> Tensor:
    """The balanced assignment ``Q`` ``(N, K)`` of ``exp(log_scores)`` ``(N, K)``.

    Each iteration scales the columns to sum to ``N / K``, then the rows to sum to 1, so
    the rows sum to 1 exactly and the columns to ``N / K`` up to the remaining error (which
    shrinks with ``iterations``). In log space and float32, without gradient; a fixed number
    of steps, no data-dependent branch (safe in a compiled graph).

    Args:
        log_scores: ``(N, K)`` finite log scores, for example log topic proportions; an
            offset per row changes nothing.
        iterations: Column-then-row scalings (3, as SwAV).

    Returns:
        ``Q`` ``(N, K)`` float32, detached.
    """
    n, k = log_scores.shape
    with torch.no_grad():
        log_q = log_scores.detach().float()
        log_q = log_q - torch.logsumexp(log_q, dim=-1, keepdim=True)  # rows first: any offset
        column = math.log(n / k)
        for _ in range(iterations):
            log_q = log_q - torch.logsumexp(log_q, dim=0, keepdim=True) + column
            log_q = log_q - torch.logsumexp(log_q, dim=1, keepdim=True)
        return log_q.exp()
