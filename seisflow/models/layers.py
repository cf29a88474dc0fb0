"""Invertible building blocks: the flow-layer contract, actnorm, squeeze, 1x1 convolution,
the logit pre-processing of [0, 1] data, and sequential composition.

Every layer maps ``x`` to ``(y, logdet)`` with ``logdet`` of shape ``(N,)`` (float32 or the
input's dtype, whichever is wider) and inverts ``y`` back to ``x``. :meth:`FlowLayer.forward_map`
gives the log-det where it belongs instead: a map shaped like ``y`` whose sum over each
sample is ``logdet`` (a coupling's log-scale on each element it moves, an actnorm's or a 1x1
convolution's per-position term on every element at that position), so a density can be
read position by position. An optional ``cond``
tensor ``(N, c, H, W)`` is passed to layers that use it (the fractal quadrant position).

References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    Kingma, Dhariwal. Glow: generative flow with invertible 1x1 convolutions. NeurIPS 2018.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

__all__ = [
    "ActNorm",
    "FlowLayer",
    "InvConv1x1",
    "Logit",
    "Sequential",
    "Squeeze",
    "squeeze",
    "unsqueeze",
]


class FlowLayer(nn.Module):
    """An invertible map with a tractable log-determinant."""

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(y, logdet)``: ``y`` like ``x``; ``logdet`` ``(N,)`` = log|det dy/dx|."""
        raise NotImplementedError

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        """``x`` such that ``forward(x)[0] == y``."""
        raise NotImplementedError

    def forward_map(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(y, logdet_map)``: ``logdet_map`` shaped like ``y`` (float32 or wider), summing
        over each sample to ``forward``'s ``logdet``."""
        raise NotImplementedError

    def relayout(self, field: Tensor) -> Tensor:
        """A map shaped like this layer's input, laid out like its output (the identity but
        for layers that move elements, e.g. :class:`Squeeze`)."""
        return field


def _zeros(x: Tensor) -> Tensor:
    """A ``(N,)`` log-det accumulator in at least float32 (safe under bf16 autocast)."""
    return torch.zeros(
        x.shape[0], device=x.device, dtype=torch.promote_types(x.dtype, torch.float32)
    )


class Sequential(FlowLayer):
    """Layers applied in order; log-dets add up."""

    def __init__(self, *layers: FlowLayer) -> None:
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        total = _zeros(x)
        for layer in self.layers:
            x, logdet = layer(x, cond)
            total = total + logdet
        return x, total

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        for layer in reversed(self.layers):
            y = layer.inverse(y, cond)
        return y

    def forward_map(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        total = torch.zeros_like(x, dtype=_zeros(x).dtype)
        for layer in self.layers:
            x, field = layer.forward_map(x, cond)
            total = layer.relayout(total) + field
        return x, total

    def relayout(self, field: Tensor) -> Tensor:
        for layer in self.layers:
            field = layer.relayout(field)
        return field


class ActNorm(FlowLayer):
    """Per-channel affine ``y = (x - b) * exp(-s)``, initialised from the first batch so that
    each channel has zero mean and unit variance.

    Whether it is initialised is the buffer ``initialized`` (saved with the weights) and its
    mirror ``ready``, a plain Python bool (kept in step on initialisation and on
    ``load_state_dict``): the forward pass branches on the bool, so a compiled step has no
    data-dependent branch and no graph break once the first batch has initialised it.

    Args:
        channels: ``C`` of inputs ``(N, C, H, W)``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.shift = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.register_buffer("initialized", torch.tensor(False))
        self.ready = False  # the buffer as a Python bool: no data-dependent branch

    def _load_from_state_dict(self, state: dict[str, Any], prefix: str, *args: Any) -> None:
        super()._load_from_state_dict(state, prefix, *args)
        self.ready = bool(self.initialized)

    @torch.no_grad()
    def _initialize(self, x: Tensor) -> None:
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        std = (
            x.std(dim=(0, 2, 3), keepdim=True) if x.numel() > x.shape[1] else torch.ones_like(mean)
        )
        self.shift.copy_(mean)
        self.log_scale.copy_(torch.log(std.clamp_min(1e-6)))
        self.initialized.fill_(True)
        self.ready = True

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        if not self.ready and self.training:
            self._initialize(x)
        y = (x - self.shift) * torch.exp(-self.log_scale)
        logdet = -self.log_scale.sum() * x.shape[2] * x.shape[3]
        return y, _zeros(x) + logdet

    def forward_map(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        y, _ = self.forward(x, cond)
        return y, (-self.log_scale).to(_zeros(x).dtype).expand_as(x)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        return y * torch.exp(self.log_scale) + self.shift


def squeeze(x: Tensor) -> Tensor:
    """``(N, C, H, W)`` -> ``(N, 4C, H/2, W/2)``: each 2x2 block becomes 4 channels."""
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2)
    return x.permute(0, 1, 3, 5, 2, 4).reshape(n, 4 * c, h // 2, w // 2)


def unsqueeze(x: Tensor) -> Tensor:
    """Inverse of :func:`squeeze`."""
    n, c4, h, w = x.shape
    c = c4 // 4
    x = x.reshape(n, c, 2, 2, h, w)
    return x.permute(0, 1, 4, 2, 5, 3).reshape(n, c, 2 * h, 2 * w)


class Squeeze(FlowLayer):
    """Space-to-depth (volume preserving: log-det 0)."""

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return squeeze(x), _zeros(x)

    def forward_map(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        y = squeeze(x)
        return y, torch.zeros_like(y, dtype=_zeros(x).dtype)

    def relayout(self, field: Tensor) -> Tensor:
        return squeeze(field)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        return unsqueeze(y)


class InvConv1x1(FlowLayer):
    """Invertible 1x1 convolution in LU form (Glow): ``W = P L (U + diag(s))``.

    Args:
        channels: ``C``; the weight starts as a random rotation.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(channels, channels))
        p, lower, upper = torch.linalg.lu(q)
        self.register_buffer("permutation", p)
        self.register_buffer("lower_mask", torch.tril(torch.ones(channels, channels), -1))
        self.register_buffer("sign", torch.sign(torch.diag(upper)))
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(torch.triu(upper, 1))
        self.log_diag = nn.Parameter(torch.log(torch.abs(torch.diag(upper))))

    def _weight(self) -> Tensor:
        eye = torch.eye(self.lower.shape[0], device=self.lower.device, dtype=self.lower.dtype)
        lower = self.lower * self.lower_mask + eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign * torch.exp(self.log_diag))
        return self.permutation @ lower @ upper

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        weight = self._weight().to(x.dtype)
        y = torch.einsum("ij,njhw->nihw", weight, x)
        return y, _zeros(x) + self.log_diag.sum() * x.shape[2] * x.shape[3]

    def forward_map(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        y, _ = self.forward(x, cond)
        per_element = self.log_diag.sum().to(_zeros(x).dtype) / x.shape[1]
        return y, per_element.expand_as(y)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        weight = torch.linalg.inv(self._weight().to(torch.float64)).to(y.dtype)
        return torch.einsum("ij,njhw->nihw", weight, y)


class Logit(FlowLayer):
    """``y = logit(a + (1 - 2a) x)`` for ``x`` in (0, 1): unbounded inputs for the couplings.

    Args:
        alpha: Keeps the argument away from 0 and 1 (RealNVP uses 0.05).
    """

    def __init__(self, alpha: float = 0.05) -> None:
        super().__init__()
        self.alpha = alpha

    def forward(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        p = self.alpha + (1 - 2 * self.alpha) * x
        y = torch.log(p) - torch.log1p(-p)
        logdet = math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)
        return y, logdet.flatten(1).sum(1).to(_zeros(x).dtype)

    def forward_map(self, x: Tensor, cond: Tensor | None = None) -> tuple[Tensor, Tensor]:
        p = self.alpha + (1 - 2 * self.alpha) * x
        y = torch.log(p) - torch.log1p(-p)
        field = math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)
        return y, field.to(_zeros(x).dtype)

    def inverse(self, y: Tensor, cond: Tensor | None = None) -> Tensor:
        return (torch.sigmoid(y) - self.alpha) / (1 - 2 * self.alpha)
