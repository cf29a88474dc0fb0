"""Residual convolutional subnet.

References:
    He, Zhang, Ren, Sun. Deep residual learning for image recognition. CVPR 2016.
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
"""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["ResidualCNN"]


class _Block(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.SiLU(), nn.Conv2d(width, width, 3, padding=1),
            nn.SiLU(), nn.Conv2d(width, width, 3, padding=1),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResidualCNN(nn.Module):
    """3x3 conv in, two residual blocks, zero-initialised 3x3 conv out.

    Args:
        in_channels: Input channels (masked input plus conditioning).
        out_channels: Output channels (scale and shift).
        width: Hidden channels.
    """

    def __init__(self, in_channels: int, out_channels: int, *, width: int, blocks: int = 2) -> None:
        super().__init__()
        self.head = nn.Conv2d(in_channels, width, 3, padding=1)
        self.blocks = nn.Sequential(*[_Block(width) for _ in range(blocks)])
        self.tail = nn.Conv2d(width, out_channels, 3, padding=1)
        nn.init.zeros_(self.tail.weight)
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: Tensor) -> Tensor:
        """``(N, in, H, W) -> (N, out, H, W)``."""
        return self.tail(nn.functional.silu(self.blocks(self.head(x))))
