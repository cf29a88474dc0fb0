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
  ``torch.inference_mode`` on the first --forward-patches patches of the same tiling, read
  beforehand, in the passes the map makes (--batch-size, at most
  ``seisflow.infer.score.CPU_PASS`` on a CPU), best of three rounds (no reading, no
  compressor score, no writing). ``map_to_forward`` is the map's patches/s over it (the
  goal is 0.7 or more), ``scoring_to_forward`` the same for the scoring loop alone;
* ``export``: ``seisflow export`` of the facies layer as SEG-Y on the input geometry.

Each step runs in a child process: ``peak_rss_mb`` is its own peak resident set
(``wait4``), which counts pages of memory-mapped files (the SEG-Y in ingest and export);
``peak_anon_mb`` its peak anonymous memory (``RssAnon`` polled every 20 ms): what the step
itself holds. Seconds are the child's wall-clock, interpreter start and imports included,
except ``map_seconds``. ``*_load`` is the 1-minute load average when the step ended: on
shared cores, a load above the core count means other processes slowed the step (torch's
two threads especially: every operation waits for the slower thread; measured on 2 shared
cores, 20-44 patches/s with two threads against 340-366 with one: OpenMP's threads spin
at every barrier). --threads N sets torch's threads in train, map and forward; --env
KEY=VALUE sets a variable in every step, e.g. ``GOMP_SPINCOUNT=10000`` (spin less before
sleeping: as fast as the default on idle cores, and 1.5x faster with 5x less CPU beside two
busy processes) or ``OMP_WAIT_POLICY=PASSIVE`` (no spinning: 1.5x slower on idle cores).

The fit: least squares of log seconds of the map (and of its scoring and stitch+write
parts) against log samples; an exponent of 1 is linear in the volume. The projection is
the map time of a 1000 x 1000 x 1500 survey from that fit (same stride, patch size and
machine) and its rate in traces/s per core (``os.cpu_count()`` cores).

Cost floor: a patch is 32 x 32 and the stride at most 32, so at the coarsest stride every
sample is still scored twice (an inline and a crossline patch): about 2 x samples / 1024
patches, some 490 000 for 1 GB of 1000-sample traces.

Usage: python benchmarks/scale.py --gb 1 4 16 --root DIR [--train-steps 20] [--stride 32]
[--samples 1000] [--batch-size 256] [--forward-patches 2048] [--train-set KEY=VALUE]
[--threads N] [--env KEY=VALUE] [--keep]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HEADER = 240  # bytes of a SEG-Y trace header
TARGET = (1000, 1000, 1500)  # the survey the map time is projected to


# --- steps in child processes ---------------------------------------------------------------
class PeakAnon:
    """Polls ``RssAnon`` of process ``pid`` every 20 ms while in use (``peak_mb``)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakAnon:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                with open(f"/proc/{self.pid}/status") as status:
                    for line in status:
                        if line.startswith("RssAnon:"):
                            self.peak_mb = max(self.peak_mb, int(line.split()[1]) / 1024)
            except OSError:
                return
            if self._stop.wait(0.02):
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def step(command: list[str], log: Path, threads: int = 0) -> dict[str, Any]:
    """Run ``command`` (stdout and stderr to ``log``): its wall seconds, peak resident and
    anonymous memory (its own, not the parent's or an earlier step's), and its last stdout
    line; raise with the log's tail when it fails. ``threads``: torch's threads in the child
    (``OMP_NUM_THREADS``; 0: its default)."""
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    with open(log, "w") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        with PeakAnon(child.pid) as memory:
            _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}):\n{text[-3000:]}")
    lines = [line for line in text.splitlines() if line.strip()]
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
            "peak_anon_mb": memory.peak_mb, "load": os.getloadavg()[0],
            "last": lines[-1] if lines else ""}  # fmt: skip


def seisflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "seisflow", *args]


def child(threads: int, *args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--threads", str(threads), *args]


# --- the map, instrumented (runs in the child) ----------------------------------------------
class Clock:
    """Seconds spent in wrapped calls, and the first start and last end of any of them."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {"read": 0.0, "score": 0.0, "flow": 0.0}
        self.first = math.inf
        self.last = -math.inf

    def add(self, name: str, start: float, end: float) -> None:
        self.seconds[name] += end - start
        self.first, self.last = min(self.first, start), max(self.last, end)


