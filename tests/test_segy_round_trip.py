"""Every real post-stack file of ../shared/data/segy: ingest -> export -> ingest again gives
back the same store (issue 19): amplitudes, line numbers, samples, coordinates, vertical
domain and units, coordinate units and CRS, and the exported text header keeps the source's
cards beside seisflow's provenance block."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from seisflow.infer.export import export_segy
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.ingest.byte_locations import ByteLocations

#: file -> ingest settings (Seismic Unix keeps its line numbers at bytes 5 and 21).
FILES: dict[str, dict[str, object]] = {
    "f3_crop_int16.sgy": {},
    "f3_crop_ibm.sgy": {"crs": "EPSG:23031"},
    "f3_crop_int16_lsb.sgy": {},
    "f3_crop_ibm_lsb.sgy": {},
    "f3_very_small.sgy": {},
    "f3_ebcdic_2il.sgy": {},
    "f3_with_dead_bins.sgy": {},
    "volve_arbline_ieee.sgy": {},
    "volve_depth_line.sgy": {},
    "line_31_81_cdp_only.sgy": {},
    "small.su": {"locations": ByteLocations(inline=5, crossline=21)},
    "small_lsb.su": {"locations": ByteLocations(inline=5, crossline=21)},
    "multi_text.sgy": {},
}
#: Store attributes a re-ingest must give back.
KEPT = ("domain", "vertical_units", "xy_units", "proj:code")


def _ingest(source: Path, store: Path, **settings: object):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # unknown CRS, crooked lines, SU interval
        return open_survey(segy_to_zarr(source, store, **settings).store)


@pytest.mark.parametrize("name", sorted(FILES))
def test_export_then_ingest_gives_the_store_back(shared_segy, tmp_path, name):
    settings = FILES[name]
    first = _ingest(shared_segy / name, tmp_path / "first.zarr", **settings)
    out = tmp_path / "exported.sgy"
    export_segy(tmp_path / "first.zarr", "amplitude", out)
    # the CRS travels in the exported text header; the byte locations are the user's, as
    # the trace headers are copied from the source (an SU file's lines stay at 5 and 21)
    again_settings = {k: v for k, v in settings.items() if k != "crs"}
    second = _ingest(out, tmp_path / "second.zarr", **again_settings)
    np.testing.assert_array_equal(second.amplitude.values, first.amplitude.values)
    for coordinate in ("inline", "crossline", first.attrs["domain"]):
        np.testing.assert_array_equal(second[coordinate].values, first[coordinate].values)
    np.testing.assert_array_equal(second.trace_mask.values, first.trace_mask.values)
    np.testing.assert_array_equal(second.cdp_x.values, first.cdp_x.values)  # NaN == NaN
    np.testing.assert_array_equal(second.cdp_y.values, first.cdp_y.values)
    assert {k: second.attrs.get(k) for k in KEPT} == {k: first.attrs.get(k) for k in KEPT}
    if not name.endswith(".su"):  # an SU file has no text header to keep
        source_cards = (shared_segy / name).read_bytes()[:3200]
        exported_cards = out.read_bytes()[:3200]
        assert exported_cards[:80] == source_cards[:80]  # the source's first card, as it was
        ebcdic = b"SEISFLOW" not in exported_cards
        text = exported_cards.decode("cp037" if ebcdic else "ascii", errors="replace")
        expected = f"SEISFLOW DOMAIN={first.attrs['domain']} VUNITS={first.attrs['vertical_units']}"
        assert expected in text
