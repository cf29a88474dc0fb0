"""Gaussian components with means fixed on a regular grid (shared by KAT-GMM and LDA).

The first ``m`` dimensions of a word carry the grid: ``Q = g ** m`` components with means on
the regular grid ``{-r, ..., r} ** m`` (fixed, which prevents the mode collapse of learned
means) and learned per-component, per-dimension scales. The other ``D - m`` dimensions are
N(0, 1) in every component.

References:
    Kolmogorov. On the representation of continuous functions of several variables. 1957.
    Fractal Flow (arXiv:2508.19750), the KAT-inspired mixture prior.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import Tensor, nn

from seisflow.models.priors.standard import standard_normal_log_prob

__all__ = ["GridComponents"]


class GridComponents(nn.Module):
    """``Q = grid ** grid_dims`` factorised Gaussians over words of ``dim`` dimensions.

    Args:
        dim: Word dimension ``D``.
        grid: Grid points per dimension ``g``.
        grid_dims: Dimensions carrying the grid ``m`` (<= D).
        grid_range: The grid spans ``[-r, r]``.
    """

    def __init__(self, dim: int, *, grid: int, grid_dims: int, grid_range: float) -> None:
        super().__init__()
        self.dim, self.m = dim, grid_dims
        axis = torch.linspace(-grid_range, grid_range, grid) if grid > 1 else torch.zeros(1)
        means = torch.tensor(list(itertools.product(axis.tolist(), repeat=grid_dims)))
        self.register_buffer("means", means)  # (Q, m), fixed
        spacing = 2 * grid_range / (grid - 1) if grid > 1 else 1.0
        self.log_sigma = nn.Parameter(torch.full_like(means, math.log(spacing / 2)))

    @property
    def n_components(self) -> int:
        return int(self.means.shape[0])

    def log_probs(self, words: Tensor) -> Tensor:
        """``log N(word; mu_q, sigma_q)`` over all D dims, per component: ``(N, B, Q)``."""
        words = words.to(torch.promote_types(words.dtype, torch.float32))
        head = words[..., : self.m].unsqueeze(-2)  # (N, B, 1, m)
        sigma = self.log_sigma.to(words.dtype)
        z = (head - self.means.to(words.dtype)) * torch.exp(-sigma)
        grid = (-0.5 * z.square() - sigma - 0.5 * math.log(2 * math.pi)).sum(-1)
        rest = words[..., self.m :]
        tail = standard_normal_log_prob(rest.flatten(0, 1)).reshape(words.shape[:2])
        return grid + tail.unsqueeze(-1)

    def sample(self, components: Tensor) -> Tensor:
        """Words ``(N, B, D)`` drawn from the given component indices ``(N, B)``."""
        mean = self.means[components]
        sigma = torch.exp(self.log_sigma)[components]
        head = mean + sigma * torch.randn_like(mean)
        tail = torch.randn(*components.shape, self.dim - self.m, device=mean.device)
        return torch.cat([head, tail], dim=-1)
