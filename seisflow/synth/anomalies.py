"""Anomalies of a synthetic survey, with the masks that are their ground truth.

* bright spot: a gas-charged lens at the top of the reservoir under the dome's crest; its
  impedance drops sharply, so its top is a strong trough and its base a strong peak;
* gas chimney: a vertical, wobbling column above the reservoir where reflections are dimmed
  and disrupted (gas leaking upwards scatters and attenuates the wavefield);
* noise burst: a box of traces and times swamped by strong broadband noise;
* dead traces: recorded traces whose samples are all zero, scattered and in one run.

Positions are chosen away from the missing corner, so every anomaly is present on every
survey. As with the geology, every mask is a closed-form function of the trace indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seisflow.synth.geology import Geology

__all__ = ["ANOMALY_KINDS", "Anomalies"]

#: Anomaly kinds in the order of their integer codes in the truth store (0 = none).
ANOMALY_KINDS: tuple[str, ...] = ("none", "bright_spot", "gas_chimney", "noise_burst", "dead_trace")
BRIGHT_SPOT, GAS_CHIMNEY, NOISE_BURST, DEAD_TRACE = 1, 2, 3, 4


@dataclass(frozen=True)
class Anomalies:
    """The anomalies of one survey, drawn from a seed (see :meth:`from_seed`)."""

    lens_centre: tuple[float, float]
    lens_radii: tuple[float, float]
    lens_thickness: float  # samples, at the centre
    gas_drop: float  # log-impedance change inside the lens
    chimney_centre: tuple[float, float]
    chimney_radius: float
    chimney_wobble: tuple[float, float]  # cycles over the record, phase
    chimney_dimming: float  # reflection strength kept inside the chimney
    chimney_jitter: tuple[float, float, float, float]  # amplitude (samples), fa, fb, fu
    burst_box: tuple[slice, slice, slice]  # inline, crossline, sample index ranges
    burst_strength: float  # noise RMS relative to the signal RMS
    dead: np.ndarray  # flat trace indices i * n_xl + j, sorted

    @classmethod
    def from_seed(
        cls, geology: Geology, shape: tuple[int, int, int], live: np.ndarray, seed: int
    ) -> Anomalies:
        """Draw the anomalies of a survey of ``shape`` whose recorded traces are ``live``."""
        rng = np.random.default_rng([seed, 0xA40])
        n_il, n_xl, ns = shape
        a0, b0 = geology.crest()
        burst_a, burst_b = rng.uniform(0.08, 0.25), rng.uniform(0.6, 0.78)
        burst_t = rng.uniform(0.15, 0.6)
        burst = (
            _index_range(burst_a, max(2, round(0.08 * n_il)), n_il),
            _index_range(burst_b, max(3, round(0.1 * n_xl)), n_xl),
            _index_range(burst_t, max(4, round(0.15 * ns)), ns),
        )
        return cls(
            lens_centre=(a0 + rng.uniform(-0.02, 0.02), b0 + rng.uniform(-0.02, 0.02)),
            lens_radii=(rng.uniform(0.14, 0.2), rng.uniform(0.14, 0.2)),
            lens_thickness=max(3.0, rng.uniform(0.03, 0.04) * ns),
            gas_drop=-0.35,
            chimney_centre=(a0 + rng.uniform(-0.06, 0.06), b0 + rng.uniform(-0.06, 0.06)),
            chimney_radius=rng.uniform(0.07, 0.1),
            chimney_wobble=(rng.uniform(3, 6), rng.uniform(0, 2 * np.pi)),
            chimney_dimming=0.3,
            chimney_jitter=(max(1.5, 0.02 * ns), rng.uniform(8, 14), rng.uniform(8, 14), 9.0),
            burst_box=burst,
            burst_strength=3.0,
            dead=_dead_traces(rng, live, burst),
        )

    def lens(
        self, a: np.ndarray, b: np.ndarray, u: np.ndarray, reservoir_top: np.ndarray, halo: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """The gas lens and the samples its reflections reach.

        Args:
            a, b: Normalised positions, broadcasting to ``(n_il, n_xl)``.
            u: Stratigraphic time, ``(n_il, n_xl, ns)``.
            reservoir_top: Stratigraphic time of the reservoir top, ``(n_il, n_xl)``.
            halo: Samples added above and below (about half the wavelet) for the truth mask.

        Returns:
            ``(lens, footprint)``: bool ``(n_il, n_xl, ns)`` each.
        """
        rho2 = ((a - self.lens_centre[0]) / self.lens_radii[0]) ** 2 + (
            (b - self.lens_centre[1]) / self.lens_radii[1]
        ) ** 2
        rho2 = np.broadcast_to(rho2, reservoir_top.shape)
        inside = rho2 < 1  # traces that cross the lens
        lens = np.zeros(u.shape, dtype=bool)
        footprint = np.zeros(u.shape, dtype=bool)
        if inside.any():
            near = u[inside]
            top = reservoir_top[inside][:, None]
            base = top + (self.lens_thickness * (1 - rho2[inside]))[:, None]
            lens[inside] = (near >= top) & (near < base)
            footprint[inside] = (near >= top - halo) & (near < base + halo)
        return lens, footprint

    def chimney(
        self, a: np.ndarray, b: np.ndarray, u: np.ndarray, bottom: np.ndarray, top: np.ndarray
    ) -> np.ndarray:
        """The chimney: bool ``(n_il, n_xl, ns)``, between stratigraphic times ``top`` and
        ``bottom`` (each ``(n_il, n_xl)``), with a radius that wobbles with time."""
        ns = u.shape[-1]
        cycles, phase = self.chimney_wobble
        r2 = (a - self.chimney_centre[0]) ** 2 + (b - self.chimney_centre[1]) ** 2
        r2 = np.broadcast_to(r2, top.shape)
        near = r2 < (1.3 * self.chimney_radius) ** 2  # the widest the column gets
        chimney = np.zeros(u.shape, dtype=bool)
        if near.any():
            uu = u[near]
            radius = self.chimney_radius * (1 + 0.3 * np.sin(2 * np.pi * cycles * uu / ns + phase))
            chimney[near] = (
                (r2[near][:, None] < radius**2)
                & (uu >= top[near][:, None])
                & (uu < bottom[near][:, None])
            )
        return chimney

    def disrupt(self, a: np.ndarray, b: np.ndarray, u: np.ndarray, chimney: np.ndarray) -> None:
        """Jitter the stratigraphic time inside the chimney, in place (disrupted reflections)."""
        amp, fa, fb, fu = self.chimney_jitter
        tau = u[chimney] / u.shape[-1]
        aa = np.broadcast_to(a[..., None], u.shape)[chimney]
        bb = np.broadcast_to(b[..., None], u.shape)[chimney]
        u[chimney] += amp * np.sin(2 * np.pi * (fa * aa + fb * bb + fu * tau)).astype(np.float32)

    def burst(self, il: slice, xl: slice, ns: int) -> tuple[slice, slice, slice] | None:
        """The part of the noise-burst box inside the block ``il`` x ``xl``, in block indices."""
        parts = []
        for box, window in zip(self.burst_box[:2], (il, xl), strict=True):
            start, stop = max(box.start, window.start), min(box.stop, window.stop)
            if start >= stop:
                return None
            parts.append(slice(start - window.start, stop - window.start))
        return parts[0], parts[1], self.burst_box[2]

    def dead_mask(self, il: slice, xl: slice, n_xl: int) -> np.ndarray:
        """Bool ``(n_il, n_xl)`` of the block: True on dead traces."""
        i = np.arange(il.start, il.stop)[:, None]
        j = np.arange(xl.start, xl.stop)[None, :]
        return np.isin(i * n_xl + j, self.dead)


def _index_range(centre: float, width: int, n: int) -> slice:
    """``width`` consecutive indices centred at normalised position ``centre`` of ``n``."""
    start = int(np.clip(round(centre * (n - 1)) - width // 2, 0, max(n - width, 0)))
    return slice(start, min(start + width, n))


def _dead_traces(
    rng: np.random.Generator, live: np.ndarray, burst: tuple[slice, slice, slice]
) -> np.ndarray:
    """About 1% of the live traces at random, plus a run along one inline (flat indices)."""
    n_il, n_xl = live.shape
    candidates = live.copy()
    candidates[burst[0], burst[1]] = False  # keep the kinds apart in the truth
    flat = np.flatnonzero(candidates)
    scattered = rng.choice(flat, size=max(2, flat.size // 100), replace=False)
    row = int(rng.integers(n_il // 5, n_il // 2))
    start = int(rng.integers(0, n_xl // 3))
    run = row * n_xl + np.arange(start, start + max(3, n_xl // 5))
    return np.unique(np.concatenate([scattered, run[candidates.ravel()[run]]]))
