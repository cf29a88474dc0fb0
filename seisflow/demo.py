"""The demo: seisflow end to end on an embedded default survey.

synthesize -> ingest -> draw the survey with its ground truth (``survey.png``: an inline
through the bright spot and gas chimney, a crossline and a time slice, then the inline with
its true facies, with its true anomalies and the slice with its true facies) -> train with
the quick survey preset (``seisflow/presets/survey-quick.toml``) -> map the facies,
confidence and anomaly layers -> evaluate them against the truth -> export the facies as
SEG-Y and a time slice as GeoTIFF -> draw the maps (``maps.png``) and the training curves
(``training.png``).

Everything goes into one folder: a new or empty one, or (with ``overwrite``) the folder of
an earlier demo, recognised by the marker file ``.seisflow-demo`` the demo writes first; any
other folder is refused, so the demo never replaces a user's files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from seisflow import presets, viz
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.outputs import RUN_DIR, OutputKind, claim_output, remove, writing
from seisflow.synth.anomalies import BRIGHT_SPOT, GAS_CHIMNEY
from seisflow.synth.config import SynthConfig
from seisflow.synth.write import SynthResult, synthesize

__all__ = ["DEFAULT_DEMO", "DEMO_PRESET", "DEMO_TRAINING", "DemoResult", "run_demo"]

#: The embedded default survey of the demo (about 4 MB, seconds to write).
DEFAULT_DEMO = SynthConfig(shape=(60, 80, 200), seed=0, missing_corner=True)

#: The preset the demo trains with (the default of ``seisflow train`` on a store on CPU).
DEMO_PRESET = "survey-quick"
#: Its settings (the ``model``, ``data`` and ``train`` sections), read from the package.
DEMO_TRAINING = presets.read(DEMO_PRESET)


#: The file that marks a folder as the demo's.
MARKER = ".seisflow-demo"
DEMO_DIR = OutputKind("an earlier demo's folder", True, lambda path: (path / MARKER).is_file())


def _claim_folder(out_dir: Path, *, overwrite: bool) -> None:
    """Refuse a folder holding anything but an earlier demo; create and mark it."""
    if out_dir.is_file() or (out_dir.is_dir() and any(out_dir.iterdir())):
        claim_output(out_dir, kind=DEMO_DIR, overwrite=overwrite)
    with writing(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / MARKER).write_text("written by seisflow demo: --overwrite may replace it\n")


@dataclass(frozen=True)
class DemoResult:
    """Files the demo wrote and its scores (None when it stopped after the survey figure)."""

    survey: SynthResult
    store: Path
    figure: Path
    run: Path | None = None
    maps: Path | None = None
    training: Path | None = None
    exports: tuple[Path, ...] = ()
    scores: dict[str, Any] | None = None


def run_demo(
    out_dir: str | Path,
    config: SynthConfig = DEFAULT_DEMO,
    *,
    overwrite: bool = False,
    train: bool = True,
    train_overrides: Sequence[str] = (),
    progress: bool = True,
) -> DemoResult:
    """Run the demo into ``out_dir``.

    Args:
        out_dir: Folder of everything the demo writes.
        config: The synthetic survey.
        overwrite: Replace an earlier demo in ``out_dir`` (any other folder that holds
            files is refused).
        train: Go on after the survey figure: train, map, evaluate, export, draw the maps.
        train_overrides: ``section.key=value`` changes to the :data:`DEMO_PRESET` preset.
        progress: Show progress bars.

    Returns:
        What was written, and the evaluation scores.
    """
    from seisflow.infer.evaluate import evaluate_layers
    from seisflow.infer.export import export_geotiff, export_segy
    from seisflow.infer.maps import map_survey
    from seisflow.train import train as run_training

    out_dir = Path(out_dir)
    _claim_folder(out_dir, overwrite=overwrite)
    survey = synthesize(out_dir / "demo.sgy", config, overwrite=overwrite, progress=progress)
    truth = xr.open_zarr(survey.truth)
    kinds = truth.anomaly_kind.isin([BRIGHT_SPOT, GAS_CHIMNEY]).sum(["crossline", "time"])
    inline = int(truth.inline[int(np.argmax(kinds.values))])
    crossline = int(truth.crossline[truth.sizes["crossline"] // 2])
    time_ms = float(truth.time[int(truth.sizes["time"] * 0.45)])
    store = segy_to_zarr(survey.segy, out_dir / "demo.zarr", overwrite=overwrite).store
    cube = open_survey(store).amplitude.values
    figure = out_dir / "survey.png"
    overview = viz.survey_overview(cube, truth, inline=inline, crossline=crossline, time_ms=time_ms)
    overview.savefig(figure, dpi=72)
    if not train:
        return DemoResult(survey=survey, store=store, figure=figure)
    run = out_dir / "run"
    if claim_output(run, kind=RUN_DIR, overwrite=overwrite).exists():
        remove(run)
    run_training(str(store), run, preset=DEMO_PRESET, overrides=train_overrides,
                 progress=progress)  # fmt: skip
    map_survey(store, run, overwrite=True, progress=progress)
    scores = evaluate_layers(store, survey.truth)
    exports = (out_dir / "facies.sgy", out_dir / f"facies_{time_ms:g}ms.tif")
    export_segy(store, "facies", exports[0], overwrite=True)
    export_geotiff(store, "facies", exports[1], time=time_ms, overwrite=True)
    maps = out_dir / "maps.png"
    viz.map_overview(open_survey(store), inline=inline, time_ms=time_ms).savefig(maps, dpi=72)
    curves = out_dir / "training.png"
    figure_curves = Figure(figsize=(7, 4), layout="constrained")
    viz.training_curves(figure_curves.subplots(), run, lr=True, title="training (demo run)")
    figure_curves.savefig(curves, dpi=72)
    return DemoResult(survey=survey, store=store, figure=figure, run=run, maps=maps,
                      training=curves, exports=exports, scores=scores)  # fmt: skip
