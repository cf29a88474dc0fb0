"""The cluster facies' k-means fit sample at survey scale: its rows read from the whole
smoothed volume (the reference, as the map did until 2026-12-05) against each sample point
stitched and smoothed over its own box (``facies_cluster.fit_sample_rows``), in one process
on the same store and patch table.

For each size, in a folder of --root (deleted after it): ``seisflow synth`` streams an
n x n x --samples IBM SEG-Y of about --gb gigabytes, ``seisflow ingest`` stores it, and a
seeded synthetic patch table is laid on the map's tiling (32 x 32 patches from both
directions at --stride, Dirichlet(0.5) proportions over 5 topics, as the ``survey-quick``
preset; the work does not depend on the values). Both routes draw the same 100 000 points
(``per_sample.fit_points``, the map's seed and salt) and smooth over the map's
``SMOOTH``; each is timed --repeats times, alternating. Printed, one JSON line per size:
the seconds of each route (best of the repeats), the ratio, the largest difference between
their rows, the share of rows equal bit for bit, and k-means (5 clusters, k-means++ x 4,
seed 0) fitted on each route's rows: the largest difference between the centres and the
share of the fit sample both label alike.

Usage: python benchmarks/fit_sample.py --gb 0.25 1 --root DIR [--stride 32]
[--samples 1000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from child_step import fresh_store
from scale import shape_for

TOPICS = 5


def table_for(store: Path, stride: int) -> Any:
    """The map's tiling of ``store`` (every patch, complete or not) with 32 x 32 patches
    from both directions at ``stride``, seeded Dirichlet(0.5) proportions over
    :data:`TOPICS` topics."""
    import numpy as np

    from seisflow.infer.score import PatchTable
    from seisflow.ingest.patches import PatchSpec, columns, expand, sample_range, time_starts
    from seisflow.ingest.store import open_survey

    spec = PatchSpec(size=32, axis="both", stride=stride)
    survey = open_survey(str(store))
    starts = time_starts(spec, sample_range(survey[survey.amplitude.dims[2]].values,
                                            spec.time_window))  # fmt: skip
    where = expand(columns(spec, survey.trace_mask.values, complete=False), starts)
    rng = np.random.default_rng(0)
    proportions = rng.dirichlet(np.full(TOPICS, 0.5), size=len(where)).astype(np.float32)
    return PatchTable(where, proportions, np.zeros(len(where), np.float32), spec)


def compare(store: Path, stride: int, repeats: int) -> dict[str, Any]:
    """Both routes on ``store``: their best seconds and how far their rows and fits differ."""
    import numpy as np
    from sklearn.cluster import KMeans

    from seisflow.infer.attribute_facies import SMOOTH
    from seisflow.infer.facies_cluster import fit_sample_rows, smoothed_proportions
    from seisflow.infer.per_sample import fit_points, fit_rows
    from seisflow.ingest.store import open_survey

    survey = open_survey(str(store))
    table = table_for(store, stride)
    live = survey.trace_mask.values.astype(bool)
    points = fit_points(live, survey.amplitude.shape[2], samples=100_000, seed=0, salt=0xC1)
    volume = smoothed_proportions(table, survey, SMOOTH)
    routes = {
        "volume": lambda: fit_rows(volume, live, samples=100_000, seed=0, salt=0xC1),
        "points": lambda: fit_sample_rows(table, survey, points, smooth=SMOOTH),
    }
    seconds: dict[str, list[float]] = {name: [] for name in routes}
    rows: dict[str, np.ndarray] = {}
    for _ in range(repeats):
        for name, route in routes.items():
            start = time.perf_counter()
            rows[name] = np.nan_to_num(route())
            seconds[name].append(time.perf_counter() - start)
    fits = {name: KMeans(TOPICS, n_init=4, random_state=0).fit(r) for name, r in rows.items()}
    centres = [fits[name].cluster_centers_ for name in routes]
    return {
        "patches": len(table.positions),
        "points": int(points[0].size),
        "volume_seconds": round(min(seconds["volume"]), 2),
        "points_seconds": round(min(seconds["points"]), 2),
        "speedup": round(min(seconds["volume"]) / min(seconds["points"]), 1),
        "rows_max_abs_diff": float(np.abs(rows["volume"] - rows["points"]).max()),
        "rows_bit_equal_share": round(float((rows["volume"] == rows["points"]).all(1).mean()), 4),
        "centres_max_abs_diff": float(np.abs(centres[0] - centres[1]).max()),
        "labels_equal_share": float((fits["volume"].labels_ == fits["points"].labels_).mean()),
    }


def one_size(gb: float, args: argparse.Namespace) -> dict[str, Any]:
    shape = shape_for(gb, args.samples)
    folder = args.root / f"fit-{gb:g}gb"
    store = fresh_store(folder, shape)
    figures = {"benchmark": "fit_sample", "gb": gb, "shape": list(shape),
               "stride": args.stride, "repeats": args.repeats, "cores": os.cpu_count(),
               **compare(store, args.stride, args.repeats)}  # fmt: skip
    shutil.rmtree(folder, ignore_errors=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, nargs="+", default=[0.25, 1.0])
    parser.add_argument("--root", type=Path, required=True, help="scratch folder")
    parser.add_argument("--stride", type=int, default=32, help="map stride (<= 32)")
    parser.add_argument("--samples", type=int, default=1000, help="samples per trace")
    parser.add_argument("--repeats", type=int, default=2, help="timings of each route")
    args = parser.parse_args()
    for gb in args.gb:
        print(json.dumps(one_size(gb, args)), flush=True)


if __name__ == "__main__":
    main()
