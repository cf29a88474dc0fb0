"""Coupling networks, one signature: ``(N, in_channels, H, W) -> (N, out_channels, H, W)``.

Each ends in a zero-initialised layer, so every coupling starts as the identity.
"""

from __future__ import annotations

from torch import nn

from seisflow.models.subnets.cnn import ResidualCNN
from seisflow.models.subnets.kan import KANConv
from seisflow.models.subnets.mlp import MLP

__all__ = ["MLP", "KANConv", "ResidualCNN", "make_subnet"]


def make_subnet(
    kind: str, in_channels: int, out_channels: int, *, width: int, spatial: tuple[int, int]
) -> nn.Module:
    """The subnet ``kind`` (``cnn``, ``mlp`` or ``kan``) for inputs of size ``spatial``."""
    if kind == "cnn":
        return ResidualCNN(in_channels, out_channels, width=width)
    if kind == "mlp":
        return MLP(in_channels, out_channels, width=width, spatial=spatial)
    if kind == "kan":
        return KANConv(in_channels, out_channels, width=width)
    raise ValueError(f"unknown subnet {kind!r}: choose cnn, mlp or kan")
