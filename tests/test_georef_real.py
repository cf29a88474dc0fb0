"""Real-world georeferencing (issue 19): the vertical domain and its evidence, units (feet,
arc-seconds, DMS), the CRS named in words or in extended text headers, a CRS that cannot
hold the coordinates, and coordinates that are not where they should be."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import segyio
from clitools import assert_one_line, run

from seisflow.errors import InputFileError
from seisflow.ingest import describe, open_survey, segy_to_zarr
from seisflow.ingest.georef import dataset_affine
from seisflow.ingest.segy_writer import text_header

TF, BF = segyio.TraceField, segyio.BinField
NS = 8  # samples per trace of the files written here
UTM_X, UTM_Y = 435_000.0, 6_478_000.0  # a bin in UTM zone 31N, metres (or feet)


def write_segy(
    path: Path,
    lines: tuple[str, ...] = (),
    *,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    scalar: int = -100,
    units: int = 1,
    system: int = 1,
    extended: tuple[bytes, ...] = (),
    extra: dict[int, np.ndarray] | None = None,
) -> Path:
    """A 4 x 5 IEEE grid (inline-sorted, 20 traces) written by segyio: text header ``lines``
    (EBCDIC), measurement system ``system``, coordinate units ``units`` (bytes 89-90),
    CDP X/Y ``x``/``y`` as raw header words (default: a 25 m grid in UTM zone 31N at scalar
    -100), any ``extra`` trace-header words and extended text headers (ASCII bytes: segyio
    encodes every text header in EBCDIC)."""
    inline, crossline = np.meshgrid(np.arange(1, 5), np.arange(1, 6), indexing="ij")
    inline, crossline = inline.ravel(), crossline.ravel()
    if x is None or y is None:
        x = np.rint((UTM_X + 25 * crossline) * 100)
        y = np.rint((UTM_Y + 25 * inline) * 100)
    spec = segyio.spec()
    spec.format, spec.samples, spec.tracecount = 5, np.arange(NS) * 4.0, inline.size
    spec.ext_headers = len(extended)
    with segyio.create(path, spec) as f:
        f.text[0] = text_header(list(lines), encoding="ascii")  # segyio writes it as EBCDIC
        for k, block in enumerate(extended, start=1):
            f.text[k] = block
        f.bin.update({BF.MeasurementSystem: system})
        for k in range(inline.size):
            words = {TF.INLINE_3D: inline[k], TF.CROSSLINE_3D: crossline[k],
                     TF.CDP_X: x[k], TF.CDP_Y: y[k], TF.SourceGroupScalar: scalar,
                     TF.CoordinateUnits: units, TF.TRACE_SAMPLE_COUNT: NS}  # fmt: skip
            words.update({field: values[k] for field, values in (extra or {}).items()})
            f.header[k] = {key: int(value) for key, value in words.items()}
            f.trace[k] = np.full(NS, k, dtype=np.float32)
    return path


def quiet(source: Path, store: Path, **kwargs: object) -> object:
    """Ingest with no warning allowed (a warning fails the test)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return segy_to_zarr(source, store, **kwargs)  # type: ignore[arg-type]


def attrs(store: Path) -> dict:
    return dict(open_survey(store).attrs)


# 4. the vertical domain, its evidence and the units ---------------------------------------


