"""Procedural geology of a synthetic survey: structure, facies and impedance.

The subsurface is described in *stratigraphic time* ``u`` (samples): the two-way time a
sample would have before folding and faulting. A sample at time ``t`` below map position
``(a, b)`` (inline and crossline positions scaled to [0, 1]) has

    u = t - fold(a, b) - sum over faults of throw(a, b) * [sample in the hanging wall],

so beds follow the structure and are offset across normal faults. The record is a stack of
units in ``u`` (top to bottom), each a facies with its own impedance texture:

==========================  ==========================================================
unit                        texture
==========================  ==========================================================
parallel beds               blocky layers, laterally continuous
channel belt                parallel beds cut by meandering channel fills (lenses)
clinoforms                  layers dipping across the unit (oblique progradation)
mass-transport complex      layers contorted by a short-wavelength deformation field
transparent shale (seal)    nearly uniform impedance: weak reflections
parallel beds (reservoir)   blocky layers; the bright spot sits at their top
==========================  ==========================================================

Every quantity is a closed-form function of ``(a, b, t)`` and the seed, so any block of
traces is rendered on its own and the survey streams in bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FACIES", "Geology"]

#: The facies of a synthetic survey, in the order of their integer codes.
FACIES: tuple[str, ...] = (
    "parallel_beds",
    "transparent_shale",
    "chaotic_mass_transport",
    "clinoforms",
    "channel_fill",
)
PARALLEL, SHALE, CHAOTIC, CLINOFORMS, CHANNEL_FILL = range(len(FACIES))
#: Facies of each unit, top to bottom (index = number of unit tops above the sample).
UNIT_FACIES = np.array([PARALLEL, PARALLEL, CLINOFORMS, CHAOTIC, SHALE, PARALLEL], dtype=np.int8)
OVERSAMPLE = 4  # impedance tables hold 4 values per sample of stratigraphic time


@dataclass(frozen=True)
class Fault:
    """A planar normal fault in (a, b, normalised time) space.

    The fault surface is ``n . (a, b) = offset + heave * (tau - 0.5)``; samples on the side
    it dips towards (the hanging wall) are moved down by ``throw`` samples, tapered to zero
    towards the fault tips along strike.
    """

    normal: tuple[float, float]
    offset: float
    heave: float
    throw: float
    centre_along: float
    half_length: float

    def hanging_wall(self, a: np.ndarray, b: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """Boolean, shape ``(n_il, n_xl, n_samples)``."""
        distance = self.normal[0] * a + self.normal[1] * b - self.offset
        return (distance[..., None] > self.heave * (tau - 0.5)) == (self.heave > 0)

    def displacement(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Throw in samples at each map position, shape ``(n_il, n_xl)``."""
        along = -self.normal[1] * a + self.normal[0] * b
        taper = np.clip(1.0 - ((along - self.centre_along) / self.half_length) ** 2, 0.0, 1.0)
        return self.throw * taper


