"""Ingest: real SEG-Y and synthetic surveys into the survey store, checked against segyio."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import segyio
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seisflow.ingest import ByteLocations, describe, open_survey, segy_to_zarr
from seisflow.ingest.segy_writer import SegyWriter, text_header

TF = segyio.TraceField
REAL_3D = ["f3_crop_ibm.sgy", "f3_crop_int16.sgy", "f3_ebcdic_2il.sgy", "f3_very_small.sgy"]


def ingest(source, store, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unknown CRS on test files
        return segy_to_zarr(source, store, **kwargs)


@pytest.mark.parametrize("name", REAL_3D)
def test_real_3d_files_equal_segyio(shared_segy, tmp_path, name):
    path = shared_segy / name
    report = ingest(path, tmp_path / "s.zarr")
    ds = open_survey(report.store)
    cube = segyio.tools.cube(path)
    np.testing.assert_array_equal(ds.amplitude.values, cube.astype(np.float32))
    with segyio.open(path) as f:
        np.testing.assert_array_equal(ds.inline, f.ilines)
        np.testing.assert_array_equal(ds.crossline, f.xlines)
        np.testing.assert_allclose(ds.time, f.samples)
        scalar = f.attributes(TF.SourceGroupScalar)[:].astype(float)
        factor = np.where(scalar < 0, -1 / scalar, np.where(scalar > 0, scalar, 1))
        x = f.attributes(TF.CDP_X)[:] * factor
        y = f.attributes(TF.CDP_Y)[:] * factor
    np.testing.assert_allclose(ds.cdp_x.values.ravel(), x)  # inline-sorted, complete grid
    np.testing.assert_allclose(ds.cdp_y.values.ravel(), y)
    assert bool(ds.trace_mask.all())
    assert ds.attrs["spatial:transform_rms_m"] < 1.0  # a plane grid: the affine fits
    assert ds.amplitude.attrs["grid_mapping"] == "spatial_ref"
    assert ds.amplitude.encoding["coordinates"] == "cdp_x cdp_y"


def test_text_headers_are_decoded(shared_segy, tmp_path):
    ebcdic = open_survey(ingest(shared_segy / "f3_ebcdic_2il.sgy", tmp_path / "e.zarr").store)
    assert ebcdic.attrs["text_header_encoding"] == "ebcdic"
    assert ebcdic.attrs["text_header"].startswith("C01 segysak Python Library SEG-Y Output")
    ascii_ = open_survey(ingest(shared_segy / "f3_very_small.sgy", tmp_path / "a.zarr").store)
    assert ascii_.attrs["text_header_encoding"] == "ascii"
    assert "OpendTect" in ascii_.attrs["text_header"]


def test_real_2d_line_by_cdp(shared_segy, tmp_path):
    path = shared_segy / "volve_arbline_ieee.sgy"
    report = ingest(path, tmp_path / "line.zarr")
    ds = open_survey(report.store)
    assert report.is_2d and ds.sizes["inline"] == 1
    with segyio.open(path, ignore_geometry=True) as f:
        np.testing.assert_array_equal(ds.crossline, f.attributes(TF.CDP)[:])
        np.testing.assert_array_equal(ds.amplitude.values[0], f.trace.raw[:])
        np.testing.assert_allclose(ds.cdp_x.values[0], f.attributes(TF.CDP_X)[:] / 100)
    assert ds.attrs["geometry"]["is_2d"]
    assert ds.attrs["sample_format"]["code"] == 5


def test_crs_from_user_and_text_header(shared_segy, tmp_path, make_survey):
    ds = open_survey(
        ingest(shared_segy / "f3_crop_ibm.sgy", tmp_path / "u.zarr", crs="EPSG:23031").store
    )
    assert ds.attrs["proj:code"] == "EPSG:23031"
    assert "ED50" in ds.spatial_ref.attrs["crs_wkt"]
    assert ds.spatial_ref.attrs["grid_mapping_name"] == "transverse_mercator"
    synthetic = open_survey(segy_to_zarr(make_survey().segy, tmp_path / "t.zarr").store)
    assert synthetic.attrs["proj:code"] == "EPSG:32631"
    assert synthetic.attrs["crs_source"] == "text header"
    with pytest.warns(UserWarning, match="CRS is unknown"):
        segy_to_zarr(shared_segy / "f3_crop_int16.sgy", tmp_path / "n.zarr")


VARIANTS = [
    {},
    {"format": "ieee", "sorting": "crossline"},
    {"xline_step": 3, "missing_corner": True},
    {"sorting": "crossline", "xline_step": 2, "missing_corner": True},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: "-".join(f"{k}={v[k]}" for k in v))
def test_synthetic_geometry_matches_truth(make_survey, tmp_path, variant):
    result = make_survey(**variant)
    ds = open_survey(segy_to_zarr(result.segy, tmp_path / "s.zarr", chunks=(8, 16, 64)).store)
    truth = xr.open_zarr(result.truth)
    np.testing.assert_array_equal(ds.inline, truth.inline)
    np.testing.assert_array_equal(ds.crossline, truth.crossline)
    np.testing.assert_allclose(ds.time, truth.time)
    np.testing.assert_array_equal(ds.trace_mask, truth.live)
    live = truth.live.values
    np.testing.assert_allclose(ds.cdp_x.values[live], truth.cdp_x.values[live], atol=0.006)
    np.testing.assert_allclose(ds.cdp_y.values[live], truth.cdp_y.values[live], atol=0.006)
    amplitude = ds.amplitude.values
    assert np.isnan(amplitude[~live]).all() and np.isfinite(amplitude[live]).all()
    assert ds.attrs["geometry"]["sorting"] == variant.get("sorting", "inline")
    assert ds.attrs["spatial:transform_rms_m"] < 0.01  # the synthetic grid is a rotated plane
    summary = describe(tmp_path / "s.zarr")
    assert summary["grid"]["missing_traces"] == int((~live).sum())
    corner = summary["corners"][0]
    assert corner["x"] == pytest.approx(float(truth.cdp_x[0, 0]), abs=0.01)


def test_same_amplitudes_for_every_variant(make_survey, tmp_path):
    stores = [
        open_survey(segy_to_zarr(make_survey(**v).segy, tmp_path / f"{k}.zarr").store)
        for k, v in enumerate([{}, {"format": "ieee", "sorting": "crossline"}])
    ]
    np.testing.assert_allclose(
        stores[0].amplitude.values, stores[1].amplitude.values, rtol=1e-5, atol=1e-3
    )


@st.composite
def geometries(draw):
    n_il = draw(st.integers(1, 6))
    n_xl = draw(st.integers(2, 7))
    il_step = draw(st.integers(1, 4))
    xl_step = draw(st.integers(1, 5))
    cells = [(i, j) for i in range(n_il) for j in range(n_xl)]
    keep = draw(st.lists(st.booleans(), min_size=len(cells), max_size=len(cells)))
    chosen = [c for c, k in zip(cells, keep, strict=True) if k] or cells[:2]
    order = draw(st.permutations(chosen))
    return n_il, n_xl, il_step, xl_step, order


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(geometry=geometries(), ns=st.integers(1, 9))
def test_random_geometries_round_trip(tmp_path_factory, geometry, ns):
    _, _, il_step, xl_step, order = geometry
    root = tmp_path_factory.mktemp("geom")
    i = np.array([c[0] for c in order])
    j = np.array([c[1] for c in order])
    inline, crossline = 500 + il_step * i, 20 + xl_step * j
    samples = (np.arange(len(order))[:, None] * 10 + np.arange(ns)).astype(np.float32)
    fields = {
        TF.INLINE_3D: inline,
        TF.CROSSLINE_3D: crossline,
        TF.CDP_X: 1000 * i + 7 * j,
        TF.CDP_Y: 3 * i - 1000 * j,
        TF.SourceGroupScalar: np.full(len(order), 1),
    }
    with SegyWriter(
        root / "g.sgy",
        samples=ns,
        interval_us=2000,
        format="ieee",
        text=text_header(["EPSG:32631"]),
        binary={},
        fields=list(fields),
    ) as writer:
        writer.write(fields, samples)
    ds = open_survey(segy_to_zarr(root / "g.sgy", root / "g.zarr", chunks=(2, 3, 4)).store)
    if np.unique(inline).size == 1 and np.unique(crossline).size == 1:
        return  # a single bin reads as a 2-D line of one trace
    for k in range(len(order)):
        cell = ds.amplitude.sel(inline=inline[k], crossline=crossline[k]).values
        np.testing.assert_array_equal(cell, samples[k])
        assert float(ds.cdp_x.sel(inline=inline[k], crossline=crossline[k])) == fields[TF.CDP_X][k]
    assert int(ds.trace_mask.sum()) == len(order)
    assert int(np.isfinite(ds.amplitude.values).all(axis=-1).sum()) == len(order)
    steps = np.diff(ds.inline.values)
    assert steps.size == 0 or np.all(steps == steps[0])


def test_other_byte_locations(shared_segy, tmp_path):
    """The F3 crops also carry the crossline number as CDP (byte 21)."""
    locations = ByteLocations(crossline=21)
    ds = open_survey(
        ingest(shared_segy / "f3_crop_ibm.sgy", tmp_path / "b.zarr", locations=locations).store
    )
    np.testing.assert_array_equal(ds.crossline, np.arange(875, 893))
    assert ds.attrs["byte_locations"]["crossline"] == 21


def test_store_opens_with_mdio(make_survey, tmp_path):
    """MDIO users can read the store with open_mdio (needs the bench extra)."""
    mdio = pytest.importorskip("mdio", reason="MDIO not installed: pip install -e '.[bench]'")
    store = segy_to_zarr(make_survey().segy, tmp_path / "s.zarr").store
    ds = mdio.open_mdio(store)
    np.testing.assert_array_equal(ds.amplitude.values, open_survey(store).amplitude.values)
    assert set(ds.amplitude.dims) == {"inline", "crossline", "time"}


@pytest.mark.parametrize(("code", "dtype"), [(1, "f4"), (2, "i4"), (3, "i2"), (5, "f4"), (8, "i1")])
def test_every_sample_format(tmp_path, code, dtype):
    """Files written by segyio itself in each common format ingest to the same numbers."""
    rng = np.random.default_rng(code)
    n_il, n_xl, ns = 3, 4, 6
    values = rng.integers(-100, 100, (n_il * n_xl, ns)).astype(dtype).astype(np.float32)
    spec = segyio.spec()
    spec.format, spec.samples = code, np.arange(ns) * 2.0
    spec.ilines, spec.xlines, spec.sorting = np.arange(10, 13), np.arange(1, 5), 2
    path = tmp_path / f"format{code}.sgy"
    with segyio.create(path, spec) as f:
        for k, (i, j) in enumerate(np.ndindex(n_il, n_xl)):
            f.header[k] = {
                TF.INLINE_3D: 10 + i,
                TF.CROSSLINE_3D: 1 + j,
                TF.CDP_X: 100 * i,
                TF.CDP_Y: 100 * j,
                TF.SourceGroupScalar: 1,
            }
            f.trace[k] = values[k].astype(dtype)
    ds = open_survey(ingest(path, tmp_path / "s.zarr").store)
    np.testing.assert_array_equal(ds.amplitude.values.reshape(-1, ns), values)
    assert ds.attrs["sample_format"]["code"] == code
    assert ds.amplitude.dtype == np.float32


def test_info_command(make_survey, tmp_path):
    import json
    import subprocess
    import sys

    store = segy_to_zarr(make_survey(missing_corner=True).segy, tmp_path / "s.zarr").store

    def info(*args):
        out = subprocess.run(
            [sys.executable, "-m", "seisflow", "info", str(store), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        return out.stdout

    summary = json.loads(info("--json"))
    ds = open_survey(store)
    assert summary["grid"]["inlines"] == {"first": 1000, "last": 1023, "step": 1, "count": 24}
    assert summary["grid"]["traces"] == int(ds.trace_mask.sum())
    assert summary["crs"] == "EPSG:32631"
    assert summary["samples"] == {
        "domain": "time",
        "first": 0.0,
        "last": 380.0,
        "interval": 4.0,
        "units": "ms",
    }
    assert summary["layers"] == []
    assert summary["size_on_disk_bytes"] > 0
    corner = next(c for c in summary["corners"] if (c["inline"], c["crossline"]) == (1000, 2000))
    assert corner["x"] == pytest.approx(float(ds.cdp_x[0, 0]), abs=0.01)
    text = info()
    assert "inlines 1000-1023 step 1 (24)" in text and "EPSG:32631" in text
    assert "corner     IL 1000 XL 2000" in text


def test_read_block_rows_slabs_and_gaps(tmp_path):
    """Rows read as slabs (one after another or not), rows with gaps and rows out of file
    order all give the traces at their positions, NaN where there is none."""
    from seisflow.ingest.segy import open_segy, read_block

    n, ns = 40, 5
    samples = np.arange(n * ns, dtype=np.float32).reshape(n, ns)
    fields = {TF.INLINE_3D: np.arange(n), TF.CROSSLINE_3D: np.zeros(n, dtype=np.int64)}
    path = tmp_path / "rows.sgy"
    with SegyWriter(path, samples=ns, interval_us=4000, format="ieee", text=text_header([]),
                    binary={}, fields=list(fields)) as writer:  # fmt: skip
        writer.write(fields, samples)
    index = np.array(
        [
            [0, 1, 2, 3],  # a slab ...
            [4, 5, 6, 7],  # ... continued by the next row: one read
            [20, 21, 22, 23],  # a slab elsewhere
            [9, -1, 11, 12],  # a gap
            [30, 29, 28, 27],  # out of file order
            [-1, -1, -1, -1],  # no trace at all
            [8, 9, 10, 11],  # a slab after gathered rows
        ]
    )
    with open_segy(path) as handle:
        block = read_block(handle, index)
        one_row = read_block(handle, index[:1, 1:3])
    expected = np.where((index >= 0)[..., None], samples[index], np.nan)
    np.testing.assert_array_equal(block, expected)
    np.testing.assert_array_equal(one_row, samples[None, 1:3])


def test_block_stats_in_pieces_match_float64(monkeypatch):
    """Statistics read in pieces (NaN and inf in some, a piece of only NaN) count like the
    whole array and sum to float64 accuracy."""
    from seisflow.ingest import blocks

    monkeypatch.setattr(blocks, "STATS_PIECE", 16)
    values = np.random.default_rng(1).normal(3.0, 2.0, (5, 7, 9)).astype(np.float32)
    flat = values.reshape(-1)
    flat[[3, 40, 41]] = np.nan
    flat[[5, 200]] = [np.inf, -np.inf]
    flat[64:80] = np.nan  # one whole piece
    stats = blocks.block_stats(values)
    good = flat[np.isfinite(flat)].astype(np.float64)
    assert (stats["count"], stats["nan_count"], stats["inf_count"]) == (flat.size, 19, 2)
    assert stats["finite"] == good.size
    assert (stats["min"], stats["max"]) == (good.min(), good.max())
    np.testing.assert_allclose(stats["sum"], good.sum(), rtol=1e-6)
    np.testing.assert_allclose(stats["sum_sq"], (good**2).sum(), rtol=1e-6)
    empty = blocks.block_stats(np.full((2, 3), np.nan, dtype=np.float32))
    assert (empty["finite"], empty["nan_count"], empty["min"], empty["max"]) == (
        0,
        6,
        np.inf,
        -np.inf,
    )
