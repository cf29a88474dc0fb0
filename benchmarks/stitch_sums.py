"""Stitching a chunk (issue 20, point 5): the compiled sums of :mod:`seisflow.infer.patch_sums`
against the numpy loop seisflow ran before (a scan of the whole patch table for the patches
meeting the chunk, then one slice addition per patch), in the same process.

The table is the map's tiling of a ``--inlines`` x ``--crosslines`` x ``--samples`` grid
(patches of 32 at stride 32, inline and crossline sections, a few missing traces) with
``--topics`` float32 proportions per patch; ``--chunks`` interior 64 x 64 x 256 chunks are
summed both ways and must give equal arrays. Then, for the tilings of square surveys of
``--gb`` sizes (1000 samples per trace, float32), the seconds to build the lookup with the
patches' completeness (once per layer), the megabytes it holds for the layer's lifetime
against the footprints and completeness the former loop held, and the milliseconds to find
one chunk's patches: by the lookup against the scan (the scan's cost grows with the table,
so over a whole map with the square of the volume). Last, the sums at the points of the
patch grid (the ``topic_proportions`` layer) on the tiling of a ``--grid-gb`` survey with
``--topics`` values a patch: :func:`~seisflow.infer.patch_sums.grid_sums` against the
Python loop over the table that ran before (equal arrays). One JSON line.

Usage: python benchmarks/stitch_sums.py [--inlines 256] [--crosslines 256] [--samples 1000]
       [--topics 8] [--chunks 8] [--gb 1,4,16] [--grid-gb 1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
from lateral_median import best

from seisflow.infer.patch_sums import PatchSums, complete_patches, footprints, grid_sums
from seisflow.ingest.patches import PatchSpec, positions

Region = list[tuple[int, int]]
SPEC = PatchSpec(size=32, axis="both", stride=32)


def _scan(foot: np.ndarray, region: Region) -> np.ndarray:
    """The patches meeting ``region``, by comparing every footprint (as before)."""
    (a0, a1), (b0, b1), (c0, c1) = region
    inside = (foot[:, 0] < a1) & (foot[:, 1] > a0) & (foot[:, 2] < b1) & (foot[:, 3] > b0)
    return np.flatnonzero(inside & (foot[:, 4] < c1) & (foot[:, 5] > c0))


def _numpy_sums(
    foot: np.ndarray, complete: np.ndarray, values: np.ndarray, region: Region
) -> tuple[np.ndarray, np.ndarray]:
    """The former loop: one slice addition per patch meeting ``region``."""
    origin, end = np.array([r[0] for r in region]), np.array([r[1] for r in region])
    total = np.zeros((2, *(end - origin), values.shape[1]))
    count = np.zeros((2, *(end - origin)), dtype=np.int32)
    for n in _scan(foot, region):
        lo = np.maximum(foot[n, 0::2], origin) - origin
        hi = np.minimum(foot[n, 1::2], end) - origin
        where = (int(not complete[n]), *(slice(b, e) for b, e in zip(lo, hi, strict=True)))
        total[where] += values[n]
        count[where] += 1
    return total, count


def _grid_loop(
    foot: np.ndarray, complete: np.ndarray, values: np.ndarray, points: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """The former sums at the patch grid's points: one slice addition per patch of the table."""
    total = np.zeros((2, *(p.size for p in points), values.shape[1]))
    count = np.zeros(total.shape[:4], dtype=np.int32)
    for f, whole, row in zip(foot, complete, values, strict=True):
        spans = (slice(np.searchsorted(p, lo), np.searchsorted(p, hi))
                 for p, lo, hi in zip(points, f[0::2], f[1::2], strict=True))  # fmt: skip
        region = (0 if whole else 1, *spans)
        total[region] += row
        count[region] += 1
    return total, count


