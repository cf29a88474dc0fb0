"""Maps: patch scores stitched to every live sample, written as layers of the store."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import zarr

from seisflow.errors import ConfigError, InputFileError, OutputPathError
from seisflow.infer.evaluate import evaluate_layers
from seisflow.infer.export import export_geotiff, export_segy
from seisflow.infer.maps import PatchTable, compressor_bits_per_dim, map_survey, stitch
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.store import consolidate
from seisflow.train import train

SETTINGS = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=3",
            "train.eval_every=0", "data.size=16", "data.stride=8", "data.buffer=128",
            "model.topics=3", "model.prior=lda"]  # fmt: skip


@pytest.fixture(scope="module")
def mapped(make_survey, tmp_path_factory):
    root = tmp_path_factory.mktemp("maps")
    survey = make_survey(missing_corner=True)
    store = segy_to_zarr(survey.segy, root / "s.zarr", chunks=(8, 15, 48)).store
    train(str(store), root / "run", overrides=SETTINGS, progress=False)
    before = hashlib.sha256(zarr.open_array(str(store), path="amplitude")[...].tobytes())
    summary = map_survey(store, root / "run", batch_size=64, readout="patch", progress=False)
    after = hashlib.sha256(zarr.open_array(str(store), path="amplitude")[...].tobytes())
    assert before.hexdigest() == after.hexdigest()
    return store, root / "run", summary, survey.truth


def test_layers_cover_every_live_sample(mapped):
    store, run, summary, _ = mapped
    assert summary["layers"] == ["facies", "facies_confidence", "anomaly", "anomaly_hint"]
    survey = open_survey(store)
    live = np.broadcast_to(survey.trace_mask.values[..., None], survey.amplitude.shape)
    facies = survey.facies.values
    assert not live.all()  # the missing corner
    np.testing.assert_array_equal(facies == -1, ~live)
    assert facies[live].max() < 3
    confidence = survey.facies_confidence.values
    assert np.isnan(confidence[~live]).all()
    assert (confidence[live] >= 1 / 3 - 1e-6).all() and (confidence[live] <= 1 + 1e-6).all()
    assert np.isfinite(survey.anomaly.values[live]).all()
    digest = hashlib.sha256((run / "checkpoint.pt").read_bytes()).hexdigest()
    assert survey.facies.attrs["seisflow:model_sha256"] == digest
    assert survey.facies.attrs["seisflow:patch"]["size"] == 16
    assert survey.facies.attrs["flag_meanings"] == "topic_0 topic_1 topic_2"


def test_topic_proportions_on_the_patch_grid(mapped, tmp_path):
    store, run, _, _ = mapped
    summary = map_survey(store, run, layers=("topic_proportions",), progress=False)
    assert summary["layers"] == ["topic_proportions"]
    survey = open_survey(store)
    grid = survey.topic_proportions
    assert grid.dims == ("patch_inline", "patch_crossline", "patch_time", "topic")
    np.testing.assert_array_equal(grid.patch_inline, survey.inline.values[4::8])  # stride 8
    np.testing.assert_array_equal(grid.patch_time, survey.time.values[4::8])
    values = grid.values
    live = survey.trace_mask.values[4::8, 4::8]
    assert np.isnan(values[~live]).all() and np.isfinite(values[live]).all()
    np.testing.assert_allclose(values[live].sum(-1), 1.0, atol=1e-5)
    facies = survey.facies.values[4::8, 4::8, 4::8]  # same run, same tiling: same arg-max
    np.testing.assert_array_equal(values[live].argmax(-1), facies[live])
    assert grid.attrs["seisflow:patch"]["stride"] == 8
    with pytest.raises(OutputPathError, match="already has a topic_proportions layer"):
        map_survey(store, run, layers=("topic_proportions",), progress=False)
    with pytest.raises(InputFileError, match="not on the amplitude grid"):
        export_segy(store, "topic_proportions", tmp_path / "t.sgy")


def test_stitch_averages_overlapping_patches_complete_ones_first():
    rng = np.random.default_rng(0)
    spec = PatchSpec(size=4, axis="both", stride=2)
    shape = (7, 9, 11)
    positions = np.array([[0, 1, 2, 3], [0, 1, 4, 5], [1, 2, 3, 6], [1, 0, 0, 0], [0, 6, 5, 7]])
    values = rng.normal(size=(5, 2))
    table = PatchTable(positions, values, np.zeros(5), spec)
    live = np.ones(shape[:2], bool)
    live[1, 6] = False  # a missing trace inside the second patch (and no other)
    total, count = np.zeros((2, *shape, 2)), np.zeros((2, *shape))
    for (axis, i, j, k), v in zip(positions, values, strict=True):
        il = slice(i, i + 1) if axis == 0 else slice(i, i + 4)
        xl = slice(j, j + 4) if axis == 0 else slice(j, j + 1)
        other = int(not live[il, xl].all())
        total[other, il, xl, k : k + 4] += v
        count[other, il, xl, k : k + 4] += 1
    assert count[1].any() and (count[0] * count[1]).any()  # the rule matters somewhere
    first = np.where(count[0] > 0, 0, 1)  # complete patches first
    picked = np.take_along_axis(total[..., 1], first[None], 0)[0]
    number = np.take_along_axis(count, first[None], 0)[0]
    expected = np.where((number > 0) & live[..., None], picked / np.maximum(number, 1), np.nan)
    chunks = ((3, 4), (5, 4), (6, 5))
    got = stitch(table, chunks, lambda m, c: np.where(c, m[..., 1], np.nan),
                 values=values, live=live, dtype=np.float64).compute()  # fmt: skip
    np.testing.assert_allclose(got, expected)


def test_stitch_lays_patch_fields_where_their_cells_are():
    """A field ``(V, rows, columns)`` per patch: rows along time, columns along the patch's
    traces (crosslines for an inline patch, inlines for a crossline patch), each cell
    covering size / rows samples; overlapping fields average (brute force)."""
    rng = np.random.default_rng(1)
    spec = PatchSpec(size=4, axis="both", stride=2)
    shape = (6, 7, 9)
    positions = np.array([[0, 1, 2, 3], [0, 1, 3, 5], [1, 0, 2, 4], [1, 2, 5, 0]])
    fields = rng.normal(size=(4, 2, 2, 2))  # 2 values, 2 x 2 cells of 2 x 2 samples
    table = PatchTable(positions, np.zeros((4, 2)), np.zeros(4), spec, words=fields)
    live = np.ones(shape[:2], bool)
    total, count = np.zeros((*shape, 2)), np.zeros(shape)
    for (axis, i, j, k), field in zip(positions, fields, strict=True):
        for trace in range(4):
            for t in range(4):
                il, xl = (i, j + trace) if axis == 0 else (i + trace, j)
                total[il, xl, k + t] += field[:, t // 2, trace // 2]
                count[il, xl, k + t] += 1
    expected = np.where(count > 0, total[..., 0] / np.maximum(count, 1), np.nan)
    chunks = ((4, 2), (3, 4), (5, 4))
    got = stitch(table, chunks, lambda m, c: np.where(c, m[..., 0], np.nan),
                 values=fields, live=live, dtype=np.float64).compute()  # fmt: skip
    np.testing.assert_allclose(got, expected)


def test_word_readout_writes_facies_from_the_words(mapped, tmp_path):
    store, run, _, _ = mapped
    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    map_survey(copy, run, layers=("facies",), readout="word", overwrite=True, progress=False)
    survey, before = open_survey(copy), open_survey(store)
    assert survey.facies.attrs["seisflow:readout"] == "word"
    assert before.facies.attrs["seisflow:readout"] == "patch"
    live = survey.trace_mask.values
    facies = survey.facies.values
    np.testing.assert_array_equal(facies[~live], -1)
    assert facies[live].min() >= 0 and facies[live].max() < 3
    confidence = survey.facies_confidence.values[live]
    assert (confidence >= 1 / 3 - 1e-3).all() and (confidence <= 1 + 1e-3).all()
    assert not np.array_equal(facies, before.facies.values)  # another read-out


def test_compressor_rates_constant_patches_cheap():
    rng = np.random.default_rng(0)
    flat = np.full((1, 1, 16, 16), 128, np.uint8)
    noise = rng.integers(0, 256, (1, 1, 16, 16), dtype=np.uint8)
    bits = compressor_bits_per_dim(np.concatenate([flat, noise]))
    assert bits[0] < 1.0 < 7.0 < bits[1]


def test_map_errors(mapped, tiny_images, tmp_path):
    store, run, _, _ = mapped
    with pytest.raises(OutputPathError, match="already has a facies layer"):
        map_survey(store, run, progress=False)
    with pytest.raises(ConfigError, match="stride"):
        map_survey(store, run, stride=32, progress=False, overwrite=True)
    with pytest.raises(ConfigError, match="layers"):
        map_survey(store, run, layers=("texture",), progress=False)
    train(str(store), tmp_path / "gmm", progress=False,
          overrides=[*SETTINGS, "model.prior=kat_gmm", "train.steps=1"])  # fmt: skip
    with pytest.raises(ConfigError, match="--readout word needs an lda run"):
        map_survey(store, tmp_path / "gmm", readout="word", progress=False, overwrite=True)
    train("mnist", tmp_path / "img", data_dir=tiny_images, progress=False,
          overrides=["model.width=8", "model.depth=1", "train.steps=1", "train.eval_every=0",
                     "model.prior=lda"])  # fmt: skip
    with pytest.raises(ConfigError, match=r"trained on \[1, 16, 16\] patches, not \[1, 32, 32\]"):
        map_survey(store, tmp_path / "img", progress=False, overwrite=True)


def test_evaluate_against_the_truth_with_baselines(mapped, tmp_path):
    store, _, _, truth = mapped
    out = subprocess.run([sys.executable, "-m", "seisflow", "evaluate", str(store), str(truth),
                          "--json"], capture_output=True, text=True, check=True)  # fmt: skip
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    survey = open_survey(store)
    assert report["samples"] == int(survey.trace_mask.values.sum()) * survey.amplitude.shape[2]
    assert -1 <= report["facies"]["ari"] <= 1 and 0 < report["facies"]["accuracy"] <= 1
    windows = {"kmeans_pca", "gmm_pca", "kmeans_rms"}
    attributes = {"kmeans_attributes", "gmm_attributes"}
    smoothed = {f"{name}_smoothed" for name in attributes}
    assert set(report["facies_baselines"]) == windows | attributes | smoothed
    assert 0 <= report["anomaly"]["auroc"] <= 1
    assert 0 <= report["anomaly_baselines"]["isolation_forest"]["auroc"] <= 1


def test_evaluate_errors(mapped, make_survey, tmp_path):
    store, _, _, _ = mapped
    other = make_survey(shape=(20, 30, 96))
    with pytest.raises(InputFileError, match="another geometry"):
        evaluate_layers(store, other.truth)
    bare = segy_to_zarr(other.segy, tmp_path / "bare.zarr").store
    with pytest.raises(InputFileError, match="no facies or anomaly layer"):
        evaluate_layers(bare, other.truth)


def test_export_segy_has_the_input_geometry(mapped, tmp_path):
    store, _, _, _ = mapped
    out = tmp_path / "facies.sgy"
    subprocess.run([sys.executable, "-m", "seisflow", "export", str(store), "facies", str(out)],
                   check=True, capture_output=True)  # fmt: skip
    survey = open_survey(store)
    back = open_survey(segy_to_zarr(out, tmp_path / "back.zarr").store)
    for name in ("inline", "crossline", "time"):
        np.testing.assert_array_equal(back[name].values, survey[name].values)
    np.testing.assert_array_equal(back.trace_mask.values, survey.trace_mask.values)
    for name in ("cdp_x", "cdp_y"):
        np.testing.assert_array_equal(back[name].values, survey[name].values)
    assert back.attrs["proj:code"] == survey.attrs["proj:code"]  # named in the text header
    live = survey.trace_mask.values
    np.testing.assert_array_equal(back.amplitude.values[live], survey.facies.values[live])
    source = survey.attrs["source"]["path"]
    ns = survey.amplitude.shape[2]
    original = np.fromfile(source, np.uint8)[3600:].reshape(-1, 240 + 4 * ns)[:, :240]
    exported = np.fromfile(out, np.uint8)[3600:].reshape(-1, 240 + 4 * ns)[:, :240]
    np.testing.assert_array_equal(exported, original)
    assert b"SEISFLOW LAYER facies".decode() in out.read_bytes()[:3200].decode("cp037")


def test_export_errors(mapped, tmp_path):
    store, _, _, _ = mapped
    with pytest.raises(InputFileError, match="has no layer 'texture'"):
        export_segy(store, "texture", tmp_path / "x.sgy")
    (tmp_path / "x.sgy").write_bytes(b"")
    with pytest.raises(OutputPathError, match="exists"):
        export_segy(store, "facies", tmp_path / "x.sgy")
    moved = tmp_path / "moved.zarr"
    shutil.copytree(store, moved)
    group = zarr.open_group(str(moved), mode="r+")
    group.attrs["source"] = {**group.attrs["source"], "path": str(tmp_path / "gone.sgy")}
    consolidate(moved)
    with pytest.raises(InputFileError, match="missing or changed"):
        export_segy(moved, "facies", tmp_path / "y.sgy")


def test_geotiff_slice_is_georeferenced_at_bin_centres(mapped, tmp_path):
    import rasterio

    store, _, _, _ = mapped
    out = tmp_path / "facies.tif"
    subprocess.run([sys.executable, "-m", "seisflow", "export", str(store), "facies", str(out),
                    "--time", "200"], check=True, capture_output=True)  # fmt: skip
    survey = open_survey(store)
    x, y, live = survey.cdp_x.values, survey.cdp_y.values, survey.trace_mask.values
    with rasterio.open(out) as raster:
        assert raster.crs.to_epsg() == 32631
        band = raster.read(1)
        k = int(np.flatnonzero(survey.time.values == 200.0)[0])
        np.testing.assert_array_equal(band, survey.facies.values[:, :, k])
        assert raster.nodata == -1
        n_il, n_xl = live.shape
        corners = [(i, j) for i in (0, n_il - 1) for j in (0, n_xl - 1) if live[i, j]]
        assert len(corners) >= 3
        for i, j in corners:
            gx, gy = raster.transform @ (j + 0.5, i + 0.5)  # the centre of pixel (i, j)
            assert abs(gx - x[i, j]) < 0.05 and abs(gy - y[i, j]) < 0.05
    with pytest.raises(InputFileError, match="outside"):
        export_geotiff(store, "facies", tmp_path / "late.tif", time=1e6)


def test_paeth_residuals_invert_png_filter_and_make_smooth_patches_cheap():
    from seisflow.infer.score import paeth_residuals

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2, 1, 8, 8)).astype(np.uint8)
    residual = paeth_residuals(x).astype(np.int16)
    # decode as PNG does, row by row, left to right: the original comes back exactly
    out = np.zeros_like(x, dtype=np.int16)
    for r in range(8):
        for c in range(8):
            a = out[..., r, c - 1] if c else 0
            b = out[..., r - 1, c] if r else 0
            d = out[..., r - 1, c - 1] if r and c else 0
            p = a + b - d
            pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - d)
            guess = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, d))
            out[..., r, c] = (residual[..., r, c] + guess) % 256
    np.testing.assert_array_equal(out, x)
    ramp = np.add.outer(np.arange(32), np.arange(32)).astype(np.uint8)[None, None]
    plain, predicted = (compressor_bits_per_dim(ramp, predict=p)[0] for p in (False, True))
    assert predicted < plain / 4  # a smooth ramp is nearly free once predicted


def test_the_anomaly_read_outs_and_the_hint(mapped, tmp_path):
    from seisflow.infer.attributes import attributes
    from seisflow.infer.contrast import lateral_contrast
    from seisflow.infer.fused import FLOW_WEIGHT, FUSION_RADIUS, HINT_THRESHOLD
    from seisflow.infer.maps import CONTRAST_RADIUS
    from seisflow.infer.stitch import complete_coverage
    from seisflow.ingest.stream import tile

    store, run, _, _ = mapped
    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    survey = open_survey(copy)
    fused, hint = survey.anomaly.values, survey.anomaly_hint.values
    assert survey.anomaly.attrs["seisflow:anomaly_readout"] == "fused"  # the default
    map_survey(copy, run, batch_size=64, layers=("anomaly",), anomaly_readout="contrast",
               overwrite=True, progress=False)  # fmt: skip
    contrast = open_survey(copy).anomaly.values
    map_survey(copy, run, batch_size=64, layers=("anomaly",), anomaly_readout="patch",
               overwrite=True, progress=False)  # fmt: skip
    again = open_survey(copy)
    assert again.anomaly.attrs["seisflow:anomaly_readout"] == "patch"
    np.testing.assert_array_equal(again.anomaly_hint.values, hint)  # the same for every read-out
    live = again.trace_mask.values
    spec = PatchSpec(size=16, axis="inline", stride=8)
    where = tile(copy, spec)
    table = PatchTable(where, np.zeros((len(where), 0)), np.zeros(len(where)), spec)
    trusted = complete_coverage(table, again.amplitude.shape, again.amplitude.data.chunks, live)
    trusted = trusted.compute()
    # only samples next to the missing corner lack a complete patch, and they take 0
    assert (~trusted[live]).any() and trusted[live].mean() > 0.8 and not trusted[~live].any()
    assert (contrast[live[..., None] & ~trusted] == 0).all()
    patch = again.anomaly.values
    expected = lateral_contrast(patch, live, radius=CONTRAST_RADIUS, trusted=trusted)
    np.testing.assert_allclose(contrast, expected, rtol=1e-5, equal_nan=True)
    # fused = |e| + w f, both over the fusion radius; e from the amplitude's log envelope
    f = lateral_contrast(patch, live, radius=FUSION_RADIUS, trusted=trusted)
    envelope = attributes(again, names=("log_envelope",)).log_envelope.values
    e = lateral_contrast(envelope, live, radius=FUSION_RADIUS, signed=True)
    np.testing.assert_allclose(fused, np.abs(e) + FLOW_WEIGHT * f, rtol=1e-4, atol=1e-5,
                               equal_nan=True)  # fmt: skip
    strong = live[..., None] & (fused >= HINT_THRESHOLD + 1e-3)
    assert strong.any() and (hint[strong] > 0).all() and (hint[~live] == -1).all()
    amplitude_led = strong & (np.abs(e) > FLOW_WEIGHT * f + 1e-3)
    np.testing.assert_array_equal(hint[amplitude_led], np.where(e[amplitude_led] > 0, 1, 2))
    assert (hint[live[..., None] & (fused < HINT_THRESHOLD - 1e-3)] == 0).all()


def test_the_cluster_readout_maps_facies(mapped, tmp_path):
    store, run, _, _ = mapped
    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    summary = map_survey(copy, run, batch_size=64, layers=("facies",), readout="cluster",
                         overwrite=True, progress=False)  # fmt: skip
    assert summary["layers"] == ["facies", "facies_confidence"]
    survey = open_survey(copy)
    assert survey.facies.attrs["seisflow:readout"] == "cluster"
    assert survey.facies.attrs["flag_meanings"] == "facies_0 facies_1 facies_2"
    live = np.broadcast_to(survey.trace_mask.values[..., None], survey.amplitude.shape)
    facies = survey.facies.values
    np.testing.assert_array_equal(facies == -1, ~live)
    assert set(np.unique(facies[live])) <= {0, 1, 2} and len(np.unique(facies[live])) > 1


def test_the_lda_readout_maps_the_attribute_word_topics(mapped, tmp_path):
    from seisflow.infer.word_facies import lda_facies

    store, run, _, _ = mapped
    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    expected, probability = lda_facies(open_survey(store), k=3)  # the run has 3 topics
    summary = map_survey(copy, run, batch_size=64, layers=("facies",), readout="lda",
                         overwrite=True, progress=False)  # fmt: skip
    assert summary["layers"] == ["facies", "facies_confidence"]
    survey = open_survey(copy)
    assert survey.facies.attrs["seisflow:readout"] == "lda"
    assert survey.facies.attrs["flag_meanings"] == "facies_0 facies_1 facies_2"
    np.testing.assert_array_equal(survey.facies.values, expected.compute())
    np.testing.assert_array_equal(survey.facies_confidence.values, probability.compute())
    live = survey.trace_mask.values
    assert (survey.facies.values[~live] == -1).all()
    assert np.isnan(survey.facies_confidence.values[~live]).all()
    assert (survey.facies_confidence.values[live] >= 1 / 3 - 1e-6).all()
