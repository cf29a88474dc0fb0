"""The fused anomaly read-out: the flow's lateral contrast beside the envelope's, and a hint
of which one speaks.

Two two-sided robust lateral z-scores (:mod:`seisflow.infer.contrast`) over +-``radius``
traces, each in units of its own robust standard deviation:

* ``e``: of the log envelope (:mod:`seisflow.infer.attributes`), signed: a bright spot stands
  above its neighbours, a dim chimney or a dead trace below;
* ``f``: of the flow's patch score (flow bits/dim minus zlib bits/dim), which sees what makes
  a patch hard to model at any amplitude: noise, disrupted reflectors. Samples that only
  patches holding fill values cover take 0 (see
  :func:`~seisflow.infer.contrast.lazy_lateral_contrast`).

The layer is ``anomaly = |e| + w f`` and the hint, where ``anomaly >= threshold``, names the
larger term: ``amplitude_high`` (``|e| >= w f``, ``e > 0``), ``amplitude_low`` (``e < 0``) or
``incoherent`` (``w f > |e|``); ``none`` below the threshold (-1 off the live traces). The
hint comes from the data alone, never from a synthetic truth. ``radius = 16`` and
``w = 0.5`` were chosen on two tuning surveys (synth seeds 707 and 808) and never on the
surveys the results are reported on (benchmarks/RESULTS.md, 2026-12-02); ``threshold = 3``
is the usual robust outlier cut, not tuned.

References:
    Taner, Koehler, Sheriff. Complex seismic trace analysis. Geophysics 44(6), 1979.
    Serrà, Álvarez, Gómez, Slizovskaia, Núñez, Luque. Input complexity and
    out-of-distribution detection with likelihood-based generative models. ICLR 2020.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr

from seisflow.infer.attributes import block_log_envelope, survey_floor
from seisflow.infer.contrast import sourced_lateral_contrast

__all__ = [
    "FLOW_WEIGHT",
    "FUSION_RADIUS",
    "HINTS",
    "HINT_THRESHOLD",
    "anomaly_hint",
    "envelope_contrast",
    "fuse",
]

#: Traces on each side of the neighbourhood of both contrasts.
FUSION_RADIUS = 16
#: Weight ``w`` of the flow's contrast in the sum.
FLOW_WEIGHT = 0.5
#: The fused score from which a sample gets a hint.
HINT_THRESHOLD = 3.0
#: The hint codes of :func:`anomaly_hint`, in order.
HINTS: tuple[str, ...] = ("none", "amplitude_high", "amplitude_low", "incoherent")


def envelope_contrast(survey: xr.Dataset, *, radius: int = FUSION_RADIUS) -> da.Array:
    """The signed robust lateral z-score ``e`` of the log envelope of ``survey``'s amplitude.

    Each chunk of whole traces reads its own halo of ``radius`` traces of amplitude and takes
    its log envelope (:func:`~seisflow.infer.contrast.sourced_lateral_contrast`), instead of
    taking the halo from its neighbours' envelopes: no chunk waits on another, so memory is a
    few chunks whatever the lateral extent (a neighbour's envelope would otherwise be held
    until the chunks on every side of it are done: rows of chunks across the survey). The
    values are those of :func:`~seisflow.infer.contrast.lazy_lateral_contrast` of the
    ``log_envelope`` attribute.

    Args:
        survey: A survey (:func:`seisflow.ingest.open_survey`), read chunk by chunk.
        radius: Traces on each side of the neighbourhood.

    Returns:
        Lazy float32 ``(inline, crossline, time)`` on the amplitude's chunks, NaN at missing
        traces.
    """
    amplitude = survey.amplitude.data
    live = survey.trace_mask.values.astype(bool)
    shape = tuple(int(n) for n in amplitude.shape)
    floor = survey_floor(survey)

    def source(region: list[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
        (a0, a1), (b0, b1), _ = region  # whole traces: the chunks below span the time axis
        block = amplitude[a0:a1, b0:b1].compute(scheduler="synchronous")  # in this task
        envelope = block_log_envelope(block, live[a0:a1, b0:b1], floor=floor)
        return envelope, np.broadcast_to(np.True_, envelope.shape)

    traces = (*amplitude.chunks[:2], (shape[2],))
    signed = sourced_lateral_contrast(source, shape, traces, live, radius=radius, signed=True)
    return signed.rechunk(amplitude.chunks)


def fuse(flow: da.Array, envelope: da.Array, *, flow_weight: float = FLOW_WEIGHT) -> da.Array:
    """``|e| + w f``: the fused anomaly score.

    Args:
        flow: The flow's (unsigned) lateral contrast ``f``, ``(inline, crossline, time)``.
        envelope: The envelope's signed lateral contrast ``e``, on ``flow``'s grid.
        flow_weight: ``w``.
    """
    return (abs(envelope) + np.float32(flow_weight) * flow).astype(np.float32)


def anomaly_hint(
    flow: da.Array,
    envelope: da.Array,
    *,
    flow_weight: float = FLOW_WEIGHT,
    threshold: float = HINT_THRESHOLD,
) -> da.Array:
    """Which term of :func:`fuse` dominates where the fused score reaches ``threshold``.

    Returns:
        Lazy int16 codes into :data:`HINTS` (0 = ``none`` below ``threshold``), -1 at missing
        traces (where ``envelope`` is NaN), as in the ``facies`` layer.
    """
    amplitude, texture = abs(envelope), np.float32(flow_weight) * flow
    code = da.where(amplitude >= texture, da.where(envelope > 0, 1, 2), 3)
    code = da.where(amplitude + texture >= threshold, code, 0)
    return da.where(da.isnan(envelope), -1, code).astype(np.int16)
