"""Affine coupling with checkerboard or channel masks, and stacks of them.

``y = x_kept + (1 - m) * (x * exp(s) + t)`` with ``(s, t) = subnet(x_kept, cond)``; the scale is
bounded, ``s = scale * tanh(raw)``, so a coupling can never blow up early in training.

References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from seisflow.models.layers import ActNorm, FlowLayer, InvConv1x1, Sequential
from seisflow.models.subnets import make_subnet

__all__ = ["AffineCoupling", "coupling_stack"]


def _wide(x: Tensor) -> torch.dtype:
    """float32, or float64 for float64 inputs: log-dets are summed in at least float32."""
    return torch.promote_types(x.dtype, torch.float32)


def checkerboard(h: int, w: int, parity: int) -> Tensor:
    """``(1, 1, H, W)`` mask with 1 where ``(i + j + parity)`` is even (the kept half)."""
    i = torch.arange(h)[:, None]
    j = torch.arange(w)[None, :]
    return (((i + j + parity) % 2) == 0).float()[None, None]


class AffineCoupling(FlowLayer):
    """One affine coupling.

    Args:
        channels: ``C`` of inputs ``(N, C, H, W)``.
        spatial: ``(H, W)``.
        mask: ``checkerboard`` (any C) or ``channel`` (C >= 2: halves of the channels).
        parity: Which half is kept (0 or 1).
        subnet: ``cnn``, ``mlp`` or ``kan``.
        width: Subnet width.
        cond_channels: Channels of the conditioning input (0 for none).
    """

    def __init__(
        self,
        channels: int,
        spatial: tuple[int, int],
        *,
        mask: str,
        parity: int,
        subnet: str,
        width: int,
        cond_channels: int = 0,
    ) -> None:
        super().__init__()
        self.mask_kind = mask
        self.parity = parity
        if mask == "checkerboard":
            self.register_buffer("mask", checkerboard(*spatial, parity))
            n_in, n_out = channels, channels
        elif mask == "channel":
            if channels < 2:
                raise ValueError("a channel mask needs at least 2 channels")
            self.split = channels // 2 if parity == 0 else channels - channels // 2
            n_in, n_out = self.split, channels - self.split
        else:
            raise ValueError(f"unknown mask {mask!r}: checkerboard or channel")
        self.net = make_subnet(subnet, n_in + cond_channels, 2 * n_out, width=width,
                               spatial=spatial)  # fmt: skip
        self.scale = nn.Parameter(torch.ones(1, n_out, 1, 1))

    def _params(self, kept: Tensor, cond: Tensor | None) -> tuple[Tensor, Tensor]:
        inputs = kept if cond is None else torch.cat([kept, cond.to(kept.dtype)], dim=1)
        raw, shift = self.net(inputs).chunk(2, dim=1)
        return self.scale * torch.tanh(raw), shift

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if self.mask_kind == "checkerboard":
            mask = self.mask.to(x.dtype)
            log_s, shift = self._params(x * mask, cond)
            y = x * mask + (1 - mask) * (x * torch.exp(log_s) + shift)
            logdet = ((1 - mask) * log_s).flatten(1).to(_wide(x)).sum(1)
        else:
            kept, moved = x[:, : self.split], x[:, self.split :]
            log_s, shift = self._params(kept, cond)
            y = torch.cat([kept, moved * torch.exp(log_s) + shift], dim=1)
            logdet = log_s.flatten(1).to(_wide(x)).sum(1)
        return y, logdet

    def forward_map(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(y, log-scale on each moved element, 0 on the kept ones)``."""
        if self.mask_kind == "checkerboard":
            mask = self.mask.to(x.dtype)
            log_s, shift = self._params(x * mask, cond)
            y = x * mask + (1 - mask) * (x * torch.exp(log_s) + shift)
            return y, ((1 - mask) * log_s).to(_wide(x))
        kept, moved = x[:, : self.split], x[:, self.split :]
        log_s, shift = self._params(kept, cond)
        field = torch.cat([torch.zeros_like(kept), log_s.expand_as(moved)], dim=1)
        return torch.cat([kept, moved * torch.exp(log_s) + shift], dim=1), field.to(_wide(x))

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        if self.mask_kind == "checkerboard":
            mask = self.mask.to(y.dtype)
            log_s, shift = self._params(y * mask, cond)
            return y * mask + (1 - mask) * (y - shift) * torch.exp(-log_s)
        kept, moved = y[:, : self.split], y[:, self.split :]
        log_s, shift = self._params(kept, cond)
        return torch.cat([kept, (moved - shift) * torch.exp(-log_s)], dim=1)


def coupling_stack(
    channels: int,
    spatial: tuple[int, int],
    *,
    depth: int,
    mask: str,
    subnet: str,
    width: int,
    cond_channels: int = 0,
    conv1x1: bool = False,
) -> Sequential:
    """``depth`` x (actnorm, [1x1 conv], coupling) with alternating parity."""
    layers: list[FlowLayer] = []
    for k in range(depth):
        layers.append(ActNorm(channels))
        if conv1x1 and channels > 1:
            layers.append(InvConv1x1(channels))
        layers.append(AffineCoupling(channels, spatial, mask=mask, parity=k % 2, subnet=subnet,
                                     width=width, cond_channels=cond_channels))  # fmt: skip
    return Sequential(*layers)
