"""Real 2-D lines (issue 19) through export and display: each line placed by CDP ingests and
exports back to SEG-Y trace for trace (headers byte for byte, CDPs at byte 21, samples); the
exported text header keeps the source's cards and carries one provenance block with the
SEISFLOW line; GeoTIFFs with no extent are refused in one line; a crooked line's section is
measured trace to trace; ``seisflow info`` and plots label the traces by CDP and the line by
its name; a never-negative layer is drawn on a sequential map with a colour bar.

Expected values come from segyio reading the source files, not from seisflow.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import segyio
import zarr
from clitools import assert_one_line, run
from matplotlib.figure import Figure

from seisflow import viz
from seisflow.errors import InputFileError
from seisflow.infer.export import export_geotiff, export_segy
from seisflow.infer.export_header import with_provenance
from seisflow.infer.writeback import write_layer
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.ingest.byte_locations import ByteLocations
from seisflow.ingest.segy_writer import SegyWriter, text_header
from seisflow.ingest.store import consolidate

rasterio = pytest.importorskip("rasterio")

TF = segyio.TraceField
#: The three 2-D lines: ingest settings, the SEISFLOW line expected in the export and the
#: cards (0-based) the provenance block lands on: the last run of seven blank cards.
LINES = {
    "line_31_81_cdp_only.sgy": (
        {}, "SEISFLOW DOMAIN=time VUNITS=ms XYUNITS=m CRS=unknown", range(13, 20)),
    "volve_depth_line.sgy": (
        {"domain": "depth", "crs": "EPSG:23031"},
        "SEISFLOW DOMAIN=depth VUNITS=m XYUNITS=m CRS=EPSG:23031", range(32, 39)),
    "volve_arbline_ieee.sgy": (
        {"crs": "EPSG:23031"},
        "SEISFLOW DOMAIN=time VUNITS=ms XYUNITS=m CRS=EPSG:23031", range(32, 39)),
}  # fmt: skip


def _with_code_layer(store: Path) -> np.ndarray:
    """Write ``code`` = trace index * 10000 + sample index into ``store``; return it."""
    shape = open_survey(store).amplitude.shape
    _, j, k = np.indices(shape)
    code = (j * 10000 + k).astype(np.float32)
    write_layer(store, "code", da.from_array(code, chunks=(1, 64, 256)),
                attrs={"long_name": "trace and sample index"})  # fmt: skip
    return code


@pytest.fixture(scope="module", params=sorted(LINES))
def line(request, shared_segy, tmp_path_factory):
    """``(source, store, settings)``: a 2-D line ingested with a ``code`` layer."""
    source = shared_segy / request.param
    settings = LINES[request.param]
    root = tmp_path_factory.mktemp(source.stem)
    store = segy_to_zarr(source, root / "line.zarr", **settings[0]).store
    _with_code_layer(store)
    return source, store, settings


def _cards(path: Path) -> list[bytes]:
    raw = path.read_bytes()[:3200]
    return [raw[80 * n : 80 * n + 80] for n in range(40)]


def test_a_2d_line_exports_trace_for_trace(line, tmp_path):
    source, store, _ = line
    out = tmp_path / "amplitude.sgy"
    result = run("export", store, "amplitude", out)
    assert result.returncode == 0, result.stderr
    code_out = tmp_path / "code.sgy"
    export_segy(store, "code", code_out)
    with segyio.open(source, ignore_geometry=True) as a:
        n, cdps, samples = a.tracecount, a.attributes(TF.CDP)[:], a.samples
        traces = segyio.tools.collect(a.trace[:]).astype(np.float32)
    with segyio.open(out, ignore_geometry=True) as b:
        assert b.tracecount == n and b.bin[segyio.BinField.Format] == 5  # IEEE floats
        np.testing.assert_array_equal(b.samples, samples)
        np.testing.assert_array_equal(b.attributes(TF.CDP)[:], cdps)  # byte 21
        np.testing.assert_array_equal(segyio.tools.collect(b.trace[:]), traces)
    with segyio.open(code_out, ignore_geometry=True) as c:
        codes = segyio.tools.collect(c.trace[:])
    # trace k of the file holds CDP cdps[k], stored at crossline index cdps[k] - first CDP
    expected = (cdps - cdps.min())[:, None] * 10000.0 + np.arange(codes.shape[1])
    np.testing.assert_array_equal(codes, expected.astype(np.float32))
    ns = codes.shape[1]
    heads = [np.fromfile(f, np.uint8)[3600:].reshape(n, -1)[:, :240] for f in (source, out)]
    np.testing.assert_array_equal(heads[1], heads[0])  # every trace header byte for byte
    assert np.fromfile(out, np.uint8).size == 3600 + n * (240 + 4 * ns)


def test_the_source_text_header_is_kept_with_one_provenance_block(line, tmp_path):
    source, store, (_, seisflow_line, block) = line
    out = tmp_path / "code.sgy"
    export_segy(store, "code", out)
    before, after = _cards(source), _cards(out)
    for n in range(40):
        if n not in block:
            assert after[n] == before[n], n  # the source's card, byte for byte
        else:
            assert not before[n].decode("cp037")[3:].strip(), n  # a blank card of the source
    cards = [card.decode("cp037") for card in after]
    written = [cards[n][4:].rstrip() for n in block]
    assert written[0] == "SEISFLOW LAYER code: trace and sample index"
    assert written[1] == "SEISFLOW CONTINUOUS VALUES"
    assert written[3] == "n/a" and written[4] == f"SEISFLOW SOURCE {source.name}"
    assert written[-1] == seisflow_line
    assert [c[:4] for c in (cards[n] for n in block)] == [f"C{n + 1:2d} " for n in block]
    assert sum("SEISFLOW DOMAIN=" in card for card in cards) == 1


def test_a_re_export_of_an_export_carries_one_block(shared_segy, tmp_path):
    first = tmp_path / "first.sgy"
    store = segy_to_zarr(shared_segy / "volve_arbline_ieee.sgy", tmp_path / "a.zarr").store
    _with_code_layer(store)
    export_segy(store, "code", first)
    again = segy_to_zarr(first, tmp_path / "b.zarr").store
    second = tmp_path / "second.sgy"
    export_segy(again, "amplitude", second)
    cards = [card.decode("cp037")[4:].rstrip() for card in _cards(second)]
    assert sum(card.startswith("SEISFLOW DOMAIN=") for card in cards) == 1
    assert sum(card.startswith("SEISFLOW LAYER") for card in cards) == 1
    assert "SEISFLOW LAYER amplitude: seismic amplitude" in cards
    assert "n/a" in cards and cards.count("n/a") == 1  # the old digest card went with its block
    assert cards[0] == "SEGY OUTPUT FROM Petrel 2017.2 Saturday, June 06 2020 10:34:59"


def test_a_full_text_header_gives_its_last_cards_but_the_end_card():
    full = "".join(f"C{n:2d} SOURCE CARD {n}".ljust(80) for n in range(1, 40))
    source = (full + "C40 END TEXTUAL HEADER".ljust(80)).encode("ascii")
    out = with_provenance(source, ["SEISFLOW A", "SEISFLOW B"]).decode("ascii")
    cards = [out[80 * n : 80 * n + 80].rstrip() for n in range(40)]
    assert cards[37:] == ["C38 SEISFLOW A", "C39 SEISFLOW B", "C40 END TEXTUAL HEADER"]
    assert cards[:37] == [f"C{n:2d} SOURCE CARD {n}" for n in range(1, 38)]  # ASCII kept
    scattered = bytearray(source)
    for n in (4, 20):  # two free cards, not side by side: the block takes them in order
        scattered[80 * n : 80 * n + 80] = f"C{n + 1:2d}".ljust(80).encode("ascii")
    out = with_provenance(bytes(scattered), ["SEISFLOW A", "SEISFLOW B"]).decode("ascii")
    assert out[320:400].rstrip() == "C 5 SEISFLOW A" and out[1600:1680].rstrip() == "C21 SEISFLOW B"


def _file_order_line(path: Path) -> Path:
    """Five traces of a 2-D line with every CDP word 7: placed in file order."""
    with SegyWriter(path, samples=4, interval_us=4000, format="ieee", text=text_header([]),
                    binary={}, fields=[TF.CDP, TF.CDP_X, TF.CDP_Y]) as writer:  # fmt: skip
        writer.write({TF.CDP: np.full(5, 7), TF.CDP_X: np.arange(5) * 10,
                      TF.CDP_Y: np.zeros(5, dtype=int)},
                     np.arange(20, dtype=np.float32).reshape(5, 4))  # fmt: skip
    return path


def test_a_line_placed_in_file_order_and_an_older_store_export(tmp_path, shared_segy):
    store = segy_to_zarr(_file_order_line(tmp_path / "f.sgy"), tmp_path / "f.zarr").store
    assert open_survey(store).attrs["geometry"]["placed_by"] == "file order"
    export_segy(store, "amplitude", tmp_path / "f_out.sgy")
    with segyio.open(tmp_path / "f_out.sgy", ignore_geometry=True) as handle:
        np.testing.assert_array_equal(segyio.tools.collect(handle.trace[:]),
                                      np.arange(20, dtype=np.float32).reshape(5, 4))  # fmt: skip
    info = run("info", store)
    assert "2-D line, traces 1-5 step 1 (5), 4 samples" in info.stdout, info.stdout
    # a store written before placed_by was recorded: the ingest's rule finds the traces
    old = segy_to_zarr(shared_segy / "volve_depth_line.sgy", tmp_path / "old.zarr").store
    group = zarr.open_group(str(old), mode="r+")
    group.attrs["geometry"] = {k: v for k, v in group.attrs["geometry"].items()
                               if k != "placed_by"}  # fmt: skip
    consolidate(old)
    assert "placed_by" not in open_survey(old).attrs["geometry"]
    export_segy(old, "amplitude", tmp_path / "old.sgy")
    with segyio.open(tmp_path / "old.sgy", ignore_geometry=True) as handle:
        assert handle.tracecount == 202


@pytest.fixture(scope="module")
def stores(shared_segy, tmp_path_factory):
    """The zero-length line L31 and the crooked Volve line, ingested."""
    root = tmp_path_factory.mktemp("lines")
    return {
        name: segy_to_zarr(shared_segy / f"{name}.sgy", root / f"{name}.zarr").store
        for name in ("line_31_81_cdp_only", "volve_arbline_ieee")
    }


def test_geotiffs_with_no_extent_are_refused(stores, tmp_path):
    l31, volve = stores["line_31_81_cdp_only"], stores["volve_arbline_ieee"]
    out = run("export", volve, "amplitude", tmp_path / "slice.tif", "--time", "400")
    assert_one_line(
        out,
        1,
        f"{volve} is a 2-D line (225 traces on inline 1): a time slice "
        "of it would be a GeoTIFF one pixel wide, with no extent across the line; "
        "export the section along it with --inline 1, or the whole line as SEG-Y",
    )
    with pytest.raises(InputFileError, match=(
            r"the traces of .*line_31_81_cdp_only.zarr have no X/Y \(coordinate source: "
            r"unknown; CDP X/Y at bytes 181/185 hold no positions\): a section GeoTIFF of them "
            r"would have no width; re-ingest with --cdpx-byte/--cdpy-byte")):  # fmt: skip
        export_geotiff(l31, "amplitude", tmp_path / "section.tif", inline=1)
    same = shutil.copytree(volve, tmp_path.parent / f"{tmp_path.name}_same.zarr")
    for name, value in (("cdp_x", 434245.37), ("cdp_y", 6478564.17)):  # every trace at one place
        zarr.open_array(str(same), path=name, mode="r+")[:] = value
    with pytest.raises(InputFileError, match=(
            r"the traces along inline 1 of .*_same.zarr all sit at X 434245.37, Y 6478564.17 "
            r"\(CDP X/Y, bytes 181/185\): a section GeoTIFF of them would have no width"
    )):  # fmt: skip
        export_geotiff(same, "amplitude", tmp_path / "section.tif", inline=1)
    out = run("export", volve, "amplitude", tmp_path / "trace.tif", "--crossline", "5")
    assert_one_line(out, 1, "--crossline 5 of", "holds a single trace (CDP 5 of the 2-D line)",
                    "export the section along the line with --inline 1")  # fmt: skip
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_crooked_line_section_is_measured_trace_to_trace(stores, shared_segy, tmp_path):
    store = stores["volve_arbline_ieee"]
    with segyio.open(shared_segy / "volve_arbline_ieee.sgy", ignore_geometry=True) as handle:
        scalar = handle.attributes(TF.SourceGroupScalar)[:]
        x = handle.attributes(TF.CDP_X)[:] / np.abs(scalar)  # scalar -100: divide
        y = handle.attributes(TF.CDP_Y)[:] / np.abs(scalar)
    assert set(scalar) == {-100}
    steps = np.hypot(np.diff(x), np.diff(y))
    length = steps.sum()
    assert length == pytest.approx(2985.16, abs=0.01)  # the straight ends are 2285.75 m apart
    out = tmp_path / "line.tif"
    result = run("export", store, "amplitude", out, "--inline", "1")
    assert result.returncode == 0, result.stderr
    assert "section along inline 1 (850 samples x 225 CDPs)" in result.stdout
    with rasterio.open(out) as raster:
        assert raster.transform.a == pytest.approx(length / 224, rel=1e-12)
        tags = raster.tags()
        band = raster.read(1)
    np.testing.assert_array_equal(band, open_survey(store).amplitude.values[0].T)
    distance = np.array(tags["trace_distance_m"].split(), dtype=float)
    np.testing.assert_allclose(distance, np.concatenate([[0], np.cumsum(steps)]), atol=0.005)
    assert (tags["first_trace"], tags["last_trace"]) == ("CDP=1", "CDP=225")
    assert tags["xy_units"] == "m"


def test_info_labels_a_2d_line_by_cdp_and_name(stores):
    out = run("info", stores["line_31_81_cdp_only"])
    assert out.returncode == 0, out.stderr
    assert "grid       2-D line L31, CDPs 101-634 step 1 (534), 1501 samples" in out.stdout
    assert "end        CDP 101: X/Y unknown" in out.stdout  # bytes 181-188 hold other words
    assert "corner" not in out.stdout and "crossline" not in out.stdout
    volve = run("info", stores["volve_arbline_ieee"])
    assert "grid       2-D line, CDPs 1-225 step 1 (225), 850 samples" in volve.stdout
    assert "length     2985.2 m along the line, trace to trace" in volve.stdout
    summary = json.loads(run("info", stores["volve_arbline_ieee"], "--json").stdout)
    assert summary["line"]["trace_label"] == "CDP" and summary["line"]["count"] == 225
    assert summary["line"]["ends"][0] == {"number": 1, "x": 434245.37, "y": 6478564.17}


def test_plots_label_a_2d_line_and_colour_a_positive_layer(stores):
    ds = open_survey(stores["volve_arbline_ieee"])
    ax = ds.seisflow.plot()  # the line itself, signed seismic: grey, symmetric, no bar
    assert ax.get_xlabel() == "CDP" and ax.get_title() == "2-D line"
    image = ax.images[0]
    assert image.get_cmap().name == "Greys" and image.norm.vmin == -image.norm.vmax
    assert len(ax.figure.axes) == 1
    top = ax.child_axes[0]  # the distance along the line, on top
    assert top.get_xlabel() == "distance along the line (m)"
    envelope = ds.assign(amplitude=np.abs(ds.amplitude))  # never negative
    ax = envelope.seisflow.plot()
    image = ax.images[0]
    values = np.abs(ds.amplitude.values[0])
    assert image.get_cmap().name == viz.SEQUENTIAL_CMAP == "viridis"
    assert (image.norm.vmin, image.norm.vmax) == tuple(np.percentile(values, [1, 99]))
    assert len(ax.figure.axes) == 2  # the section and its colour bar
    l31 = open_survey(stores["line_31_81_cdp_only"])
    ax = l31.seisflow.plot()
    assert ax.get_title() == "2-D line L31" and ax.get_xlabel() == "CDP"
    assert not ax.child_axes  # every trace at one X/Y: no distance to show
    section = viz.section(Figure().subplots(), values, traces=ds.crossline.values,
                          times_ms=ds.time.values, cmap="magma", label="envelope")  # fmt: skip
    assert section.get_cmap().name == "magma"  # as asked, on the sequential limits
    assert (section.norm.vmin, section.norm.vmax) == tuple(np.percentile(values, [1, 99]))
    assert section.axes.figure.axes[1].get_ylabel() == "envelope"


def test_little_endian_and_seismic_unix_sources_export(shared_segy, tmp_path):
    lsb = shared_segy / "f3_crop_int16_lsb.sgy"
    store = segy_to_zarr(lsb, tmp_path / "lsb.zarr").store
    export_segy(store, "amplitude", tmp_path / "lsb.sgy")
    with segyio.open(lsb, ignore_geometry=True, endian="little") as a:
        traces, inlines = segyio.tools.collect(a.trace[:]), a.attributes(TF.INLINE_3D)[:]
    with segyio.open(tmp_path / "lsb.sgy", ignore_geometry=True, endian="little") as b:
        assert b.bin[segyio.BinField.Format] == 5  # the source's byte order, IEEE floats
        np.testing.assert_array_equal(segyio.tools.collect(b.trace[:]), traces.astype(np.float32))
        np.testing.assert_array_equal(b.attributes(TF.INLINE_3D)[:], inlines)
    su = shared_segy / "small_lsb.su"
    store = segy_to_zarr(su, tmp_path / "su.zarr", locations=ByteLocations(inline=5, crossline=21))
    export_segy(store.store, "amplitude", tmp_path / "su.sgy")
    raw = np.fromfile(su, "<f4").reshape(25, 110)  # 240 header bytes (60 words), 50 samples
    with segyio.open(tmp_path / "su.sgy", ignore_geometry=True, endian="little") as c:
        np.testing.assert_array_equal(segyio.tools.collect(c.trace[:]), raw[:, 60:])
        assert c.bin[segyio.BinField.Samples] == 50 and c.bin[segyio.BinField.Interval] == 4000
    headers = np.fromfile(tmp_path / "su.sgy", np.uint8)[3600:].reshape(25, -1)[:, :240]
    np.testing.assert_array_equal(headers, np.fromfile(su, np.uint8).reshape(25, -1)[:, :240])
