"""Plots: orientation, clipping, colours and labels of sections, slices, maps, anomalies,
latent scatters, topic samples and training curves."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from seisflow import viz
from seisflow.ingest import open_survey


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


def test_missing_traces_have_their_own_colour():
    amp = np.ones((4, 6))
    amp[1] = np.nan
    image = viz.section(Figure().subplots(), amp, traces=np.arange(4), times_ms=np.arange(6.0))
    assert to_hex(image.get_cmap().get_bad()) == viz.NO_TRACE_COLOUR.lower()
    assert to_hex(image.get_cmap()(0.0)) != viz.NO_TRACE_COLOUR.lower()  # not a trough


def test_categorical_takes_the_layer_colours():
    ax = Figure().subplots()
    image = viz.categorical(ax, np.array([[0, 1]]), meanings=["a", "b"], extent=[0, 2, 1, 0],
                            colours=["#ff0000", "#00ff00"])  # fmt: skip
    assert to_hex(image.get_cmap()(1)) == "#00ff00"


def test_import_creates_no_pyplot_state():
    code = "import sys, seisflow.viz; print('matplotlib.pyplot' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def ds(layered_survey):
    return open_survey(layered_survey)


def test_map_view_in_xy_with_crs_labels_and_north_arrow(ds):
    ax = Figure().subplots()
    values = ds.amplitude.values[:, :, 40]
    mesh = viz.map_view(ax, ds, values, cmap="Greys", symmetric=True)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("X (m) EPSG:32631", "Y (m) EPSG:32631")
    assert ax.get_aspect() == 1.0
    low, high = mesh.get_clim()
    assert low == -high
    assert [t.get_text() for t in ax.texts] == ["N"]
    # the bin corners follow the (rotated) affine: the first bin's centre is cdp of (0, 0)
    corners = mesh.get_coordinates()
    centre = corners[:2, :2].reshape(-1, 2).mean(axis=0)
    assert list(centre) == pytest.approx([float(ds.cdp_x[0, 0]), float(ds.cdp_y[0, 0])], abs=0.1)
    with pytest.raises(ValueError, match="survey grid"):
        viz.map_view(ax, ds, values[1:])


def test_map_view_categorical_legend(ds):
    ax = Figure().subplots()
    viz.map_view(ax, ds, ds.facies.values[:, :, 0], meanings=["a", "b", "c", "d", "e"])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c", "d", "e"]


def test_top_anomalies_finds_and_separates_planted_maxima(ds, planted):
    table = viz.top_anomalies(ds, 5)  # the smooth tails hold no further local maximum
    assert list(table.columns) == ["inline", "crossline", "time", "x", "y", "score"]
    assert list(table.index) == [1, 2] and table.index.name == "rank"
    assert table.score.is_monotonic_decreasing
    # A, then C; D (37.5 m from A) and B (under A) are the same place at the default spacing
    for rank, name in ((1, "A"), (2, "C")):
        i, j, k, height = planted[name]
        row = table.loc[rank]
        assert (row.inline, row.crossline, row.time) == (
            int(ds.inline[i]), int(ds.crossline[j]), float(ds.time[k]))  # fmt: skip
        assert (row.x, row.y) == pytest.approx(
            (float(ds.cdp_x[i, j]), float(ds.cdp_y[i, j])), abs=0.1
        )
        assert row.score == pytest.approx(height, rel=0.02)
    close = viz.top_anomalies(ds, 3, min_separation=20.0)
    assert list(close.score) == pytest.approx([5.0, 4.5, 4.0], abs=0.1)  # A, D, C
    stacked = viz.top_anomalies(ds, 5, min_separation_ms=40.0)
    assert list(stacked.score)[:3] == pytest.approx([5.0, 4.0, 3.0], abs=0.1)  # A, C, B (under A)
    place = ["inline", "crossline"]
    assert list(stacked.loc[3, place]) == list(stacked.loc[1, place])


def test_top_anomalies_name_the_hint_of_each_anomaly(ds, planted):
    codes = np.ones(ds.anomaly.shape, dtype=np.int16)  # amplitude_high everywhere ...
    i, j, k, _ = planted["C"]
    codes[i, j, k] = 3  # ... but incoherent at C
    meanings = "none amplitude_high amplitude_low incoherent"
    hinted = ds.assign(anomaly_hint=(ds.anomaly.dims, codes, {"flag_meanings": meanings}))
    table = viz.top_anomalies(hinted, 2)
    assert list(table.hint) == ["amplitude_high", "incoherent"]  # A, then C
    assert "hint" not in viz.top_anomalies(hinted, 2, layer="facies").columns


def test_top_anomalies_in_a_slice_or_window(ds, planted):
    i, _, k, _ = planted["C"]
    one = viz.top_anomalies(ds, 1, time=float(ds.time[k]))
    assert (one.loc[1].inline, one.loc[1].time) == (int(ds.inline[i]), float(ds.time[k]))
    window = viz.top_anomalies(ds, 1, time=(float(ds.time[60]), float(ds.time[80])))
    assert window.loc[1].score == pytest.approx(planted["B"][3], rel=0.02)
    with pytest.raises(ValueError, match="outside this survey"):
        viz.top_anomalies(ds, time=1e5)
    with pytest.raises(ValueError, match="no nope layer"):
        viz.top_anomalies(ds, layer="nope")


def test_anomaly_map_marks_the_ranked_anomalies(ds):
    fig = Figure()
    ax = fig.subplots()
    mesh = viz.anomaly_map(ax, ds, n=2)
    assert ax.get_xlabel() == "X (m) EPSG:32631"
    assert [t.get_text() for t in ax.texts] == ["N", "1", "2"]
    assert mesh.get_clim()[1] == pytest.approx(5.0, rel=0.02)  # the strongest is not clipped
    assert ax.get_title() == "anomaly: maximum over each trace"
    assert len(fig.axes) == 2  # colour bar
    viz.anomaly_map(Figure().subplots(), ds, time=(100.0, 200.0), n=0, colorbar=False)


def tiny_truth() -> tuple[np.ndarray, xr.Dataset]:
    """A 6 x 8 x 20 cube (amplitude i + 10 j + 100 k of the indices, so every section and
    slice differs) and a truth of the synth layout: facies (i + j + k) % 4, one anomaly
    body (kind 2) of 8 samples on inline index 2, a dead trace."""
    inlines, crosslines, times = np.arange(100, 106), np.arange(10, 26, 2), np.arange(20) * 4.0
    i, j, k = np.indices((6, 8, 20))
    facies = ((i + j + k) % 4).astype(np.int16)
    kinds = np.zeros((6, 8, 20), dtype=np.int16)
    kinds[2, 3:5, 8:12] = 2
    live = np.ones((6, 8), dtype=bool)
    live[0, 0] = False
    truth = xr.Dataset(
        {
            "facies": (("inline", "crossline", "time"), facies,
                       {"flag_meanings": "shale sand salt carbonate"}),
            "anomaly_kind": (("inline", "crossline", "time"), kinds,
                             {"flag_meanings": "none bright_spot gas_chimney"}),
            "live": (("inline", "crossline"), live),
        },
        coords={"inline": inlines, "crossline": crosslines, "time": times},
    )  # fmt: skip
    return (i + 10 * j + 100 * k - 1050).astype(np.float32), truth  # signed, as seismic is


def test_survey_overview_draws_the_cube_and_its_truth():
    cube, truth = tiny_truth()
    fig = viz.survey_overview(cube, truth, inline=102, crossline=16, time_ms=40.0)
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches()) == (18, 10)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == [
        "inline 102", "crossline 16", "time slice 40 ms",
        "inline 102: true facies", "inline 102: true anomalies",
        "time slice 40 ms: true facies (live traces)",
    ]  # fmt: skip
    assert [len(ax.images) for ax in axes] == [1, 1, 1, 2, 2, 2]
    assert axes[1].get_xlabel() == "inline"  # the crossline section runs across the inlines
    np.testing.assert_array_equal(axes[0].images[0].get_array(), cube[2].T)
    np.testing.assert_array_equal(axes[1].images[0].get_array(), cube[:, 3].T)
    np.testing.assert_array_equal(axes[2].images[0].get_array(), cube[:, :, 10])
    facies = axes[3].images[1].get_array()
    np.testing.assert_array_equal(facies, truth.facies.values[2].T)
    assert [t.get_text() for t in axes[3].get_legend().get_texts()] == [
        "shale", "sand", "salt", "carbonate"]  # fmt: skip
    kinds = axes[4].images[1].get_array()
    assert kinds.mask.sum() == kinds.size - 8  # "none" left transparent: only the body shows
    assert [t.get_text() for t in axes[4].get_legend().get_texts()] == ["gas_chimney"]
    slice_facies = axes[5].images[1].get_array()
    assert slice_facies.mask[0, 0] and slice_facies.mask.sum() == 1  # the dead trace is blank
    np.testing.assert_array_equal(slice_facies[1], truth.facies.values[1, :, 10])


def test_map_overview_draws_the_facies_and_anomaly_layers(ds, planted):
    i, j, k, _ = planted["C"]
    inline, time_ms = int(ds.inline[6]), float(ds.time[k])
    fig = viz.map_overview(ds, inline=inline, time_ms=time_ms)
    assert isinstance(fig, Figure)
    assert tuple(fig.get_size_inches()) == (18, 6)
    assert len(fig.axes) == 4  # three panels and the anomaly map's colour bar
    section, facies_map, anomaly = fig.axes[:3]
    assert [ax.get_title() for ax in (section, facies_map, anomaly)] == [
        f"inline {inline}: facies (topics) over the seismic",
        f"time slice {time_ms:g} ms: facies in X/Y",
        f"time slice {time_ms:g} ms: anomaly, top 5 ranked",
    ]
    assert len(section.images) == 2  # the seismic, then the facies overlay
    np.testing.assert_array_equal(section.images[0].get_array(), ds.amplitude.values[6].T)
    overlay = section.images[1]
    np.testing.assert_array_equal(overlay.get_array(), ds.facies.values[6].T)
    assert overlay.get_alpha() == 0.45
    assert [t.get_text() for t in section.get_legend().get_texts()] == ["topic_1"]
    assert facies_map.get_xlabel() == "X (m) EPSG:32631"
    legend = [t.get_text() for t in facies_map.get_legend().get_texts()]
    assert legend == [f"topic_{n}" for n in range(5)]
    assert to_hex(facies_map.collections[0].get_cmap()(1)) == "#ee6677"  # the layer's colours
    # the slice through C's peak: C is ranked first, and the map numbers at most five
    labels = [t.get_text() for t in anomaly.texts]
    assert labels[:2] == ["N", "1"] and len(labels) <= 1 + 5
    assert anomaly.texts[1].xy == pytest.approx((float(ds.cdp_x[i, j]), float(ds.cdp_y[i, j])),
                                                abs=0.1)  # fmt: skip
    assert fig.axes[3].get_ylabel() == "anomaly (bits/dim)"


def test_latent_scatter_pca_and_topic_legend():
    rng = np.random.default_rng(0)
    topics = np.repeat([0, 2, 3], 50)
    latents = rng.normal(size=(150, 8)) * 0.1
    latents[:, 0] += topics * 5.0  # topics differ along one direction
    ax = Figure().subplots()
    points = viz.latent_scatter(ax, latents, topics, max_points=100)
    assert len(points.get_offsets()) == 100
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["topic_0", "topic_2", "topic_3"]
    assert ax.get_xlabel() == "PC 1 (100% of variance)" and ax.get_ylabel().startswith("PC 2")
    projection, explained = viz.pca_2d(latents)
    assert projection.shape == (150, 2) and explained[0] > 0.99
    with pytest.raises(ValueError, match="one per latent"):
        viz.latent_scatter(ax, latents, topics[:3])


class _Flow:
    """A stand-in for FractalFlow.sample: a constant grey level per topic."""

    class config:
        topics = 3

    def sample(self, n, *, topic):
        return np.full((n, 1, 4, 4), topic / 2, dtype=np.float32)


def test_topic_samples_rows_per_topic():
    ax = Figure().subplots()
    image = viz.topic_samples(ax, _Flow(), n=5)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["topic_0", "topic_1", "topic_2"]
    mosaic = image.get_array()
    assert mosaic.shape == (3 * 5 + 1, 5 * 5 + 1)
    assert mosaic[1, 1] == 0.0 and mosaic[11, 1] == 1.0  # topic 0 and topic 2
    assert image.get_cmap().name == "Greys"  # as the sections: 1 (peak) black


def test_training_curves_from_metrics(tmp_path):
    lines = [{"step": s, "loss": 9.0 - s / 100, "bits_per_dim": 8.0 - s / 100, "l2": 0.1,
              "grad_norm": 1.0, "lr": 1e-3, "patches_per_s": 500.0, "elapsed_s": s / 10}
             for s in (10, 20, 30, 40)]  # fmt: skip
    lines.insert(2, {"step": 20, "eval_bits_per_dim": 7.9})
    lines.append({"step": 40, "eval_bits_per_dim": 7.7})
    text = "\n".join(json.dumps(line) for line in lines) + '\n{"step": 50, "lo'  # cut short
    (tmp_path / "metrics.jsonl").write_text(text)
    assert len(viz.read_metrics(tmp_path)) == 6
    ax = Figure().subplots()
    drawn = viz.training_curves(ax, tmp_path, lr=True)
    assert [line.get_label() for line in drawn] == ["loss", "bits per dim", "eval bits per dim"]
    np.testing.assert_array_equal(drawn[2].get_xdata(), [20, 40])
    assert drawn[2].get_marker() == "o"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("step", "loss, bits/dim")
    with pytest.raises(FileNotFoundError, match=r"metrics\.jsonl"):
        viz.read_metrics(tmp_path / "nowhere")


def test_anomaly_section_rings_the_planted_anomalies_of_the_inline(ds, planted):
    from seisflow.viz import anomaly_section

    a, b = planted["A"], planted["B"]  # both on one trace of one inline, far apart in time
    inline = int(ds.inline.values[a[0]])
    fig = Figure()
    ax = fig.subplots()
    table = anomaly_section(ax, ds, inline=inline, n=2, min_separation_ms=40.0)
    assert list(table.index) == [1, 2]
    for rank, (_, j, k, _) in zip((1, 2), (a, b), strict=True):
        row = table.loc[rank]
        assert (row["inline"], row["crossline"]) == (inline, int(ds.crossline.values[j]))
        assert row["time"] == float(ds.time.values[k])
    assert table.loc[1, "score"] > table.loc[2, "score"]
    assert ax.get_title() == f"inline {inline}: anomaly, top 2 ranked"
    assert len(ax.get_images()) == 2  # the seismic and the anomaly over it
    assert [t.get_text() for t in ax.texts] == ["1", "2"]
