"""Survey scale: synth -> ingest -> train -> map -> export at one or more survey sizes:
seconds, rates and peak memory of each step, and the flow's bare forward rate beside the map.

Prints one JSON line per size, then (with two or more sizes) one line with the fit of map
time against volume. For each size, in a folder of --root (deleted after it unless --keep):

* ``synth``: ``seisflow synth`` streams an n x n x --samples IBM SEG-Y of about --gb
  gigabytes to disk, block by block (the volume is never held);
* ``ingest``: ``seisflow ingest`` of that file (MB/s of SEG-Y bytes);
* ``train``: ``seisflow train --preset survey-quick`` for --train-steps steps (only so
  there is a run to map; ``train_patches_per_s`` is the trainer's own figure); --train-set
  KEY=VALUE is passed on as ``--set`` (``data.axis`` and ``data.time_window`` change what
  the map scores too);
* ``map``: :func:`seisflow.infer.maps.map_survey` with its defaults (the ``cluster`` facies
  read-out, the ``fused`` anomaly) at --stride, in its own process, timed by wrappers (the
  package is not edited): ``read`` is the time spent waiting on the ``PatchStream``
  iterator (reading, quantising, cutting and batching patches); ``score`` the time inside
  ``score_batch``, of which ``flow`` inside ``FractalFlow.score`` (the rest: the compressor
  score and copies); ``scoring`` from the first read to the last score; ``setup`` before
  it (the run, the store, the lock); ``stitch_write`` after it (the patch table stitched to
  every sample, the read-outs, the writes). Shares are of ``map_seconds``, the call;
* ``forward``: the reference, in its own process: ``FractalFlow.score`` alone under
  ``torch.inference_mode``, glibc reusing large blocks as in the map
  (``seisflow.memory.reused_memory``), on about --forward-patches patches of the same
  tiling (the map's batches, --batch-size, every k-th of them so they spread over the
  survey), read beforehand, best of three rounds (no reading, no compressor score, no
  writing). ``map_to_forward`` is the map's patches/s over it (the
  goal is 0.7 or more), ``scoring_to_forward`` the same for the scoring loop alone;
* ``export``: ``seisflow export`` of the facies layer as SEG-Y on the input geometry.

Each step runs in a child process: ``peak_rss_mb`` is its own peak resident set (``wait4``),
which counts pages of memory-mapped files (the SEG-Y in ingest and export); ``peak_anon_mb``
its peak anonymous memory (``RssAnon`` polled every 20 ms): what the step itself holds;
``peak_anon_at_s`` when that peak was read, seconds from the child's start (to place a short
spike among the step's phases). Seconds are the child's wall-clock, interpreter start and
imports included, except ``map_seconds``. ``*_load`` is the 1-minute load average when the
step ended: on shared cores, a load above the core count means other processes slowed the
step (torch's two threads especially: every operation waits for the slower thread; measured
on 2 shared cores, 20-44 patches/s with two threads against 340-366 with one: OpenMP's
threads spin at every barrier). --threads N sets torch's threads in train, map and forward;
--env KEY=VALUE sets a variable in every step, e.g. ``GOMP_SPINCOUNT=10000`` (spin less
before sleeping: as fast as the default on idle cores, and 1.5x faster with 5x less CPU
beside two busy processes) or ``OMP_WAIT_POLICY=PASSIVE`` (no spinning: 1.5x slower on idle
cores).

The fit: least squares of log seconds of the map (and of its scoring and stitch+write
parts) against log samples; an exponent of 1 is linear in the volume. The projection is
the map time of a 1000 x 1000 x 1500 survey from that fit (same stride, patch size and
machine) and its rate in traces/s per core (``os.cpu_count()`` cores).

Cost floor: a patch is 32 x 32 and the stride at most 32, so at the coarsest stride every
sample is still scored twice (an inline and a crossline patch): about 2 x samples / 1024
patches, some 490 000 for 1 GB of 1000-sample traces.

Usage: python benchmarks/scale.py --gb 1 4 16 --root DIR [--train-steps 20] [--stride 32]
[--samples 1000] [--batch-size 256] [--forward-patches 2048] [--train-set KEY=VALUE]
[--threads N] [--env KEY=VALUE] [--stop-after train|export] [--keep] [--resume]
[--save-every SECONDS]

A size whose map outlasts a sitting is run in pieces: each step's figures are saved to the
size's ``figures.json`` as it ends, and ``--resume`` (keeps the folders) runs only the steps
not done; the map resumes from the scores it saved (every --save-every seconds, the map's
own resumable scoring). A killed map attempt counts the seconds from its start to its last
save (``map_attempts``, each with its start and the commit that ran it); the work after
that save is lost and scored again, not counted. ``benchmarks/map_parts.py`` measures such a
map by its parts on one day instead (a scoring sitting, the bare forward, the layers).

``--stop-after train`` measures synth, ingest and train alone (memory at sizes whose map
would take hours; ``benchmarks/map_layers.py`` measures the map's layers there).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from child_step import seisflow, step
from map_timing import forward_step, map_step

HEADER = 240  # bytes of a SEG-Y trace header
FIGURES = "figures.json"  # each size's figures so far, in its folder (for --resume)
TARGET = (1000, 1000, 1500)  # the survey the map time is projected to


# --- child processes ---------------------------------------------------------------------
def child(threads: int, *args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--threads", str(threads), *args]


def map_command(threads: int, store: Path, run: Path, args: argparse.Namespace) -> list[str]:
    """The map step's child (``args``: ``stride``, ``batch_size``, ``save_every``)."""
    return child(threads, "--step", "map", "--store", str(store), "--run", str(run),
                 "--stride", str(args.stride), "--batch-size", str(args.batch_size),
                 "--save-every", str(args.save_every))  # fmt: skip


