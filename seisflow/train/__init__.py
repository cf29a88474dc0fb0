"""Training: one loop for survey stores and the image benchmarks, CPU or CUDA, alone or
under ``torchrun`` (see :mod:`seisflow.train.loop`); checkpoints and validation."""

from seisflow.train.checkpoint import load_flow
from seisflow.train.loop import TrainResult, train

__all__ = ["TrainResult", "load_flow", "train"]
