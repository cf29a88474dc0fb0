"""The single place where a :class:`~seisflow.models.config.FlowConfig` becomes modules."""

from __future__ import annotations

import torch

from seisflow.models.config import FlowConfig
from seisflow.models.flow import FractalFlow

__all__ = ["build_flow"]


def build_flow(config: FlowConfig, *, dtype: torch.dtype = torch.float32) -> FractalFlow:
    """The Fractal Flow described by ``config``, with parameters of ``dtype``."""
    return FractalFlow(config).to(dtype)