def test_the_depth_line_is_depth_with_its_evidence(shared_segy, tmp_path):
    path = shared_segy / "volve_depth_line.sgy"
    report = quiet(path, tmp_path / "d.zarr")
    ds = open_survey(tmp_path / "d.zarr")
    assert ds.amplitude.dims == ("inline", "crossline", "depth")
    assert ds.attrs["domain"] == "depth" and report.domain == "depth"
    assert ds.attrs["domain_evidence"] == 'text header line 9: "Depth min"'
    assert ds.attrs["vertical_units"] == "m" and ds.depth.attrs["units"] == "m"
    assert ds.attrs["xy_units"] == "m" and ds.cdp_x.attrs["units"] == "m"
    assert ds.attrs["measurement_system"] == {"code": 1, "name": "metres"}
    assert ds.attrs["coordinate_units"] == {"code": 1, "name": "length"}
    assert ds.attrs["text_header_extended"] == []
    np.testing.assert_array_equal(ds.depth.values, np.arange(1, 1126) * 4.0)
    # the CRS named in words by Petrel
    assert ds.attrs["proj:code"] == "EPSG:23031"
    assert ds.attrs["crs_source"] == "text header"
    assert ds.attrs["crs_evidence"] == 'text header line 6: "ED50-UTM31"'
    out = run("info", tmp_path / "d.zarr")
    assert out.returncode == 0, out.stderr
    assert 'domain     depth, from text header line 9: "Depth min"' in out.stdout
    crs = 'CRS        EPSG:23031, from text header line 6: "ED50-UTM31" (affine fit RMS 0.00 m)'
    assert crs in out.stdout
    summary = describe(tmp_path / "d.zarr")
    assert summary["domain_evidence"] == 'text header line 9: "Depth min"'
    assert summary["samples"]["units"] == "m"


def test_domain_given_against_the_text_header_warns_and_is_kept(shared_segy, tmp_path):
    path = shared_segy / "volve_depth_line.sgy"
    match = r"--domain time differs from depth found in the text header \(text header line 9: "
    with pytest.warns(UserWarning, match=match + r'"Depth min"\); using time as given'):
        segy_to_zarr(path, tmp_path / "t.zarr", domain="time")
    found = attrs(tmp_path / "t.zarr")
    assert (found["domain"], found["domain_evidence"], found["vertical_units"]) == (
        "time", "--domain", "ms"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "domain", "evidence"),
    [
        ("volve_arbline_ieee.sgy", "time", 'text header line 9: "Time min"'),
        ("line_31_81_cdp_only.sgy", "time", 'text header line 6: "SAMPLE RATE   0000004000 US"'),
        ("f3_crop_ibm.sgy", "time", "assumed: no time or depth words in the text header"),
    ],
)
def test_time_files_say_why_they_are_time(shared_segy, tmp_path, name, domain, evidence):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unknown CRS, crooked or no coordinates
        segy_to_zarr(shared_segy / name, tmp_path / "s.zarr")
    found = attrs(tmp_path / "s.zarr")
    assert (found["domain"], found["domain_evidence"], found["vertical_units"]) == (
        domain, evidence, "ms"
    )  # fmt: skip


def test_both_domains_named_warns_and_takes_time(tmp_path):
    path = write_segy(tmp_path / "b.sgy", ("TIME MIN 0 MAX 28", "DEPTH MIN 0 MAX 28"))
    match = r'names both depth \(text header line 2: "DEPTH MIN"\) and time \(text header line '
    with pytest.warns(UserWarning, match=match + r'1: "TIME MIN"\); the samples are taken'):
        segy_to_zarr(path, tmp_path / "b.zarr", crs="EPSG:23031")
    assert attrs(tmp_path / "b.zarr")["domain"] == "time"
    water = write_segy(tmp_path / "w.sgy", ("WATER DEPTH MAX 120 M", "PSDM STRETCHED TO TIME"))
    quiet(water, tmp_path / "w.zarr", crs="EPSG:23031")  # a water depth is not the domain
    found = attrs(tmp_path / "w.zarr")
    assert found["domain_evidence"] == 'text header line 2: "STRETCHED TO TIME"'