def instrument(clock: Clock) -> None:
    """Time ``PatchStream`` iteration, ``score_batch`` and ``FractalFlow.score`` wherever
    they are called from (modules that imported ``score_batch`` by name included)."""
    import seisflow.infer.maps  # noqa: F401  (everything the map imports, imported first)
    import seisflow.infer.score as score
    from seisflow.ingest.stream import PatchStream
    from seisflow.models import FractalFlow

    iterate, batch, forward = PatchStream.__iter__, score.score_batch, FractalFlow.score

    def timed_iter(self: Any) -> Any:
        inner = iterate(self)
        while True:
            start = time.perf_counter()
            try:
                item = next(inner)
            except StopIteration:
                clock.add("read", start, time.perf_counter())
                return
            clock.add("read", start, time.perf_counter())
            yield item

    def timed_batch(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return batch(*args, **kwargs)
        finally:
            clock.add("score", start, time.perf_counter())

    def timed_forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return forward(self, *args, **kwargs)
        finally:
            clock.seconds["flow"] += time.perf_counter() - start

    PatchStream.__iter__ = timed_iter  # type: ignore[method-assign]
    FractalFlow.score = timed_forward  # type: ignore[method-assign]
    for module in list(sys.modules.values()):
        if getattr(module, "score_batch", None) is batch:
            module.score_batch = timed_batch  # type: ignore[attr-defined]


def map_step(store: str, run: str, stride: int, batch_size: int) -> dict[str, Any]:
    """``map_survey`` with its defaults, its seconds split into setup, read, score and
    stitch+write (see the module's docstring)."""
    clock = Clock()
    instrument(clock)
    from seisflow.infer.maps import map_survey

    start = time.perf_counter()
    summary = map_survey(store, run, stride=stride, batch_size=batch_size, overwrite=True,
                         progress=False)  # fmt: skip
    end = time.perf_counter()
    split = {f"{k}_seconds": v for k, v in clock.seconds.items()}
    if math.isfinite(clock.first):
        split |= {"setup_seconds": clock.first - start, "stitch_write_seconds": end - clock.last,
                  "scoring_seconds": clock.last - clock.first}  # fmt: skip
    import torch

    return {"seconds": end - start, "patches": summary["patches"],
            "threads": torch.get_num_threads(), **split}  # fmt: skip


def forward_step(store: str, run_dir: str, stride: int, batch_size: int, n: int) -> dict[str, Any]:
    """``FractalFlow.score`` alone on the first ``n`` patches of the map's tiling, read
    first, in batches of ``batch_size``: patches/s (one warm-up batch not counted)."""
    import torch

    import seisflow.infer.score as score
    from seisflow.ingest.normalize import fill_missing
    from seisflow.ingest.patches import PatchSpec
    from seisflow.ingest.stream import PatchStream
    from seisflow.runs import open_run

    run = open_run(run_dir, device="cpu")
    data, flow = run.config.data, run.flow
    batch_size = min(batch_size, getattr(score, "CPU_PASS", batch_size))  # the map's passes
    spec = PatchSpec(size=data.size, axis=data.axis, stride=stride,
                     time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip
    stream = PatchStream(store, spec, shuffle=False, batch_size=batch_size,
                         normalization=run.normalization(store))  # fmt: skip
    batches, held = [], 0
    for codes in stream:
        batches.append(flow.bin_centres(torch.from_numpy(fill_missing(codes.numpy()))))
        held += len(codes)
        if held >= n + batch_size:
            break
    flow.eval()
    rounds = []
    with torch.inference_mode():
        flow.score(batches[0])  # warm-up
        for _ in range(3):  # the best of three: other processes on the cores slow some down
            start = time.perf_counter()
            for x in batches[1:]:
                flow.score(x)
            rounds.append(time.perf_counter() - start)
    patches, seconds = sum(len(x) for x in batches[1:]), min(rounds)
    return {"patches": patches, "seconds": seconds, "patches_per_s": patches / seconds,
            "threads": torch.get_num_threads(), "pass": batch_size}  # fmt: skip


# --- one size -------------------------------------------------------------------------------
def shape_for(gb: float, samples: int) -> tuple[int, int, int]:
    """n x n x ``samples`` with n chosen so the SEG-Y holds about ``gb`` gigabytes."""
    n = max(64, round(math.sqrt(gb * 1e9 / (HEADER + 4 * samples))))
    return n, n, samples


def one_size(gb: float, args: argparse.Namespace) -> dict[str, Any]:
    shape = shape_for(gb, args.samples)
    folder = args.root / f"scale-{gb:g}gb"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
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

    def record(name: str, result: dict[str, Any], **rates: float) -> None:
        figures[f"{name}_seconds"] = round(result["seconds"], 2)
        figures.update({f"{name}_{k}": round(v, 1) for k, v in rates.items()})
        figures[f"{name}_peak_rss_mb"] = round(result["peak_rss_mb"], 1)
        figures[f"{name}_peak_anon_mb"] = round(result["peak_anon_mb"], 1)
        figures[f"{name}_load"] = round(result["load"], 2)

    shape_arg = ",".join(map(str, shape))
    result = step(seisflow("synth", str(segy), "--shape", shape_arg, "--seed", "1", "--format",
                           "ibm", "--overwrite"), folder / "synth.log")  # fmt: skip
    size = segy.stat().st_size
    figures["segy_mb"] = round(size / 1e6, 1)
    record("synth", result, mb_per_s=size / 1e6 / result["seconds"])
    os.sync()  # no step pays for writing back the pages of the one before
    result = step(seisflow("ingest", str(segy), str(store), "--overwrite"), folder / "ingest.log")
    record("ingest", result, mb_per_s=size / 1e6 / result["seconds"],
           traces_per_s=traces / result["seconds"])  # fmt: skip
    figures["store_mb"] = round(sum(p.stat().st_size for p in store.rglob("*") if p.is_file())
                                / 1e6, 1)  # fmt: skip
    os.sync()
    steps = args.train_steps
    result = step(seisflow("train", str(store), str(run), "--preset", "survey-quick", "--set",
                           f"train.steps={steps}", "--set", f"train.warmup={max(1, steps // 10)}",
                           *(a for kv in args.train_set for a in ("--set", kv)),
                           "--device", "cpu", "--quiet"), folder / "train.log",
                  args.threads)  # fmt: skip
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    trainer = [m["patches_per_s"] for m in metrics if "patches_per_s" in m]
    record("train", result, patches_per_s=trainer[-1] if trainer else float("nan"))
    os.sync()
    result = step(child(args.threads, "--step", "map", "--store", str(store), "--run", str(run),
                        "--stride", str(args.stride), "--batch-size", str(args.batch_size)),
                  folder / "map.log")  # fmt: skip
    inner = json.loads(result["last"])
    figures["map_threads"] = inner["threads"]
    seconds = inner["seconds"]
    record("map", result)
    figures.update({"map_seconds": round(seconds, 2), "map_wall_seconds": figures["map_seconds"],
                    "map_patches": inner["patches"],
                    "map_patches_per_s": round(inner["patches"] / seconds, 1),
                    "map_traces_per_s": round(traces / seconds, 1),
                    "map_mb_per_s": round(volume_mb / seconds, 2)})  # fmt: skip
    for part in ("setup", "read", "score", "flow", "scoring", "stitch_write"):
        if f"{part}_seconds" in inner:
            figures[f"map_{part}_seconds"] = round(inner[f"{part}_seconds"], 2)
            figures[f"map_{part}_share"] = round(inner[f"{part}_seconds"] / seconds, 3)
    result = step(child(args.threads, "--step", "forward", "--store", str(store), "--run", str(run),
                        "--stride", str(args.stride), "--batch-size", str(args.batch_size),
                        "--forward-patches", str(args.forward_patches)),
                  folder / "forward.log")  # fmt: skip
    bare = json.loads(result["last"])
    figures["forward_load"] = round(result["load"], 2)
    figures.update({"forward_patches": bare["patches"], "forward_threads": bare["threads"],
                    "forward_pass": bare["pass"],
                    "forward_patches_per_s": round(bare["patches_per_s"], 1),
                    "map_to_forward": round(inner["patches"] / seconds / bare["patches_per_s"],
                                            3)})  # fmt: skip
    if "scoring_seconds" in inner:
        loop = inner["patches"] / inner["scoring_seconds"]
        figures["scoring_patches_per_s"] = round(loop, 1)
        figures["scoring_to_forward"] = round(loop / bare["patches_per_s"], 3)
    os.sync()
    result = step(seisflow("export", str(store), "facies", str(out), "--overwrite"),
                  folder / "export.log")  # fmt: skip
    written = out.stat().st_size
    record("export", result, mb_per_s=written / 1e6 / result["seconds"],
           traces_per_s=traces / result["seconds"])  # fmt: skip
    figures["export_mb"] = round(written / 1e6, 1)
    if not args.keep:
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
        print(json.dumps(map_step(args.store, args.run, args.stride, args.batch_size)))
        return
    if args.step == "forward":
        print(json.dumps(forward_step(args.store, args.run, args.stride, args.batch_size,
                                      args.forward_patches)))  # fmt: skip
        return
    if args.root is None:
        parser.error("--root DIR is needed")
    rows = []
    for gb in args.gb:
        rows.append(one_size(gb, args))
        print(json.dumps(rows[-1]), flush=True)
    if len(rows) > 1:
        print(json.dumps(fit(rows)), flush=True)


if __name__ == "__main__":
    main()
