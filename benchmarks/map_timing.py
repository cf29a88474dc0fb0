"""The map, timed by wrappers (the package is not edited): time waiting on the
``PatchStream`` iterator, inside ``score_batch`` and inside ``FractalFlow.score``, and the
flow's bare forward rate on the same patches (``benchmarks/scale.py`` runs both in child
processes)."""

from __future__ import annotations

import math
import sys
import time
from typing import Any


class Clock:
    """Seconds spent in wrapped calls, the first start and last end of any of them, and the
    patches restored from an interrupted map's saved scores (not scored again)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {"read": 0.0, "score": 0.0, "flow": 0.0}
        self.first = math.inf
        self.last = -math.inf
        self.restored = 0

    def add(self, name: str, start: float, end: float) -> None:
        self.seconds[name] += end - start
        self.first, self.last = min(self.first, start), max(self.last, end)


def instrument(clock: Clock) -> None:
    """Time ``PatchStream`` iteration, ``score_batch`` and ``FractalFlow.score`` wherever
    they are called from (modules that imported ``score_batch`` by name included), and
    count the rows ``SavedScores.restore`` gives back."""
    import seisflow.infer.maps  # noqa: F401  (everything the map imports, imported first)
    import seisflow.infer.score as score
    from seisflow.infer.saved_scores import SavedScores
    from seisflow.ingest.stream import PatchStream
    from seisflow.models import FractalFlow

    iterate, batch, forward = PatchStream.__iter__, score.score_batch, FractalFlow.score
    restore = SavedScores.restore

    def counted_restore(self: Any, fill: Any) -> int:
        rows = restore(self, fill)
        clock.restored += rows
        return rows

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
    SavedScores.restore = counted_restore  # type: ignore[method-assign]
    FractalFlow.score = timed_forward  # type: ignore[method-assign]
    for module in list(sys.modules.values()):
        if getattr(module, "score_batch", None) is batch:
            module.score_batch = timed_batch  # type: ignore[attr-defined]


def map_step(
    store: str, run: str, stride: int, batch_size: int, save_every: float = 300.0
) -> dict[str, Any]:
    """``map_survey`` with its defaults, its seconds split into setup, read, score and
    stitch+write (see the module's docstring), and the patches it restored from an
    interrupted map's saved scores (``restored``: the scoring scored the others)."""
    clock = Clock()
    instrument(clock)
    from seisflow.infer.maps import map_survey

    start = time.perf_counter()
    summary = map_survey(store, run, stride=stride, batch_size=batch_size, overwrite=True,
                         progress=False, save_every=save_every)  # fmt: skip
    end = time.perf_counter()
    split = {f"{k}_seconds": v for k, v in clock.seconds.items()}
    if math.isfinite(clock.first):
        split |= {"setup_seconds": clock.first - start, "stitch_write_seconds": end - clock.last,
                  "scoring_seconds": clock.last - clock.first}  # fmt: skip
    import torch

    return {"seconds": end - start, "patches": summary["patches"], "restored": clock.restored,
            "threads": torch.get_num_threads(), **split}  # fmt: skip


def forward_step(store: str, run_dir: str, stride: int, batch_size: int, n: int) -> dict[str, Any]:
    """``FractalFlow.score`` alone on about ``n`` patches of the map's tiling, read first, in
    batches of ``batch_size`` spread evenly over the tiling (every k-th batch of the map's
    order: the prior's topic inference costs more on some patches than on others, so the
    first batches alone are not the map's mix): patches/s (one warm-up batch not counted).
    glibc reuses large blocks while it runs, as in the map
    (:func:`seisflow.memory.reused_memory`)."""
    import torch

    from seisflow.ingest.normalize import fill_missing
    from seisflow.ingest.patches import PatchSpec
    from seisflow.ingest.stream import PatchStream, tile
    from seisflow.memory import reused_memory
    from seisflow.runs import open_run

    run = open_run(run_dir, device="cpu")
    data, flow = run.config.data, run.flow
    spec = PatchSpec(size=data.size, axis=data.axis, stride=stride,
                     time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip
    stream = PatchStream(store, spec, shuffle=False, batch_size=batch_size,
                         normalization=run.normalization(store))  # fmt: skip
    every = max(1, len(tile(store, spec)) // (n + batch_size))
    batches, held = [], 0
    for index, codes in enumerate(stream):
        if index % every:
            continue
        batches.append(flow.bin_centres(torch.from_numpy(fill_missing(codes.numpy()))))
        held += len(codes)
        if held >= n + batch_size:
            break
    flow.eval()
    rounds = []
    with torch.inference_mode(), reused_memory():
        flow.score(batches[0])  # warm-up
        for _ in range(3):  # the best of three: other processes on the cores slow some down
            start = time.perf_counter()
            for x in batches[1:]:
                flow.score(x)
            rounds.append(time.perf_counter() - start)
    patches, seconds = sum(len(x) for x in batches[1:]), min(rounds)
    return {"patches": patches, "seconds": seconds, "patches_per_s": patches / seconds,
            "threads": torch.get_num_threads(), "pass": batch_size}  # fmt: skip