def forward_command(threads: int, store: Path, run: Path, args: argparse.Namespace) -> list[str]:
    """The bare forward step's child (``args``: ``stride``, ``batch_size``,
    ``forward_patches``)."""
    return child(threads, "--step", "forward", "--store", str(store), "--run", str(run),
                 "--stride", str(args.stride), "--batch-size", str(args.batch_size),
                 "--forward-patches", str(args.forward_patches))  # fmt: skip


# --- one size -------------------------------------------------------------------------------
def shape_for(gb: float, samples: int) -> tuple[int, int, int]:
    """n x n x ``samples`` with n chosen so the SEG-Y holds about ``gb`` gigabytes."""
    n = max(64, round(math.sqrt(gb * 1e9 / (HEADER + 4 * samples))))
    return n, n, samples


def one_size(gb: float, args: argparse.Namespace) -> dict[str, Any]:
    shape = shape_for(gb, args.samples)
    folder = args.root / f"scale-{gb:g}gb"
    segy, store, run, out = (folder / "survey.sgy", folder / "survey.zarr", folder / "run",
                             folder / "facies.sgy")  # fmt: skip
    traces = shape[0] * shape[1]
    volume_mb = traces * shape[2] * 4 / 1e6
    figures: dict[str, Any] = {"benchmark": "scale", "gb": gb, "shape": list(shape),
                               "traces": traces, "stride": args.stride,
                               "batch_size": args.batch_size, "train_steps": args.train_steps,
                               "train_set": args.train_set,
                               "env": args.env,
                               "cores": os.cpu_count()}  # fmt: skip
    figures = _resumed(folder, figures) if args.resume else _fresh(folder, figures)

    def record(name: str, result: dict[str, Any], **rates: float) -> None:
        figures[f"{name}_seconds"] = round(result["seconds"], 2)
        figures.update({f"{name}_{k}": round(v, 1) for k, v in rates.items()})
        figures[f"{name}_peak_rss_mb"] = round(result["peak_rss_mb"], 1)
        figures[f"{name}_peak_anon_mb"] = round(result["peak_anon_mb"], 1)
        figures[f"{name}_peak_anon_at_s"] = round(result["peak_anon_at_s"], 1)
        figures[f"{name}_load"] = round(result["load"], 2)
        _save(folder, figures)

    shape_arg = ",".join(map(str, shape))
    if "synth_seconds" not in figures:
        result = step(seisflow("synth", str(segy), "--shape", shape_arg, "--seed", "1",
                               "--format", "ibm", "--overwrite"), folder / "synth.log")  # fmt: skip
        figures["segy_mb"] = round(segy.stat().st_size / 1e6, 1)
        record("synth", result, mb_per_s=figures["segy_mb"] / result["seconds"])
    size = segy.stat().st_size
    os.sync()  # no step pays for writing back the pages of the one before
    if "ingest_seconds" not in figures:
        result = step(seisflow("ingest", str(segy), str(store), "--overwrite"),
                      folder / "ingest.log")  # fmt: skip
        figures["store_mb"] = round(sum(p.stat().st_size for p in store.rglob("*")
                                        if p.is_file()) / 1e6, 1)  # fmt: skip
        record("ingest", result, mb_per_s=size / 1e6 / result["seconds"],
               traces_per_s=traces / result["seconds"])  # fmt: skip
    os.sync()
    steps = args.train_steps
    if "train_seconds" not in figures:
        result = step(seisflow("train", str(store), str(run), "--preset", "survey-quick",
                               "--set", f"train.steps={steps}",
                               "--set", f"train.warmup={max(1, steps // 10)}",
                               *(a for kv in args.train_set for a in ("--set", kv)),
                               "--device", "cpu", "--quiet"), folder / "train.log",
                      args.threads)  # fmt: skip
        metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        trainer = [m["patches_per_s"] for m in metrics if "patches_per_s" in m]
        record("train", result, patches_per_s=trainer[-1] if trainer else float("nan"))
    if args.stop_after == "train":
        return _finish(figures, folder, args.keep)
    os.sync()
    if "map_seconds" not in figures:
        _map(figures, folder, store, run, args, record)
    seconds = figures["map_seconds"]
    figures.update({"map_patches_per_s": round(figures["map_patches"] / seconds, 1),
                    "map_traces_per_s": round(traces / seconds, 1),
                    "map_mb_per_s": round(volume_mb / seconds, 2)})  # fmt: skip
    if "forward_patches_per_s" not in figures:
        result = step(forward_command(args.threads, store, run, args), folder / "forward.log")
        bare = json.loads(result["last"])
        figures["forward_load"] = round(result["load"], 2)
        figures.update({"forward_patches": bare["patches"], "forward_threads": bare["threads"],
                        "forward_pass": bare["pass"],
                        "forward_patches_per_s": round(bare["patches_per_s"], 1)})  # fmt: skip
        _save(folder, figures)
    figures["map_to_forward"] = round(figures["map_patches_per_s"]
                                      / figures["forward_patches_per_s"], 3)  # fmt: skip
    if "map_scoring_seconds" in figures:
        loop = figures["map_patches"] / figures["map_scoring_seconds"]
        figures["scoring_patches_per_s"] = round(loop, 1)
        figures["scoring_to_forward"] = round(loop / figures["forward_patches_per_s"], 3)
    os.sync()
    if "export_seconds" not in figures:
        result = step(seisflow("export", str(store), "facies", str(out), "--overwrite"),
                      folder / "export.log")  # fmt: skip
        figures["export_mb"] = round(out.stat().st_size / 1e6, 1)
        record("export", result, mb_per_s=figures["export_mb"] / result["seconds"],
               traces_per_s=traces / result["seconds"])  # fmt: skip
    return _finish(figures, folder, args.keep)


