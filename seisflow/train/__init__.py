"""Training: one loop for survey stores and the image benchmarks, CPU or CUDA, alone or
under ``torchrun`` (see :mod:`seisflow.train.loop`); checkpoints and validation.

The names below are loaded when first used, so that importing a submodule (as
:mod:`seisflow.runs` imports :mod:`seisflow.train.checkpoint`) does not load the loop.
"""

from __future__ import annotations

from seisflow._lazy import lazy_names

__all__ = ["TrainResult", "load_flow", "train"]

_WHERE = {
    "TrainResult": "seisflow.train.loop",
    "train": "seisflow.train.loop",
    "load_flow": "seisflow.train.checkpoint",
}


__getattr__ = lazy_names(__name__, _WHERE)
