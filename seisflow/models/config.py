"""The settings of the Fractal Flow (see :mod:`seisflow.models`), loaded with
:func:`seisflow.config.from_mapping`; importing this module loads no tensors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from seisflow.config import _require
from seisflow.errors import ConfigError

__all__ = ["FlowConfig"]

BALANCES = ("usage", "sinkhorn")


@dataclass(frozen=True)
class FlowConfig:
    """The Fractal Flow (see :mod:`seisflow.models`); :func:`seisflow.models.build_flow`
    turns it into modules.

    Attributes:
        in_shape: Input ``(C, H, W)``; ``H`` and ``W`` divisible by ``2 ** levels`` (the
            fractal folds) and by 2 (the squeeze).
        prior: ``standard`` (N(0, I)), ``kat_gmm`` (fixed-grid Gaussian mixture) or ``lda``.
        subnet: Coupling networks: ``cnn``, ``mlp`` or ``kan``.
        levels: Fractal levels (0 = a plain coupling stack).
        width: Hidden channels (cnn, kan) or units (mlp) of the subnets; the full-resolution
            fractal stack, whose couplings see only the ``C`` input channels, uses half.
        depth: Coupling layers per stack.
        word: Side of the square spatial block of the coarsest latent that is one "word".
        grid: Grid points per dimension of the fixed component means (``Q = grid ** grid_dims``).
        grid_dims: Leading word dimensions that carry the grid means.
        grid_range: The means span ``[-grid_range, grid_range]``.
        topics: LDA topics ``K``.
        alpha: Dirichlet concentration of the topic proportions.
        lda_steps: Mean-field fixed-point steps.
        balance: The LDA balance term weighted by ``train.anti_collapse``: ``usage``
            (``KL(batch mean topic usage || uniform)``) or ``sinkhorn`` (cross-entropy of the
            documents' topic proportions to their Sinkhorn equipartition, as SwAV).
        l2: Weight of the structure term ``mean ||z - x~||^2``.
        conv1x1: Invertible 1x1 convolutions between channel couplings.
    """

    in_shape: tuple[int, int, int] = (1, 32, 32)
    prior: Literal["standard", "kat_gmm", "lda"] = "standard"
    subnet: Literal["cnn", "mlp", "kan"] = "cnn"
    levels: int = 0
    width: int = 64
    depth: int = 4
    word: int = 2
    grid: int = 3
    grid_dims: int = 2
    grid_range: float = 2.0
    topics: int = 4
    alpha: float = 0.5
    lda_steps: int = 5
    balance: Literal["usage", "sinkhorn"] = "usage"
    l2: float = 0.01
    conv1x1: bool = True

    EXAMPLE: ClassVar[str] = "width=32"

    def __post_init__(self) -> None:
        c, h, w = self.in_shape
        if c < 1 or h < 2 or w < 2:
            raise ConfigError(f"model in_shape {self.in_shape} must be positive (C, H, W)")
        if not 0 <= self.levels <= 4:
            raise ConfigError(f"model levels {self.levels} must be between 0 and 4")
        step = max(2**self.levels, 2)
        if h % step or w % step:
            raise ConfigError(
                f"model in_shape {self.in_shape}: H and W must be divisible by {step} for "
                f"{self.levels} fractal levels and the squeeze; pad or crop the input"
            )
        if (h // 2) % self.word or (w // 2) % self.word:
            raise ConfigError(
                f"model word {self.word} must divide the coarsest latent {h // 2}x{w // 2}"
            )
        for name in ("width", "depth", "grid", "topics"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model {name} {getattr(self, name)} must be 1 or more")
        if not 1 <= self.grid_dims <= 2 * c * self.word**2:
            raise ConfigError(
                f"model grid_dims {self.grid_dims} must be between 1 and the word size "
                f"{2 * c * self.word**2}"
            )
        if self.balance not in BALANCES:
            raise ConfigError(
                f"model balance {self.balance!r} is not allowed: choose one of "
                + ", ".join(BALANCES)
            )
        _require("model", ("alpha", self.alpha, self.alpha > 0, "> 0"),
                 ("l2", self.l2, self.l2 >= 0, ">= 0"),
                 ("lda_steps", self.lda_steps, self.lda_steps >= 1, ">= 1"))  # fmt: skip
