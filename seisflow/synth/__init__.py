"""Synthetic post-stack surveys with ground truth (facies and anomalies).

The settings are :class:`seisflow.synth.config.SynthConfig`. The names below are loaded when
first used, so that importing :mod:`seisflow.synth.config` stays light (no numpy, xarray or
:mod:`seisflow.ingest`).

Example:
    >>> from seisflow.synth import synthesize
    >>> from seisflow.synth.config import SynthConfig
    >>> result = synthesize("s.sgy", SynthConfig(shape=(40, 50, 120), seed=3))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seisflow._lazy import lazy_names

if TYPE_CHECKING:
    from seisflow.synth.anomalies import ANOMALY_KINDS
    from seisflow.synth.geology import FACIES
    from seisflow.synth.write import SynthResult, synthesize, truth_path

__all__ = ["ANOMALY_KINDS", "FACIES", "SynthResult", "synthesize", "truth_path"]

_WHERE = {
    "ANOMALY_KINDS": "seisflow.synth.anomalies",
    "FACIES": "seisflow.synth.geology",
    "SynthResult": "seisflow.synth.write",
    "synthesize": "seisflow.synth.write",
    "truth_path": "seisflow.synth.write",
}


__getattr__ = lazy_names(__name__, _WHERE)
