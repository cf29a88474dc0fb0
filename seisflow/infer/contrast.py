"""Two-sided lateral contrast: how far a sample's value stands out from the traces around it.

Dead traces, bright spots and gas chimneys are all lateral discontinuities: at one time
sample, a trace differs from its neighbours. A one-sided score ("more bits is more
anomalous") ranks the simpler-than-usual dead trace backwards; the contrast ranks both
directions alike::

    c = |v - median_N(v)| / (1.4826 MAD)

where ``median_N`` is the median over the ``(2 radius + 1)^2`` traces around the sample at
the same time (missing traces ignored, :func:`~seisflow.infer.median.lateral_median`)
and ``MAD`` the median of ``|v - median_N(v)|`` over all live samples: one robust scale for
the volume, so a uniform neighbourhood does not divide by zero. ``1.4826 MAD`` is the
standard deviation of Gaussian data, so ``c`` reads as a robust z-score.

References:
    Rousseeuw, Croux. Alternatives to the median absolute deviation. JASA 88(424), 1993.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np

from seisflow.infer.closure_blocks import closure_blocks
from seisflow.infer.median import lateral_median
from seisflow.infer.stitch import widened

__all__ = ["Source", "lateral_contrast", "lazy_lateral_contrast", "sourced_lateral_contrast"]


def lateral_contrast(
    volume: np.ndarray,
    live: np.ndarray,
    *,
    radius: int = 4,
    trusted: np.ndarray | None = None,
    signed: bool = False,
) -> np.ndarray:
    """The two-sided robust lateral z-score of ``volume``.

    Args:
        volume: ``(inline, crossline, time)`` values (NaN or anything at missing traces).
        live: ``(inline, crossline)`` bool, True at recorded traces.
        radius: Traces on each side of the neighbourhood (inline and crossline).
        trusted: Optional bool ``(inline, crossline, time)``: live samples where it is False
            are left out of the medians and take 0 (see :func:`lazy_lateral_contrast`).
        signed: Keep the sign of ``v - median_N(v)``; the scale is the same.

    Returns:
        float32 ``(inline, crossline, time)``, NaN at missing traces.
    """
    alive = np.broadcast_to(live[..., None], volume.shape)
    sure = alive if trusted is None else alive & trusted
    deviation = _deviation(volume, alive, sure, radius, signed)
    scale = 1.4826 * float(np.nanmedian(np.abs(deviation[sure]))) if sure.any() else 1.0
    return deviation / np.float32(scale if scale > 0 else 1.0)


def _deviation(
    values: np.ndarray,
    alive: np.ndarray,
    sure: np.ndarray,
    radius: int,
    signed: bool = False,
    centres: np.ndarray | None = None,
) -> np.ndarray:
    """``|v - median_N(v)|`` (``v - median_N(v)`` if ``signed``) over the trusted live
    samples ``sure``; 0 at live samples that are not trusted, NaN off the live traces.
    ``alive``, ``sure``: bool like ``values``; ``centres``: optional bool ``(I, J)``, the
    traces whose deviation is wanted (the others, a halo, are neighbours only: their
    result is left undefined)."""
    kept = np.where(sure, values, np.nan).astype(np.float32)
    wanted = alive[..., 0] if centres is None else alive[..., 0] & centres
    out = kept - lateral_median(kept, wanted, radius)
    return np.where(alive & ~sure, np.float32(0.0), out if signed else np.abs(out))


def _core(shape: tuple[int, ...], info: dict[str, Any], radius: int) -> np.ndarray:
    """Bool ``(I, J)`` of a :func:`dask.array.map_overlap` block of ``shape`` (with
    ``boundary="none"``): True on the block's own traces, False on the halo of ``radius``
    traces it has on every side that has a neighbouring block."""
    core = np.zeros(shape[:2], dtype=bool)
    where, blocks = info["chunk-location"], info["num-chunks"]
    lo = [radius if where[a] > 0 else 0 for a in (0, 1)]
    hi = [shape[a] - (radius if where[a] < blocks[a] - 1 else 0) for a in (0, 1)]
    core[lo[0] : hi[0], lo[1] : hi[1]] = True
    return core


def lazy_lateral_contrast(
    layer: da.Array,
    live: np.ndarray,
    *,
    radius: int = 8,
    trusted: da.Array | None = None,
    samples: int = 200_000,
    seed: int = 0,
    signed: bool = False,
) -> da.Array:
    """:func:`lateral_contrast` of a Dask array, chunk by chunk: each chunk reads a halo of
    ``radius`` traces from its neighbours; the robust scale is the MAD of the trusted live
    deviations of seeded random chunks that hold at least ``samples`` samples together
    (every chunk of a smaller volume): computing the result reads those chunks twice, not
    the whole layer.

    Args:
        layer: float ``(inline, crossline, time)``.
        live: ``(inline, crossline)`` bool, True at recorded traces.
        radius: Traces on each side of the neighbourhood.
        trusted: Optional bool ``(inline, crossline, time)``, False at live samples whose
            value is not to be trusted (e.g. scored only from patches holding fill values,
            :func:`~seisflow.infer.stitch.complete_coverage`): they are left out of their
            neighbours' medians and take 0 (no evidence), not a contrast.
        samples: Samples (of whole chunks) the scale is estimated from.
        seed: Seed of the choice of chunks.
        signed: Keep the sign of ``v - median_N(v)`` (above or below the neighbours); the
            scale is the same.

    Returns:
        A float32 Dask array on ``layer``'s chunks, NaN at missing traces.
    """
    mask = da.broadcast_to(
        da.from_array(live[..., None], chunks=(*layer.chunks[:2], 1)), layer.shape,
        chunks=layer.chunks,
    )  # fmt: skip
    if trusted is None:
        trusted = mask

    def deviation(
        block: np.ndarray, alive: np.ndarray, sure: np.ndarray, block_info: Any = None
    ) -> np.ndarray:  # medians at the block's own traces only: the halo is trimmed away
        centres = None if block_info is None else _core(block.shape, block_info[0], radius)
        return _deviation(block, alive, alive & sure, radius, signed, centres)

    halo = {0: radius, 1: radius, 2: 0}
    dev = da.map_overlap(deviation, layer, mask, trusted.rechunk(layer.chunks), depth=halo,
                         boundary="none", dtype=np.float32,
                         meta=np.empty((0, 0, 0), np.float32))  # fmt: skip
    if not live.any():
        return dev.rechunk(layer.chunks)
    sure = (trusted.rechunk(layer.chunks) & mask).rechunk(dev.chunks)
    chosen = _scale_blocks(dev.chunks, samples, seed)
    parts = dask.compute(*[(dev.blocks[b], sure.blocks[b]) for b in chosen])
    scale = _scale(parts)
    return (dev / np.float32(scale)).rechunk(layer.chunks)


#: A layer computed for any region ``[(i0, i1), (j0, j1), (k0, k1)]`` of the grid: its
#: values and the bool mask of samples to trust, both ``(i1 - i0, j1 - j0, k1 - k0)``.
Source = Callable[[list[tuple[int, int]]], tuple[np.ndarray, np.ndarray]]


def sourced_lateral_contrast(
    source: Source,
    shape: tuple[int, int, int],
    chunks: tuple[tuple[int, ...], ...],
    live: np.ndarray,
    *,
    radius: int = 8,
    samples: int = 200_000,
    seed: int = 0,
    signed: bool = False,
    slab: int = 256,
) -> da.Array:
    """:func:`lazy_lateral_contrast` of a layer that each chunk computes for itself, halo
    included (``source``: e.g. stitched from a patch table), instead of taking the halo from
    its neighbours: no chunk waits on another, so memory is a few chunks whatever the volume
    and nothing is computed again for a neighbour. Same chunks, same values (the same
    seeded chunks give the scale). The medians and deviations of a chunk are taken ``slab``
    time samples at a time (they are per time sample): their work arrays are a slab's, not
    a tall chunk's (whole traces, as the envelope's).

    Args:
        source: The layer and its trusted samples for a region (:data:`Source`).
        shape: The grid ``(inline, crossline, time)``.
        chunks: Dask chunks of the result.
        live: ``(inline, crossline)`` bool, True at recorded traces.
        radius, samples, seed, signed: As for :func:`lazy_lateral_contrast`.
        slab: Time samples whose deviations are worked out at once.

    Returns:
        A float32 Dask array on ``chunks``, NaN at missing traces.
    """

    def deviation(core: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        wide, inside = widened(core, (radius, radius, 0), shape)
        values, trusted = source(wide)
        alive = np.broadcast_to(live[wide[0][0] : wide[0][1], wide[1][0] : wide[1][1], None],
                                values.shape)  # fmt: skip
        centres = np.zeros(values.shape[:2], dtype=bool)
        centres[inside[:2]] = True
        sure = alive & trusted
        lateral = inside[:2]  # the time axis has no halo
        out = np.empty(sure[lateral].shape, dtype=np.float32)
        for t in range(0, values.shape[2], slab):
            part = (..., slice(t, t + slab))
            out[part] = _deviation(values[part], alive[part], sure[part], radius, signed,
                                   centres)[lateral]  # fmt: skip
        return out, sure[lateral]

    def located(index: tuple[int, ...]) -> list[tuple[int, int]]:
        starts = [sum(sizes[:i]) for sizes, i in zip(chunks, index, strict=True)]
        return [(a, a + sizes[i]) for a, sizes, i in zip(starts, chunks, index, strict=True)]

    scale = 1.0
    if live.any():
        chosen = _scale_blocks(chunks, samples, seed)
        scale = _scale([deviation(located(index)) for index in chosen])

    def block(block_info: dict[Any, Any] | None = None) -> np.ndarray:
        return deviation(block_info[None]["array-location"])[0] / np.float32(scale)

    return closure_blocks(block, chunks=chunks, dtype=np.float32, label="lateral-contrast")


def _scale_blocks(
    chunks: tuple[tuple[int, ...], ...], samples: int, seed: int
) -> list[tuple[int, ...]]:
    """Seeded random chunk indices holding at least ``samples`` samples together (all of a
    smaller grid): where the robust scale is estimated."""
    blocks = list(np.ndindex(*(len(sizes) for sizes in chunks)))
    chosen, held = [], 0
    for index in np.random.default_rng([seed, 0xC0]).permutation(len(blocks)):
        chosen.append(blocks[index])
        held += int(np.prod([sizes[i] for sizes, i in zip(chunks, blocks[index], strict=True)]))
        if held >= samples:
            break
    return chosen


def _scale(parts: list[tuple[np.ndarray, np.ndarray]] | tuple[Any, ...]) -> float:
    """``1.4826 MAD`` of the trusted deviations of ``(deviation, trusted)`` blocks; 1 when
    there are none or it is 0."""
    picked = np.concatenate([np.abs(d[s]).ravel() for d, s in parts])
    scale = 1.4826 * float(np.nanmedian(picked)) if np.isfinite(picked).any() else 1.0
    return scale if scale > 0 else 1.0
