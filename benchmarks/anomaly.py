"""Anomaly read-outs of a trained survey flow against a synthetic truth, kind by kind.

Scores every patch of the mapping tiling once (``seisflow.infer.score.score_patches`` with
the density maps), stitches each read-out to every live sample (the mean over the covering
patches, complete patches first, as the layers are) and prints one JSON line: AUROC over all
anomalous samples and per kind (bright spot, gas chimney, noise burst, dead traces, each
against the clean samples), average precision over all, the kinds' shares of the anomalous
samples, and the seconds each read-out's own work took.

Read-outs (issue 17). Per patch: ``patch bits-zlib`` (the ``anomaly`` layer today: flow
bits/dim minus zlib bits/dim, Serrà et al. 2020: the same-run reference), ``patch bits``,
``patch bits-png`` (the complexity of a compressor that predicts: zlib after PNG's Paeth
filter).
Per position, from :meth:`FractalFlow.density_maps` (bits per pixel): ``position bits``
(all terms), ``position latent`` (the latent energy, no log-det: FastFlow / PyramidFlow),
``position prior`` (the prior's word terms only: Schirrmeister et al. 2020). Two-sided:
``contrast(X)``, the robust lateral z-score of read-out X (:mod:`seisflow.infer.contrast`)
over +-``--radius`` traces (default 8: of 2, 4 and 8, the best on two tuning surveys,
synth seeds 707 and 808, never on the reported ones), samples that only patches holding
fill values cover taking 0, as in the ``anomaly`` layer.
``fused``: the ``anomaly`` layer's default read-out (:mod:`seisflow.infer.fused`),
``|e| + w f`` with ``e`` the signed lateral contrast of the log envelope and ``f`` that of
``patch bits-zlib``, both over +-``--fusion-radius`` traces (16; ``w`` = ``--flow-weight``
0.5, both chosen on the tuning surveys); ``hints`` gives, per true kind, the share of its
samples each :func:`~seisflow.infer.fused.anomaly_hint` code takes.
Baselines in the same run: ``|amplitude|``; ``isolation_forest``, an IsolationForest on
the per-sample QC attributes (:func:`seisflow.infer.qc.qc_isolation_forest`, as in
``seisflow evaluate``); ``contrast(log envelope)``, ``|e|`` alone (the attributes without
the flow: ``envelope_contrast`` in ``seisflow evaluate``); ``attributes: |e| + w
contrast(frequency)``, the fused form with the instantaneous frequency's lateral contrast in
the flow's place (0 where the frequency is undefined).
``untrained: contrast(position bits)`` and ``untrained: fused``: the same read-outs from a
flow of the same configuration that never trained (actnorm and topics initialised on one
batch), the control of what training adds.

Usage: python benchmarks/anomaly.py --store S.zarr --run RUN_DIR --truth S.truth.zarr
       [--stride 16] [--radius 8] [--fusion-radius 16] [--flow-weight 0.5]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import dask.array as da
import numpy as np
import torch
import xarray as xr
from sklearn.metrics import average_precision_score, roc_auc_score

from seisflow.infer.attributes import attributes
from seisflow.infer.contrast import lateral_contrast
from seisflow.infer.fused import FLOW_WEIGHT, FUSION_RADIUS, HINTS, anomaly_hint, fuse
from seisflow.infer.qc import qc_isolation_forest
from seisflow.infer.score import PatchTable, compressor_bits_per_dim, score_patches
from seisflow.infer.stitch import complete_coverage, reduce_first, stitch
from seisflow.ingest.normalize import Normalization, fill_missing
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.store import open_survey
from seisflow.ingest.stream import PatchStream
from seisflow.models import FractalFlow, build_flow
from seisflow.runs import open_run
from seisflow.synth.anomalies import ANOMALY_KINDS

LN2 = math.log(2.0)


def _volume(table: PatchTable, values: np.ndarray, survey: xr.Dataset) -> np.ndarray:
    """Per-patch ``(n,)`` or per-pixel ``(n, size, size)`` values averaged at every sample
    the patches cover: float32 ``(inline, crossline, time)``."""
    layer = stitch(table, survey.amplitude.data.chunks, reduce_first, values=values[:, None],
                   live=survey.trace_mask.values, dtype=np.float32)  # fmt: skip
    return layer.compute()


def _figures(kind: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """AUROC over all and per kind (against the clean samples), average precision over all."""
    score = np.nan_to_num(score, nan=float(np.nanmin(score)))
    out = {"all": round(float(roc_auc_score(kind > 0, score)), 4),
           "ap_all": round(float(average_precision_score(kind > 0, score)), 4)}  # fmt: skip
    for code, name in enumerate(ANOMALY_KINDS[1:], start=1):
        pick = (kind == 0) | (kind == code)
        out[name] = round(float(roc_auc_score(kind[pick] == code, score[pick])), 4)
    return out


def _flow_volumes(flow: FractalFlow, store: Path, spec: PatchSpec, norm: Normalization,
                  survey: xr.Dataset, prefix: str = "") -> tuple[dict, dict]:  # fmt: skip
    """The flow's read-outs as sample volumes, and the seconds each took."""
    began = time.perf_counter()
    table = score_patches(flow, store, spec, normalization=norm, density=True,
                          topics=flow.prior.has_topics)  # fmt: skip
    stream = PatchStream(store, spec, shuffle=False, return_positions=True, batch_size=1024,
                         normalization=norm)  # fmt: skip
    zlib, png = [], []
    for x, _ in stream:
        filled = fill_missing(x.numpy())
        zlib.append(compressor_bits_per_dim(filled))
        png.append(compressor_bits_per_dim(filled, predict=True))
    zlib, png = np.concatenate(zlib), np.concatenate(png)
    scoring = time.perf_counter() - began
    maps = {k: v.astype(np.float32) for k, v in table.density.items()}  # type: ignore[union-attr]
    per_pixel_bits = 8.0 - (maps["logdet"] + maps["factored"] + maps["prior"]) / LN2
    readouts = {
        "patch bits-zlib": table.anomaly,
        "patch bits": table.anomaly + zlib,
        "patch bits-png": table.anomaly + zlib - png,
        "position bits": per_pixel_bits,
        "position latent": -(maps["factored"] + maps["prior"]) / LN2,
        "position prior": -maps["prior"] / LN2,
    }
    volumes, seconds = {}, {}
    for name, values in readouts.items():
        start = time.perf_counter()
        volumes[prefix + name] = _volume(table, values, survey)
        seconds[prefix + name] = time.perf_counter() - start + scoring
    shape = tuple(int(n) for n in survey.amplitude.shape)
    volumes[prefix + "trusted"] = complete_coverage(
        table, shape, survey.amplitude.data.chunks, survey.trace_mask.values
    ).compute()
    return volumes, seconds