def _map(
    figures: dict[str, Any],
    folder: Path,
    store: Path,
    run: Path,
    args: argparse.Namespace,
    record: Callable[..., None],
) -> None:
    """The map step, one more attempt of it. An attempt that a kill ended (it left no
    figures) is accounted from its saved scores: the seconds from its start to their last
    save count as scoring (the work after that save was lost, and is redone: not counted).
    ``map_seconds`` is those seconds and the last attempt's; its peak memory is the last
    attempt's (the layers are made in it)."""
    attempts = figures.setdefault("map_attempts", [])
    if attempts and "seconds" not in attempts[-1]:
        attempts[-1] |= stopped_attempt(store, attempts[-1])
    attempts.append({"started": round(time.time(), 1), "code": _commit()})
    _save(folder, figures)
    result = step(map_command(args.threads, store, run, args), folder / f"map-{len(attempts)}.log")
    inner = json.loads(result["last"])
    attempts[-1] |= {"seconds": round(inner["seconds"], 2), "restored": inner["restored"],
                     "peak_anon_mb": round(result["peak_anon_mb"], 1)}  # fmt: skip
    kept = sum(a.get("saved_after_seconds", 0.0) for a in attempts[:-1])
    figures["map_threads"] = inner["threads"]
    record("map", result)  # this attempt's peak memory (the layers' pass is in it)
    figures.update({"map_seconds": round(inner["seconds"] + kept, 2),
                    "map_wall_seconds": figures["map_seconds"],
                    "map_patches": inner["patches"]})  # fmt: skip
    for part in ("setup", "read", "score", "flow", "scoring", "stitch_write"):
        if f"{part}_seconds" in inner:
            total = inner[f"{part}_seconds"] + (kept if part == "scoring" else 0.0)
            figures[f"map_{part}_seconds"] = round(total, 2)
            figures[f"map_{part}_share"] = round(total / figures["map_seconds"], 3)
    _save(folder, figures)


