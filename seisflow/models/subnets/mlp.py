"""Fully connected subnet over the whole (flattened) input.

References:
    Dinh, Krueger, Bengio. NICE: non-linear independent components estimation. ICLR 2015.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["MLP"]


class MLP(nn.Module):
    """Flatten, two hidden layers of ``width`` units with SiLU, zero-initialised output.

    Args:
        in_channels: Input channels.
        out_channels: Output channels.
        width: Hidden units.
        spatial: ``(H, W)`` of the inputs (fixed: the layer sizes depend on it).
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, width: int, spatial: tuple[int, int]
    ) -> None:
        super().__init__()
        h, w = spatial
        self.out_shape = (out_channels, h, w)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_channels * h * w, width), nn.SiLU(),
            nn.Linear(width, width), nn.SiLU(),
            nn.Linear(width, out_channels * h * w),
        )  # fmt: skip
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, in, H, W) -> (N, out, H, W)``."""
        return self.net(x).reshape(x.shape[0], *self.out_shape)
