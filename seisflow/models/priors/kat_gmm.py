"""The Kolmogorov-Arnold-inspired Gaussian mixture prior.

``p(z_b) = sum_q w_q prod_d N(z_bd; mu_qd, sigma_qd^2)``: the KAT outer sum becomes the
mixture weights, the inner sum the dimension-wise factorised Gaussians. Means are fixed on a
grid (:class:`GridComponents`); weights and scales are learned. Words are independent.

References:
    Fractal Flow (arXiv:2508.19750).
    Liu et al. KAN: Kolmogorov-Arnold Networks. ICLR 2025.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seisflow.models.priors.base import Prior
from seisflow.models.priors.grid import GridComponents

__all__ = ["KatGmmPrior"]


class KatGmmPrior(Prior):
    """Mixture of ``Q`` grid Gaussians over each of ``n_words`` words; the components are
    its "topics" (:meth:`proportions`).

    Args:
        n_words: Words per sample ``B``.
        dim: Word dimension ``D``.
        grid, grid_dims, grid_range: See :class:`GridComponents`.
    """

    has_topics = True

    def __init__(
        self, n_words: int, dim: int, *, grid: int, grid_dims: int, grid_range: float
    ) -> None:
        super().__init__()
        self.n_words, self.dim = n_words, dim
        self.components = GridComponents(dim, grid=grid, grid_dims=grid_dims,
                                         grid_range=grid_range)  # fmt: skip
        self.logits = nn.Parameter(torch.zeros(self.components.n_components))

    def log_weights(self) -> Tensor:
        return torch.log_softmax(self.logits.float(), dim=0)

    def log_prob(self, words: Tensor, *, samples: int | None = None) -> Tensor:
        """``(N, B, D) -> (N,)``, exact (``samples`` is ignored)."""
        return self.word_log_prob(words).sum(-1)

    def word_log_prob(self, words: Tensor) -> Tensor:
        """``(N, B, D) -> (N, B)``: each word's mixture density."""
        joint = self.components.log_probs(words) + self.log_weights().to(words.dtype)
        return torch.logsumexp(joint, dim=-1)

    def responsibilities(self, words: Tensor) -> Tensor:
        """Posterior component probabilities of each word, ``(N, B, Q)``."""
        joint = self.components.log_probs(words) + self.log_weights().to(words.dtype)
        return torch.softmax(joint, dim=-1)

    def proportions(self, words: Tensor) -> Tensor:
        """Mean component responsibilities of each document's words: ``(N, Q)``."""
        return self.responsibilities(words).mean(1)

    def sample(self, n: int, *, topic: int | None = None) -> Tensor:
        """``(n, B, D)``; ``topic`` selects one component for every word."""
        if topic is None:
            weights = self.log_weights().exp()
            chosen = torch.multinomial(weights, n * self.n_words, replacement=True)
            chosen = chosen.reshape(n, self.n_words)
        else:
            chosen = torch.full((n, self.n_words), topic, device=self.logits.device)
        return self.components.sample(chosen)