def stopped_attempt(store: Path, attempt: dict[str, Any]) -> dict[str, Any]:
    """What a killed map attempt kept: the patches its saved scores hold (with those it
    restored) and the seconds from its start to their last save (the manifest's write),
    less its ``paused_seconds`` (written into ``figures.json`` by hand when the attempt was
    stopped with SIGSTOP for a while, e.g. so that a test run had the cores)."""
    manifest = saved_manifest(store)
    if not manifest.exists():  # killed before its first save: nothing kept
        return {"saved_patches": 0, "saved_after_seconds": 0.0}
    parts = json.loads(manifest.read_text())["parts"]
    seconds = manifest.stat().st_mtime - attempt["started"] - attempt.get("paused_seconds", 0.0)
    return {
        "saved_patches": sum(part["rows"] for part in parts),
        "saved_after_seconds": round(seconds, 1),
    }


def saved_manifest(store: Path) -> Path:
    """The manifest of the scores a map of the local ``store`` saved (absent: none)."""
    from seisflow.infer.saved_scores import MANIFEST, scores_location

    _, root = scores_location(str(store)).filesystem()
    return Path(root) / MANIFEST


def _commit() -> str:
    """The commit of the code that runs (attempts of one map may run different code)."""
    git = subprocess.run(["git", "-C", str(Path(__file__).parent), "rev-parse", "--short",
                          "HEAD"], capture_output=True, text=True, check=False)  # fmt: skip
    return git.stdout.strip() or "unknown"


def _fresh(folder: Path, figures: dict[str, Any]) -> dict[str, Any]:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    _save(folder, figures)
    return figures


def _resumed(folder: Path, figures: dict[str, Any]) -> dict[str, Any]:
    """The figures saved in ``folder`` by an earlier run of the same settings (its steps are
    not run again), or a fresh start when there are none."""
    saved = folder / FIGURES
    if not saved.exists():
        return _fresh(folder, figures)
    earlier = json.loads(saved.read_text())
    changed = [k for k, v in figures.items() if k != "env" and earlier.get(k) != v]
    if changed:
        raise SystemExit(
            f"--resume: {saved} was run with other settings ({', '.join(changed)}:"
            f" {[earlier.get(k) for k in changed]}); run without --resume"
        )
    return earlier


