"""Flow passes over the mapping tiling: one small row per patch (topic proportions, anomaly).

The anomaly score is not raw likelihood: flows rate simple inputs (dead or muted traces) as
most likely (Nalisnick et al. 2019). It is the flow's bits/dim minus a generic compressor's
(zlib) bits/dim of the same 8-bit patch, the input-complexity correction of Serrà et al.
2020: a patch the flow finds less likely than its complexity explains scores high.

References:
    Nalisnick, Matsukawa, Teh, Gorur, Lakshminarayanan. Do deep generative models know what
    they don't know? ICLR 2019.
    Serrà, Álvarez, Gómez, Slizovskaia, Núñez, Luque. Input complexity and
    out-of-distribution detection with likelihood-based generative models. ICLR 2020.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm import tqdm

from seisflow.ingest.normalize import Normalization, fill_missing
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.stream import PatchStream
from seisflow.memory import reused_memory
from seisflow.models import FractalFlow

if TYPE_CHECKING:
    from seisflow.infer.saved_scores import SavedScores

__all__ = [
    "PatchRows",
    "PatchTable",
    "TableFill",
    "compressor_bits_per_dim",
    "paeth_residuals",
    "patch_table",
    "score_batch",
    "score_patches",
]


@dataclass(frozen=True)
class PatchTable:
    """One row per patch of the tiling.

    Attributes:
        positions: int32 ``(n, 4)``: ``(axis, i, j, k)`` (grid indices; half the bytes of
            the stream's int64, for a table kept through the whole map).
        proportions: float32 ``(n, K)`` topic proportions (``(n, 0)`` when scored without
            topics).
        anomaly: float32 ``(n,)`` anomaly score (bits/dim above the compressor's).
        spec: How the patches were cut.
        words: float16 ``(n, K, rows, columns)`` topic responsibilities of each patch's words
            where they sit in the patch (rows: time, columns: traces), or None.
        density: The flow's density maps (:meth:`FractalFlow.density_maps`), each float16
            ``(n, size, size)`` nats per pixel (rows: time, columns: traces), or None.
    """

    positions: np.ndarray
    proportions: np.ndarray
    anomaly: np.ndarray
    spec: PatchSpec
    words: np.ndarray | None = None
    density: dict[str, np.ndarray] | None = None


def compressor_bits_per_dim(patches: np.ndarray, *, predict: bool = False) -> np.ndarray:
    """zlib (level 9) bits per value of each uint8 patch ``(n, C, H, W)``: ``(n,)``.

    With ``predict`` the patch is first replaced by its residuals under PNG's Paeth
    predictor (each value predicted from its neighbours above, left and above-left, the
    residual taken modulo 256), as PNG does before deflating: a compressor that predicts,
    so smooth reflectors cost little and only what breaks them costs bits.
    """
    if predict:
        patches = paeth_residuals(patches)
    size = patches[0].size
    return np.array([8.0 * len(zlib.compress(p.tobytes(), 9)) / size for p in patches])


def paeth_residuals(patches: np.ndarray) -> np.ndarray:
    """``x - paeth(left, above, above_left)`` modulo 256 of uint8 ``(..., H, W)`` (zero
    beyond the edges, as PNG's filter type 4)."""
    x = patches.astype(np.int16)
    left = np.zeros_like(x)
    left[..., :, 1:] = x[..., :, :-1]
    above = np.zeros_like(x)
    above[..., 1:, :] = x[..., :-1, :]
    corner = np.zeros_like(x)
    corner[..., 1:, 1:] = x[..., :-1, :-1]
    guess = left + above - corner
    to_left, to_above, to_corner = (np.abs(guess - v) for v in (left, above, corner))
    pick = np.where((to_left <= to_above) & (to_left <= to_corner), left,
                    np.where(to_above <= to_corner, above, corner))  # fmt: skip
    return ((x - pick) % 256).astype(np.uint8)


@torch.inference_mode()
def score_patches(
    flow: FractalFlow,
    store: str | Path,
    spec: PatchSpec,
    *,
    normalization: Normalization,
    batch_size: int = 256,
    words: bool = False,
    density: bool = False,
    topics: bool = True,
    progress: bool = False,
    saved: SavedScores | None = None,
    folder: Path | None = None,
) -> PatchTable:
    """Topic proportions and anomaly scores of every patch of the mapping tiling, and with
    ``words`` the topic responsibilities of every word (:meth:`FractalFlow.score`). glibc
    reuses large blocks while it scores (:func:`seisflow.memory.reused_memory`): each forward
    pass's activations take pages the pass before already faulted in.

    Args:
        flow: A trained flow.
        store: A survey store.
        spec: The mapping tiling.
        normalization: The run's input normalisation (:meth:`seisflow.runs.Run.normalization`).
            Missing samples (in patches next to missing traces, which no training patch
            touched) are scored as zero amplitude; :func:`~seisflow.infer.stitch.stitch`
            uses such patches only where no complete patch covers a sample.
        batch_size: Patches per forward pass.
        words: Also keep the word responsibilities (LDA prior only).
        density: Also keep the density maps (:attr:`PatchTable.density`).
        topics: Ask the prior for topic proportions; False (the only choice for the
            standard prior, which has none) scores the anomaly alone and leaves
            :attr:`PatchTable.proportions` with no columns.
        progress: Show a progress bar on stderr.
        saved: Save the rows as they are scored, and first restore the rows saved by an
            interrupted scoring with the same key, scoring only the patches after them
            (:class:`~seisflow.infer.saved_scores.SavedScores`).
        folder: A local folder for the table's columns as memory-mapped files (see
            :class:`TableFill`); None holds them in memory.
    """
    if words and not topics:
        raise ValueError("word responsibilities need topics: pass topics=True")
    stream = PatchStream(store, spec, shuffle=False, return_positions=True,
                         batch_size=batch_size, normalization=normalization)  # fmt: skip
    flow.eval()
    fill = TableFill(len(stream), folder=folder)
    start = saved.restore(fill) if saved is not None else 0
    batches = stream.batches(start, len(stream)) if start else iter(stream)
    bar = tqdm(total=len(stream), initial=start, disable=not progress, desc="map: score",
               unit="patch")  # fmt: skip
    with reused_memory():
        for codes, where in batches:
            fill.add(score_batch(flow, codes.numpy(), where.numpy(), words=words,
                                 density=density, topics=topics))  # fmt: skip
            bar.update(len(codes))
            if saved is not None:
                saved.save(fill)
    bar.close()
    if saved is not None:
        saved.save(fill, now=True)  # a map stopped while writing its layers scores no more
    return fill.table(spec)


#: One scored batch: positions, proportions, anomaly, words (or None), density (or None).
PatchRows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None,
                  dict[str, np.ndarray] | None]  # fmt: skip


@torch.inference_mode()
def score_batch(
    flow: FractalFlow,
    codes: np.ndarray,
    where: np.ndarray,
    *,
    words: bool = False,
    density: bool = False,
    topics: bool = True,
) -> PatchRows:
    """The rows of one batch of uint8 patches ``codes`` ``(B, C, size, size)`` at
    ``where`` int64 ``(B, 4)`` (arguments as :func:`score_patches`); the flow is in eval
    mode on its device."""
    device = next(flow.parameters()).device
    patches = torch.from_numpy(fill_missing(codes))
    scores = flow.score(flow.bin_centres(patches.to(device)), words=words)
    log_p, proportions = scores.log_prob, scores.proportions
    fields = scores.words.to(torch.float16).cpu().numpy() if words else None  # type: ignore[union-attr]
    if not topics:
        proportions = proportions[:, :0]
    maps = ({k: v.to(torch.float16).cpu().numpy() for k, v in scores.density.items()}
            if density else None)  # fmt: skip
    dims = math.prod(codes.shape[1:])
    bits = (-(log_p - dims * math.log(256.0)) / (dims * math.log(2.0))).float().cpu().numpy()
    score = (bits - compressor_bits_per_dim(patches.numpy())).astype(np.float32)
    return where, proportions.float().cpu().numpy(), score, fields, maps


def patch_table(rows: list[PatchRows], spec: PatchSpec) -> PatchTable:
    """The :class:`PatchTable` of scored batches, in the order given."""
    fill = TableFill(sum(len(r[0]) for r in rows))
    for r in rows:
        fill.add(r)
    return fill.table(spec)


class TableFill:
    """The columns of a :class:`PatchTable` of ``n`` rows, allocated at the first batch and
    filled batch by batch, in order.

    Keeping every batch's small arrays to the end, then concatenating them, leaves thousands
    of lasting blocks among the flow's large passing ones on glibc's heap, which can then
    reuse the freed ones only in part: the scoring's memory crept up with the patches scored
    (benchmarks/RESULTS.md, 2026-12-03: 100 MB more per 64 000 patches of a 4 GB survey,
    about a third of that filling columns). Filling also needs no second copy at the end.
    The positions are kept as int32 (grid indices), 16 bytes a patch instead of 32.
    """

    def __init__(self, n: int, *, folder: Path | None = None) -> None:
        """
        Args:
            n: Rows.
            folder: A local folder in which each column is a memory-mapped ``.npy`` file
                (:func:`numpy.lib.format.open_memmap`): the table's pages are then the page
                cache's, which the kernel writes back and drops as it needs, not the
                process's own memory (52 bytes a patch of eight topics: 394 MB at 16 GB).
                None keeps the columns in memory.
        """
        self.n = n
        self.folder = folder
        self.filled = 0
        self._columns: list[Any] | None = None

    def add(self, rows: PatchRows) -> None:
        """Copy one batch's rows in after the rows added before."""
        if self._columns is None:
            dtypes = (np.int32, None, None, None, None)  # the positions as int32
            columns = zip(rows, COLUMNS, dtypes, strict=True)
            self._columns = [_empty(part, self.n, self._file(name), dtype)
                             for part, name, dtype in columns]  # fmt: skip
        at = slice(self.filled, self.filled + len(rows[0]))
        if at.stop > self.n:
            raise ValueError(f"{at.stop} rows added to a table of {self.n}")
        for column, part in zip(self._columns, rows, strict=True):
            _put(column, part, at)
        self.filled = at.stop

    def part(self, start: int, stop: int) -> PatchRows:
        """Rows ``start:stop`` of the filled columns, as views (``stop`` <= :attr:`filled`)."""
        if self._columns is None or not 0 <= start <= stop <= self.filled:
            raise ValueError(f"rows {start}:{stop} of a table filled to {self.filled}")
        at = slice(start, stop)
        positions, proportions, anomaly, words, density = self._columns
        return (positions[at], proportions[at], anomaly[at],
                None if words is None else words[at],
                None if density is None else {k: v[at] for k, v in density.items()})  # fmt: skip

    def rows(self) -> PatchRows:
        """The filled columns as one batch of ``n`` rows (every row added)."""
        if self._columns is None or self.filled != self.n:
            raise ValueError(f"{self.filled} of the table's {self.n} rows were added")
        positions, proportions, anomaly, words, density = self._columns
        return positions, proportions, anomaly, words, density

    def table(self, spec: PatchSpec) -> PatchTable:
        """The filled table (every one of its ``n`` rows added)."""
        positions, proportions, anomaly, words, density = self.rows()
        return PatchTable(positions, proportions, anomaly, spec, words, density)

    def _file(self, name: str) -> Path | None:
        return None if self.folder is None or not self.n else self.folder / f"{name}.npy"


#: The names of a table's columns (their files in :class:`TableFill`'s folder).
COLUMNS = ("positions", "proportions", "anomaly", "words", "density")


def _empty(part: Any, n: int, path: Path | None, dtype: Any = None) -> Any:
    """An uninitialised column of ``n`` rows shaped as a batch's ``part`` (an array, a dict of
    arrays, or None), of ``dtype`` (else ``part``'s), in memory or memory-mapped to ``path``
    (a dict's arrays to files named after it and their keys)."""
    if part is None:
        return None
    if isinstance(part, dict):
        return {k: _empty(v, n, path and path.with_name(f"{path.stem}-{k}.npy"), dtype)
                for k, v in part.items()}  # fmt: skip
    shape, dtype = (n, *part.shape[1:]), dtype or part.dtype
    if path is None:
        return np.empty(shape, dtype=dtype)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def _put(column: Any, part: Any, at: slice) -> None:
    """Copy a batch's ``part`` into rows ``at`` of ``column`` (as :func:`_empty` made it)."""
    if isinstance(column, dict):
        for k, v in column.items():
            v[at] = part[k]
    elif column is not None:
        column[at] = part
