"""The lateral median of the anomaly layer's contrasts (issue 20, point 5): the sliding
histogram of :mod:`seisflow.infer.median` against a median of the stacked neighbourhoods
(``numpy.median`` over a sliding-window view: a selection among the stacked neighbours of
each sample, as seisflow's former median did in its own reused buffer, which took 6.8-8.1 s
per chunk at radius 16), in the same process, on one map chunk.

The block is a chunk of ``--core`` x ``--core`` traces of ``--samples`` samples with the
halo of ``radius`` traces the map gives it on every side, all live, white noise (the worst
case for the sliding pointer: the median jumps from trace to trace). The kernel does the
whole block (compiled first on a small one); the reference does ``--reference-slices``
time slices of it, whose medians must equal the kernel's. One JSON line: per radius, the
kernel's seconds per chunk and both methods' microseconds per sample.

Usage: python benchmarks/lateral_median.py [--core 64] [--samples 256] [--radii 4,8,16]
       [--reference-slices 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from seisflow.infer.median import lateral_median


def _reference(block: np.ndarray, radius: int, core: int) -> np.ndarray:
    """The median of every core trace's full neighbourhood, stacked: ``(core, core, T)``."""
    side = 2 * radius + 1
    windows = np.lib.stride_tricks.sliding_window_view(block, (side, side), axis=(0, 1))
    return np.median(windows.reshape(core, core, block.shape[2], side * side), axis=-1)


def best(run: Callable[[], Any], rounds: int) -> tuple[float, Any]:
    """The fastest of ``rounds`` calls of ``run``, seconds, and its result."""
    times, result = [], None
    for _ in range(rounds):
        started = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--core", type=int, default=64, help="traces per chunk side")
    parser.add_argument("--samples", type=int, default=256, help="samples per trace")
    parser.add_argument("--radii", default="4,8,16", help="radii, comma-separated")
    parser.add_argument("--reference-slices", type=int, default=16,
                        help="time slices the reference does")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    lateral_median(rng.normal(size=(4, 4, 2)).astype(np.float32), np.ones((4, 4), bool), 1)
    record: dict[str, Any] = {"core": args.core, "samples": args.samples, "rounds": args.rounds}
    for radius in (int(r) for r in args.radii.split(",")):
        width = args.core + 2 * radius
        block = rng.normal(size=(width, width, args.samples)).astype(np.float32)
        wanted = np.zeros((width, width), bool)
        wanted[radius : radius + args.core, radius : radius + args.core] = True
        seconds, medians = best(lambda b=block, w=wanted, r=radius: lateral_median(b, w, r),
                                 args.rounds)  # fmt: skip
        part = block[..., : args.reference_slices]
        reference_s, expected = best(lambda p=part, r=radius: _reference(p, r, args.core),
                                      args.rounds)  # fmt: skip
        inner = medians[radius : radius + args.core, radius : radius + args.core]
        samples = args.core * args.core
        record[f"radius_{radius}"] = {
            "kernel_s_per_chunk": round(seconds, 3),
            "kernel_us_per_sample": round(1e6 * seconds / (samples * args.samples), 3),
            "reference_us_per_sample": round(
                1e6 * reference_s / (samples * args.reference_slices), 3
            ),
            "equal": bool(np.array_equal(inner[..., : args.reference_slices], expected)),
        }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
