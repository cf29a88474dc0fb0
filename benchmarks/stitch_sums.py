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
so over a whole map with the square of the volume). One JSON line.

Usage: python benchmarks/stitch_sums.py [--inlines 256] [--crosslines 256] [--samples 1000]
       [--topics 8] [--chunks 8] [--gb 1,4,16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
from lateral_median import best

from seisflow.infer.patch_sums import PatchSums, complete_patches, footprints
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
    print(json.dumps(record))


if __name__ == "__main__":
    main()
