"""PatchStream throughput next to plain numpy slicing of the same store, and a trainer proxy.

Prints one JSON line: patches/s (32 x 32, training mode: complete patches, shuffle buffer)
of PatchStream through a DataLoader with 0, 1 and 2 workers, with the DataLoader batching
single patches and with the stream yielding batches of 256; in the same run, the rate of
reading the same store chunk by chunk with zarr and slicing patches (copied, quantised) in
plain numpy; and, as the consumer to keep fed until the trainer lands, the patches/s of
forward + backward through a small residual conv net (8 blocks, width 64) on CPU.

Usage: python benchmarks/stream.py [--patches 40000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import zarr
from torch import nn
from torch.utils.data import DataLoader

from seisflow.ingest import segy_to_zarr
from seisflow.ingest.normalize import Normalization, measure
from seisflow.ingest.patches import PatchSpec, starts
from seisflow.ingest.stream import PatchStream

SHAPE = (120, 300, 750)
SPEC = PatchSpec(size=32, axis="inline", stride=16)


def stream_rate(store: Path, workers: int, n_patches: int, batched: bool) -> float:
    """Patches/s through a DataLoader: it batches single patches, or the stream batches."""
    if batched:
        stream = PatchStream(store, SPEC, seed=0, buffer=4096, batch_size=256)
        loader = DataLoader(stream, batch_size=None, num_workers=workers)
    else:
        stream = PatchStream(store, SPEC, seed=0, buffer=4096)
        loader = DataLoader(stream, batch_size=256, num_workers=workers)
    count = 0
    start = None
    for batch in loader:
        if start is None:  # the first batch pays worker start-up and the first reads
            start = time.perf_counter()
            continue
        count += batch.shape[0]
        if count >= n_patches:
            break
    return count / (time.perf_counter() - start)


def numpy_rate(store: Path, normalization: Normalization) -> float:
    """Chunk by chunk with zarr; every 32 x 32 stride-16 patch inside the chunk, in numpy."""
    array = zarr.open_array(str(store), path="amplitude", mode="r")
    grid = [int(np.ceil(n / c)) for n, c in zip(array.shape, array.chunks, strict=True)]
    count = 0
    start = time.perf_counter()
    for index in np.ndindex(*grid):
        block = normalization.quantize(array.blocks[index])
        along = starts(block.shape[1], SPEC.size, SPEC.stride)
        times = starts(block.shape[2], SPEC.size, SPEC.stride)
        for section in block:
            for j in along:
                for k in times:
                    patch = np.ascontiguousarray(section[j : j + 32, k : k + 32].T)
                    count += patch.ndim > 0
    return count / (time.perf_counter() - start)


def trainer_proxy_rate(batch: int = 256, steps: int = 5) -> float:
    """Forward + backward of a small residual conv net on uint8 patches -> patches/s."""
    torch.manual_seed(0)

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(64, 64, 3, padding=1), nn.SiLU(), nn.Conv2d(64, 64, 3, padding=1)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.body(x)

    net = nn.Sequential(
        nn.Conv2d(1, 64, 3, padding=1), *[Block() for _ in range(8)], nn.Conv2d(64, 2, 3, padding=1)
    )
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4)
    x = torch.randint(0, 256, (batch, 1, 32, 32), dtype=torch.uint8)
    for step in range(steps + 1):
        if step == 1:
            start = time.perf_counter()
        loss = net((x.float() + torch.rand_like(x, dtype=torch.float32)) / 256).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patches", type=int, default=40_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        segy = root / "s.sgy"
        subprocess.run([sys.executable, "-m", "seisflow", "synth", str(segy), "--shape",
                        ",".join(map(str, SHAPE))], check=True, capture_output=True)  # fmt: skip
        store = segy_to_zarr(segy, root / "s.zarr").store
        normalization = measure(store)
        figures = {"benchmark": "stream", "shape": SHAPE, "patch": 32, "stride": 16,
                   "chunks": [64, 64, 256]}  # fmt: skip
        figures["numpy_patches_per_s"] = round(numpy_rate(store, normalization))
        for mode in ("single", "batched"):
            for workers in (0, 1, 2):
                rate = stream_rate(store, workers, args.patches, batched=mode == "batched")
                key = f"stream_{mode}_w{workers}"
                figures[f"{key}_patches_per_s"] = round(rate)
                figures[f"{key}_ratio_to_numpy"] = round(rate / figures["numpy_patches_per_s"], 2)
        figures["trainer_proxy_patches_per_s"] = round(trainer_proxy_rate())
        best = max(v for k, v in figures.items() if k.startswith("stream_") and
                   k.endswith("_patches_per_s"))  # fmt: skip
        figures["best_stream_over_trainer_proxy"] = round(
            best / figures["trainer_proxy_patches_per_s"], 1
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
