"""The source wavelet, trace convolution and band-limited random noise.

References:
    Ricker, N. (1953). The form and laws of propagation of seismic wavelets. Geophysics 18(1).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["Convolver", "NoiseBank", "ricker"]


def ricker(peak_hz: float, interval_ms: float) -> np.ndarray:
    """Zero-phase Ricker wavelet sampled at ``interval_ms``, centred, peak 1.

    Returns:
        float64 array of odd length ``2 * h + 1``; the centre sample is time zero.
    """
    half = max(2, int(np.ceil(1.5 / (peak_hz * interval_ms * 1e-3))))
    t = np.arange(-half, half + 1) * interval_ms * 1e-3
    arg = (np.pi * peak_hz * t) ** 2
    return (1.0 - 2.0 * arg) * np.exp(-arg)


@dataclass(frozen=True)
class Convolver:
    """Convolves traces with a zero-phase wavelet in the frequency domain.

    Args:
        wavelet: Odd-length wavelet, centre sample at time zero.
        n_samples: Samples per trace.
    """

    wavelet: np.ndarray
    n_samples: int

    @cached_property
    def _size(self) -> int:
        return _fast_length(self.n_samples + self.wavelet.size)

    @cached_property
    def _spectrum(self) -> np.ndarray:
        half = self.wavelet.size // 2
        circular = np.zeros(self._size)
        circular[: half + 1] = self.wavelet[half:]  # time 0 and later at the start
        circular[-half:] = self.wavelet[:half]  # negative times wrap to the end
        return np.fft.rfft(circular).astype(np.complex64)

    def __call__(self, traces: np.ndarray) -> np.ndarray:
        """Convolve along the last axis; float32 in, float32 out, same shape."""
        spectrum = np.fft.rfft(traces.astype(np.float32, copy=False), n=self._size, axis=-1)
        spectrum *= self._spectrum
        return np.fft.irfft(spectrum, n=self._size, axis=-1)[..., : self.n_samples].astype(
            np.float32, copy=False
        )


def _fast_length(n: int) -> int:
    """The smallest 5-smooth integer (2^a 3^b 5^c) >= n: a fast FFT length."""
    best = 2 * n
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            length = power35
            while length < n:
                length *= 2
            best = min(best, length)
            power35 *= 3
        power5 *= 5
    return best


@dataclass(frozen=True)
class NoiseBank:
    """Band-limited noise traces addressed by trace position.

    A bank of ``rows`` noise traces is drawn once; trace ``(i, j)`` takes row ``hash(i, j)``
    circularly shifted by a second hash, so noise is independent of how the survey is cut
    into blocks and costs one gather per block.

    Args:
        rows: Bank of noise traces, float32 ``(n_rows, n_samples)`` with unit RMS.
        seed: Mixed into the position hash.
    """

    rows: np.ndarray
    seed: int

    @classmethod
    def draw(cls, convolver: Convolver, seed: int, n_rows: int = 509) -> NoiseBank:
        """Draw white noise, band-limit it with the wavelet and scale it to unit RMS."""
        rng = np.random.default_rng([seed, 0xB0B])
        white = rng.standard_normal((n_rows, convolver.n_samples)).astype(np.float32)
        rows = convolver(white)
        rows /= np.sqrt(np.mean(rows**2)) + 1e-12
        return cls(rows=rows, seed=seed)

    def __call__(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Noise for traces at inline indices ``i`` and crossline indices ``j`` (same shape).

        Returns:
            float32 ``(*i.shape, n_samples)``.
        """
        key = (
            (i.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
            ^ (j.astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F))
            ^ np.uint64(self.seed & 0xFFFFFFFF)
        )
        key ^= key >> np.uint64(29)
        key *= np.uint64(0xBF58476D1CE4E5B9)
        key ^= key >> np.uint64(32)
        n_rows, n_samples = self.rows.shape
        row = (key % np.uint64(n_rows)).astype(np.int64)
        shift = ((key >> np.uint64(20)) % np.uint64(n_samples)).astype(np.int64)
        columns = (np.arange(n_samples) + shift[..., None]) % n_samples
        return self.rows[row[..., None], columns]
