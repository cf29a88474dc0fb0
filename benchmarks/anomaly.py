"""Anomaly read-outs of a trained survey flow against a synthetic truth, kind by kind.

Scores every patch of the mapping tiling once (``seisflow.infer.maps.score_patches``: flow
bits/dim and zlib bits/dim), then stitches several per-patch scores to every live sample and
prints one JSON line: AUROC over all anomalous samples and per kind (bright spot, gas
chimney, noise burst, dead traces) for each read-out. The reference in the same run is the
``anomaly`` layer's own read-out (``bits - zlib``, averaged over the covering patches);
the others are the raw flow bits/dim (Nalisnick et al. 2019), the ratio ``bits / zlib``,
and the minimum over the inline and the crossline patches through a sample instead of the
mean (a sample is anomalous only if the sections in both directions say so).

Usage: python benchmarks/anomaly.py --store S.zarr --run RUN_DIR --truth S.truth.zarr
       [--stride 16]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import xarray as xr
from sklearn.metrics import roc_auc_score

from seisflow.infer.maps import (
    PatchTable,
    compressor_bits_per_dim,
    reduce_first,
    score_patches,
    stitch,
)
from seisflow.ingest.normalize import fill_missing
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.store import open_survey
from seisflow.ingest.stream import PatchStream
from seisflow.runs import open_run
from seisflow.synth.anomalies import ANOMALY_KINDS


def _volume(
    table: PatchTable, values: np.ndarray, survey: xr.Dataset, keep: np.ndarray
) -> np.ndarray:
    """``values`` of the patches in ``keep`` averaged at every sample they cover."""
    part = PatchTable(table.positions[keep], table.proportions[keep], values[keep], table.spec)
    shape = tuple(int(n) for n in survey.amplitude.shape)
    chunks, live = survey.amplitude.data.chunks, survey.trace_mask.values
    layer = stitch(part, shape, chunks, reduce_first, values=values[keep, None], live=live,
                   dtype=np.float32)  # fmt: skip
    return layer.compute()


def _aurocs(kind: np.ndarray, score: np.ndarray) -> dict[str, float]:
    out = {"all": float(roc_auc_score(kind > 0, score))}
    for code, name in enumerate(ANOMALY_KINDS[1:], start=1):
        pick = (kind == 0) | (kind == code)
        out[name] = round(float(roc_auc_score(kind[pick] == code, score[pick])), 4)
    out["all"] = round(out["all"], 4)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--stride", type=int, default=None)
    args = parser.parse_args()
    run = open_run(args.run, device="cpu")
    flow, data = run.flow, run.config.data
    normalization = run.normalization(args.store)
    spec = PatchSpec(size=data.size, axis=data.axis, stride=args.stride or data.stride,
                     time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip
    began = time.perf_counter()
    table = score_patches(flow, args.store, spec, normalization=normalization)
    seconds = time.perf_counter() - began
    stream = PatchStream(args.store, spec, shuffle=False, return_positions=True,
                         batch_size=1024, normalization=normalization)  # fmt: skip
    zlib = np.concatenate([compressor_bits_per_dim(fill_missing(x.numpy())) for x, _ in stream])
    bits = table.anomaly + zlib
    survey = open_survey(args.store)
    truth = xr.open_zarr(args.truth)
    live = np.broadcast_to(survey.trace_mask.values[..., None], survey.amplitude.shape)
    kind = truth.anomaly_kind.values[live]
    every = np.ones(len(bits), dtype=bool)
    axis = table.positions[:, 0]
    readouts: dict[str, dict[str, float]] = {}
    for name, values in {
        "bits-zlib": table.anomaly,
        "bits": bits,
        "bits/zlib": bits / zlib,
    }.items():
        readouts[f"{name} mean"] = _aurocs(kind, _volume(table, values, survey, every)[live])
        if spec.axis == "both":
            both = [_volume(table, values, survey, axis == a) for a in (0, 1)]
            readouts[f"{name} min"] = _aurocs(kind, np.minimum(*both)[live])
    counts = {n: int((kind == c).sum()) for c, n in enumerate(ANOMALY_KINDS)}
    print(json.dumps({"bench": "anomaly", "store": str(args.store), "patches": len(bits),
                      "score_s": round(seconds, 1), "samples": counts,
                      "reference": "bits-zlib mean", "readouts": readouts}))  # fmt: skip


if __name__ == "__main__":
    main()
