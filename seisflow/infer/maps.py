"""Facies, confidence and anomaly maps of a survey from a trained flow.

The recipe: load the run -> check its patches fit the store -> score every patch of the
deterministic mapping tiling (every patch with a live trace), keeping one small row per
patch (topic proportions and an anomaly score) -> stitch the rows to every sample, chunk by
chunk, as a Dask graph (overlapping patches averaged; memory bounded by a chunk and the
patch table) -> write the layers atomically (:func:`seisflow.infer.writeback.write_layer`).

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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import dask.array as da
import numpy as np
import torch
from tqdm import tqdm

from seisflow.errors import ConfigError, InputFileError
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.store import open_survey
from seisflow.ingest.stream import PatchStream
from seisflow.models import FractalFlow

__all__ = [
    "PatchTable",
    "Readout",
    "compressor_bits_per_dim",
    "facies_values",
    "map_survey",
    "patch_grid",
    "reduce_argmax",
    "reduce_first",
    "reduce_max",
    "reduce_words",
    "score_patches",
    "stitch",
]

#: The layers :func:`map_survey` can write (``facies`` brings ``facies_confidence``).
LAYERS: tuple[str, ...] = ("facies", "anomaly", "topic_proportions")
#: Facies read-outs. ``patch``: a sample takes the arg-max of the mean topic proportions of
#: the patches covering it (inline and crossline patches alike; the default, measured best);
#: ``word`` (LDA only): of the
#: two topics with the largest mean proportions there, the one the words covering the
#: sample favour (mean topic responsibilities), so a sample between two units takes one of
#: their two topics, never a third, and the boundary follows the words, not the patch grid.
Readout = Literal["patch", "word"]
#: Turns the per-sample mean of patch values and the covered-live mask into a layer chunk.
Reduce = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PatchTable:
    """One row per patch of the tiling.

    Attributes:
        positions: int64 ``(n, 4)``: ``(axis, i, j, k)``.
        proportions: float32 ``(n, K)`` topic proportions.
        anomaly: float32 ``(n,)`` anomaly score (bits/dim above the compressor's).
        spec: How the patches were cut.
        words: float16 ``(n, K, rows, columns)`` topic responsibilities of each patch's words
            where they sit in the patch (rows: time, columns: traces), or None.
    """

    positions: np.ndarray
    proportions: np.ndarray
    anomaly: np.ndarray
    spec: PatchSpec
    words: np.ndarray | None = None


def compressor_bits_per_dim(patches: np.ndarray) -> np.ndarray:
    """zlib (level 9) bits per value of each uint8 patch ``(n, C, H, W)``: ``(n,)``."""
    size = patches[0].size
    return np.array([8.0 * len(zlib.compress(p.tobytes(), 9)) / size for p in patches])


@torch.no_grad()
def score_patches(
    flow: FractalFlow,
    store: str | Path,
    spec: PatchSpec,
    *,
    percentile: float,
    batch_size: int = 256,
    words: bool = False,
    progress: bool = False,
) -> PatchTable:
    """Topic proportions and anomaly scores of every patch of the mapping tiling, and with
    ``words`` the topic responsibilities of every word (:meth:`FractalFlow.score_words`)."""
    device = next(flow.parameters()).device
    stream = PatchStream(store, spec, shuffle=False, return_positions=True,
                         batch_size=batch_size, percentile=percentile)  # fmt: skip
    flow.eval()
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    fields: list[np.ndarray] = []
    bar = tqdm(total=len(stream), disable=not progress, desc="map", unit="patch")
    dims = math.prod(spec.shape)
    for patches, where in stream:
        x = patches.to(device)
        if words:
            log_p, proportions, field = flow.score_words(flow.bin_centres(x))
            fields.append(field.to(torch.float16).cpu().numpy())
        else:
            log_p, proportions = flow.score(flow.bin_centres(x))
        bits = (-(log_p - dims * math.log(256.0)) / (dims * math.log(2.0))).float().cpu().numpy()
        score = bits - compressor_bits_per_dim(patches.numpy())
        parts.append((where.numpy(), proportions.float().cpu().numpy(), score.astype(np.float32)))
        bar.update(len(patches))
    bar.close()
    positions, proportions, anomaly = (np.concatenate(p) for p in zip(*parts, strict=True))
    return PatchTable(positions, proportions, anomaly, spec,
                      np.concatenate(fields) if words else None)  # fmt: skip


def _footprints(table: PatchTable) -> np.ndarray:
    """``(n, 6)`` index ranges ``(il0, il1, xl0, xl1, t0, t1)`` each patch covers."""
    axis, i, j, k = table.positions.T
    size, depth = table.spec.size, table.spec.channels
    il_span = np.where(axis == 0, depth, size)
    xl_span = np.where(axis == 0, size, depth)
    return np.stack([i, i + il_span, j, j + xl_span, k, k + size], axis=1)


def _complete(foot: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Bool ``(n,)``: the patch covers no missing trace (only such patches are trained on)."""
    return np.array([live[f[0] : f[1], f[2] : f[3]].all() for f in foot], dtype=bool)


def _complete_first(total: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums ``(2, ..., V)`` and counts ``(2, ...)`` of complete [0] and other [1] patches ->
    those of the complete patches where any covers a point, else those of the others."""
    use = np.where(count[0] > 0, 0, 1)
    return (np.take_along_axis(total, use[None, ..., None], axis=0)[0],
            np.take_along_axis(count, use[None], axis=0)[0])  # fmt: skip


def stitch(
    table: PatchTable,
    shape: tuple[int, int, int],
    chunks: tuple[tuple[int, ...], ...],
    reduce: Reduce,
    *,
    values: np.ndarray,
    live: np.ndarray,
    dtype: Any,
) -> da.Array:
    """A Dask array on the amplitude grid: per chunk, the mean of ``values`` over the patches
    covering each sample, passed with the mask of covered live samples to
    ``reduce(mean, covered) -> (chunk)``; ``live`` is the trace mask ``(n_il, n_xl)``.
    ``values`` is ``(n, V)`` (one value per patch) or ``(n, V, rows, columns)`` (a field over
    each patch, rows along time and columns along its traces, as :attr:`PatchTable.words`).

    Patches that touch a missing trace hold fill values the flow never saw in training (the
    training tiling skips them), so a sample takes the mean of the complete patches covering
    it, and of the others only where no complete patch does (next to missing traces).
    """
    foot = _footprints(table)
    complete = _complete(foot, live)

    def block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        (a0, a1), (b0, b1), (c0, c1) = block_info[None]["array-location"]
        inside = (foot[:, 0] < a1) & (foot[:, 1] > a0) & (foot[:, 2] < b1) & (foot[:, 3] > b0)
        hit = np.flatnonzero(inside & (foot[:, 4] < c1) & (foot[:, 5] > c0))
        size = (a1 - a0, b1 - b0, c1 - c0)
        total = np.zeros((2, *size, values.shape[1]), dtype=np.float64)
        count = np.zeros((2, *size), dtype=np.int32)
        for n in hit:
            f, kind = foot[n], 0 if complete[n] else 1
            lo, hi = np.maximum(f[0::2], (a0, b0, c0)), np.minimum(f[1::2], (a1, b1, c1))
            origin = (a0, b0, c0)
            region = (kind, *(slice(b - o, e - o) for b, e, o in zip(lo, hi, origin, strict=True)))
            value = values[n]
            if value.ndim == 3:  # a field over the patch: cut the part inside the chunk
                inside = tuple(slice(b - s, e - s) for b, e, s in zip(lo, hi, f[0::2], strict=True))
                value = _field(value, table.positions[n, 0], f)[inside]
            total[region] += value
            count[region] += 1
        total, count = _complete_first(total, count)
        covered = (count > 0) & live[a0:a1, b0:b1, None]
        mean = total / np.maximum(count, 1)[..., None]
        return reduce(mean, covered).astype(dtype)

    return da.map_blocks(block, chunks=chunks, dtype=dtype, meta=np.empty((0, 0, 0), dtype))


def _field(value: np.ndarray, axis: int, foot: np.ndarray) -> np.ndarray:
    """A patch field ``(V, rows, columns)`` spread over the patch's footprint
    ``(inline, crossline, time, V)`` (each cell repeated; constant across 3-D depth)."""
    spans = foot[1::2] - foot[0::2]
    rows, columns = value.shape[1:]
    up = value.repeat(spans[2] // rows, axis=1).repeat(spans[1 - axis] // columns, axis=2)
    up = up.transpose(2, 1, 0)  # (traces, time, V)
    if axis == 0:
        return np.broadcast_to(up[None], (spans[0], *up.shape))
    return np.broadcast_to(up[:, None], (up.shape[0], spans[1], *up.shape[1:]))


def patch_grid(
    table: PatchTable, shape: tuple[int, int, int], live: np.ndarray
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """The mean topic proportions at the points of the patch grid.

    The grid takes every ``stride``-th sample along inline, crossline and time, starting half
    a stride in; a point's value is the mean over the patches covering it (complete patches
    first), as for the ``facies`` layer, so the arg-max over topics at a point is the facies
    there.

    Returns:
        ``((i, j, k), values)``: the grid's sample indices along each axis and float32
        ``(len(i), len(j), len(k), K)`` values, NaN at points on no live trace.
    """
    stride = table.spec.stride
    axes = tuple(np.arange(stride // 2, n, stride) for n in shape)
    total = np.zeros((2, *(a.size for a in axes), table.proportions.shape[1]))
    count = np.zeros(total.shape[:4], dtype=np.int32)
    foot = _footprints(table)
    for f, complete, row in zip(foot, _complete(foot, live), table.proportions, strict=True):
        spans = (slice(np.searchsorted(a, lo), np.searchsorted(a, hi))
                 for a, lo, hi in zip(axes, f[0::2], f[1::2], strict=True))  # fmt: skip
        region = (0 if complete else 1, *spans)
        total[region] += row
        count[region] += 1
    total, count = _complete_first(total, count)
    covered = (count > 0) & live[np.ix_(axes[0], axes[1])][..., None]
    values = np.where(covered[..., None], total / np.maximum(count, 1)[..., None], np.nan)
    return axes, values.astype(np.float32)


def check_fits(
    store: str | Path, survey: Any, flow: FractalFlow, spec: PatchSpec, run: str | Path
) -> None:
    """Raise a clear error when the run's patches do not suit the store (opened: ``survey``)."""
    if tuple(flow.config.in_shape) != spec.shape:
        raise ConfigError(
            f"{run} was trained on {list(flow.config.in_shape)} patches, not {list(spec.shape)}:"
            " map with the run's patch size (leave --patch-size out) or train on that size"
        )
    if min(survey.amplitude.shape[1:]) < spec.size:
        raise InputFileError(
            f"{store}: its grid {survey.amplitude.shape} is smaller than the run's "
            f"{spec.size}-sample patches: map a larger survey or train on smaller patches"
        )


def reduce_argmax(mean: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The arg-max topic at covered samples, -1 elsewhere."""
    return np.where(covered, mean.argmax(-1), -1)


def reduce_words(mean: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The ``word`` read-out (see :data:`Readout`) of the mean of :func:`facies_values`
    ``(..., 2K)``: of the two topics with the largest mean patch proportions, the one with
    the larger mean word responsibility; -1 off the covered samples."""
    k = mean.shape[-1] // 2
    patch, words = mean[..., :k], mean[..., k:]
    candidates = np.argsort(-patch, axis=-1)[..., :2]
    favoured = np.take_along_axis(words, candidates, -1).argmax(-1)
    choice = np.take_along_axis(candidates, favoured[..., None], -1)[..., 0]
    return np.where(covered, choice, -1)


def facies_values(table: PatchTable, readout: Readout) -> tuple[np.ndarray, Reduce]:
    """What :func:`stitch` averages for a facies read-out, and its reduction: the topic
    proportions ``(n, K)`` and :func:`reduce_argmax` (``patch``), or the proportions spread
    over each patch followed by the word responsibilities, float16 ``(n, 2K, rows,
    columns)``, and :func:`reduce_words` (``word``)."""
    if readout == "patch":
        return table.proportions, reduce_argmax
    if table.words is None:
        raise ValueError("the word read-out needs a table scored with words=True")
    n, k, rows, columns = table.words.shape
    spread = np.broadcast_to(table.proportions[:, :, None, None], (n, k, rows, columns))
    return np.concatenate([spread.astype(np.float16), table.words], axis=1), reduce_words


def reduce_max(mean: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The largest proportion at covered samples, NaN elsewhere."""
    return np.where(covered, mean.max(-1), np.nan)


def reduce_first(mean: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """The first value at covered samples, NaN elsewhere."""
    return np.where(covered, mean[..., 0], np.nan)


def _provenance(run_dir: Path, config: dict[str, Any], spec: PatchSpec) -> dict[str, Any]:
    import datetime
    import hashlib

    from seisflow._version import __version__
    from seisflow.train.checkpoint import CHECKPOINT

    checkpoint = run_dir / CHECKPOINT if run_dir.is_dir() else run_dir
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    return {
        "seisflow:model_sha256": digest,
        "seisflow:run": str(run_dir),
        "seisflow:config": config,
        "seisflow:patch": {
            "size": spec.size,
            "stride": spec.stride,
            "axis": spec.axis,
            "time_window": spec.time_window,
            "depth3d": spec.depth3d,
        },
        "seisflow:version": __version__,
        "seisflow:created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _proportions_grid(
    table: PatchTable, survey: Any, shape: tuple[int, int, int], live: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`patch_grid` as ``(values, coords)`` for
    :func:`~seisflow.infer.writeback.write_grid`: the grid's line numbers and times."""
    axes, values = patch_grid(table, shape, live)
    names = [*survey.amplitude.dims, "topic"]
    coords = {f"patch_{n}": survey[n].values[a] for n, a in zip(names, axes, strict=False)}
    coords["topic"] = np.arange(values.shape[-1], dtype=np.int32)
    return values, coords


def map_survey(
    store: str | Path,
    run_dir: str | Path,
    *,
    stride: int | None = None,
    batch_size: int = 256,
    device: str = "auto",
    layers: tuple[str, ...] = ("facies", "anomaly"),
    overwrite: bool = False,
    scheduler: str | None = None,
    readout: Readout = "patch",
    progress: bool = True,
) -> dict[str, Any]:
    """Write ``facies`` + ``facies_confidence``, ``anomaly`` and/or ``topic_proportions``
    layers into ``store``.

    Args:
        store: A survey store.
        run_dir: A run trained on survey patches (``seisflow train``).
        stride: Step between patch starts (default: the run's ``data.stride``).
        batch_size: Patches per forward pass.
        device: ``auto``, ``cpu`` or ``cuda``.
        layers: Any of ``facies`` (with ``facies_confidence``), ``anomaly`` and
            ``topic_proportions`` (on the patch grid, see :func:`patch_grid`).
        overwrite: Replace existing layers.
        scheduler: Address of a Dask distributed scheduler that stitches and writes the
            layers (None: local threads).
        readout: How ``facies`` is read out (see :data:`Readout`).
        progress: Show a progress bar.

    Returns:
        A summary: patches scored, seconds, traces/s and the layers written.
    """
    import contextlib
    import time

    from distributed import Client

    from seisflow.config import to_dict
    from seisflow.infer.writeback import write_grid, write_layer
    from seisflow.train.checkpoint import load_flow
    from seisflow.train.distributed import pick_device
    from seisflow.viz import CATEGORY_COLOURS

    unknown = sorted(set(layers) - set(LAYERS))
    if unknown or not layers:
        raise ConfigError(f"--layers {','.join(layers)}: choose from {','.join(LAYERS)}")
    began = time.perf_counter()
    run_dir = Path(run_dir)
    flow, config, _ = load_flow(run_dir, device=pick_device(device))
    if config.model.prior == "standard" and set(layers) - {"anomaly"}:
        raise ConfigError(
            f"{run_dir} has the standard prior, which has no topics: map --layers anomaly, or "
            "train with model.prior=lda for facies"
        )
    if readout == "word" and config.model.prior != "lda":
        raise ConfigError(f"--readout word needs an lda run; {run_dir} has {config.model.prior}")
    data = config.data
    spec = PatchSpec(size=data.size, axis=data.axis, stride=stride or data.stride,
                     time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip
    survey = open_survey(store)
    check_fits(store, survey, flow, spec, run_dir)
    table = score_patches(flow, store, spec, percentile=data.percentile, batch_size=batch_size,
                          words=readout == "word" and "facies" in layers,
                          progress=progress)  # fmt: skip
    shape = tuple(int(n) for n in survey.amplitude.shape)
    chunks = survey.amplitude.data.chunks
    live = survey.trace_mask.values
    provenance = _provenance(run_dir, to_dict(config), spec)
    k = table.proportions.shape[1]
    plan: list[tuple[str, np.ndarray, Reduce, Any, dict[str, Any]]] = []
    if "facies" in layers:
        facies_attrs = {
            "long_name": "seismic facies (arg-max topic)",
            "seisflow:readout": readout,
            "flag_values": list(range(k)),
            "flag_meanings": " ".join(f"topic_{t}" for t in range(k)),
            "colors": [CATEGORY_COLOURS[t % len(CATEGORY_COLOURS)] for t in range(k)],
        }
        plan.append(("facies", *facies_values(table, readout), np.int16, facies_attrs))
        confidence_attrs = {"long_name": "largest mean topic proportion", "valid_range": [0, 1]}
        plan.append(("facies_confidence", table.proportions, reduce_max, np.float32,
                     confidence_attrs))  # fmt: skip
    if "anomaly" in layers:
        anomaly_attrs = {"long_name": "anomaly score: flow bits/dim minus zlib bits/dim",
                         "units": "bit"}  # fmt: skip
        plan.append(("anomaly", table.anomaly[:, None], reduce_first, np.float32, anomaly_attrs))
    if "topic_proportions" in layers:
        write_grid(store, "topic_proportions", *_proportions_grid(table, survey, shape, live),
                   attrs={"long_name": "mean topic proportions on the patch grid",
                          "valid_range": [0, 1], **provenance},
                   overwrite=overwrite)  # fmt: skip
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(Client(scheduler)) if scheduler else None
        for name, values, reduce, dtype, attrs in plan:
            layer = stitch(table, shape, chunks, reduce, values=values, live=live, dtype=dtype)
            write_layer(store, name, layer, attrs={**attrs, **provenance}, overwrite=overwrite,
                        scheduler=client)  # fmt: skip
    seconds = time.perf_counter() - began
    traces = int(survey.trace_mask.values.sum())
    written = [p[0] for p in plan] + [n for n in layers if n == "topic_proportions"]
    return {"store": str(store), "layers": written, "patches": len(table.positions),
            "seconds": seconds, "traces_per_s": traces / seconds}  # fmt: skip