def _untrained(run_flow: FractalFlow, store: Path, spec: PatchSpec, norm: Normalization,
               seed: int = 0) -> FractalFlow:  # fmt: skip
    """A flow of the same configuration that never trained: actnorm and the topics
    initialised on one batch of the training stream, as the trainer's first step does."""
    torch.manual_seed(seed)
    flow = build_flow(run_flow.config)
    batch = next(iter(PatchStream(store, spec, seed=seed, batch_size=256, normalization=norm)))
    flow.train()
    with torch.no_grad():
        flow.loss(batch)
    return flow.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--truth", type=Path, required=True)
    parser.add_argument("--stride", type=int, default=None)
    parser.add_argument("--radius", type=int, default=8, help="Lateral contrast radius.")
    parser.add_argument("--fusion-radius", type=int, default=FUSION_RADIUS,
                        help="Lateral contrast radius of the fused rows.")  # fmt: skip
    parser.add_argument("--flow-weight", type=float, default=FLOW_WEIGHT,
                        help="Weight of the flow's contrast in the fused rows.")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(2)
    run = open_run(args.run, device="cpu")
    data = run.config.data
    norm = run.normalization(args.store)
    spec = PatchSpec(size=data.size, axis=data.axis, stride=args.stride or data.stride,
                     time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip
    survey = open_survey(args.store)
    mask = survey.trace_mask.values
    live = np.broadcast_to(mask[..., None], survey.amplitude.shape)
    kind = xr.open_zarr(args.truth).anomaly_kind.values[live]
    volumes, seconds = _flow_volumes(run.flow, args.store, spec, norm, survey)
    trusted = volumes.pop("trusted")
    for name in ("patch bits-zlib", "patch bits-png", "patch bits", "position bits",
                 "position latent"):  # fmt: skip
        start = time.perf_counter()
        volumes[f"contrast({name})"] = lateral_contrast(volumes[name], mask, radius=args.radius,
                                                        trusted=trusted)  # fmt: skip
        seconds[f"contrast({name})"] = seconds[name] + time.perf_counter() - start
    untrained = _untrained(run.flow, args.store, spec, norm)
    control, _ = _flow_volumes(untrained, args.store, spec, norm, survey, prefix="untrained: ")
    control.pop("untrained: trusted")
    volumes["untrained: contrast(position bits)"] = lateral_contrast(
        control["untrained: position bits"], mask, radius=args.radius, trusted=trusted
    )
    start = time.perf_counter()
    signed = lateral_contrast(attributes(survey, names=("log_envelope",)).log_envelope.values,
                              mask, radius=args.fusion_radius, signed=True)  # fmt: skip
    volumes["contrast(log envelope)"] = np.abs(signed)
    seconds["contrast(log envelope)"] = time.perf_counter() - start
    frequency = attributes(survey, names=("frequency",)).frequency.values
    texture = np.nan_to_num(lateral_contrast(frequency, mask, radius=args.fusion_radius))
    volumes["attributes: |e| + w contrast(frequency)"] = np.abs(signed) + args.flow_weight * texture
    for prefix, source in (("", volumes), ("untrained: ", control)):
        flow_part = lateral_contrast(source[prefix + "patch bits-zlib"], mask,
                                     radius=args.fusion_radius, trusted=trusted)  # fmt: skip
        if not prefix:
            volumes[f"contrast r{args.fusion_radius}(patch bits-zlib)"] = flow_part
            hints = anomaly_hint(da.from_array(flow_part), da.from_array(signed),
                                 flow_weight=args.flow_weight).compute()  # fmt: skip
        volumes[prefix + "fused"] = fuse(flow_part, signed, flow_weight=args.flow_weight)
    seconds["fused"] = seconds["contrast(log envelope)"] + seconds["contrast(patch bits-zlib)"]
    start = time.perf_counter()
    volumes["|amplitude|"] = np.abs(survey.amplitude.values)
    seconds["|amplitude|"] = time.perf_counter() - start
    start = time.perf_counter()
    volumes["isolation_forest"] = qc_isolation_forest(survey, seed=0).compute()
    seconds["isolation_forest"] = time.perf_counter() - start
    readouts = {name: _figures(kind, volume[live]) for name, volume in volumes.items()}
    counts = {n: int((kind == c).sum()) for c, n in enumerate(ANOMALY_KINDS)}
    hinted = {n: {h: round(float(np.mean(hints[live][kind == c] == code)), 4)
                  for code, h in enumerate(HINTS)}
              for c, n in enumerate(ANOMALY_KINDS)}  # fmt: skip
    traces = int(mask.sum())
    print(json.dumps({"bench": "anomaly", "store": str(args.store), "run": str(args.run),
                      "samples": counts, "reference": "patch bits-zlib",
                      "ms_per_trace": {k: round(1e3 * v / traces, 3) for k, v in seconds.items()},
                      "readouts": readouts, "hints": hinted}))  # fmt: skip


if __name__ == "__main__":
    main()
