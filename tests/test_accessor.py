"""The ds.seisflow accessor: selections with clear errors, plots, coordinates, summary."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

import seisflow
from seisflow.ingest import describe, open_survey


@pytest.fixture(scope="module")
def ds(layered_survey):
    return open_survey(layered_survey)


def test_registered_by_open_survey_and_by_importing_the_accessor(ds):
    assert hasattr(ds, "seisflow")
    code = ("import xarray as xr, seisflow; print(hasattr(xr.Dataset(), 'seisflow')); "
            "import seisflow.accessor; print(hasattr(xr.Dataset(), 'seisflow'))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]  # import seisflow alone stays cheap


def test_stateless(ds):
    assert set(vars(ds.seisflow)) == {"_ds"}


def test_section_inline_and_crossline(ds):
    inline, crossline = int(ds.inline[3]), int(ds.crossline[7])
    section = ds.seisflow.section(inline=inline)
    assert section.dims == ("crossline", "time")
    np.testing.assert_array_equal(section.values, ds.amplitude.values[3])
    across = ds.seisflow.section(crossline=crossline, layer="facies")
    assert across.dims == ("inline", "time")
    np.testing.assert_array_equal(across.values, ds.facies.values[:, 7])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of inline= or crossline="),
        ({"inline": 1000, "crossline": 2000}, "exactly one"),
        ({"inline": 5}, r"inline 5 is not in this survey: inlines run 1000\.\.1023"),
        ({"crossline": 1999}, r"crossline 1999 is not in this survey: crosslines run 2000\.\.2029"),
        ({"inline": 1000, "layer": "nope"}, "no nope layer"),
    ],
)
def test_section_errors(ds, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ds.seisflow.section(**kwargs)


def test_time_slice_nearest_and_range(ds):
    times = ds.time.values
    sliced = ds.seisflow.time_slice(float(times[5]) + 1.0)
    assert float(sliced.time) == times[5]
    assert sliced.dims == ("inline", "crossline")
    assert ds.seisflow.time_slice(times[5], layer="anomaly").dims == ("inline", "crossline")
    with pytest.raises(ValueError, match=rf"time 5000 ms is outside .* 0\.\.{times[-1]:g} ms"):
        ds.seisflow.time_slice(5000)


def test_plot_section_with_facies(ds):
    ax = ds.seisflow.plot("facies", inline=int(ds.inline[10]), ax=Figure().subplots())
    bottom, top = ax.get_ylim()
    assert bottom > top  # time downwards
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("crossline", "time (ms)")
    low, high = ax.images[0].get_clim()
    assert low == -high > -np.inf
    # the inline sits in one facies band (code = inline index // 5)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["topic_2"]
    assert ax.get_title() == f"inline {int(ds.inline[10])}: facies"


def test_plot_crossline_legend_lists_flag_meanings(ds):
    ax = ds.seisflow.plot("facies", crossline=int(ds.crossline[0]))  # a new Figure
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ds.facies.attrs["flag_meanings"].split()
    assert ax.get_xlabel() == "inline"
    assert ax.figure is not None


def test_plot_time_slice_anomaly_and_map(ds):
    fig = Figure()
    ax = ds.seisflow.plot("anomaly", time=120.0, ax=fig.add_subplot(121))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("crossline", "inline")
    assert ax.get_title() == "time slice 120 ms: anomaly"
    assert len(fig.axes) == 2  # the colour bar of the anomaly
    ax = ds.seisflow.plot("facies", time=120.0, xy=True, ax=fig.add_subplot(122))
    assert ax.get_xlabel() == "X (m) EPSG:32631"
    assert ax.get_aspect() == 1.0


def test_plot_default_and_errors(ds):
    ax = ds.seisflow.plot()
    assert ax.get_title() == f"inline {int(ds.inline[ds.sizes['inline'] // 2])}"
    with pytest.raises(ValueError, match="at most one of"):
        ds.seisflow.plot(inline=1000, time=100.0)


def test_xy_live_and_missing_trace(ds):
    i, j = 2, 3
    x, y = ds.seisflow.xy(int(ds.inline[i]), int(ds.crossline[j]))
    assert (x, y) == (float(ds.cdp_x[i, j]), float(ds.cdp_y[i, j]))
    mask = ds.trace_mask.values
    i, j = (int(v[0]) for v in np.nonzero(~mask))  # a bin of the missing corner
    a, b, c, d, e, f = ds.attrs["spatial:transform"]
    x, y = ds.seisflow.xy(int(ds.inline[i]), int(ds.crossline[j]))
    assert np.isfinite([x, y]).all()
    assert (x, y) == pytest.approx((a * j + b * i + c, d * j + e * i + f))
    with pytest.raises(ValueError, match="crossline 1 is not in this survey"):
        ds.seisflow.xy(1000, 1)


def test_info_is_describe(ds, layered_survey):
    info = ds.seisflow.info()
    assert info == describe(layered_survey)
    assert set(info["layers"]) == {"facies", "facies_confidence", "anomaly"}


def test_not_a_survey():
    with pytest.raises(ValueError, match="not a seisflow survey"):
        xr.Dataset({"v": ("x", [1.0])}).seisflow.section(inline=1)
    assert seisflow.__version__
