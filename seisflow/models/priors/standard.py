"""The standard normal prior N(0, I): the RealNVP baseline.

References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from seisflow.models.priors.base import Prior

__all__ = ["StandardPrior", "standard_normal_log_prob"]


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """Sum of ``log N(z; 0, 1)`` over all but the first dimension: ``(N,)`` in float32+."""
    z = z.to(torch.promote_types(z.dtype, torch.float32))
    return (-0.5 * z.square() - 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)


class StandardPrior(Prior):
    """``p(z) = N(z; 0, I)`` over ``n_words`` words of ``dim`` dimensions: no topics."""

    def __init__(self, n_words: int, dim: int) -> None:
        super().__init__()
        self.n_words, self.dim = n_words, dim
        self.register_buffer("anchor", torch.zeros(()))  # carries device and dtype

    def log_prob(self, words: Tensor, *, samples: int | None = None) -> Tensor:
        """``(N, B, D) -> (N,)``, exact (``samples`` is ignored)."""
        return standard_normal_log_prob(words)

    def word_log_prob(self, words: Tensor) -> Tensor:
        """``(N, B, D) -> (N, B)``."""
        z = words.to(torch.promote_types(words.dtype, torch.float32))
        return (-0.5 * z.square() - 0.5 * math.log(2 * math.pi)).sum(-1)

    def proportions(self, words: Tensor) -> Tensor:
        """Refused: this prior has no topics."""
        raise ValueError("the standard prior has no topics: use prior = lda or kat_gmm")

    def sample(self, n: int, *, topic: int | None = None) -> Tensor:
        """``(n, B, D)``; ``topic`` is not defined for this prior."""
        if topic is not None:
            raise ValueError("the standard prior has no topics: use prior = lda")
        return torch.randn(n, self.n_words, self.dim, device=self.anchor.device)
