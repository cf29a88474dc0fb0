"""The map's layers alone at survey scale: time and peak memory of stitching, reading out
and writing the default layers (``facies`` by the ``cluster`` read-out, ``facies_confidence``,
the ``fused`` ``anomaly``, ``anomaly_hint``) against the volume, without the flow's scoring.

The flow's scoring is the one part of the map whose cost is known per patch (the bare forward
rate of ``benchmarks/scale.py``) and whose memory is one batch; everything after it is what
this measures, at sizes the scoring would take hours to reach on two cores. For each size,
in a folder of --root (deleted after it unless --keep): ``seisflow synth`` streams an
n x n x --samples IBM SEG-Y of about --gb gigabytes, ``seisflow ingest`` stores it, then a
child process runs :func:`seisflow.infer.maps.map_survey` with its defaults at --stride, its
scoring replaced by a seeded synthetic patch table on the same tiling (Dirichlet topic
proportions, normal anomaly scores: the layers' work does not depend on the values),
filled a block at a time into the map's own table columns (``TableFill``, memory-mapped
files in the map's table folder), so the peak is the map's and not a whole-table build's
(int64 positions and float64 proportions). One
run of one training step on the first size gives the patch size, topics and normalisation.
``peak_anon_mb`` is the child's peak anonymous memory (``RssAnon`` every 20 ms), its
interpreter and torch included (not the table's file-backed pages, since 1455a0d), and
``peak_anon_at_s`` when it was read (seconds from the child's start); ``layers_seconds`` the
map call.

Prints one JSON line per size, then (two or more sizes) the log-log slope of seconds and of
peak memory against the volume: 1 is linear, 0 flat.

Usage: python benchmarks/map_layers.py --gb 0.1 0.4 1 --root DIR [--stride 32]
[--samples 1000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from child_step import fresh_store, seisflow, step
from scale import shape_for


def layers_step(store: str, run: str, stride: int) -> dict[str, Any]:
    """In the child: map ``store`` with ``run``, scoring replaced by a synthetic table."""
    import numpy as np

    import seisflow.infer.maps as maps
    from seisflow.infer.score import PatchTable, TableFill
    from seisflow.ingest.patches import columns, expand, sample_range, time_starts
    from seisflow.ingest.store import open_survey

    def synthetic(flow: Any, where: str, spec: Any, *, folder: Any = None, **_: Any) -> PatchTable:
        """The tiling's table (positions in :func:`~seisflow.ingest.stream.tile` order),
        filled 4096 patch columns at a time as the scoring fills it batch by batch, in the
        map's table folder (memory-mapped files) as the scoring's."""
        rng = np.random.default_rng(0)
        survey = open_survey(where)
        grid = columns(spec, survey.trace_mask.values, complete=False)
        k = time_starts(spec, sample_range(survey[survey.amplitude.dims[2]].values,
                                           spec.time_window))  # fmt: skip
        fill, topics = TableFill(len(grid) * len(k), folder=folder), flow.config.topics
        for start in range(0, len(grid), 4096):
            positions = expand(grid[start : start + 4096], k)
            proportions = rng.dirichlet(np.full(topics, 0.5), size=len(positions))
            anomaly = rng.normal(size=len(positions)).astype(np.float32)
            fill.add((positions, proportions.astype(np.float32), anomaly, None, None))
        return fill.table(spec)

    maps.score_patches = synthetic
    start = time.perf_counter()
    summary = maps.map_survey(store, run, stride=stride, overwrite=True, progress=False)
    return {"seconds": time.perf_counter() - start, "patches": summary["patches"]}


def layers_command(store: Path, run: Path, stride: int) -> list[str]:
    """The layers step's child: :func:`layers_step` of ``store`` with ``run``."""
    return [sys.executable, str(Path(__file__).resolve()), "--step", "--store", str(store),
            "--run", str(run), "--stride", str(stride)]  # fmt: skip


def one_size(gb: float, args: argparse.Namespace, run: Path | None) -> tuple[dict[str, Any], Path]:
    shape = shape_for(gb, args.samples)
    folder = args.root / f"layers-{gb:g}gb"
    store = fresh_store(folder, shape)
    if run is None:
        run = args.root / "run"
        step(seisflow("train", str(store), str(run), "--preset", "survey-quick", "--set",
                      "train.steps=1", "--set", "train.warmup=1", "--device", "cpu",
                      "--quiet"), folder / "train.log")  # fmt: skip
    os.sync()
    result = step(layers_command(store, run, args.stride), folder / "layers.log")
    inner = json.loads(result["last"])
    figures = {"benchmark": "map_layers", "gb": gb, "shape": list(shape),
               "samples": math.prod(shape), "stride": args.stride, "patches": inner["patches"],
               "layers_seconds": round(inner["seconds"], 2),
               "traces_per_s": round(shape[0] * shape[1] / inner["seconds"], 1),
               "peak_anon_mb": round(result["peak_anon_mb"], 1),
               "peak_anon_at_s": round(result["peak_anon_at_s"], 1),
               "load": round(result["load"], 2), "cores": os.cpu_count()}  # fmt: skip
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return figures, run


def slopes(rows: list[dict[str, Any]]) -> dict[str, Any]:
    import numpy as np

    volume = np.log([r["samples"] for r in rows])
    figures: dict[str, Any] = {"benchmark": "map_layers_fit", "gb": [r["gb"] for r in rows]}
    for name in ("layers_seconds", "peak_anon_mb"):
        slope = np.polyfit(volume, np.log([r[name] for r in rows]), 1)[0]
        figures[f"{name}_exponent"] = round(float(slope), 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, nargs="+", default=[0.1, 0.4, 1.0])
    parser.add_argument("--root", type=Path, help="scratch folder (a subfolder per size)")
    parser.add_argument("--stride", type=int, default=32, help="map stride (<= patch size)")
    parser.add_argument("--samples", type=int, default=1000, help="samples per trace")
    parser.add_argument("--keep", action="store_true", help="keep each size's store")
    parser.add_argument("--step", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(layers_step(args.store, args.run, args.stride)))
        return
    if args.root is None:
        parser.error("--root DIR is needed")
    rows, run = [], None
    for gb in args.gb:
        row, run = one_size(gb, args, run)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if len(rows) > 1:
        print(json.dumps(slopes(rows)), flush=True)


if __name__ == "__main__":
    main()