def _tiling(shape: tuple[int, int, int], rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Positions and trace mask of the map's tiling of ``shape`` (a few missing traces)."""
    live = rng.random(shape[:2]) > 0.002
    return positions(SPEC, live, samples=(0, shape[2]), complete=False), live


def _lookup(where: np.ndarray, live: np.ndarray, values: np.ndarray) -> PatchSums:
    """What :func:`~seisflow.infer.stitch.chunk_mean` builds once per layer."""
    complete = complete_patches(where, size=SPEC.size, depth=SPEC.channels, live=live)
    return PatchSums(positions=where, size=SPEC.size, depth=SPEC.channels, complete=complete,
                     values=values)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inlines", type=int, default=256, help="grid inlines")
    parser.add_argument("--crosslines", type=int, default=256, help="grid crosslines")
    parser.add_argument("--samples", type=int, default=1000, help="samples per trace")
    parser.add_argument("--topics", type=int, default=8, help="values per patch")
    parser.add_argument("--chunks", type=int, default=8, help="chunks summed both ways")
    parser.add_argument("--gb", default="1,4,16", help="survey sizes of the lookup, GB")
    parser.add_argument("--grid-gb", type=float, default=1.0, help="survey of the grid sums, GB")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    where, live = _tiling((args.inlines, args.crosslines, args.samples), rng)
    values = rng.dirichlet(np.ones(args.topics), len(where)).astype(np.float32)
    sums = _lookup(where, live, values)
    foot = footprints(where, size=SPEC.size, depth=SPEC.channels)
    complete = complete_patches(where, size=SPEC.size, depth=SPEC.channels, live=live)
    sums([(0, 8), (0, 8), (0, 8)])  # compile
    regions = [[(a, a + 64), (b, b + 64), (c, c + 256)]
               for a, b, c in zip(rng.integers(32, args.inlines - 96, args.chunks),
                                  rng.integers(32, args.crosslines - 96, args.chunks),
                                  rng.integers(0, args.samples - 256, args.chunks),
                                  strict=True)]  # fmt: skip
    kernel_s, got = best(lambda: [sums(r) for r in regions], args.rounds)
    numpy_s, want = best(lambda: [_numpy_sums(foot, complete, values, r) for r in regions],
                          args.rounds)  # fmt: skip
    equal = all(np.array_equal(g[i], w[i]) for g, w in zip(got, want, strict=True) for i in (0, 1))
    record: dict[str, Any] = {
        "grid": [args.inlines, args.crosslines, args.samples], "patches": len(foot),
        "topics": args.topics, "chunks": args.chunks, "rounds": args.rounds,
        "kernel_ms_per_chunk": round(1e3 * kernel_s / args.chunks, 2),
        "numpy_ms_per_chunk": round(1e3 * numpy_s / args.chunks, 2),
        "speedup": round(numpy_s / kernel_s, 1), "equal": equal,
    }  # fmt: skip
    for gb in (float(g) for g in args.gb.split(",")):
        side = round((gb * 1e9 / 4 / 1000) ** 0.5)
        where, live = _tiling((side, side, 1000), rng)
        zeros = np.zeros((len(where), 1), np.float32)
        build_s, lookup = best(lambda w=where, m=live, z=zeros: _lookup(w, m, z), 1)
        foot = footprints(where, size=SPEC.size, depth=SPEC.channels)
        middle = [(side // 2, side // 2 + 64), (side // 2, side // 2 + 64), (256, 512)]
        find_s, found = best(lambda k=lookup, m=middle: k.overlapping(m), args.rounds)
        scan_s, scanned = best(lambda f=foot, m=middle: _scan(f, m), args.rounds)
        record[f"gb_{gb:g}"] = {
            "side": side, "patches": len(foot), "build_s": round(build_s, 2),
            "lookup_ms_per_chunk": round(1e3 * find_s, 3),
            "scan_ms_per_chunk": round(1e3 * scan_s, 3),
            "held_mb": round(lookup.held_bytes() / 1e6, 1),
            "former_held_mb": round((foot.nbytes + len(foot)) / 1e6, 1),
            "equal": bool(np.array_equal(found, scanned)),
        }  # fmt: skip
    side = round((args.grid_gb * 1e9 / 4 / 1000) ** 0.5)
    where, live = _tiling((side, side, 1000), rng)
    values = rng.dirichlet(np.ones(args.topics), len(where)).astype(np.float32)
    complete = complete_patches(where, size=SPEC.size, depth=SPEC.channels, live=live)
    points = tuple(np.arange(SPEC.stride // 2, n, SPEC.stride) for n in (side, side, 1000))
    grid_sums(where[:8], size=SPEC.size, depth=SPEC.channels, complete=complete[:8],
              values=values[:8], points=points)  # compile  # fmt: skip
    grid_s, got = best(lambda: grid_sums(where, size=SPEC.size, depth=SPEC.channels,
                                         complete=complete, values=values, points=points),
                       args.rounds)  # fmt: skip
    foot = footprints(where, size=SPEC.size, depth=SPEC.channels)
    loop_s, want = best(lambda: _grid_loop(foot, complete, values, points), 1)
    record["patch_grid"] = {
        "side": side, "patches": len(where), "grid_sums_s": round(grid_s, 3),
        "loop_s": round(loop_s, 2), "speedup": round(loop_s / grid_s, 1),
        "equal": all(np.array_equal(g, w) for g, w in zip(got, want, strict=True)),
    }  # fmt: skip
    print(json.dumps(record))


if __name__ == "__main__":
    main()