def test_feet_stay_feet(tmp_path):
    path = write_segy(tmp_path / "ft.sgy", ("DEPTH DOMAIN, FEET",), system=2)
    quiet(path, tmp_path / "ft.zarr", crs="EPSG:2277")  # NAD83 / Texas Central (ftUS)
    ds = open_survey(tmp_path / "ft.zarr")
    assert ds.attrs["domain_evidence"] == 'text header line 1: "DEPTH DOMAIN"'
    assert (ds.attrs["vertical_units"], ds.attrs["xy_units"]) == ("ft", "ft")
    assert ds.depth.attrs["units"] == "ft" and ds.cdp_x.attrs["units"] == "ft"
    assert ds.attrs["measurement_system"] == {"code": 2, "name": "feet"}
    np.testing.assert_array_equal(ds.depth.values, np.arange(NS) * 4.0)  # not converted
    assert float(ds.cdp_x[0, 0]) == UTM_X + 25  # not converted
    with pytest.warns(UserWarning, match=r"says the coordinates are in feet but EPSG:32631 is in "
                      r"metre; kept as they are"):  # fmt: skip
        segy_to_zarr(write_segy(tmp_path / "m.sgy", ("EPSG:32631",), system=2),
                     tmp_path / "m.zarr")  # fmt: skip
    assert attrs(tmp_path / "m.zarr")["proj:code"] == "EPSG:32631"


# arc-seconds and DMS become degrees, with a geographic CRS ---------------------------------

LON, LAT = 1.0 + 52 / 60 + 13.11 / 3600, 58.0 + 26 / 60 + 3.76 / 3600  # 1°52'13.11"E 58°26'03.76"N