@dataclass(frozen=True)
class Channel:
    """A meandering channel: a parabolic lens in section, a sinuous band in map view."""

    along_inline: bool
    centre: float
    meanders: tuple[tuple[float, float, float], ...]  # (amplitude, cycles, phase)
    half_width: float
    level: float  # position of the channel top inside the channel belt, 0 (top) to 1 (base)
    depth: float  # maximum depth of the lens, in samples

    def distance(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Distance from the channel axis in half-widths, shape ``(n_il, n_xl)``."""
        along, across = (a, b) if self.along_inline else (b, a)
        axis = self.centre + sum(
            amp * np.sin(2 * np.pi * cycles * along + phase) for amp, cycles, phase in self.meanders
        )
        return np.abs(across - axis) / self.half_width


@dataclass(frozen=True)
class Geology:
    """All random choices of one synthetic subsurface, drawn from a seed.

    Build with :meth:`from_seed`; then :meth:`stratigraphic_time`, :meth:`facies` and
    :meth:`impedance` render any block of traces.
    """

    n_samples: int
    tops: tuple[float, ...]  # unit tops as fractions of the record
    top_waves: tuple[tuple[float, float, float, float], ...]  # per top: amp, fa, fb, phase
    dome: tuple[float, float, float, float, float]  # a0, b0, width a, width b, height
    regional: tuple[float, float]  # dip along a, along b (fractions of the record)
    folds: tuple[float, float, float, float]  # amplitude, cycles a, cycles b, phase
    faults: tuple[Fault, ...]
    channels: tuple[Channel, ...]
    clinoform_direction: tuple[float, float]
    clinoform_drop: float  # samples a clinoform descends across the survey
    contortions: tuple[tuple[float, float, float, float, float], ...]  # amp, fa, fb, fu, phase
    tables: dict[int, np.ndarray]  # facies -> log-impedance over stratigraphic time

    @classmethod
    def from_seed(
        cls, n_samples: int, seed: int, unit_tops: tuple[float, ...] | None = None
    ) -> Geology:
        """Draw a subsurface for records of ``n_samples`` samples; ``unit_tops`` (five
        increasing fractions of the record) sets the facies mix."""
        rng = np.random.default_rng([seed, 0x5EB])
        ns = float(n_samples)
        base = np.array(unit_tops if unit_tops is not None else (0.10, 0.27, 0.43, 0.57, 0.71))
        tops = tuple(base + rng.uniform(-0.01, 0.01, 5))
        top_waves = tuple(
            (amp, rng.uniform(0.5, 1.5), rng.uniform(0.5, 1.5), rng.uniform(0, 2 * np.pi))
            for amp in (0.012, 0.012, 0.015, 0.03, 0.012)
        )
        dome = (
            rng.uniform(0.40, 0.58),
            rng.uniform(0.35, 0.55),
            rng.uniform(0.16, 0.22),
            rng.uniform(0.16, 0.22),
            rng.uniform(0.06, 0.08),
        )
        faults = tuple(
            Fault(
                normal=(float(np.cos(angle)), float(np.sin(angle))),
                offset=float(np.cos(angle) * centre[0] + np.sin(angle) * centre[1]),
                heave=float(rng.choice([-1, 1]) * rng.uniform(0.12, 0.22)),
                throw=rng.uniform(0.025, 0.045) * ns,
                centre_along=float(-np.sin(angle) * centre[0] + np.cos(angle) * centre[1]),
                half_length=rng.uniform(0.7, 1.1),
            )
            for angle, centre in (
                (rng.uniform(-0.4, 0.4), (0.22, 0.5)),  # strikes roughly along crosslines
                (np.pi / 2 + rng.uniform(-0.4, 0.4), (0.5, 0.8)),  # roughly along inlines
            )
        )
        channels = tuple(
            Channel(
                along_inline=along,
                centre=rng.uniform(0.3, 0.7),
                meanders=(
                    (rng.uniform(0.07, 0.12), rng.uniform(1.2, 2.2), rng.uniform(0, 2 * np.pi)),
                    (rng.uniform(0.02, 0.04), rng.uniform(3.0, 5.0), rng.uniform(0, 2 * np.pi)),
                ),
                half_width=rng.uniform(0.05, 0.08),
                level=level,
                depth=rng.uniform(0.06, 0.08) * ns,
            )
            for along, level in ((True, 0.2), (False, 0.45), (True, 0.7))
        )
        angle = rng.uniform(0, 2 * np.pi)
        contortions = tuple(
            (
                rng.uniform(0.012, 0.025) * ns,
                rng.choice([-1, 1]) * rng.uniform(4, 12),
                rng.choice([-1, 1]) * rng.uniform(4, 12),
                rng.uniform(6, 14),
                rng.uniform(0, 2 * np.pi),
            )
            for _ in range(3)
        )
        return cls(
            n_samples=n_samples,
            tops=tops,
            top_waves=top_waves,
            dome=dome,
            regional=(rng.uniform(-0.04, 0.04), rng.uniform(-0.04, 0.04)),
            folds=(0.012, rng.uniform(1, 2), rng.uniform(1, 2), rng.uniform(0, 2 * np.pi)),
            faults=faults,
            channels=channels,
            clinoform_direction=(float(np.cos(angle)), float(np.sin(angle))),
            clinoform_drop=3.0 * (tops[2] - tops[1]) * ns,
            contortions=contortions,
            tables=_impedance_tables(rng, n_samples),
        )

    def structure(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Time shift of the beds in samples (negative = structurally high), ``(n_il, n_xl)``."""
        a0, b0, wa, wb, height = self.dome
        amp, fa, fb, phase = self.folds
        shift = (
            -height * np.exp(-0.5 * (((a - a0) / wa) ** 2 + ((b - b0) / wb) ** 2))
            + self.regional[0] * (a - 0.5)
            + self.regional[1] * (b - 0.5)
            + amp * np.sin(2 * np.pi * (fa * a + fb * b) + phase)
        )
        return shift * self.n_samples

    def crest(self) -> tuple[float, float]:
        """Normalised map position of the dome's crest (the structural high)."""
        return self.dome[0], self.dome[1]

    def stratigraphic_time(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Stratigraphic time ``u`` in samples of every sample, float32 ``(n_il, n_xl, ns)``."""
        t = np.arange(self.n_samples, dtype=np.float32)
        u = t - self.structure(a, b).astype(np.float32)[..., None]
        tau = t / max(self.n_samples - 1, 1)
        for fault in self.faults:
            throw = fault.displacement(a, b).astype(np.float32)[..., None]
            u -= throw * fault.hanging_wall(a, b, tau)
        return u

    def unit_tops(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Stratigraphic time of each unit top in samples, float32 ``(5, n_il, n_xl)``."""
        return np.stack(
            [
                (top + amp * np.sin(2 * np.pi * (fa * a + fb * b) + phase)) * self.n_samples
                for top, (amp, fa, fb, phase) in zip(self.tops, self.top_waves, strict=True)
            ]
        ).astype(np.float32)

    def facies(self, a: np.ndarray, b: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Facies code of every sample and the channel-fill drape.

        Returns:
            ``labels`` int8 ``(n_il, n_xl, ns)`` with codes of :data:`FACIES`,
            and ``drape`` float32 ``(n_il, n_xl)``: how far (samples) the fill layers sag.
        """
        tops = self.unit_tops(a, b)
        unit = np.zeros(u.shape, dtype=np.int8)
        for top in tops:
            unit += u >= top[..., None]
        labels = UNIT_FACIES[unit]
        drape = np.zeros(tops.shape[1:], dtype=np.float32)
        belt_top, belt_base = tops[0], tops[1]
        for channel in self.channels:
            q = channel.distance(a, b)
            inside = q < 1.0
            if not inside.any():
                continue
            depth = np.where(inside, channel.depth * (1.0 - q**2), 0.0).astype(np.float32)
            top = belt_top + channel.level * (belt_base - belt_top)
            near = u[inside]  # only traces that cross the channel: (n_inside, ns)
            body = (near >= top[inside][:, None]) & (near < (top + depth)[inside][:, None])
            labels[inside] = np.where(body, np.int8(CHANNEL_FILL), labels[inside])
            drape = np.maximum(drape, 0.5 * depth)
        return labels, drape

    def impedance(
        self, a: np.ndarray, b: np.ndarray, u: np.ndarray, labels: np.ndarray, drape: np.ndarray
    ) -> np.ndarray:
        """Log-impedance of every sample, float32 ``(n_il, n_xl, ns)``.

        Each facies reads its own table at its own coordinate; only the samples of that facies
        are evaluated.
        """
        shape = u.shape
        log_imp = np.empty(shape, dtype=np.float32)
        for code in range(len(FACIES)):
            mask = labels == code
            if not mask.any():
                continue
            uu = u[mask]
            if code == CLINOFORMS:
                ca, cb = self.clinoform_direction
                along = np.broadcast_to((ca * a + cb * b)[..., None], shape)[mask]
                uu = uu + self.clinoform_drop * along.astype(np.float32)
            elif code == CHAOTIC:
                aa = np.broadcast_to(a[..., None], shape)[mask]
                bb = np.broadcast_to(b[..., None], shape)[mask]
                tau = uu / self.n_samples
                for amp, fa, fb, fu, phase in self.contortions:
                    uu = uu + amp * np.sin(2 * np.pi * (fa * aa + fb * bb + fu * tau) + phase)
            elif code == CHANNEL_FILL:
                uu = uu - np.broadcast_to(drape[..., None], shape)[mask]
            log_imp[mask] = _lookup(self.tables[code], uu, self.n_samples)
        return log_imp


def _lookup(table: np.ndarray, u: np.ndarray, n_samples: int) -> np.ndarray:
    """Read ``table`` at stratigraphic times ``u`` (samples); the table wraps around."""
    index = ((u + n_samples) * OVERSAMPLE).astype(np.int64)
    return np.take(table, index, mode="wrap")


def _impedance_tables(rng: np.random.Generator, n_samples: int) -> dict[int, np.ndarray]:
    """Blocky log-impedance series per facies over stratigraphic times [-ns, 2 ns).

    Each table is a sequence of layers with random thickness (gamma distributed, mean in
    samples) and independent log-impedance values around the facies' mean level.
    """
    recipe = {  # facies: (mean level, spread, mean layer thickness in samples)
        PARALLEL: (0.00, 0.09, 4.0),
        SHALE: (-0.10, 0.008, 5.0),
        CLINOFORMS: (0.05, 0.08, 3.0),
        CHAOTIC: (0.02, 0.11, 2.5),
        CHANNEL_FILL: (0.22, 0.05, 3.0),
    }
    length = 3 * n_samples * OVERSAMPLE
    tables = {}
    for code, (level, spread, thickness) in recipe.items():
        n_layers = int(3 * n_samples / thickness * 2) + 8
        widths = rng.gamma(3.0, thickness * OVERSAMPLE / 3.0, n_layers).astype(np.int64) + 1
        values = level + spread * rng.standard_normal(n_layers)
        table = np.repeat(values, widths)
        while table.size < length:  # extremely unlikely: extend by repetition
            table = np.concatenate([table, table])
        tables[code] = table[:length].astype(np.float32)
    return tables
