"""The demo: what seisflow does today, end to end, on an embedded default survey.

Writes a synthetic survey, ingests it into a survey store and draws it from the store with
its ground truth:
an inline through the bright spot and gas chimney, a crossline and a time slice, then the
inline with its true facies, the inline with its true anomalies and the slice with its true
facies. Later stages (ingest, training, maps) join
the demo as they land.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from seisflow import viz
from seisflow.config import SynthConfig
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.synth.anomalies import BRIGHT_SPOT, GAS_CHIMNEY
from seisflow.synth.write import SynthResult, synthesize

__all__ = ["DEFAULT_DEMO", "DemoResult", "run_demo"]

#: The embedded default survey of the demo (about 4 MB, seconds to write).
DEFAULT_DEMO = SynthConfig(shape=(60, 80, 200), seed=0, missing_corner=True)


@dataclass(frozen=True)
class DemoResult:
    """Files the demo wrote."""

    survey: SynthResult
    store: Path
    figure: Path


def run_demo(
    out_dir: str | Path, config: SynthConfig = DEFAULT_DEMO, *, overwrite: bool = False
) -> DemoResult:
    """Synthesise a survey into ``out_dir``, ingest it and draw it with its ground truth.

    Returns:
        The survey written, the survey store and the figure (``survey.png``).
    """
    out_dir = Path(out_dir)
    survey = synthesize(out_dir / "demo.sgy", config, overwrite=overwrite, progress=True)
    truth = xr.open_zarr(survey.truth)
    kinds = truth.anomaly_kind.isin([BRIGHT_SPOT, GAS_CHIMNEY]).sum(["crossline", "time"])
    inline = int(truth.inline[int(np.argmax(kinds.values))])
    crossline = int(truth.crossline[truth.sizes["crossline"] // 2])
    time_ms = float(truth.time[int(truth.sizes["time"] * 0.45)])
    store = segy_to_zarr(survey.segy, out_dir / "demo.zarr", overwrite=overwrite).store
    cube = open_survey(store).amplitude.values
    figure = out_dir / "survey.png"
    _draw(cube, truth, inline=inline, crossline=crossline, time_ms=time_ms, path=figure)
    return DemoResult(survey=survey, store=store, figure=figure)


def _draw(
    cube: np.ndarray, truth: xr.Dataset, *, inline: int, crossline: int, time_ms: float, path: Path
) -> None:
    """Sections and a slice of ``cube``, alone (top row) and with the truth (bottom row)."""
    il = int(np.searchsorted(truth.inline.values, inline))
    xl = int(np.searchsorted(truth.crossline.values, crossline))
    k = int(np.searchsorted(truth.time.values, time_ms))
    inlines, crosslines = truth.inline.values, truth.crossline.values
    times = truth.time.values
    facies = truth.facies.values
    kinds = truth.anomaly_kind.values
    facies_names = truth.facies.attrs["flag_meanings"].split()
    kind_names = truth.anomaly_kind.attrs["flag_meanings"].split()
    fig = Figure(figsize=(18, 10), layout="constrained")
    axes = fig.subplots(2, 3)
    viz.section(
        axes[0, 1],
        cube[:, xl],
        traces=inlines,
        times_ms=times,
        trace_label="inline",
        title=f"crossline {crossline}",
    )
    for row, column in ((0, 0), (1, 0), (1, 1)):
        viz.section(
            axes[row, column],
            cube[il],
            traces=crosslines,
            times_ms=times,
            title=f"inline {inline}",
        )
    for row in range(2):
        viz.time_slice(
            axes[row, 2],
            cube[:, :, k],
            inlines=inlines,
            crosslines=crosslines,
            title=f"time slice {time_ms:g} ms",
        )
    extent = viz.section_extent(crosslines, times)
    viz.categorical(axes[1, 0], facies[il].T, meanings=facies_names, extent=extent)
    viz.categorical(
        axes[1, 1], kinds[il].T, meanings=kind_names, skip=[0], extent=extent, alpha=0.6
    )
    live = truth.live.values
    viz.categorical(
        axes[1, 2],
        np.where(live, facies[:, :, k], -1),
        meanings=facies_names,
        extent=viz.slice_extent(inlines, crosslines),
        origin="lower",
    )
    axes[1, 0].set_title(f"inline {inline}: true facies")
    axes[1, 1].set_title(f"inline {inline}: true anomalies")
    axes[1, 2].set_title(f"time slice {time_ms:g} ms: true facies (live traces)")
    fig.savefig(path, dpi=72)
