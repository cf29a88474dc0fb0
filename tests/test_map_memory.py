"""Peak memory of ``seisflow map`` stays flat in the survey's volume.

Two stores of the same kind, one four times the other's volume (each many times the stream's
chunk cache) and both with the same live traces (so the patches scored, and the table of
their rows, are the same), are mapped in subprocesses with the same tiny run; the peak
resident memory (``ru_maxrss``) of the larger map may not grow by half the volume it adds. A
map that held the volume once would grow by all of it (before the layers were written in
slabs, :func:`seisflow.infer.writeback.slabs`, it grew by twice that: 940 -> 1207 MB).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import zarr

from seisflow.ingest.store import create_store, finish
from seisflow.storage import Location
from seisflow.train import train

CHUNKS = (16, 16, 600)
SAMPLES = 1200
LIVE = 32
RUN = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=2",
       "train.eval_every=0", "data.size=16", "data.stride=8", "data.buffer=128",
       "model.topics=3", "model.prior=lda", "train.warmup=0"]  # fmt: skip
MAP = (
    "import json, resource, sys\n"
    "from seisflow.infer.maps import map_survey\n"
    "map_survey(sys.argv[1], sys.argv[2], stride=16, batch_size=512, progress=False)\n"
    "print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024))\n"
)


def _store(path, n_il: int, n_xl: int) -> int:
    """A survey store of ``n_il x n_xl x SAMPLES`` layered noise, written chunk by chunk,
    with live traces in the first :data:`LIVE` x :data:`LIVE` only (the patches to score
    stay few: the test is about the volume, not the scoring); returns its amplitude bytes."""
    location = Location(str(path))
    rng = np.random.default_rng(n_il)
    x, y = np.meshgrid(np.arange(n_xl) * 25.0, np.arange(n_il) * 25.0)
    live = np.zeros((n_il, n_xl), bool)
    live[:LIVE, :LIVE] = True
    create_store(location, inlines=np.arange(n_il), crosslines=np.arange(n_xl),
                 samples=np.arange(SAMPLES) * 4.0, domain="time",
                 trace_mask=live, cdp_x=x, cdp_y=y, grid_mapping={},
                 chunks=CHUNKS, codec=None)  # fmt: skip
    array = zarr.open_array(str(path), path="amplitude", mode="r+")
    layers = np.sin(np.arange(SAMPLES) / 7.0).astype(np.float32)
    for i in range(0, n_il, CHUNKS[0]):
        block = layers + rng.normal(0, 0.3, (CHUNKS[0], n_xl, SAMPLES)).astype(np.float32)
        block[~live[i : i + CHUNKS[0]]] = np.nan
        array[i : i + CHUNKS[0]] = block[: n_il - i]
    stats = {"count": n_il * n_xl * SAMPLES, "nan_count": 0, "inf_count": 0, "min": -3.0,
             "max": 3.0, "mean": 0.0, "rms": 0.8, "std": 0.8}  # fmt: skip
    finish(location, location, {"statistics": stats, "seisflow_version": "test",
                                "byte_locations": {}, "domain": "time"})  # fmt: skip
    return n_il * n_xl * SAMPLES * 4


def _peak_map(store, run) -> int:
    done = subprocess.run([sys.executable, "-c", MAP, str(store), str(run)], capture_output=True,
                          text=True, timeout=900, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return int(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_map_peak_memory_is_flat_in_the_volume(tmp_path):
    small = _store(tmp_path / "small.zarr", 96, 96)  # 44 MB: 36 chunk columns
    large = _store(tmp_path / "large.zarr", 192, 192)  # 177 MB: 144 chunk columns
    train(str(tmp_path / "small.zarr"), tmp_path / "run", overrides=RUN, progress=False)
    peaks = [_peak_map(tmp_path / f"{name}.zarr", tmp_path / "run") for name in ("small", "large")]
    added = large - small
    assert peaks[1] - peaks[0] < added / 2, (
        f"peak {peaks[0] / 1e6:.0f} MB -> {peaks[1] / 1e6:.0f} MB for {added / 1e6:.0f} MB more "
        "amplitude: map memory grows with the volume"
    )
