"""The settings of a synthetic survey (see :mod:`seisflow.synth`), loaded with
:func:`seisflow.config.load_config`.

Example:
    >>> from seisflow.config import load_config
    >>> load_config(SynthConfig, overrides=["seed=3", "shape=[40, 50, 120]"]).shape
    (40, 50, 120)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar, Literal

from seisflow.errors import ConfigError

__all__ = ["SynthConfig"]


@dataclass(frozen=True)
class SynthConfig:
    """A synthetic post-stack survey (see :mod:`seisflow.synth`).

    Attributes:
        shape: Number of inlines, crosslines and time samples.
        seed: Seed of every random choice; the same seed gives the same bytes.
        format: Sample format written to the SEG-Y file: ``ibm`` (code 1) or ``ieee`` (code 5).
        sorting: Trace order in the file: ``inline`` (crosslines vary fastest) or ``crossline``.
        xline_step: Increment between consecutive crossline numbers (>= 1).
        missing_corner: Leave out a triangular corner of traces, as on an irregular survey.
        anomalies: Add the bright spot, gas chimney, noise burst and dead traces.
        sample_interval_ms: Time sampling in milliseconds.
        first_inline: Number of the first inline.
        first_crossline: Number of the first crossline.
        inline_spacing_m: Distance between inlines in metres.
        crossline_spacing_m: Distance between adjacent crossline numbers in metres.
        azimuth_deg: Azimuth of the inline direction, clockwise from grid north.
        origin_xy: Projected X/Y in metres of the first inline/crossline.
        crs: Coordinate reference system written to the text header.
        noise: Random noise RMS relative to the signal RMS.
        unit_tops: The five unit tops as increasing fractions of the record (the facies mix:
            parallel beds with the channel belt, clinoforms, mass-transport complex,
            transparent shale, reservoir beds); None: about 0.10, 0.27, 0.43, 0.57, 0.71.
    """

    shape: tuple[int, int, int] = (64, 80, 200)
    seed: int = 0
    format: Literal["ibm", "ieee"] = "ibm"
    sorting: Literal["inline", "crossline"] = "inline"
    xline_step: int = 1
    missing_corner: bool = False
    anomalies: bool = True
    sample_interval_ms: float = 4.0
    first_inline: int = 1000
    first_crossline: int = 2000
    inline_spacing_m: float = 25.0
    crossline_spacing_m: float = 12.5
    azimuth_deg: float = 33.0
    origin_xy: tuple[float, float] = (605_000.0, 6_073_000.0)
    crs: str = "EPSG:32631"
    noise: float = 0.12
    unit_tops: tuple[float, float, float, float, float] | None = None

    #: A ``--set`` example that fits this config (for messages).
    EXAMPLE: ClassVar[str] = "seed=3"

    def __post_init__(self) -> None:
        tops = self.unit_tops
        if tops is not None and (
            len(tops) != 5 or tops[0] <= 0.0 or tops[-1] >= 1.0
            or any(b <= a for a, b in itertools.pairwise(tops))
        ):  # fmt: skip
            raise ConfigError(
                f"synth unit_tops {tops} must be five increasing fractions in (0, 1), such as "
                "0.1,0.27,0.43,0.57,0.71"
            )
        if len(self.shape) != 3 or any(n < 1 for n in self.shape):
            raise ConfigError(
                f"synth shape {','.join(map(str, self.shape))} is invalid: give three positive "
                "integers IL,XL,NS such as 40,50,120"
            )
        minimum = (8, 8, 32)
        if any(n < m for n, m in zip(self.shape, minimum, strict=True)):
            raise ConfigError(
                f"synth shape {','.join(map(str, self.shape))} is too small to hold the five "
                f"facies and the anomalies: use at least {','.join(map(str, minimum))}"
            )
        if self.xline_step < 1:
            raise ConfigError(f"synth xline_step {self.xline_step} must be 1 or more")
        if not 0.1 <= self.sample_interval_ms <= 60.0:
            raise ConfigError(
                f"synth sample_interval_ms {self.sample_interval_ms} is outside 0.1-60 ms"
            )
        if self.noise < 0:
            raise ConfigError(f"synth noise {self.noise} must be 0 or more")
