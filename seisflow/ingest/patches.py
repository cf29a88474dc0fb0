"""Patches: the windows of seismic sections the flow sees, and their 8-bit normalisation.

numpy only. A patch is a ``size x size`` window of a section, rows = time (downwards),
columns = traces, so it looks like the section it comes from:

* ``axis="inline"``: a window of an inline section, spanning (crossline, time);
* ``axis="crossline"``: a window of a crossline section, spanning (inline, time);
* ``depth3d=d`` (3-D mode): ``d`` adjacent sections stacked as channels, ``(d, size, size)``.

A position is ``(axis, i, j, k)``: the axis code (0 inline, 1 crossline) and the array
indices (inline, crossline, sample) of the patch's first sample. The tiling steps ``stride``
along the section and in time, adds a last window flush with the end so every sample is
covered, and takes every section. For training, patches that touch a missing trace are
*skipped* (``complete=True``); the mapping tiling keeps every patch with at least one live
trace, so every live sample is covered at least once.

For evaluation, a seeded fraction of the chunk columns is held out (:func:`holdout_block`,
:func:`holdout_columns`, :func:`in_columns`): a patch belongs to the column of its first
sample. :func:`spread` orders chunk columns so a stream spans the survey from its start.

How amplitudes become bytes is :mod:`seisflow.ingest.normalize`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from seisflow.errors import ConfigError

__all__ = [
    "AXES",
    "PatchSpec",
    "columns",
    "cut",
    "expand",
    "holdout_block",
    "holdout_columns",
    "in_columns",
    "positions",
    "sample_range",
    "spread",
    "time_starts",
]

AXES: tuple[str, ...] = ("inline", "crossline")


@dataclass(frozen=True)
class PatchSpec:
    """How patches are cut.

    Attributes:
        size: Patch height and width in samples and traces.
        axis: Sections to cut: ``inline``, ``crossline`` or ``both``.
        stride: Step between patch starts along the section and in time (<= size).
        time_window: Optional ``(first, last)`` range of the vertical axis in its units (ms or
            m); patches lie inside it.
        depth3d: Optional number of adjacent sections stacked as channels (3-D mode).
    """

    size: int = 32
    axis: Literal["inline", "crossline", "both"] = "inline"
    stride: int = 16
    time_window: tuple[float, float] | None = None
    depth3d: int | None = None

    def __post_init__(self) -> None:
        if self.size < 2 or not 1 <= self.stride <= self.size:
            raise ConfigError(
                f"patch size {self.size} and stride {self.stride}: need size >= 2 and "
                "1 <= stride <= size (a larger stride would leave samples no patch covers)"
            )
        if self.axis not in ("inline", "crossline", "both"):
            raise ConfigError(f"patch axis {self.axis!r}: choose inline, crossline or both")
        if self.depth3d is not None and self.depth3d < 1:
            raise ConfigError(f"depth3d {self.depth3d} must be 1 or more")

    @property
    def axes(self) -> tuple[int, ...]:
        """Axis codes to cut: (0,), (1,) or (0, 1)."""
        return (0, 1) if self.axis == "both" else (AXES.index(self.axis),)

    @property
    def channels(self) -> int:
        return self.depth3d or 1

    @property
    def shape(self) -> tuple[int, int, int]:
        """Shape of one patch: ``(channels, size, size)``."""
        return self.channels, self.size, self.size


def starts(length: int, size: int, stride: int) -> np.ndarray:
    """Window starts covering ``range(length)``: every ``stride``, plus one flush at the end."""
    if length < size:
        return np.zeros(0, dtype=np.int64)
    first = np.arange(0, length - size + 1, stride, dtype=np.int64)
    return first if first[-1] == length - size else np.append(first, length - size)


def positions(
    spec: PatchSpec,
    live: np.ndarray,
    *,
    samples: tuple[int, int],
    complete: bool,
) -> np.ndarray:
    """Every patch position of a grid, in ``(axis, i, j, k)`` order: :func:`columns` at every
    time start of :func:`time_starts` (:func:`expand`).

    Args:
        spec: The patches.
        live: Bool ``(n_il, n_xl)``, True where a trace was recorded.
        samples: ``(first, stop)`` sample indices the patches must lie in.
        complete: Keep only patches whose traces are all live (training) instead of every
            patch with at least one live trace (mapping).

    Returns:
        int64 ``(n, 4)``.
    """
    return expand(columns(spec, live, complete=complete), time_starts(spec, samples))


def time_starts(spec: PatchSpec, samples: tuple[int, int]) -> np.ndarray:
    """Sample indices ``k`` where patches start within ``samples = (first, stop)``: int64."""
    return starts(samples[1] - samples[0], spec.size, spec.stride) + samples[0]


def columns(spec: PatchSpec, live: np.ndarray, *, complete: bool) -> np.ndarray:
    """Every patch column of a grid: the ``(axis, i, j)`` of the patches cut at every time
    start, in that order. A survey has as many patches as columns times time starts, so
    the columns are the tiling at a fraction of its size (24 bytes per column).

    Args:
        spec: The patches.
        live: Bool ``(n_il, n_xl)``, True where a trace was recorded.
        complete: Keep only columns whose traces are all live (training) instead of every
            column with at least one live trace (mapping).

    Returns:
        int64 ``(m, 3)``.
    """
    rows = []
    for axis in spec.axes:
        live_a = live if axis == 0 else live.T  # (sections, traces)
        n_sections, n_traces = live_a.shape
        depth = spec.channels
        section = np.arange(n_sections - depth + 1)
        along = starts(n_traces, spec.size, spec.stride)
        if section.size == 0 or along.size == 0:
            continue
        # live traces per window: a cumulative sum over the traces, then over the depth
        window = _window_sum(live_a.astype(np.int64), spec.size, depth)[np.ix_(section, along)]
        full = spec.size * depth
        keep = window == full if complete else window > 0
        s, a = np.nonzero(keep)
        il, xl = (section[s], along[a]) if axis == 0 else (along[a], section[s])
        rows.append(np.stack([np.full(s.size, axis), il, xl], axis=1))
    return np.concatenate(rows) if rows else np.zeros((0, 3), dtype=np.int64)


def expand(grid: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Positions ``(axis, i, j, k)`` of columns ``grid`` ``(m, 3)`` at time starts ``k``:
    int64 ``(m * len(k), 4)``, each column's patches together, in the order of ``k``."""
    return np.concatenate([np.repeat(grid, k.size, axis=0), np.tile(k, len(grid))[:, None]], axis=1)


