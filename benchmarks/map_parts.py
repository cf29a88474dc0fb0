"""The map of a survey too large for one sitting, by its parts, on one day: a scoring sitting
of bounded length, the flow's bare forward and the layers, each in its own process on the
same store and run, and the map's throughput against the bare forward from them.

A 16 GB map takes longer on two cores than a working session lasts (the bare forward alone,
some 2.4 hours), so ``benchmarks/scale.py`` runs it in sittings (``--resume``), which may
fall on different days or beside other work. This measures its parts in one go instead, on
a folder that ``scale.py --gb G --root DIR --keep --stop-after train`` left (``survey.zarr``,
``run``, ``figures.json``):

* ``sitting``: the map (``scale.py``'s map step: ``map_survey`` with its defaults, saving
  its scores every --save-every seconds) is interrupted with SIGINT after --score-seconds;
  its rate is the patches its saved scores hold over the seconds from its start to their
  last save (its setup included), as ``scale.py`` accounts a stopped attempt. A folder whose
  last map attempt was stopped by hand (``figures.json``'s ``map_attempts``) is accounted
  the same way instead of running a sitting (``--stopped``);
* ``forward``: ``scale.py``'s bare forward reference (best of three rounds of about
  --forward-patches patches of the same tiling);
* ``layers``: ``benchmarks/map_layers.py``'s layers of a seeded synthetic table of the
  tiling (the same layers, stitching and writing as the map's; the values do not change
  their work). Its map clears the sitting's saved scores at its end.

``map_seconds`` is the whole tiling's patches at the sitting's rate plus the layers'
seconds; ``map_to_forward`` the map's patches/s so reckoned over the bare forward (the goal
of issue 20 is 0.7 or more), ``scoring_to_forward`` the sitting's rate over it. Peak
anonymous memory (``RssAnon`` every 20 ms) is the sitting's (with ``--stopped``: not read)
and the layers' processes'. Prints one JSON line.

Usage: python benchmarks/map_parts.py --folder DIR [--score-seconds 2400] [--stopped]
[--stride 32] [--batch-size 256] [--forward-patches 2048] [--save-every 300]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from child_step import step
from map_layers import layers_command
from scale import FIGURES, forward_command, map_command, saved_manifest, stopped_attempt


def sitting(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The scoring sitting: run and interrupted, or (``--stopped``) the last map attempt of
    ``folder``'s figures, stopped by hand: patches saved, seconds to their last save."""
    store = folder / "survey.zarr"
    if args.stopped:
        attempts = json.loads((folder / FIGURES).read_text()).get("map_attempts", [])
        if not attempts or "seconds" in attempts[-1]:
            raise SystemExit(f"--stopped: {folder / FIGURES} holds no stopped map attempt")
        return {**attempts[-1], **stopped_attempt(store, attempts[-1])}
    manifest = saved_manifest(store)
    if manifest.exists():  # a sitting would restore them: its rate would count them
        raise SystemExit(f"{manifest.parent} holds the saved scores of an earlier map: account "
                         "it with --stopped, or remove that folder")  # fmt: skip
    attempt: dict[str, Any] = {"started": round(time.time(), 1)}
    result = step(map_command(0, store, folder / "run", args), folder / "parts-sitting.log",
                  interrupt_after=args.score_seconds)  # fmt: skip
    if not result["interrupted"]:
        raise SystemExit(f"the map of {store} ended within --score-seconds "
                         f"{args.score_seconds:g}: scale.py measures it whole")  # fmt: skip
    return {**attempt, **stopped_attempt(store, attempt),
            "peak_anon_mb": round(result["peak_anon_mb"], 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True,
                        help="a scale.py size folder (survey.zarr, run, figures.json)")  # fmt: skip
    parser.add_argument("--score-seconds", type=float, default=2400.0,
                        help="length of the scoring sitting")  # fmt: skip
    parser.add_argument("--stopped", action="store_true",
                        help="no sitting: the folder's map attempt stopped by hand")  # fmt: skip
    parser.add_argument("--stride", type=int, default=32, help="map stride (<= patch size 32)")
    parser.add_argument("--batch-size", type=int, default=256, help="map batch size")
    parser.add_argument("--forward-patches", type=int, default=2048,
                        help="patches of the bare forward reference")  # fmt: skip
    parser.add_argument("--save-every", type=float, default=300.0,
                        help="seconds between the map's saves of its scores")  # fmt: skip
    args = parser.parse_args()
    folder, store, run = args.folder, args.folder / "survey.zarr", args.folder / "run"
    sat = sitting(folder, args)
    if not sat["saved_patches"]:
        raise SystemExit(f"the sitting on {store} saved no scores: lengthen --score-seconds")
    result = step(forward_command(0, store, run, args), folder / "parts-forward.log")
    forward = json.loads(result["last"])["patches_per_s"]
    result = step(layers_command(store, run, args.stride), folder / "parts-layers.log")
    layers = json.loads(result["last"])
    rate = sat["saved_patches"] / sat["saved_after_seconds"]
    seconds = layers["patches"] / rate + layers["seconds"]
    print(json.dumps({
        "benchmark": "map_parts", "folder": str(folder), "patches": layers["patches"],
        "sitting_patches": sat["saved_patches"], "sitting_seconds": sat["saved_after_seconds"],
        "sitting_patches_per_s": round(rate, 1), "sitting_peak_anon_mb": sat.get("peak_anon_mb"),
        "forward_patches_per_s": round(forward, 1), "layers_seconds": round(layers["seconds"], 2),
        "layers_peak_anon_mb": round(result["peak_anon_mb"], 1),
        "layers_peak_anon_at_s": round(result["peak_anon_at_s"], 1),
        "map_seconds": round(seconds, 1), "map_layers_share": round(layers["seconds"] / seconds, 3),
        "map_to_forward": round(layers["patches"] / seconds / forward, 3),
        "scoring_to_forward": round(rate / forward, 3), "load": round(result["load"], 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