def _save(folder: Path, figures: dict[str, Any]) -> None:
    """Write the figures so far to ``folder``'s figures.json (replaced in one rename)."""
    partial = folder / f"{FIGURES}.partial"
    partial.write_text(json.dumps(figures, indent=1))
    os.replace(partial, folder / FIGURES)


def _finish(figures: dict[str, Any], folder: Path, keep: bool) -> dict[str, Any]:
    if not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return figures


# --- the fit ----------------------------------------------------------------------------------
def fit(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Log-log slopes of map seconds (and parts) against samples, and the projection to
    :data:`TARGET`."""
    import numpy as np

    volume = np.log([math.prod(r["shape"]) for r in rows])
    target = math.prod(TARGET)
    figures: dict[str, Any] = {
        "benchmark": "scale_fit",
        "gb": [r["gb"] for r in rows],
        "stride": rows[0]["stride"],
        "target_shape": list(TARGET),
    }
    for part in ("map", "map_scoring", "map_stitch_write"):
        seconds = [r.get(f"{part}_seconds") for r in rows]
        if any(s is None or s <= 0 for s in seconds):
            continue
        slope, intercept = np.polyfit(volume, np.log(seconds), 1)
        projected = math.exp(intercept) * target**slope
        figures[f"{part}_exponent"] = round(float(slope), 3)
        figures[f"{part}_projected_seconds"] = round(projected, 1)
    if "map_projected_seconds" in figures:
        rate = TARGET[0] * TARGET[1] / figures["map_projected_seconds"]
        figures["map_projected_hours"] = round(figures["map_projected_seconds"] / 3600, 2)
        figures["map_projected_traces_per_s_per_core"] = round(rate / (os.cpu_count() or 1), 2)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, nargs="+", default=[1.0], help="survey sizes, GB")
    parser.add_argument("--root", type=Path, help="scratch folder (a subfolder per size)")
    parser.add_argument("--train-steps", type=int, default=20, help="training steps")
    parser.add_argument("--stride", type=int, default=32, help="map stride (<= patch size 32)")
    parser.add_argument("--samples", type=int, default=1000, help="samples per trace")
    parser.add_argument("--batch-size", type=int, default=256, help="map batch size")
    parser.add_argument("--forward-patches", type=int, default=2048,
                        help="patches of the bare forward reference")  # fmt: skip
    parser.add_argument("--train-set", action="append", default=[], metavar="KEY=VALUE",
                        help="a training setting (seisflow train --set), repeatable")  # fmt: skip
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads of train, map, forward (0: default)")  # fmt: skip
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="an environment variable of every step, repeatable")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep each size's files")
    parser.add_argument("--save-every", type=float, default=300.0,
                        help="seconds between the map's saves of its scores")  # fmt: skip
    parser.add_argument("--resume", action="store_true",
                        help="go on with each size's folder: skip the steps done, resume the "
                             "map from its saved scores (implies --keep)")  # fmt: skip
    parser.add_argument("--stop-after", choices=("train", "export"), default="export",
                        help="the last step (train: no map, forward or export)")  # fmt: skip
    parser.add_argument("--step", choices=("map", "forward"), help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    for setting in args.env:  # inherited by every step's process
        key, _, value = setting.partition("=")
        os.environ[key] = value
    if args.step and args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.step == "map":
        print(json.dumps(map_step(args.store, args.run, args.stride, args.batch_size,
                                  args.save_every)))  # fmt: skip
        return
    if args.step == "forward":
        print(json.dumps(forward_step(args.store, args.run, args.stride, args.batch_size,
                                      args.forward_patches)))  # fmt: skip
        return
    if args.root is None:
        parser.error("--root DIR is needed")
    args.keep = args.keep or args.resume
    rows = []
    for gb in args.gb:
        rows.append(one_size(gb, args))
        print(json.dumps(rows[-1]), flush=True)
    if len(rows) > 1:
        print(json.dumps(fit(rows)), flush=True)


if __name__ == "__main__":
    main()