def _window_sum(values: np.ndarray, size: int, depth: int) -> np.ndarray:
    """Sum over windows of ``depth`` sections x ``size`` traces starting at each index."""
    c = np.zeros((values.shape[0] + 1, values.shape[1] + 1), dtype=np.int64)
    c[1:, 1:] = values.cumsum(0).cumsum(1)
    n_s = values.shape[0] - depth + 1
    n_t = values.shape[1] - size + 1
    if n_s <= 0 or n_t <= 0:
        return np.zeros((max(n_s, 0), max(n_t, 0)), dtype=np.int64)
    return (
        c[depth : depth + n_s, size : size + n_t]
        - c[:n_s, size : size + n_t]
        - c[depth : depth + n_s, :n_t]
        + c[:n_s, :n_t]
    )


def cut(
    block: np.ndarray, origin: tuple[int, int, int], position: np.ndarray, size: int, depth: int = 1
) -> np.ndarray:
    """The patch at ``position`` from a ``block`` of the volume that starts at ``origin``.

    Args:
        block: ``(n_il, n_xl, n_samples)`` part of the volume (raw or quantised).
        origin: Array indices of ``block[0, 0, 0]`` in the volume.
        position: ``(axis, i, j, k)``.
        size: Patch size.
        depth: Sections per patch (3-D mode).

    Returns:
        ``(depth, size, size)``: rows are time, columns are traces.
    """
    axis, i, j, k = (int(v) for v in position)
    i, j, k = i - origin[0], j - origin[1], k - origin[2]
    if axis == 0:
        window = block[i : i + depth, j : j + size, k : k + size]  # (depth, traces, time)
    else:
        window = block[i : i + size, j : j + depth, k : k + size].transpose(1, 0, 2)
    return window.transpose(0, 2, 1)


