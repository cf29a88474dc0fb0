"""GeoTIFF vertical sections: rows are samples, columns the traces along an inline or crossline,
in a local engineering frame (metres along the line, minus the time), no CRS."""

from __future__ import annotations

import re

import dask.array as da
import numpy as np
import pytest
from click.testing import CliRunner

from seisflow.cli import cli
from seisflow.errors import InputFileError, OutputPathError
from seisflow.infer.export import export_geotiff
from seisflow.infer.writeback import write_layer
from seisflow.ingest import open_survey, segy_to_zarr

rasterio = pytest.importorskip("rasterio")


def _store(make_survey, root, **fields):
    """A small ingested survey with an int16 layer ``code`` = inline index * 1000 + crossline
    index and a float32 layer ``score`` = code + sample index / 1000 (no training)."""
    survey = make_survey(**fields)
    store = segy_to_zarr(survey.segy, root / "s.zarr", chunks=(8, 15, 48)).store
    n_il, n_xl, ns = open_survey(store).amplitude.shape
    i, j, k = np.meshgrid(np.arange(n_il), np.arange(n_xl), np.arange(ns), indexing="ij")
    code = (i * 1000 + j).astype(np.int16)
    write_layer(store, "code", da.from_array(code, chunks=(8, 15, 48)),
                attrs={"flag_meanings": "a b c"})  # fmt: skip
    score = (code + k / 1000).astype(np.float32)
    write_layer(store, "score", da.from_array(score, chunks=(8, 15, 48)), attrs={})
    return store


@pytest.fixture(scope="module")
def store(make_survey, tmp_path_factory):
    return _store(make_survey, tmp_path_factory.mktemp("sections"), xline_step=2)


def _check_section(store, out, dim, number):
    """The section at ``dim`` = ``number`` matches the layer, the frame and the trace X/Y."""
    survey = open_survey(store)
    index = int(np.flatnonzero(survey[dim].values == number)[0])
    a, b, _, d, e, _ = survey.attrs["spatial:transform"]
    if dim == "inline":
        expected, along = survey.code.values[index, :, :].T, "crossline"
        spacing, ends = np.hypot(a, d), [(index, 0), (index, -1)]
    else:
        expected, along = survey.code.values[:, index, :].T, "inline"
        spacing, ends = np.hypot(b, e), [(0, index), (-1, index)]
    time = survey.time.values
    with rasterio.open(out) as raster:
        band = raster.read(1)
        np.testing.assert_array_equal(band, expected)  # rows time, columns traces
        assert raster.crs is None
        assert raster.nodata == -1
        for c in (0, 1, band.shape[1] - 1):  # pixel centres: distance along, minus time
            for r in (0, 1, band.shape[0] - 1):
                gx, gy = raster.transform @ (c + 0.5, r + 0.5)
                assert gx == pytest.approx(c * spacing, abs=1e-6)
                assert gy == pytest.approx(-time[r], abs=1e-6)
        tags = raster.tags()
    assert tags["layer"] == "code" and tags["line"] == f"{dim}={number}"
    assert tags["vertical_unit"] == "ms" and tags["legend"] == "a b c"
    assert tags["first_trace"] == f"{along}={survey[along].values[0]}"
    assert tags["last_trace"] == f"{along}={survey[along].values[-1]}"
    assert tags["xy_crs"] == survey.attrs["proj:code"] == "EPSG:32631"
    x, y = survey.cdp_x.values, survey.cdp_y.values
    for name, (i, j) in zip(("first", "last"), ends, strict=True):
        assert float(tags[f"{name}_x"]) == x[i, j] and float(tags[f"{name}_y"]) == y[i, j]
    length = np.hypot(x[ends[1]] - x[ends[0]], y[ends[1]] - y[ends[0]])
    assert length == pytest.approx((band.shape[1] - 1) * spacing, abs=0.05)  # the real geometry


