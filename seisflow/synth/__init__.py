"""Synthetic post-stack surveys with ground truth (facies and anomalies).

Example:
    >>> from seisflow.config import SynthConfig
    >>> from seisflow.synth import synthesize
    >>> result = synthesize("s.sgy", SynthConfig(shape=(40, 50, 120), seed=3))  # doctest: +SKIP
"""

from seisflow.synth.anomalies import ANOMALY_KINDS
from seisflow.synth.geology import FACIES
from seisflow.synth.write import SynthResult, synthesize, truth_path

__all__ = ["ANOMALY_KINDS", "FACIES", "SynthResult", "synthesize", "truth_path"]
