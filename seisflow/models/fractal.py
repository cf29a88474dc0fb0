"""Fractal coupling: a flow applied recursively to the 2x2 spatial quadrants.

Level ``l`` folds the four quadrants of its input into the batch, runs the level ``l - 1``
flow on every quadrant with shared weights and a one-hot quadrant position as conditioning,
unfolds, and then couples globally at full resolution. Level 0 is a plain coupling stack.
Local detail is modelled first and global structure last; the log-det is the sum over the
quadrants plus the global part.

Depth budget: a level of depth ``d`` gives ``ceil(d / 2)`` couplings to its quadrant flow and
the rest (at least one) to its global coupling, recursively, so every sample goes through
about ``d`` couplings whatever the level: the levels redistribute a fixed budget from global
to local instead of stacking more of it, and a fractal flow costs about what a plain stack
of the same width and depth costs (the quadrant flows run on a quarter of the pixels each,
on a four times larger batch).

References:
    Li, Sun, Fan, He. Fractal Generative Models. arXiv:2502.17437, 2025.
    Fractal Flow: Hierarchical and Interpretable Normalizing Flow via Topic Modeling and
    Recursive Strategy. arXiv:2508.19750, 2025.
"""

from __future__ import annotations

import torch
from torch import Tensor

from seisflow.models.coupling import coupling_stack
from seisflow.models.layers import FlowLayer

__all__ = ["FractalCoupling", "fold", "unfold"]


def fold(x: Tensor) -> Tensor:
    """``(N, C, H, W)`` -> ``(4N, C, H/2, W/2)``, quadrant-major (rows ``q*N .. q*N+N-1``)."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, 2, h // 2, 2, w // 2).permute(2, 4, 0, 1, 3, 5)
    return x.reshape(4 * n, c, h // 2, w // 2)


def unfold(x: Tensor) -> Tensor:
    """Inverse of :func:`fold`."""
    n4, c, h, w = x.shape
    n = n4 // 4
    x = x.reshape(2, 2, n, c, h, w).permute(2, 3, 0, 4, 1, 5)
    return x.reshape(n, c, 2 * h, 2 * w)


def quadrant_codes(n: int, spatial: tuple[int, int], like: Tensor) -> Tensor:
    """One-hot quadrant position of each folded row, ``(4N, 4, H, W)``."""
    codes = torch.eye(4, dtype=like.dtype, device=like.device).repeat_interleave(n, dim=0)
    return codes[:, :, None, None].expand(-1, -1, *spatial)


class FractalCoupling(FlowLayer):
    """The level-``level`` fractal flow on ``(N, channels, H, W)``.

    Args:
        level: Recursion depth (0 = a plain coupling stack).
        channels: ``C``.
        spatial: ``(H, W)``, divisible by ``2 ** level``.
        depth: Couplings a sample goes through (split between local and global levels).
        subnet: ``cnn``, ``mlp`` or ``kan``.
        width: Subnet width.
        cond_channels: Conditioning channels coming from the enclosing level.
    """

    def __init__(
        self,
        level: int,
        channels: int,
        spatial: tuple[int, int],
        *,
        depth: int,
        subnet: str,
        width: int,
        cond_channels: int = 0,
    ) -> None:
        super().__init__()
        self.level = level
        self.half = (spatial[0] // 2, spatial[1] // 2)
        local = (depth + 1) // 2 if level > 0 else 0
        if level > 0:
            self.inner = FractalCoupling(level - 1, channels, self.half, depth=local,
                                         subnet=subnet, width=width,
                                         cond_channels=cond_channels + 4)  # fmt: skip
        self.outer = coupling_stack(channels, spatial, depth=max(1, depth - local),
                                    mask="checkerboard", subnet=subnet, width=width,
                                    cond_channels=cond_channels)  # fmt: skip

    def _inner_cond(self, x: Tensor, cond: Tensor | None) -> Tensor:
        codes = quadrant_codes(x.shape[0], self.half, x)
        return codes if cond is None else torch.cat([fold(cond), codes], dim=1)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        logdet = torch.zeros(x.shape[0], device=x.device,
                             dtype=torch.promote_types(x.dtype, torch.float32))  # fmt: skip
        if self.level > 0:
            local, inner = self.inner(fold(x), self._inner_cond(x, cond))
            x = unfold(local)
            logdet = logdet + inner.reshape(4, -1).sum(0)
        x, outer = self.outer(x, cond)
        return x, logdet + outer

    def forward_map(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(y, log-det map)``: each quadrant's map put back where the quadrant lies, plus
        the global coupling's."""
        total = torch.zeros_like(x, dtype=torch.promote_types(x.dtype, torch.float32))
        if self.level > 0:
            local, inner = self.inner.forward_map(fold(x), self._inner_cond(x, cond))
            x, total = unfold(local), unfold(inner)
        x, outer = self.outer.forward_map(x, cond)
        return x, total + outer

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        x = self.outer.inverse(y, cond)
        if self.level > 0:
            x = unfold(self.inner.inverse(fold(x), self._inner_cond(x, cond)))
        return x
