"""Kolmogorov-Arnold network layer with cubic B-splines, and a convolutional KAN subnet.

A KAN layer maps ``d_in -> d_out`` with a learnable univariate function on every edge:
``y_j = sum_i w_ij * silu(x_i) + sum_i sum_k c_ijk * B_k(u_i)``, where ``B_k`` are the cubic
B-spline bases of a uniform grid on [-1, 1] (Cox-de Boor recursion) and ``u = tanh(x)``
normalises unbounded inputs into the grid range (outside it a spline is zero, so an
unnormalised input would get no spline term at all).

References:
    Liu et al. KAN: Kolmogorov-Arnold Networks. ICLR 2025.
    de Boor. On calculating with B-splines. J. Approximation Theory 6, 1972.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["KANConv", "KANLayer", "bspline_basis"]


def bspline_basis(u: Tensor, knots: Tensor, order: int = 3) -> Tensor:
    """B-spline bases of ``order`` on ``knots`` evaluated at ``u`` (Cox-de Boor).

    Args:
        u: Any shape.
        knots: Increasing knots ``(n_knots,)``.
        order: Polynomial degree (3 = cubic).

    Returns:
        ``(*u.shape, n_knots - order - 1)``; the bases sum to 1 inside the grid.
    """
    u = u.unsqueeze(-1)
    bases = ((u >= knots[:-1]) & (u < knots[1:])).to(u.dtype)
    for p in range(1, order + 1):
        left = (u - knots[: -(p + 1)]) / (knots[p:-1] - knots[: -(p + 1)])
        right = (knots[p + 1 :] - u) / (knots[p + 1 :] - knots[1:-p])
        bases = left * bases[..., :-1] + right * bases[..., 1:]
    return bases


class KANLayer(nn.Module):
    """``(..., d_in) -> (..., d_out)`` with a SiLU base branch and cubic spline edges.

    Args:
        d_in: Input features.
        d_out: Output features.
        intervals: Grid intervals on [-1, 1].
        zero: Start with all weights zero (an output layer that starts at 0).
    """

    def __init__(self, d_in: int, d_out: int, *, intervals: int = 5, zero: bool = False) -> None:
        super().__init__()
        step = 2.0 / intervals
        knots = torch.arange(-3, intervals + 4) * step - 1.0  # 3 extra knots on each side
        self.register_buffer("knots", knots)
        n_basis = intervals + 3
        self.base = nn.Linear(d_in, d_out)
        self.spline = nn.Parameter(torch.randn(d_in, n_basis, d_out) * (0.1 / d_in**0.5))
        if zero:
            nn.init.zeros_(self.base.weight)
            nn.init.zeros_(self.base.bias)
            nn.init.zeros_(self.spline)

    def forward(self, x: Tensor) -> Tensor:
        bases = bspline_basis(torch.tanh(x), self.knots.to(x.dtype))  # (..., d_in, n_basis)
        spline = torch.einsum("...ik,iko->...o", bases, self.spline.to(x.dtype))
        return self.base(nn.functional.silu(x)) + spline


class KANConv(nn.Module):
    """A KAN applied to every pixel's 3x3 neighbourhood (a convolution with KAN edges).

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        width: Hidden features of the two KAN layers.
    """

    def __init__(self, in_channels: int, out_channels: int, *, width: int) -> None:
        super().__init__()
        self.hidden = KANLayer(9 * in_channels, width)
        self.out = KANLayer(width, out_channels, zero=True)
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        """``(N, in, H, W) -> (N, out, H, W)``."""
        n, _, h, w = x.shape
        patches = nn.functional.unfold(x, 3, padding=1).transpose(1, 2)  # (N, HW, 9 in)
        y = self.out(self.hidden(patches))  # (N, HW, out)
        return y.transpose(1, 2).reshape(n, self.out_channels, h, w)
