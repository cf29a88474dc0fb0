"""The numpy SEG-Y writer, read back with segyio."""

from __future__ import annotations

import numpy as np
import pytest
import segyio
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from seisflow.errors import OutputPathError
from seisflow.ingest.segy_writer import SegyWriter, ibm_from_ieee, text_header

TF = segyio.TraceField


def write(path, samples, fmt, *, fields=None, text=None, overwrite=True):
    fields = fields or {TF.INLINE_3D: np.arange(len(samples)) + 1}
    with SegyWriter(
        path,
        samples=samples.shape[1],
        interval_us=2000,
        format=fmt,
        text=text or text_header(["SEISFLOW TEST"]),
        binary={},
        fields=list(fields),
        overwrite=overwrite,
    ) as writer:
        writer.write(fields, samples)


def test_ibm_special_values(tmp_path):
    values = np.array(
        [
            [
                0.0,
                -0.0,
                1.0,
                -1.0,
                0.15625,
                -118.625,
                3.4e38,
                -3.4e38,
                1 / 16,
                16.0,
                0.99999994,
                15.999999,
                1e-30,
                np.inf,
                -np.inf,
                np.nan,
            ]
        ],
        dtype=np.float32,
    )
    write(tmp_path / "a.sgy", values, "ibm")
    with segyio.open(tmp_path / "a.sgy", ignore_geometry=True) as f:
        back = f.trace[0]
    finite = np.isfinite(values[0])
    np.testing.assert_allclose(back[finite], values[0][finite], rtol=6e-8 * 16)
    words = ibm_from_ieee(values[0])
    assert words[1] == 0  # -0.0 is plain zero
    assert words[-3] == 0x7FFFFFFF and words[-2] == 0xFFFFFFFF  # infinities saturate
    assert words[-1] == 0  # NaN has no IBM encoding


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.float32,
        (3, 17),
        # segyio's decoder flushes IBM values near float32's smallest normal to zero
        elements=st.floats(-(2.0**100), 2.0**100, width=32).filter(
            lambda v: v == 0 or abs(v) > 1e-30
        ),
    )
)
def test_ibm_round_trip_within_ibm_precision(tmp_path_factory, values):
    path = tmp_path_factory.mktemp("ibm") / "h.sgy"
    write(path, values, "ibm")
    with segyio.open(path, ignore_geometry=True) as f:
        back = f.trace.raw[:]
    np.testing.assert_allclose(back, values, rtol=2.0**-21)


def test_ieee_is_exact_and_headers_are_read(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.standard_normal((5, 33)).astype(np.float32)
    fields = {
        TF.INLINE_3D: np.arange(5) + 100,
        TF.CROSSLINE_3D: np.full(5, -7),
        TF.CDP_X: np.full(5, 2_000_000_000),
        TF.SourceGroupScalar: np.full(5, -100),
    }
    write(tmp_path / "b.sgy", values, "ieee", fields=fields)
    with segyio.open(tmp_path / "b.sgy", ignore_geometry=True) as f:
        np.testing.assert_array_equal(f.trace.raw[:], values)
        assert list(f.attributes(TF.INLINE_3D)[:]) == [100, 101, 102, 103, 104]
        assert set(f.attributes(TF.CROSSLINE_3D)[:]) == {-7}
        assert f.header[2][TF.CDP_X] == 2_000_000_000
        assert f.header[2][TF.SourceGroupScalar] == -100
        assert f.bin[segyio.BinField.Interval] == 2000
        assert f.bin[segyio.BinField.Format] == 5


def test_text_header_ebcdic_is_decoded_by_segyio(tmp_path):
    text = text_header(["CRS EPSG:32631", "SECOND LINE"])
    assert len(text) == 3200
    write(tmp_path / "c.sgy", np.zeros((1, 4), np.float32), "ibm", text=text)
    with segyio.open(tmp_path / "c.sgy", ignore_geometry=True) as f:
        lines = segyio.tools.wrap(f.text[0]).splitlines()
    assert lines[0].startswith("C 1 CRS EPSG:32631")
    assert lines[1].startswith("C 2 SECOND LINE")
    assert len(lines) == 40


def test_text_header_ascii(tmp_path):
    text = text_header(["ASCII HEADER"], encoding="ascii")
    write(tmp_path / "c.sgy", np.zeros((1, 4), np.float32), "ibm", text=text)
    raw = (tmp_path / "c.sgy").read_bytes()[:3200].decode("ascii")
    assert raw.startswith("C 1 ASCII HEADER") and raw[80:84] == "C 2 "


def test_atomic_write(tmp_path):
    path = tmp_path / "d.sgy"

    def interrupted_write():
        with SegyWriter(
            path,
            samples=4,
            interval_us=4000,
            format="ibm",
            text=text_header([]),
            binary={},
            fields=[TF.INLINE_3D],
        ) as writer:
            writer.write({TF.INLINE_3D: np.array([1])}, np.zeros((1, 4), np.float32))
            assert writer.partial.exists() and not path.exists()
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        interrupted_write()
    assert list(tmp_path.iterdir()) == []
    write(path, np.zeros((1, 4), np.float32), "ibm")
    with pytest.raises(OutputPathError, match="exists"):
        write(path, np.ones((1, 4), np.float32), "ibm", overwrite=False)
