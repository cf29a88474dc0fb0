"""Amplitudes to bytes: the 8-bit view of the seismic that the flow sees.

A survey's amplitudes are scaled by a robust ``scale`` (the ``percentile`` of
``|amplitude|`` over a sample of chunks, :func:`measure`), companded and rounded to one of
the 255 codes ``1 .. 255``, zero amplitude at :data:`ZERO` (128):

* ``clip`` (the default): ``y = clip(x / scale, -1, 1)``: every amplitude beyond the scale
  takes the end code.
* ``asinh``: ``y = asinh(x / knee) / asinh(headroom * scale / knee)`` with ``knee = scale /
  4`` (about one standard deviation of Gaussian-like seismic, whose 99.5th percentile of
  ``|x|`` is 2.8 standard deviations): nearly linear for ordinary amplitudes, logarithmic
  above, so amplitudes up to ``headroom x scale`` keep distinct codes and a bright spot
  stays brighter than its surroundings instead of being clipped flat. Measured against
  ``clip`` with today's read-outs (benchmarks/RESULTS.md, 2026-12-02) it lost on both maps
  (facies ARI -0.065, anomaly AUROC -0.035, the bright spot's -0.23), so it is opt-in.

Then ``code = 128 + round(127 y)``. A missing sample (no trace: NaN) takes :data:`MISSING`
(0), which no amplitude takes, so a missing trace never looks like a dead (all-zero) one,
which takes 128. Whoever feeds patches to a model fills missing codes deliberately
(:func:`fill_missing`). The normalisation a run was trained with travels in its
checkpoint (:meth:`Normalization.as_dict`); mapping a store with another one warns
(:meth:`Normalization.mismatch`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

import numpy as np
import zarr

from seisflow.errors import ConfigError
from seisflow.storage import StoreLike, locate

__all__ = [
    "COMPANDINGS",
    "MISSING",
    "ZERO",
    "Companding",
    "Normalization",
    "fill_missing",
    "measure",
    "robust_scale",
]

Companding = Literal["asinh", "clip"]
COMPANDINGS: tuple[str, ...] = get_args(Companding)
#: Code of a missing sample (no trace); no amplitude takes it.
MISSING = 0
#: Code of zero amplitude (a dead trace's samples).
ZERO = 128
#: The asinh knee as a fraction of the scale.
KNEE = 0.25
#: Store attribute where earlier versions cached the scale (read, never written).
LEGACY_KEY = "seisflow:normalization"


@dataclass(frozen=True)
class Normalization:
    """How amplitudes become bytes.

    Attributes:
        scale: The robust amplitude scale (the ``percentile`` of ``|amplitude|``), > 0.
        percentile: The percentile that defined ``scale``.
        companding: ``asinh`` or ``clip`` (see the module docstring).
        headroom: ``asinh``: amplitudes up to ``headroom x scale`` keep distinct codes
            (beyond, the end codes); ignored by ``clip``.
    """

    scale: float
    percentile: float = 99.5
    companding: Companding = "clip"
    headroom: float = 4.0

    def __post_init__(self) -> None:
        if self.companding not in COMPANDINGS:
            raise ConfigError(f"companding {self.companding!r}: choose from {COMPANDINGS}")
        if not (math.isfinite(self.scale) and self.scale > 0):
            raise ConfigError(f"amplitude scale {self.scale} must be finite and > 0")
        if not (math.isfinite(self.headroom) and self.headroom >= 1):
            raise ConfigError(f"headroom {self.headroom} must be >= 1")

    def quantize(self, raw: np.ndarray) -> np.ndarray:
        """Amplitudes of any shape -> uint8 codes of the same shape (NaN -> :data:`MISSING`)."""
        x = np.asarray(raw, dtype=np.float32)
        if self.companding == "asinh":
            knee = np.float32(KNEE * self.scale)
            y = np.arcsinh(x / knee) * np.float32(1.0 / math.asinh(self.headroom / KNEE))
        else:
            y = x * np.float32(1.0 / self.scale)
        np.clip(y, -1.0, 1.0, out=y)
        codes = np.rint(y * np.float32(127.0)) + np.float32(ZERO)
        return np.nan_to_num(codes, nan=float(MISSING)).astype(np.uint8)

    def amplitude(self, codes: np.ndarray) -> np.ndarray:
        """The amplitude at the centre of each code (float32, NaN for :data:`MISSING`): the
        inverse of :meth:`quantize` up to rounding, inside the range it keeps."""
        y = (np.asarray(codes, dtype=np.float32) - np.float32(ZERO)) / np.float32(127.0)
        if self.companding == "asinh":
            x = np.sinh(y * np.float32(math.asinh(self.headroom / KNEE))) * np.float32(
                KNEE * self.scale
            )
        else:
            x = y * np.float32(self.scale)
        return np.where(np.asarray(codes) == MISSING, np.float32(np.nan), x)

    def as_dict(self) -> dict[str, Any]:
        """A plain record (a checkpoint's ``source.normalization``, a layer attribute)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Normalization:
        """The inverse of :meth:`as_dict`; unknown keys are ignored."""
        return cls(scale=float(record["scale"]), percentile=float(record["percentile"]),
                   companding=record["companding"], headroom=float(record["headroom"]))  # fmt: skip

    def mismatch(self, other: Normalization, *, tolerance: float = 0.05) -> str | None:
        """Why ``other`` (a store's own) differs from this one (a run's), or None when the
        companding is the same and the scales differ by at most ``tolerance`` (relative)."""
        if (self.companding, self.percentile) != (other.companding, other.percentile):
            return (f"companding {other.companding} at the {other.percentile:g}th percentile "
                    f"against {self.companding} at the {self.percentile:g}th")  # fmt: skip
        change = abs(other.scale - self.scale) / self.scale
        if change > tolerance:
            return (f"amplitude scale {other.scale:.6g} against {self.scale:.6g} "
                    f"({100 * change:.0f}% apart)")  # fmt: skip
        return None


def fill_missing(patches: np.ndarray, fill: int = ZERO) -> np.ndarray:
    """``patches`` with every :data:`MISSING` code replaced by ``fill`` (a copy when any is)."""
    missing = patches == MISSING
    return np.where(missing, np.uint8(fill), patches) if missing.any() else patches


def robust_scale(values: np.ndarray, percentile: float) -> float:
    """The ``percentile`` of ``|values|`` over finite values (1.0 if none or all zero)."""
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return 1.0
    scale = float(np.percentile(finite, percentile))
    return scale if scale > 0 else float(finite.max()) or 1.0


def measure(
    store: StoreLike,
    *,
    percentile: float = 99.5,
    companding: Companding = "clip",
    headroom: float = 4.0,
    max_chunks: int = 24,
    seed: int = 0,
) -> Normalization:
    """A store's normalisation: its scale from at most ``max_chunks`` whole chunks of
    ``amplitude`` spread at random (seeded) over the chunk grid, never the whole volume (at
    most 200 000 finite samples of each); the same store always gives the same result.

    Reading never writes: nothing is cached in the store. A scale that an earlier version
    cached in the store's attributes (``seisflow:normalization``) is reused while its
    percentile matches.
    """
    group = zarr.open_group(locate(store).zarr_store(read_only=True), mode="r")
    cached = group.attrs.get(LEGACY_KEY)
    if isinstance(cached, Mapping) and cached.get("percentile") == percentile:
        return Normalization(scale=float(cached["clip"]), percentile=percentile,
                             companding=companding, headroom=headroom)  # fmt: skip
    array = group["amplitude"]
    grid = [int(np.ceil(n / c)) for n, c in zip(array.shape, array.chunks, strict=True)]
    total = int(np.prod(grid))
    rng = np.random.default_rng(seed)
    chosen = rng.choice(total, size=min(max_chunks, total), replace=False)
    values = []
    for flat in np.sort(chosen):
        block = array.blocks[np.unravel_index(flat, grid)]
        finite = block[np.isfinite(block)]
        values.append(rng.choice(finite, size=min(finite.size, 200_000), replace=False))
    scale = robust_scale(np.concatenate(values), percentile)
    return Normalization(scale=scale, percentile=percentile, companding=companding,
                         headroom=headroom)  # fmt: skip
