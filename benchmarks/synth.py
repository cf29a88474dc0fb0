"""Synthetic survey write speed and memory, next to the disk's raw write speed.

Prints one JSON line: seisflow's synth MB/s on a survey of about --gb gigabytes, its peak
resident memory, and, measured in the same process, (1) the raw write speed of the same
number of bytes from memory (the disk ceiling) and (2) the SEG-Y writers alone on the same
rendered traces: seisflow's block writer against segyio writing trace by trace with header
updates (segyio has no bulk header write).

Usage: python benchmarks/synth.py [--gb 1.0] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import segyio

from seisflow.ingest.segy_writer import SegyWriter, text_header
from seisflow.synth import synthesize
from seisflow.synth.config import SynthConfig
from seisflow.synth.geometry import Block
from seisflow.synth.render import Survey


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_ceiling(path: Path, n_bytes: int) -> float:
    """MB/s of writing ``n_bytes`` from one 16 MB buffer, fsync included."""
    buffer = np.random.default_rng(0).integers(0, 255, 16 << 20, dtype=np.uint8).tobytes()
    start = time.perf_counter()
    with open(path, "wb") as f:
        for _ in range(n_bytes // len(buffer)):
            f.write(buffer)
        f.flush()
        os.fsync(f.fileno())
    seconds = time.perf_counter() - start
    path.unlink()
    return n_bytes / 1e6 / seconds


def writers(root: Path, shape: tuple[int, int, int]) -> tuple[float, float]:
    """MB/s of seisflow's block writer and of segyio (trace by trace, with headers), IBM.

    Both write the same rendered traces and header words, so only the writers differ.
    """
    survey = Survey.from_config(SynthConfig(shape=shape, seed=1))
    traces = survey.render(Block(slice(0, shape[0]), slice(0, shape[1]))).amplitude
    traces = traces.reshape(-1, shape[2])
    i, j = np.divmod(np.arange(traces.shape[0]), shape[1])
    words = {
        segyio.TraceField.INLINE_3D: 1000 + i,
        segyio.TraceField.CROSSLINE_3D: 2000 + j,
        segyio.TraceField.CDP_X: 60_500_000 + 2500 * i,
        segyio.TraceField.CDP_Y: 607_300_000 + 1250 * j,
        segyio.TraceField.SourceGroupScalar: np.full_like(i, -100),
    }
    start = time.perf_counter()
    with SegyWriter(
        root / "ours.sgy",
        samples=shape[2],
        interval_us=4000,
        format="ibm",
        text=text_header([]),
        binary={},
        fields=list(words),
    ) as writer:
        for rows in np.array_split(np.arange(traces.shape[0]), 8):
            writer.write({k: v[rows] for k, v in words.items()}, traces[rows])
    ours = (root / "ours.sgy").stat().st_size / 1e6 / (time.perf_counter() - start)
    spec = segyio.spec()
    spec.format, spec.samples, spec.tracecount = 1, np.arange(shape[2]) * 4.0, traces.shape[0]
    spec.ilines, spec.xlines, spec.sorting = None, None, 2
    start = time.perf_counter()
    with segyio.create(root / "segyio.sgy", spec) as f:
        for k, trace in enumerate(traces):
            f.header[k] = {field: int(values[k]) for field, values in words.items()}
            f.trace[k] = trace
    theirs = (root / "segyio.sgy").stat().st_size / 1e6 / (time.perf_counter() - start)
    return ours, theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="survey size in GB")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder")
    args = parser.parse_args()
    ns = 1500
    n_xl = 400
    n_il = max(8, round(args.gb * 1e9 / (n_xl * (240 + 4 * ns))))
    shape = (n_il, n_xl, ns)
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        baseline = rss_mb()
        start = time.perf_counter()
        result = synthesize(root / "bench.sgy", SynthConfig(shape=shape, seed=1))
        seconds = time.perf_counter() - start
        peak = rss_mb()
        synth_mbs = result.bytes / 1e6 / seconds
        ceiling = disk_ceiling(root / "raw.bin", result.bytes)
        ours, theirs = writers(root, (40, n_xl, ns))
    print(
        json.dumps(
            {
                "benchmark": "synth",
                "shape": shape,
                "segy_mb": round(result.bytes / 1e6, 1),
                "seconds": round(seconds, 2),
                "synth_mb_per_s": round(synth_mbs, 1),
                "disk_write_mb_per_s": round(ceiling, 1),
                "ratio_to_disk": round(synth_mbs / ceiling, 3),
                "writer_mb_per_s": round(ours, 1),
                "segyio_writer_mb_per_s": round(theirs, 1),
                "writer_ratio_to_segyio": round(ours / theirs, 2),
                "peak_rss_mb": round(peak, 1),
                "rss_before_mb": round(baseline, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
