"""The map's scoring memory and speed as it goes (issue 20): anonymous resident memory,
patches/s and page faults against the patches scored, three ways:

* ``fill``: as the map scores now: each batch's rows copied into columns allocated once
  (:class:`seisflow.infer.score.TableFill`) while glibc reuses large blocks
  (:func:`seisflow.memory.reused_memory`);
* ``fill_mapped``: the same with glibc's own thresholds, as the map scored from the morning
  of 2026-12-03 until :func:`~seisflow.memory.reused_memory` (every forward pass's large
  blocks mapped afresh and unmapped when freed);
* ``kept``: as it scored before 2026-12-03: each batch's rows kept in a list to the end, then
  joined into the table (:func:`seisflow.infer.score.patch_table`, the same arrays the
  concatenation made), glibc's own thresholds.

Each variant runs in its own child process, one after the other, on the same store, run,
stride and batch size, over the first ``--patches`` patches of the mapping tiling. Prints one
JSON line: per variant the ``RssAnon`` samples (MB, every ``--every`` batches), patches/s,
minor page faults per patch and user and system CPU seconds (all after the first 20
batches), and the slope of a straight line through the samples after the first fifth (MB
per 100 000 patches).

Usage: python benchmarks/score_memory.py --store S --run R [--patches 100000]
       [--stride 32] [--batch 256] [--every 50] [--variants fill,fill_mapped,kept]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

VARIANTS = ("fill", "fill_mapped", "kept")


def _anon_mb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("RssAnon"))


def _score(args: argparse.Namespace) -> dict[str, Any]:
    """One variant, in this process: the scoring loop of
    :func:`seisflow.infer.score.score_patches` stopped after ``args.patches`` patches."""
    import torch

    from seisflow.infer.score import TableFill, patch_table, score_batch
    from seisflow.ingest.patches import PatchSpec
    from seisflow.ingest.stream import PatchStream
    from seisflow.memory import reused_memory
    from seisflow.runs import open_run

    run = open_run(args.run, device="cpu")
    data = run.config.data
    spec = PatchSpec(size=data.size, axis=data.axis, stride=args.stride,
                     time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip
    normalization = run.normalization(args.store)
    stream = PatchStream(args.store, spec, shuffle=False, return_positions=True,
                         batch_size=args.batch, normalization=normalization)  # fmt: skip
    n = min(args.patches, len(stream))
    fill, kept = TableFill(n), []
    samples: list[tuple[int, int]] = []
    done, started, usage = 0, 0.0, resource.getrusage(resource.RUSAGE_SELF)
    run.flow.eval()
    reuse = reused_memory() if args.variant == "fill" else contextlib.nullcontext()
    with torch.inference_mode(), reuse:
        for batch, (codes, where) in enumerate(stream):
            take = min(len(codes), n - done)
            rows = score_batch(run.flow, codes[:take].numpy(), where[:take].numpy())
            if args.variant == "kept":
                kept.append(rows)
            else:
                fill.add(rows)
            done += take
            if batch == 20:
                started, usage = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
            if batch % args.every == 0:
                samples.append((done, _anon_mb()))
            if done == n:
                break
    seconds = time.perf_counter() - started
    end = resource.getrusage(resource.RUSAGE_SELF)
    table = patch_table(kept, spec) if args.variant == "kept" else fill.table(spec)
    samples.append((len(table.positions), _anon_mb()))
    late = [s for s in samples if s[0] >= n / 5]
    slope = np.polyfit([p / 1e5 for p, _ in late], [a for _, a in late], 1)[0]
    timed = done - 21 * args.batch
    return {"patches": [p for p, _ in samples], "anon_mb": [a for _, a in samples],
            "patches_per_s": round(timed / seconds, 1),
            "faults_per_patch": round((end.ru_minflt - usage.ru_minflt) / timed, 1),
            "user_seconds": round(end.ru_utime - usage.ru_utime, 1),
            "system_seconds": round(end.ru_stime - usage.ru_stime, 1),
            "slope_mb_per_100k": round(float(slope), 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--run", type=Path, required=True)
    parser.add_argument("--patches", type=int, default=100_000)
    parser.add_argument("--stride", type=int, default=32)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, of {', '.join(VARIANTS)}")  # fmt: skip
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(_score(args)))
        return
    result: dict[str, Any] = {"benchmark": "score_memory", "store": args.store,
                              "stride": args.stride, "batch": args.batch}  # fmt: skip
    for variant in args.variants.split(","):
        if variant not in VARIANTS:
            parser.error(f"--variants: {variant} is none of {', '.join(VARIANTS)}")
        command = [sys.executable, __file__, "--variant", variant, *sys.argv[1:]]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        result[variant] = json.loads(out.splitlines()[-1])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
