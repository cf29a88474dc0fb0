"""Render blocks of a synthetic survey: amplitudes and their ground truth.

The recipe for one block of traces: stratigraphic time -> facies -> (chimney disruption)
-> impedance (+ gas lens) -> reflectivity -> wavelet convolution -> noise -> noise burst and
dead traces. Facies and anomaly masks are returned beside the amplitudes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seisflow.synth.anomalies import BRIGHT_SPOT, DEAD_TRACE, GAS_CHIMNEY, NOISE_BURST, Anomalies
from seisflow.synth.config import SynthConfig
from seisflow.synth.geology import OVERSAMPLE, PARALLEL, Geology
from seisflow.synth.geometry import Block, SurveyGrid
from seisflow.synth.wavelet import Convolver, NoiseBank, ricker

__all__ = ["RenderedBlock", "Survey"]

PEAK_HZ = 25.0  # Ricker peak frequency
SIGNAL_RMS = 1000.0  # RMS amplitude of the parallel beds, in file units


@dataclass(frozen=True)
class RenderedBlock:
    """One block: ``amplitude`` float32, ``facies`` int8 and ``anomaly_kind`` int8, each
    ``(n_il, n_xl, n_samples)``, and ``live`` bool ``(n_il, n_xl)``."""

    block: Block
    amplitude: np.ndarray
    facies: np.ndarray
    anomaly_kind: np.ndarray
    live: np.ndarray


@dataclass(frozen=True)
class Survey:
    """A synthetic survey: geometry, geology, anomalies and the acquisition (wavelet, noise).

    Build with :meth:`from_config`; :meth:`render` then produces any block on its own.
    """

    config: SynthConfig
    grid: SurveyGrid
    geology: Geology
    anomalies: Anomalies | None
    convolver: Convolver
    noise: NoiseBank
    burst_noise: NoiseBank
    scale: float

    @classmethod
    def from_config(cls, config: SynthConfig) -> Survey:
        grid = SurveyGrid(config)
        ns = grid.n_samples
        geology = Geology.from_seed(ns, config.seed, config.unit_tops)
        anomalies = (
            Anomalies.from_seed(geology, config.shape, grid.live(), config.seed)
            if config.anomalies
            else None
        )
        convolver = Convolver(ricker(PEAK_HZ, config.sample_interval_ms), ns)
        white = np.random.default_rng([config.seed, 0xB57]).standard_normal((257, ns))
        return cls(
            config=config,
            grid=grid,
            geology=geology,
            anomalies=anomalies,
            convolver=convolver,
            noise=NoiseBank.draw(convolver, config.seed),
            burst_noise=NoiseBank(rows=white.astype(np.float32), seed=config.seed + 1),
            scale=SIGNAL_RMS / _parallel_rms(geology, convolver),
        )

    @property
    def halo(self) -> float:
        """Half a wavelet period in samples: how far a reflection spreads in time."""
        return 0.5 / (PEAK_HZ * self.config.sample_interval_ms * 1e-3)

    def render(self, block: Block) -> RenderedBlock:
        """Amplitudes, facies and anomaly kinds of every trace of ``block`` (live or not)."""
        geology, anomalies = self.geology, self.anomalies
        a, b = self.grid.normalised(block)
        u = geology.stratigraphic_time(a, b)
        tops = geology.unit_tops(a, b)
        facies, drape = geology.facies(a, b, u)
        kind = np.zeros(u.shape, dtype=np.int8)
        if anomalies is not None:
            lens, footprint = anomalies.lens(a, b, u, tops[4], self.halo)
            chimney = anomalies.chimney(a, b, u, bottom=tops[4], top=tops[1])
            kind[footprint] = BRIGHT_SPOT
            kind[chimney] = GAS_CHIMNEY
            anomalies.disrupt(a, b, u, chimney)
        log_imp = geology.impedance(a, b, u, facies, drape)
        del u
        if anomalies is not None:
            log_imp[lens] += anomalies.gas_drop
        reflectivity = np.diff(log_imp, axis=-1, prepend=log_imp[..., :1])
        del log_imp
        if anomalies is not None:
            reflectivity[chimney] *= anomalies.chimney_dimming
        amplitude = self.convolver(reflectivity)
        amplitude *= np.float32(0.5 * self.scale)
        del reflectivity
        i = np.arange(block.il.start, block.il.stop)[:, None]
        j = np.arange(block.xl.start, block.xl.stop)[None, :]
        i, j = np.broadcast_arrays(i, j)
        amplitude += np.float32(self.config.noise * SIGNAL_RMS) * self.noise(i, j)
        if anomalies is not None:
            box = anomalies.burst(block.il, block.xl, self.grid.n_samples)
            if box is not None:
                burst = self.burst_noise(i[box[:2]], j[box[:2]])[..., box[2]]
                amplitude[box] += np.float32(anomalies.burst_strength * SIGNAL_RMS) * burst
                kind[box] = NOISE_BURST
            dead = anomalies.dead_mask(block.il, block.xl, self.grid.n_crosslines)
            amplitude[dead] = 0.0
            kind[dead] = DEAD_TRACE
        return RenderedBlock(
            block=block,
            amplitude=amplitude,
            facies=facies,
            anomaly_kind=kind,
            live=self.grid.live(block),
        )


def _parallel_rms(geology: Geology, convolver: Convolver) -> float:
    """RMS of the seismic response of the parallel-bed impedance table (before scaling)."""
    ns = convolver.n_samples
    series = geology.tables[PARALLEL][::OVERSAMPLE]  # one value per sample, 3 * ns values
    reflectivity = 0.5 * np.diff(series)[: 2 * ns].reshape(2, ns)
    return float(np.sqrt(np.mean(convolver(reflectivity) ** 2)))
