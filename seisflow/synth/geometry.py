"""Survey geometry of a synthetic survey: line numbers, live traces, coordinates, blocks.

The grid is rotated in projected metres: inline ``i`` and crossline index ``j`` sit at
``origin + i * di * u_inline + j * dj * u_crossline``, where ``u_inline`` points along the
azimuth of increasing inline number. Everything is a pure function of the indices, so a block
of traces is computed without the rest of the survey.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from seisflow.synth.config import SynthConfig

__all__ = ["Block", "SurveyGrid"]


@dataclass(frozen=True)
class Block:
    """A rectangle of the grid: inline indices ``il`` x crossline indices ``xl``."""

    il: slice
    xl: slice


@dataclass(frozen=True)
class SurveyGrid:
    """Geometry of a synthetic survey.

    Args:
        config: The survey settings (shape, numbering, spacing, azimuth, sorting, holes).
    """

    config: SynthConfig

    @property
    def n_inlines(self) -> int:
        return self.config.shape[0]

    @property
    def n_crosslines(self) -> int:
        return self.config.shape[1]

    @property
    def n_samples(self) -> int:
        return self.config.shape[2]

    @property
    def inlines(self) -> np.ndarray:
        """Inline numbers, shape ``(n_inlines,)``."""
        return self.config.first_inline + np.arange(self.n_inlines, dtype=np.int32)

    @property
    def crosslines(self) -> np.ndarray:
        """Crossline numbers (step ``xline_step``), shape ``(n_crosslines,)``."""
        step = self.config.xline_step
        return self.config.first_crossline + step * np.arange(self.n_crosslines, dtype=np.int32)

    @property
    def times_ms(self) -> np.ndarray:
        """Sample times in milliseconds, shape ``(n_samples,)``."""
        return np.arange(self.n_samples, dtype=np.float64) * self.config.sample_interval_ms

    def live(self, block: Block | None = None) -> np.ndarray:
        """Boolean mask of recorded traces, shape ``(n_il, n_xl)`` of the block.

        With ``missing_corner`` a triangle at the high-inline, high-crossline corner is not
        recorded (about 6% of the traces), as where a survey boundary cuts the grid.
        """
        a, b = self.normalised(block)
        live = np.ones(np.broadcast_shapes(a.shape, b.shape), dtype=bool)
        if self.config.missing_corner:
            live &= a + b < 1.65
        return live

    def normalised(self, block: Block | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Inline and crossline positions scaled to [0, 1]: ``(n_il, 1)`` and ``(1, n_xl)``."""
        block = block or Block(slice(0, self.n_inlines), slice(0, self.n_crosslines))
        i = np.arange(self.n_inlines)[block.il]
        j = np.arange(self.n_crosslines)[block.xl]
        a = i / max(self.n_inlines - 1, 1)
        b = j / max(self.n_crosslines - 1, 1)
        return a[:, None], b[None, :]

    def xy(self, block: Block | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Projected X and Y in metres of each trace, shapes ``(n_il, n_xl)``."""
        block = block or Block(slice(0, self.n_inlines), slice(0, self.n_crosslines))
        cfg = self.config
        i = np.arange(self.n_inlines, dtype=np.float64)[block.il, None]
        j = np.arange(self.n_crosslines, dtype=np.float64)[None, block.xl]
        azimuth = np.deg2rad(cfg.azimuth_deg)
        along_il = np.array([np.sin(azimuth), np.cos(azimuth)])  # unit vector, increasing inline
        along_xl = np.array([np.cos(azimuth), -np.sin(azimuth)])  # 90 degrees clockwise of it
        di = cfg.inline_spacing_m * i
        dj = cfg.crossline_spacing_m * cfg.xline_step * j
        x = cfg.origin_xy[0] + di * along_il[0] + dj * along_xl[0]
        y = cfg.origin_xy[1] + di * along_il[1] + dj * along_xl[1]
        return x, y

    def blocks(self, target_samples: int) -> Iterator[Block]:
        """Blocks of whole lines in file order, each about ``target_samples`` samples.

        Inline-sorted files are cut into groups of inlines, crossline-sorted files into groups
        of crosslines, so each block's traces are contiguous in the file.
        """
        if self.config.sorting == "inline":
            per_line = self.n_crosslines * self.n_samples
            step = max(1, target_samples // per_line)
            for start in range(0, self.n_inlines, step):
                stop = min(start + step, self.n_inlines)
                yield Block(slice(start, stop), slice(0, self.n_crosslines))
        else:
            per_line = self.n_inlines * self.n_samples
            step = max(1, target_samples // per_line)
            for start in range(0, self.n_crosslines, step):
                stop = min(start + step, self.n_crosslines)
                yield Block(slice(0, self.n_inlines), slice(start, stop))

    def file_order(self, block: Block) -> np.ndarray:
        """Flat indices into the block's ``(n_il * n_xl)`` traces, in file order, live only."""
        live = self.live(block)
        order = np.arange(live.size).reshape(live.shape)
        if self.config.sorting == "crossline":
            order, live = order.T, live.T
        return order[live]
