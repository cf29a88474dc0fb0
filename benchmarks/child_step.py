"""One benchmark step in a child process: its wall seconds, its own peak resident and
anonymous memory, and its last line of output (``benchmarks/scale.py``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any


class PeakAnon:
    """Polls ``RssAnon`` of process ``pid`` every 20 ms while in use: its peak
    (``peak_mb``) and when it was read, in seconds from the start (``peak_at_s``), so a
    short spike can be placed among a step's phases."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_mb, self.peak_at_s = pid, 0.0, 0.0
        self._start = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakAnon:
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            try:
                with open(f"/proc/{self.pid}/status") as status:
                    anon = [int(s.split()[1]) / 1024 for s in status if s.startswith("RssAnon:")]
                if anon and anon[0] > self.peak_mb:
                    self.peak_mb, self.peak_at_s = anon[0], time.perf_counter() - self._start
            except OSError:
                return
            if self._stop.wait(0.02):
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def step(
    command: list[str], log: Path, threads: int = 0, interrupt_after: float | None = None
) -> dict[str, Any]:
    """Run ``command`` (stdout and stderr to ``log``): its wall seconds, peak resident and
    anonymous memory (its own, not the parent's or an earlier step's; ``peak_anon_at_s``:
    when the anonymous peak was read, seconds from the start), and its last stdout
    line; raise with the log's tail when it fails. ``threads``: torch's threads in the child
    (``OMP_NUM_THREADS``; 0: its default). ``interrupt_after``: seconds after which the
    child gets SIGINT (Ctrl-C); ending so is not a failure (``interrupted``: True)."""
    env = {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {})}
    with open(log, "w") as out:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        timer = None
        if interrupt_after is not None:
            timer = threading.Timer(interrupt_after, child.send_signal, (signal.SIGINT,))
            timer.start()
        with PeakAnon(child.pid) as memory:
            _, status, usage = os.wait4(child.pid, 0)
        if timer is not None:
            timer.cancel()
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text()
    interrupted = interrupt_after is not None and child.returncode in (-signal.SIGINT, 130)
    if child.returncode != 0 and not interrupted:
        raise RuntimeError(f"{' '.join(command)} failed ({child.returncode}):\n{text[-3000:]}")
    lines = [line for line in text.splitlines() if line.strip()]
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024,
            "peak_anon_mb": memory.peak_mb, "peak_anon_at_s": memory.peak_at_s,
            "load": os.getloadavg()[0], "last": lines[-1] if lines else "",
            "interrupted": interrupted}  # fmt: skip


def seisflow(*args: str) -> list[str]:
    return [sys.executable, "-m", "seisflow", *args]


def fresh_store(folder: Path, shape: tuple[int, int, int]) -> Path:
    """``folder`` emptied, an IBM SEG-Y survey of ``shape`` synthesised (seed 1) and ingested
    into ``folder/survey.zarr``, the SEG-Y deleted: the store's path (logs in ``folder``)."""
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    segy, store = folder / "survey.sgy", folder / "survey.zarr"
    step(seisflow("synth", str(segy), "--shape", ",".join(map(str, shape)), "--seed", "1",
                  "--format", "ibm", "--overwrite"), folder / "synth.log")  # fmt: skip
    step(seisflow("ingest", str(segy), str(store), "--overwrite"), folder / "ingest.log")
    segy.unlink()
    return store
