"""Evaluation of bits/dim on a fixed set, and the autocast the loop and it share.

Seeded: the dequantisation noise (and the LDA bound's importance samples) come from
``seed``, so the same flow on the same set always gives the same figure.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch
from torch import Tensor

from seisflow.models import FractalFlow

__all__ = ["autocast", "evaluate"]


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA when ``amp``; nothing on CPU."""
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(
    flow: FractalFlow,
    images: Tensor,
    *,
    batch_size: int,
    seed: int,
    amp: bool = True,
    samples: int | None = None,
) -> float:
    """Mean bits/dim of uint8 ``images`` ``(N, C, H, W)``, with seeded dequantisation noise
    (for the LDA prior the ELBO bound, or the importance-weighted one with ``samples``)."""
    device = next(flow.parameters()).device
    was_training = flow.training
    flow.eval()
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    total = 0.0
    forked = []
    if device.type == "cuda":
        forked = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=forked):
        torch.manual_seed(seed)  # the importance samples
        for chunk in images.split(batch_size):
            x = chunk.to(device)
            noise = torch.rand(x.shape, generator=generator, device=device)
            with autocast(device, amp):
                total += float(flow.bits_per_dim(x, samples=samples, noise=noise).float().sum())
    flow.train(was_training)
    return total / len(images)
