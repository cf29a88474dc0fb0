"""What the map's stride costs in quality (issue 20, point 5): the default map at strides 8,
16 (the default preset's) and 32, on the untuned surveys of ``benchmarks/facies.py``.

For each survey x training seed: train the default preset once (``survey-quick``,
``train.seed=S``; the same runs as ``benchmarks/facies_readouts.py`` under the same
``--root``), then for each stride map ``facies`` and ``anomaly`` with the defaults
(``seisflow map --stride N``) and score them against the survey's truth with ``seisflow
evaluate``'s scores: facies ARI, anomaly AUROC and average precision, with the patches
scored and the map's seconds. The same-run baselines do not depend on the stride; the best
of them is printed beside each row. One JSON line per (survey, seed, stride), then one
``summary`` line per stride (mean and standard deviation over surveys x seeds).

Usage: python benchmarks/map_stride.py --root DIR [--seeds 0,1] [--surveys 0,1,2]
       [--strides 8,16,32]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from facies import _survey
from facies_readouts import _run

from seisflow.infer.evaluate import evaluate_layers
from seisflow.infer.maps import map_survey


def _row(store: Path, truth: Path, run: Path, stride: int) -> dict[str, Any]:
    started = time.perf_counter()
    done = map_survey(store, run, stride=stride, overwrite=True, progress=False)
    seconds = time.perf_counter() - started
    report = evaluate_layers(store, truth)
    anomaly, baselines = report["anomaly"], report["anomaly_baselines"]
    return {
        "stride": stride,
        "patches": done.get("patches"),
        "map_s": round(seconds, 1),
        "facies_ari": report["facies"]["ari"],
        "best_baseline_facies_ari": max(s["ari"] for s in report["facies_baselines"].values()),
        "anomaly_auroc": anomaly["auroc"],
        "anomaly_ap": anomaly["average_precision"],
        "best_baseline_anomaly_ap": max(
            s["average_precision"] for s in baselines.values() if s is not None
        ),
    }


def _summary(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = []
    for stride in sorted({r["stride"] for r in records}):
        rows = [r for r in records if r["stride"] == stride]
        line: dict[str, Any] = {"summary": stride, "n": len(rows)}
        for key in ("facies_ari", "anomaly_auroc", "anomaly_ap", "map_s", "patches"):
            values = np.array([r[key] for r in rows if r[key] is not None], dtype=float)
            line[key] = [round(float(values.mean()), 4), round(float(values.std()), 4)]
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="Surveys and runs live here.")
    parser.add_argument("--seeds", default="0,1", help="Training seeds (comma list).")
    parser.add_argument("--surveys", default="0,1,2", help="Survey indices (comma list).")
    parser.add_argument("--strides", default="8,16,32", help="Map strides (comma list).")
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    records = []
    for index in (int(i) for i in args.surveys.split(",")):
        store, truth = _survey(args.root, index)
        for seed in (int(s) for s in args.seeds.split(",")):
            run = _run(args.root, store, index, seed, "quick")
            for stride in (int(s) for s in args.strides.split(",")):
                record = {"survey": index, "seed": seed, **_row(store, truth, run, stride)}
                records.append(record)
                print(json.dumps(record), flush=True)
    for line in _summary(records):
        print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
