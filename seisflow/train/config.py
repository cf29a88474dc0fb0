"""The settings of a training run (see :mod:`seisflow.train`): the patches, the loop, and
the :class:`RunConfig` that holds them with the model's :class:`FlowConfig`, as stored in a
checkpoint. Loaded with :func:`seisflow.config.from_mapping`; importing this module loads
no tensors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from seisflow.config import _require
from seisflow.errors import ConfigError
from seisflow.models.config import FlowConfig

__all__ = ["DataConfig", "RunConfig", "TrainConfig"]


@dataclass(frozen=True)
class DataConfig:
    """How a survey store is cut into training patches (ignored for the image benchmarks,
    whose images are the patches). See :class:`seisflow.ingest.patches.PatchSpec`.

    Attributes:
        size: Patch height and width in samples and traces.
        axis: Sections to cut: ``inline``, ``crossline`` or ``both``.
        stride: Step between patch starts (<= size).
        time_window: Optional ``(first, last)`` of the vertical axis (ms or m).
        depth3d: Optional number of adjacent sections stacked as channels.
        percentile: Percentile of ``|amplitude|`` that sets the amplitude scale of the 8-bit
            quantisation (see :mod:`seisflow.ingest.normalize`).
        companding: ``clip`` (everything beyond the scale takes the end code; the default,
            measured better for both maps so far) or ``asinh`` (amplitudes up to
            ``headroom`` x the scale keep distinct codes).
        headroom: ``asinh`` only: the largest amplitude kept distinct, in scales (>= 1).
        holdout: Fraction of the store's chunk columns held out of training for the
            evaluation figure (0: none, the evaluation figure then comes from training
            patches).
        buffer: Shuffle buffer of the patch stream (patches).
        workers: DataLoader worker processes (0: read in the training process, the fastest
            on two cores).
    """

    size: int = 32
    axis: Literal["inline", "crossline", "both"] = "inline"
    stride: int = 16
    time_window: tuple[float, float] | None = None
    depth3d: int | None = None
    percentile: float = 99.5
    companding: Literal["asinh", "clip"] = "clip"
    headroom: float = 4.0
    holdout: float = 0.1
    buffer: int = 8192
    workers: int = 0

    EXAMPLE: ClassVar[str] = "size=32"

    def __post_init__(self) -> None:
        if not 50.0 <= self.percentile <= 100.0:
            raise ConfigError(f"data percentile {self.percentile} must be between 50 and 100")
        _require("data",
                 ("headroom", self.headroom, self.headroom >= 1.0, ">= 1 (in amplitude scales)"),
                 ("holdout", self.holdout, 0.0 <= self.holdout <= 0.5, "between 0 and 0.5"),
                 ("buffer", self.buffer, self.buffer >= 1, ">= 1"),
                 ("workers", self.workers, self.workers >= 0, ">= 0"))  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """The training loop (see :mod:`seisflow.train`).

    Attributes:
        steps: Optimiser steps.
        batch_size: Global batch (split evenly over distributed ranks).
        lr: Peak AdamW learning rate, reached after ``warmup`` steps, then cosine to 0.
        prior_lr_scale: The prior's parameters learn at ``lr * prior_lr_scale``.
        weight_decay: AdamW weight decay.
        warmup: Linear warm-up steps.
        clip: Gradient-norm clipping threshold.
        seed: Seed of the weights, the data order and the dequantisation noise.
        eval_every: Steps between evaluations of bits/dim on the held-out set (0: never).
        eval_size: Held-out patches or images per evaluation.
        checkpoint_every: Steps between checkpoints (one is always written at the end).
        log_every: Steps between lines of ``metrics.jsonl``.
        compile: ``torch.compile`` the model.
        amp: bf16 autocast on CUDA (TF32 is always on there); ignored on CPU.
        anti_collapse: Weight of ``KL(batch topic usage || uniform)`` in the loss at the
            start (LDA prior; 0 turns it off), annealed linearly to 0 at
            ``anti_collapse_end``.
        anti_collapse_end: Fraction of ``steps`` at which the anti-collapse weight reaches 0.
        topic_refit: Every this many steps, and after the last, the LDA topics are refitted
            to the words of ``topic_refit_size`` patches under the current flow, keeping
            whichever of the refit and the current topics has the better ELBO (0: never;
            the first batch initialises them in any case).
        topic_refit_size: Patches (or images) the refit uses.
    """

    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    prior_lr_scale: float = 1.0
    weight_decay: float = 0.0
    warmup: int = 100
    clip: float = 50.0
    seed: int = 0
    eval_every: int = 500
    eval_size: int = 1024
    checkpoint_every: int = 500
    log_every: int = 10
    compile: bool = False
    amp: bool = True
    anti_collapse: float = 0.0
    anti_collapse_end: float = 0.5
    topic_refit: int = 0
    topic_refit_size: int = 512

    EXAMPLE: ClassVar[str] = "steps=200"

    def __post_init__(self) -> None:
        if self.anti_collapse < 0 or not 0 < self.anti_collapse_end <= 1:
            raise ConfigError(
                f"train anti_collapse {self.anti_collapse} must be >= 0 and anti_collapse_end "
                f"{self.anti_collapse_end} in (0, 1]"
            )
        if self.topic_refit < 0 or self.topic_refit_size < 1:
            raise ConfigError(
                f"train topic_refit {self.topic_refit} must be >= 0 and topic_refit_size "
                f"{self.topic_refit_size} >= 1"
            )
        if self.steps < 1 or self.batch_size < 1:
            raise ConfigError(
                f"train steps {self.steps} and batch_size {self.batch_size} must be >= 1"
            )
        _require(
            "train",
            *((name, getattr(self, name), getattr(self, name) > 0, "> 0")
              for name in ("lr", "prior_lr_scale", "clip")),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, ">= 0"),
            *((name, getattr(self, name), getattr(self, name) >= 0, ">= 0")
              for name in ("warmup", "eval_every", "checkpoint_every")),
            ("log_every", self.log_every, self.log_every >= 1, ">= 1"),
        )  # fmt: skip
        if self.eval_size < 1:
            raise ConfigError(f"train eval_size {self.eval_size} must be >= 1")


@dataclass(frozen=True)
class RunConfig:
    """Everything a training run needs, as stored in its checkpoint: sections ``model``,
    ``data`` and ``train`` of a TOML file (a preset in ``seisflow/presets/``, a user's file,
    or a run's ``config.toml``).

    Attributes:
        model: The flow.
        data: The patches of a survey store.
        train: The training loop.
        preset: The shipped preset the run's settings started from (None: none). Written by
            seisflow (see :mod:`seisflow.presets`); a file's value is not read.
    """

    model: FlowConfig = field(default_factory=FlowConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None

    EXAMPLE: ClassVar[str] = "train.steps=200"
