"""Ingest throughput and memory, next to a same-codec ceiling, MDIO and segysak.

Prints one JSON line. On a generated survey of about --gb gigabytes (IBM or IEEE floats,
--format, inline sorted), in one process, each with its peak anonymous memory (RssAnon:
file-backed pages of the memory-mapped SEG-Y do not count):

* seisflow: ``segy_to_zarr`` with its defaults (blosc-lz4, chunks 64 x 64 x 256, threads);
* ceiling: segyio slab reads (``trace.raw`` over whole inlines) written by plain zarr with
  the same codec and chunks, no geometry, coordinates, statistics or safety;
* MDIO (``segy_to_mdio``) and segysak (lazy ``open_dataset`` + ``to_zarr``) when installed
  (``pip install -e '.[bench]'``).

Every contender first runs once on a tiny file, so imports, JIT compilation and CRS database
loads are not counted as throughput. The SEG-Y file is in the page cache for all of them;
dirty pages are flushed (``os.sync``) before each timed run, so that no contender pays for
writing back what was written before it. With --repeat N each contender runs N times
(alternating) and its fastest run is kept.

Usage: python benchmarks/ingest.py [--gb 1.0] [--format ibm|ieee] [--repeat 1] [--dir /tmp]
[--skip-others]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import segyio
import zarr

from seisflow.ingest import segy_to_zarr
from seisflow.ingest.store import compressor


class PeakAnon:
    """Samples RssAnon of this process every 20 ms while in use; ``peak_mb`` is the maximum."""

    def __enter__(self) -> PeakAnon:
        self.peak_mb = self._read()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak_mb = max(self.peak_mb, self._read())

    @staticmethod
    def _read() -> float:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_mb = max(self.peak_mb, self._read())


def measure(name: str, run: Callable[[], Any], size: int, figures: dict[str, Any]) -> None:
    """Run ``run`` once after flushing dirty pages; record MB/s of ``size`` input bytes and
    peak anonymous memory (the fastest run and the highest peak when called again)."""
    os.sync()
    with PeakAnon() as memory:
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
    if seconds < figures.get(f"{name}_seconds", float("inf")):
        figures[f"{name}_mb_per_s"] = round(size / 1e6 / seconds, 1)
        figures[f"{name}_seconds"] = round(seconds, 2)
    peak = max(memory.peak_mb, figures.get(f"{name}_peak_anon_mb", 0.0))
    figures[f"{name}_peak_anon_mb"] = round(peak, 1)


def ceiling(segy: Path, store: Path, chunks: tuple[int, int, int]) -> None:
    """segyio slab reads (whole inlines) written by plain zarr, same codec and chunks."""
    with segyio.open(segy) as f:
        f.mmap()
        n_il, n_xl, ns = len(f.ilines), len(f.xlines), len(f.samples)
        array = zarr.create_array(
            store=str(store),
            shape=(n_il, n_xl, ns),
            chunks=chunks,
            dtype="float32",
            compressors=[compressor("blosc-lz4")],
            zarr_format=3,
        )
        for start in range(0, n_il, chunks[0]):
            stop = min(start + chunks[0], n_il)
            slab = f.trace.raw[start * n_xl : stop * n_xl]
            array[start:stop] = slab.reshape(stop - start, n_xl, ns)


def mdio(segy: Path, store: Path) -> None:
    from mdio import segy_to_mdio
    from mdio.builder.template_registry import TemplateRegistry
    from segy.schema import HeaderField
    from segy.standards import get_segy_standard

    spec = get_segy_standard(1.0).customize(
        trace_header_fields=[
            HeaderField(name="inline", byte=189, format="int32"),
            HeaderField(name="crossline", byte=193, format="int32"),
            HeaderField(name="cdp_x", byte=181, format="int32"),
            HeaderField(name="cdp_y", byte=185, format="int32"),
        ]
    )
    template = TemplateRegistry().get("PostStack3DTime")
    segy_to_mdio(
        segy_spec=spec, mdio_template=template, input_path=segy, output_path=store, overwrite=True
    )


def segysak(segy: Path, store: Path) -> None:
    import xarray as xr

    dataset = xr.open_dataset(
        segy,
        engine="sgy_engine",
        dim_byte_fields={"iline": 189, "xline": 193},
        extra_byte_fields={"cdp_x": 181, "cdp_y": 185},
    )
    dataset.to_zarr(store, mode="w")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0, help="survey size in GB")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder")
    parser.add_argument("--format", choices=("ibm", "ieee"), default="ibm", help="sample format")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each; the fastest kept")
    parser.add_argument("--skip-others", action="store_true", help="no MDIO, no segysak")
    args = parser.parse_args()
    ns, n_xl = 1500, 400
    n_il = max(8, round(args.gb * 1e9 / (n_xl * (240 + 4 * ns))))
    chunks = (64, 64, 256)
    figures: dict[str, Any] = {
        "benchmark": "ingest",
        "format": args.format,
        "shape": [n_il, n_xl, ns],
        "repeat": args.repeat,
    }
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        segy = root / "survey.sgy"  # written by another process: a clean memory baseline here
        subprocess.run(
            [sys.executable, "-m", "seisflow", "synth", str(segy), "--shape",
             f"{n_il},{n_xl},{ns}", "--seed", "1", "--format", args.format],
            check=True, capture_output=True,
        )  # fmt: skip
        size = segy.stat().st_size
        figures["segy_mb"] = round(size / 1e6, 1)
        warm = root / "warm.sgy"  # first-call costs (imports, CRS database) are not throughput
        subprocess.run([sys.executable, "-m", "seisflow", "synth", str(warm), "--shape",
                        "8,8,64"], check=True, capture_output=True)  # fmt: skip
        segy_to_zarr(warm, root / "warm.zarr")
        for _ in range(args.repeat):
            for path in (root / "seisflow.zarr", root / "ceiling.zarr"):
                shutil.rmtree(path, ignore_errors=True)
            measure("seisflow", lambda: segy_to_zarr(segy, root / "seisflow.zarr"), size, figures)
            measure("ceiling", lambda: ceiling(segy, root / "ceiling.zarr", chunks), size, figures)
        figures["ratio_to_ceiling"] = round(
            figures["seisflow_mb_per_s"] / figures["ceiling_mb_per_s"], 3
        )
        others = {} if args.skip_others else {"mdio": mdio, "segysak": segysak}
        for name, run in others.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    run(warm, root / f"warm-{name}.zarr")  # imports, JIT compilation
                    measure(
                        name,
                        lambda run=run, name=name: run(segy, root / f"{name}.zarr"),
                        size,
                        figures,
                    )
                figures[f"ratio_to_{name}"] = round(
                    figures["seisflow_mb_per_s"] / figures[f"{name}_mb_per_s"], 2
                )
            except ImportError as exc:
                figures[f"{name}_skipped"] = f"not installed ({exc.name})"
        stored = sum(p.stat().st_size for p in (root / "seisflow.zarr").rglob("*") if p.is_file())
        figures["store_mb"] = round(stored / 1e6, 1)
        check = zarr.open_array(str(root / "seisflow.zarr"), path="amplitude")
        reference = zarr.open_array(str(root / "ceiling.zarr"))
        figures["equal_to_ceiling"] = bool(np.array_equal(check[:8], reference[:8]))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
