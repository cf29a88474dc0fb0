"""Two-sided lateral contrast: how far a sample's value stands out from the traces around it.

Dead traces, bright spots and gas chimneys are all lateral discontinuities: at one time
sample, a trace differs from its neighbours. A one-sided score ("more bits is more
anomalous") ranks the simpler-than-usual dead trace backwards; the contrast ranks both
directions alike::

    c = |v - median_N(v)| / (1.4826 MAD)

where ``median_N`` is the median over the ``(2 radius + 1)^2`` traces around the sample at
the same time (missing traces ignored, :func:`~seisflow.infer.attributes.lateral_median`)
and ``MAD`` the median of ``|v - median_N(v)|`` over all live samples: one robust scale for
the volume, so a uniform neighbourhood does not divide by zero. ``1.4826 MAD`` is the
standard deviation of Gaussian data, so ``c`` reads as a robust z-score.

References:
    Rousseeuw, Croux. Alternatives to the median absolute deviation. JASA 88(424), 1993.
"""

from __future__ import annotations

import numpy as np

from seisflow.infer.attributes import lateral_median

__all__ = ["lateral_contrast"]


def lateral_contrast(volume: np.ndarray, live: np.ndarray, *, radius: int = 4) -> np.ndarray:
    """The two-sided robust lateral z-score of ``volume``.

    Args:
        volume: ``(inline, crossline, time)`` values (NaN or anything at missing traces).
        live: ``(inline, crossline)`` bool, True at recorded traces.
        radius: Traces on each side of the neighbourhood (inline and crossline).

    Returns:
        float32 ``(inline, crossline, time)``, NaN at missing traces.
    """
    values = np.where(live[..., None], volume, np.nan).astype(np.float32)
    deviation = np.abs(values - lateral_median(values, live, radius))
    scale = 1.4826 * float(np.nanmedian(deviation[live])) if live.any() else 1.0
    return deviation / np.float32(scale if scale > 0 else 1.0)
