"""Seismic plots: orientation, clipping and labels."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from seisflow import viz


def test_section_time_down_symmetric_clip_and_labels():
    amp = np.random.default_rng(0).standard_normal((30, 50)).astype(np.float32)
    amp[3, 4] = 1e6  # a spike must not set the colour scale
    amp[5] = np.nan  # a missing trace
    ax = Figure().subplots()
    image = viz.section(
        ax, amp, traces=np.arange(100, 130), times_ms=np.arange(50) * 4.0, title="inline 7"
    )
    low, high = image.get_clim()
    assert low == -high and 1.0 < high < 10.0
    bottom, top = ax.get_ylim()
    assert bottom > top  # time increases downwards
    assert ax.get_xlabel() == "crossline" and ax.get_ylabel() == "time (ms)"
    left, right = ax.get_xlim()
    assert left < 100 < 129 < right


def test_time_slice_and_categorical_overlay():
    ax = Figure().subplots()
    inlines, crosslines = np.arange(10, 20), np.arange(200, 230, 2)
    viz.time_slice(ax, np.ones((10, 15)), inlines=inlines, crosslines=crosslines)
    assert ax.get_xlabel() == "crossline" and ax.get_ylabel() == "inline"
    bottom, top = ax.get_ylim()
    assert bottom < top  # inlines increase upwards on a map
    codes = np.zeros((10, 15), dtype=int)
    codes[:, 5:] = 2
    codes[0, 0] = -1
    image = viz.categorical(
        ax,
        codes,
        meanings=["a", "b", "c"],
        extent=viz.slice_extent(inlines, crosslines),
        origin="lower",
    )
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["a", "c"]
    assert image.get_array().mask[0, 0]