def test_inline_section(store, tmp_path):
    survey = open_survey(store)
    number = int(survey.inline.values[5])
    out = tmp_path / "il.tif"
    result = export_geotiff(store, "code", out, inline=number)
    assert result["inline"] == number and result["shape"] == (96, 30)
    _check_section(store, out, "inline", number)
    assert not out.with_name("il.tif.partial").exists()


def test_crossline_section(store, tmp_path):
    survey = open_survey(store)
    number = int(survey.crossline.values[7])  # crosslines every 2: 25 m per index
    out = tmp_path / "xl.tif"
    result = export_geotiff(store, "code", out, crossline=number)
    assert result["crossline"] == number and result["shape"] == (96, 24)
    _check_section(store, out, "crossline", number)


def test_float_section_has_nan_nodata(store, tmp_path):
    survey = open_survey(store)
    number = int(survey.crossline.values[0])
    out = tmp_path / "score.tif"
    export_geotiff(store, "score", out, crossline=number)
    with rasterio.open(out) as raster:
        assert np.isnan(raster.nodata) and raster.dtypes[0] == "float32"
        np.testing.assert_array_equal(raster.read(1), survey.score.values[:, 0, :].T)


def test_mode_and_line_errors(store, tmp_path):
    survey = open_survey(store)
    out = tmp_path / "x.tif"
    with pytest.raises(OutputPathError, match="got none: pass exactly one of --time"):
        export_geotiff(store, "code", out)
    with pytest.raises(OutputPathError, match="--time 40, --inline 1003"):
        export_geotiff(store, "code", out, time=40, inline=1003)
    with pytest.raises(OutputPathError, match="exactly one"):
        export_geotiff(store, "code", out, inline=1003, crossline=2000)
    first, last = survey.crossline.values[[0, -1]]
    message = re.escape(f"--crossline 2001 is not in {store}")
    with pytest.raises(InputFileError, match=message) as error:
        export_geotiff(store, "code", out, crossline=2001)
    assert f"from {first} to {last} every 2" in str(error.value)
    with pytest.raises(InputFileError, match=r"--inline 5 is not in .* 1000 to 1023"):
        export_geotiff(store, "code", out, inline=5)
    assert not out.exists()
    export_geotiff(store, "code", out, inline=1003)
    with pytest.raises(OutputPathError, match="exists"):
        export_geotiff(store, "code", out, inline=1003)
    export_geotiff(store, "code", out, inline=1004, overwrite=True)
    with rasterio.open(out) as raster:
        assert raster.tags()["line"] == "inline=1004"


def test_missing_trace_xy_from_the_affine(make_survey, tmp_path):
    store = _store(make_survey, tmp_path, missing_corner=True)
    survey = open_survey(store)
    live = survey.trace_mask.values
    i = int(np.flatnonzero(~live[:, -1])[0])  # an inline whose last trace is missing
    out = tmp_path / "corner.tif"
    export_geotiff(store, "code", out, inline=int(survey.inline.values[i]))
    a, b, c, d, e, f = survey.attrs["spatial:transform"]
    j = live.shape[1] - 1
    with rasterio.open(out) as raster:
        tags = raster.tags()
    assert np.isnan(survey.cdp_x.values[i, j])
    assert float(tags["last_x"]) == pytest.approx(a * j + b * i + c)
    assert float(tags["last_y"]) == pytest.approx(d * j + e * i + f)


def test_cli_writes_a_section(store, tmp_path):
    out = tmp_path / "cli.tif"
    runner = CliRunner()
    result = runner.invoke(cli, ["export", str(store), "code", str(out), "--crossline", "2010"])
    assert result.exit_code == 0, result.output
    assert "section along crossline 2010 (96 samples x 24 inlines)" in result.output
    _check_section(store, out, "crossline", 2010)
    result = runner.invoke(cli, ["export", str(store), "code", str(tmp_path / "no.tif")])
    assert result.exit_code == 1 and "pass exactly one of --time" in result.output
    result = runner.invoke(cli, ["export", str(store), "code", str(tmp_path / "x.sgy"),
                                 "--inline", "1003"])  # fmt: skip
    assert result.exit_code == 1 and "are for a GeoTIFF" in result.output