def angles(step: float = 0.001) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Longitude and latitude of the 4 x 5 grid, and the same in raw arc-second words
    (scalar -100)."""
    inline, crossline = np.meshgrid(np.arange(1, 5), np.arange(1, 6), indexing="ij")
    lon, lat = LON + step * crossline.ravel(), LAT + step * inline.ravel()
    return lon, lat, np.rint(lon * 3600 * 100), np.rint(lat * 3600 * 100)


def test_arc_seconds_become_degrees_in_a_geographic_crs(tmp_path):
    _, lat, raw_x, raw_y = angles()
    path = write_segy(tmp_path / "arc.sgy", x=raw_x, y=raw_y, units=2)
    with pytest.warns(UserWarning, match=r"the coordinates are angles \(trace header bytes 89-90\) "
                      r"and no CRS is named: stored in EPSG:4326 \(WGS 84 assumed"):  # fmt: skip
        segy_to_zarr(path, tmp_path / "arc.zarr")
    ds = open_survey(tmp_path / "arc.zarr")
    np.testing.assert_allclose(ds.cdp_x.values.ravel(), raw_x / 100 / 3600, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ds.cdp_y.values.ravel(), lat, rtol=0, atol=1e-8)
    assert ds.attrs["xy_units"] == "deg"
    assert ds.attrs["coordinate_units"] == {"code": 2, "name": "seconds of arc"}
    assert ds.cdp_x.attrs == {"standard_name": "longitude", "units": "degrees_east"}
    assert ds.cdp_y.attrs["units"] == "degrees_north"
    assert (ds.attrs["proj:code"], ds.attrs["crs_source"]) == ("EPSG:4326", "coordinate units")
    # a projected CRS named in the text header gives way to its geographic CRS
    named = write_segy(tmp_path / "ed50.sgy", ("CRS: ED50-UTM31",), x=raw_x, y=raw_y, units=2)
    quiet(named, tmp_path / "ed50.zarr")
    found = attrs(tmp_path / "ed50.zarr")
    assert found["proj:code"] == "EPSG:4230"  # ED50
    assert found["crs_evidence"] == ('text header line 1: "ED50-UTM31" (its geographic CRS: the '
                                     "coordinates are angles)")  # fmt: skip


def test_dms_coordinates_become_decimal_degrees(tmp_path):
    x = np.full(20, 152_13_11)  # +DDDMMSS.ss with scalar -100: 1°52'13.11"
    y = np.full(20, 58_26_03_76) + np.arange(20)  # 58°26'03.76" plus k hundredths of a second
    path = write_segy(tmp_path / "dms.sgy", ("EPSG:4326",), x=x, y=y, units=4)
    quiet(path, tmp_path / "dms.zarr")
    ds = open_survey(tmp_path / "dms.zarr")
    assert float(ds.cdp_x[0, 0]) == pytest.approx(LON, abs=1e-12)
    np.testing.assert_allclose(ds.cdp_y.values.ravel(), LAT + np.arange(20) / 100 / 3600,
                               rtol=0, atol=1e-12)  # fmt: skip
    assert ds.attrs["coordinate_units"] == {"code": 4, "name": "DMS"}


# 5. the CRS: named in words, in extended text headers; refused when it cannot fit ----------


@pytest.mark.parametrize(
    ("words", "code", "northing"),
    [
        ("CRS: ED50-UTM31 (MENTOR:ED50-UTM31:European 1950 Based UTM)", "EPSG:23031", UTM_Y),
        ("NAD27 / UTM zone 20N", "EPSG:26720", UTM_Y),
        ("WGS 84 / UTM zone 31N", "EPSG:32631", UTM_Y),
        ("PROJECTION WGS84 UTM ZONE 31 SOUTH", "EPSG:32731", 7_000_000.0),
        ("COORDINATES NAD83 UTM 15N", "EPSG:26915", UTM_Y),
        ("ED 1950 UTM Zone 32 North", "EPSG:23032", UTM_Y),
        ("ETRS89 / UTM zone 32N", "EPSG:25832", UTM_Y),  # any EPSG projected-CRS name
    ],
)
def test_crs_named_in_words(tmp_path, words, code, northing):
    inline, crossline = np.meshgrid(np.arange(1, 5), np.arange(1, 6), indexing="ij")
    x = np.rint((UTM_X + 25 * crossline.ravel()) * 100)
    y = np.rint((northing + 25 * inline.ravel()) * 100)
    path = write_segy(tmp_path / "w.sgy", ("SURVEY X", words), x=x, y=y)
    report = quiet(path, tmp_path / "w.zarr")
    assert report.crs == code
    found = attrs(tmp_path / "w.zarr")
    assert found["crs_source"] == "text header"
    assert found["crs_evidence"].startswith("text header line 2: ")


def test_epsg_codes_in_extended_text_headers(tmp_path):
    p111 = "HC,1,4,0,CRS Number/EPSG Code/Name/Source,1,23031,ED50 / UTM zone 31N,6.18,EPSG"
    extended = (text_header(["((SEG: Location Data ver 1.0))"], encoding="ascii"),
                p111.ljust(3200).encode("ascii"))  # fmt: skip
    path = write_segy(tmp_path / "x.sgy", ("NO CRS HERE",), extended=extended)
    quiet(path, tmp_path / "x.zarr")
    found = attrs(tmp_path / "x.zarr")
    assert (found["proj:code"], found["crs_source"]) == ("EPSG:23031", "extended text header")
    assert found["crs_evidence"].startswith("extended text header 2 line 1: ")
    assert len(found["text_header_extended"]) == 2
    assert found["text_header_extended"][0].startswith("C 1 ((SEG: Location Data ver 1.0))")
    assert found["text_header_extended"][1].startswith(p111)
    block = text_header(["EPSG:32631"], encoding="ascii")
    quiet(write_segy(tmp_path / "e.sgy", extended=(block,)), tmp_path / "e.zarr")
    evidence = attrs(tmp_path / "e.zarr")["crs_evidence"]
    assert evidence == 'extended text header 1 line 1: "EPSG:32631"'


def test_extended_text_headers_of_a_real_file_are_stored(shared_segy, tmp_path):
    match = r"multi_text.sgy: the CDP X/Y \(bytes 181/185\) are zero on every trace, and "
    with pytest.warns(UserWarning, match=match + r"the source X/Y \(bytes 73/77\) are zero"):
        segy_to_zarr(shared_segy / "multi_text.sgy", tmp_path / "m.zarr")
    extended = attrs(tmp_path / "m.zarr")["text_header_extended"]
    assert len(extended) == 4
    assert all(text.startswith("C 1 DATE 2018-09-10") for text in extended)


def test_a_geographic_crs_for_projected_coordinates_is_refused(shared_segy, tmp_path):
    path = shared_segy / "f3_crop_ibm.sgy"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the file's stale trace sample counts
        with pytest.raises(InputFileError) as caught:
            segy_to_zarr(path, tmp_path / "g.zarr", crs="EPSG:4326")
    message = str(caught.value)
    assert message.startswith(f"{path}: --crs EPSG:4326 is geographic (degrees) but the "
                              "coordinates are plainly projected (X 620")  # fmt: skip
    assert not (tmp_path / "g.zarr").exists()
    out = run("ingest", path, tmp_path / "c.zarr", "--crs", "EPSG:4326")
    assert assert_one_line(out, 1, "give the CRS the coordinates are in") == message


def test_a_projected_crs_for_degrees_is_refused(tmp_path):
    _, _, raw_x, raw_y = angles()
    path = write_segy(tmp_path / "arc.sgy", x=raw_x, y=raw_y, units=2)
    match = r"--crs EPSG:23031 is projected but the coordinates are plainly degrees \(X 1.87"
    with pytest.raises(InputFileError, match=match + r".*; trace header bytes 89-90 say angles\)"):
        segy_to_zarr(path, tmp_path / "p.zarr", crs="EPSG:23031")
    lon, lat, _, _ = angles()  # degrees without saying so (bytes 89-90 = 1, length)
    plain = write_segy(tmp_path / "deg.sgy", x=np.rint(lon * 1e4), y=np.rint(lat * 1e4),
                       scalar=-10_000)  # fmt: skip
    with pytest.raises(InputFileError, match=r"plainly degrees .*; within \+-180/\+-90\)"):
        segy_to_zarr(plain, tmp_path / "q.zarr", crs="EPSG:32631")
    assert not (tmp_path / "p.zarr").exists() and not (tmp_path / "q.zarr").exists()


def test_the_seisflow_line_wins_and_round_trips_units(tmp_path):
    lines = ("TIME MIN 0 MAX 28  EPSG:32631",
             "SEISFLOW DOMAIN=depth VUNITS=ft XYUNITS=ft CRS=EPSG:2277")  # fmt: skip
    path = write_segy(tmp_path / "s.sgy", lines, system=0)  # the binary header says nothing
    quiet(path, tmp_path / "s.zarr")
    ds = open_survey(tmp_path / "s.zarr")
    assert ds.attrs["domain"] == "depth"
    assert ds.attrs["domain_evidence"] == "text header line 2: SEISFLOW line"
    assert (ds.attrs["vertical_units"], ds.attrs["xy_units"]) == ("ft", "ft")
    assert ds.depth.attrs["units"] == "ft" and ds.cdp_x.attrs["units"] == "ft"
    assert (ds.attrs["proj:code"], ds.attrs["crs_evidence"]) == (
        "EPSG:2277", "text header line 2: SEISFLOW line"
    )  # fmt: skip


# 6. coordinates: the source X/Y fallback, none at all, a crooked line ----------------------


def test_constant_cdp_xy_fall_back_to_the_source_xy(tmp_path):
    inline, crossline = np.meshgrid(np.arange(1, 5), np.arange(1, 6), indexing="ij")
    sx = np.rint((UTM_X + 25 * crossline.ravel()) * 100)
    sy = np.rint((UTM_Y + 25 * inline.ravel()) * 100)
    path = write_segy(tmp_path / "s.sgy", ("EPSG:23031",), x=np.full(20, 6000),
                      y=np.full(20, 65536), extra={TF.SourceX: sx, TF.SourceY: sy})  # fmt: skip
    match = r"s.sgy: the CDP X/Y \(bytes 181/185\) are X 60, Y 655.36 on every trace; using "
    with pytest.warns(UserWarning, match=match + r"the source X/Y \(bytes 73/77\), which vary"):
        segy_to_zarr(path, tmp_path / "s.zarr")
    ds = open_survey(tmp_path / "s.zarr")
    np.testing.assert_array_equal(ds.cdp_x.values.ravel(), sx / 100)
    np.testing.assert_array_equal(ds.cdp_y.values.ravel(), sy / 100)
    assert ds.attrs["coordinate_source"] == "source X/Y (bytes 73/77)"
    assert ds.attrs["spatial:transform_rms_m"] < 1e-6


def test_a_line_without_coordinates_stores_them_as_unknown(shared_segy, tmp_path):
    path = shared_segy / "line_31_81_cdp_only.sgy"
    with pytest.warns(UserWarning, match=r"the CDP X/Y \(bytes 181/185\) are X 6000, Y 65536 on "
                      r"every trace, and the source X/Y \(bytes 73/77\) are zero: not positions; "
                      r"the coordinates are stored as unknown"):  # fmt: skip
        segy_to_zarr(path, tmp_path / "l.zarr")
    ds = open_survey(tmp_path / "l.zarr")
    assert np.isnan(ds.cdp_x.values).all() and np.isnan(ds.cdp_y.values).all()
    assert ds.attrs["spatial:transform"] is None and ds.attrs["spatial:transform_rms_m"] is None
    assert (ds.attrs["coordinate_source"], ds.attrs["proj:code"]) == ("unknown", None)
    with pytest.raises(ValueError, match="the store has no trace coordinates"):
        dataset_affine(ds)  # what maps place the grid by
    summary = describe(tmp_path / "l.zarr")
    assert summary["extent"] == {"x": None, "y": None}
    out = run("info", tmp_path / "l.zarr")
    assert out.returncode == 0, out.stderr
    assert "CRS        unknown (no coordinates in the file: cdp_x/cdp_y are unknown)" in out.stdout
    assert "affine fit RMS" not in out.stdout


def test_a_crooked_line_warns_and_keeps_every_trace_position(shared_segy, tmp_path):
    path = shared_segy / "volve_arbline_ieee.sgy"
    with segyio.open(path, ignore_geometry=True) as f:
        x = f.attributes(TF.CDP_X)[:] * 0.01  # the scalar, -100, as seisflow applies it
        y = f.attributes(TF.CDP_Y)[:] * 0.01
    spacing = float(np.median(np.hypot(np.diff(x), np.diff(y))))
    with pytest.warns(UserWarning, match=rf"volve_arbline_ieee.sgy: the traces lie 169 m RMS from "
                      rf"a straight line, more than half the trace spacing \({spacing:.3g} m\): a "
                      r"crooked line"):  # fmt: skip
        segy_to_zarr(path, tmp_path / "c.zarr")
    ds = open_survey(tmp_path / "c.zarr")
    assert ds.attrs["geometry"]["crooked"] is True
    assert ds.attrs["geometry"]["trace_spacing"] == pytest.approx(spacing, rel=1e-12)
    assert ds.attrs["spatial:transform_rms_m"] == pytest.approx(168.75, abs=0.01)
    np.testing.assert_array_equal(ds.cdp_x.values[0], x)
    straight = attrs(quiet(shared_segy / "volve_depth_line.sgy", tmp_path / "s.zarr").store)
    assert straight["geometry"]["crooked"] is False


def test_export_then_ingest_round_trips_domain_and_crs(shared_segy, tmp_path):
    """F3's text header names neither: only the exported SEISFLOW line can carry them."""
    from seisflow.infer.export import export_segy

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", ".*the trace headers say", UserWarning)  # stale
        segy_to_zarr(shared_segy / "f3_crop_ibm.sgy", tmp_path / "a.zarr", domain="depth",
                     crs="EPSG:23031")  # fmt: skip
        export_segy(tmp_path / "a.zarr", "amplitude", tmp_path / "out.sgy")
        segy_to_zarr(tmp_path / "out.sgy", tmp_path / "b.zarr")
    again = attrs(tmp_path / "b.zarr")
    assert (again["domain"], again["vertical_units"], again["xy_units"]) == ("depth", "m", "m")
    assert again["proj:code"] == "EPSG:23031"
    assert again["domain_evidence"].endswith(": SEISFLOW line")
    assert again["crs_evidence"] == again["domain_evidence"]