def sample_range(vertical: np.ndarray, window: tuple[float, float] | None) -> tuple[int, int]:
    """Sample indices ``(first, stop)`` of a vertical window in axis units (all if None)."""
    if window is None:
        return 0, int(vertical.size)
    first = int(np.searchsorted(vertical, window[0], side="left"))
    stop = int(np.searchsorted(vertical, window[1], side="right"))
    return first, max(first, stop)


def holdout_block(
    shape: tuple[int, int], chunks: tuple[int, int], minimum: int = 10
) -> tuple[int, int]:
    """Traces ``(inlines, crosslines)`` of one hold-out column: a store chunk column, halved
    (the longer side first) while the ``shape`` grid would hold fewer than ``minimum``."""
    block = [int(c) for c in chunks]

    def count() -> int:
        return int(np.ceil(shape[0] / block[0]) * np.ceil(shape[1] / block[1]))

    while count() < minimum and max(block) > 1:
        side = 0 if block[0] >= block[1] else 1
        block[side] = (block[side] + 1) // 2
    return block[0], block[1]


def holdout_columns(
    where: np.ndarray, block: tuple[int, int], fraction: float, seed: int
) -> np.ndarray:
    """The held-out columns: a seeded choice of ``round(fraction * n)`` (at least 1, at most
    ``n - 1``) of the ``n`` columns that hold the start of a patch in ``where``.

    Args:
        where: Patch positions ``(n, 4)`` or patch columns ``(n, 3)`` (only ``i, j``
            count; the complete ones, so that a held-out column holds patches to evaluate
            on).
        block: Traces ``(inlines, crosslines)`` of a column (see :func:`holdout_block`).
        fraction: Fraction of the columns to hold out, in ``[0, 1)``; 0 holds out nothing.
        seed: Same seed (and positions), same columns.

    Returns:
        int64 ``(m, 2)``: column indices ``(i // block[0], j // block[1])``, sorted; empty
        when ``fraction`` is 0 or fewer than two columns hold a patch.

    Raises:
        ConfigError: For a fraction outside ``[0, 1)``.
    """
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"hold-out fraction {fraction} must be in [0, 1)")
    candidates = np.unique(where[:, 1:3] // np.asarray(block), axis=0).reshape(-1, 2)
    if fraction == 0.0 or len(candidates) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    n = min(max(round(fraction * len(candidates)), 1), len(candidates) - 1)
    pick = np.random.default_rng([seed, 0x401D]).choice(len(candidates), n, replace=False)
    return candidates[np.sort(pick)].astype(np.int64)


def in_columns(where: np.ndarray, block: tuple[int, int], columns: np.ndarray) -> np.ndarray:
    """Bool ``(n,)``: True where a position ``(axis, i, j, k)`` (or a patch column ``(axis, i,
    j)``) starts in one of ``columns``."""
    if len(columns) == 0:
        return np.zeros(len(where), dtype=bool)
    cell = where[:, 1:3] // np.asarray(block)
    width = int(max(cell[:, 1].max(initial=0), columns[:, 1].max())) + 1
    return np.isin(cell[:, 0] * width + cell[:, 1], columns[:, 0] * width + columns[:, 1])


def spread(points: np.ndarray, rng: np.random.Generator, head: int = 512) -> np.ndarray:
    """A reading order of ``points`` ``(n, 2)`` that spans them from the start: a random
    first point, then again and again the point farthest from all taken so far (ties at
    random), for the first ``head`` points; the rest follow in their given order.

    Returns:
        int64 ``(n,)``: a permutation of ``range(n)``.
    """
    n = len(points)
    xy = np.asarray(points, dtype=np.float64)
    taken = np.zeros(n, dtype=bool)
    nearest = np.full(n, np.inf)
    order: list[int] = []
    pick = int(rng.integers(n)) if n else 0
    for _ in range(min(n, head)):
        order.append(pick)
        taken[pick] = True
        nearest = np.minimum(nearest, ((xy - xy[pick]) ** 2).sum(axis=1))
        nearest[taken] = -1.0
        pick = int(rng.choice(np.flatnonzero(nearest == nearest.max())))
    return np.array(order + np.flatnonzero(~taken).tolist(), dtype=np.int64)
