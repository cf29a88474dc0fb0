"""`seisflow export` refuses what it cannot write, in one line, and says what it wrote:
folders, unknown extensions, layers off the amplitude grid (worded for the format asked);
the slice's vertical units; the whole model SHA-256 in the SEG-Y text header."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import segyio
from clitools import assert_one_line, run

from seisflow.errors import InputFileError, OutputPathError
from seisflow.infer.export import export_geotiff, export_segy, output_format
from seisflow.infer.writeback import write_grid, write_layer
from seisflow.ingest import open_survey, segy_to_zarr

SHA = "0123456789abcdef" * 4  # a made-up model digest: 64 hex digits
CHUNKS = (8, 15, 48)


@pytest.fixture(scope="module")
def store(make_survey, tmp_path_factory):
    """A survey store with a ``facies`` layer carrying a model digest and a
    ``topic_proportions`` layer on a grid of its own (no training)."""
    survey = make_survey(missing_corner=True)
    path = segy_to_zarr(survey.segy, tmp_path_factory.mktemp("export") / "s.zarr",
                        chunks=CHUNKS).store  # fmt: skip
    dataset = open_survey(path)
    live = dataset.trace_mask.values[..., None]
    i = np.indices(dataset.amplitude.shape)[0]
    facies = np.where(live, i % 3, -1).astype(np.int16)
    write_layer(path, "facies", da.from_array(facies, chunks=CHUNKS),
                attrs={"long_name": "seismic facies", "flag_values": [0, 1, 2],
                       "flag_meanings": "topic_0 topic_1 topic_2",
                       "seisflow:model_sha256": SHA})  # fmt: skip
    coords = {"patch_inline": dataset.inline.values[4::8],
              "patch_crossline": dataset.crossline.values[4::8],
              "topic": np.arange(3, dtype=np.int32)}  # fmt: skip
    values = np.full((len(coords["patch_inline"]), len(coords["patch_crossline"]), 3), 1 / 3)
    write_grid(path, "topic_proportions", values.astype(np.float32), coords, attrs={})
    return path


def test_a_folder_as_out_is_one_line(store, tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    for extra in ([], ["--overwrite"]):
        out = run("export", store, "facies", folder, *extra)
        assert_one_line(out, 1, f"{folder} is a folder", str(folder / "facies.sgy"))
    dotted = tmp_path / "results.sgy"  # a folder named like a file
    dotted.mkdir()
    assert_one_line(run("export", store, "facies", dotted, "--overwrite"), 1, "is a folder")
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"] and dotted.is_dir()
    assert (folder / "keep.txt").read_text() == "mine"


def test_unknown_extensions_are_refused(store, tmp_path):
    out = run("export", store, "facies", tmp_path / "f.txt")
    assert_one_line(out, 1, "f.txt", "the extension .txt", ".sgy", ".segy", ".tif", ".tiff")
    assert_one_line(run("export", store, "facies", tmp_path / "f"), 1, "(none)")
    assert not list(tmp_path.iterdir())
    assert output_format("a.SEGY") == output_format("a.seg") == "segy"
    assert output_format("a.TIFF") == "geotiff"
    with pytest.raises(OutputPathError, match=r"\.tif is for a GeoTIFF, not SEG-Y"):
        export_segy(store, "facies", tmp_path / "f.tif")
    with pytest.raises(OutputPathError, match=r"\.sgy is for SEG-Y, not a GeoTIFF"):
        export_geotiff(store, "facies", tmp_path / "f.sgy", time=200)
    assert not list(tmp_path.iterdir())


def test_time_slice_summary_names_its_units(store, tmp_path):
    out = run("export", store, "facies", tmp_path / "f.tif", "--time", "200")
    assert out.returncode == 0, out.stderr
    assert "the time slice at 200 ms (" in out.stdout
    result = export_geotiff(store, "facies", tmp_path / "g.tif", time=200)
    assert (result["domain"], result["units"]) == ("time", "ms")


def test_a_layer_off_the_grid_is_refused_for_what_was_asked(store, tmp_path):
    out = run("export", store, "topic_proportions", tmp_path / "t.tif", "--time", "200")
    assert_one_line(out, 1, "topic_proportions is not on the amplitude grid",
                    "cannot be written as a GeoTIFF", "export one of facies")  # fmt: skip
    assert "SEG-Y" not in out.stderr
    with pytest.raises(InputFileError, match="cannot be written as SEG-Y"):
        export_segy(store, "topic_proportions", tmp_path / "t.sgy")
    assert not list(tmp_path.iterdir())


def test_segy_text_header_holds_the_whole_model_digest(store, tmp_path):
    out = tmp_path / "facies.sgy"
    result = run("export", store, "facies", out)
    assert result.returncode == 0, result.stderr
    with segyio.open(out, ignore_geometry=True) as handle:
        text = segyio.tools.wrap(handle.text[0].decode("ascii", "replace"), 80)
    digest = open_survey(store).facies.attrs["seisflow:model_sha256"]
    assert len(digest) == 64
    cards = text.splitlines()
    assert any(card[4:].strip() == digest for card in cards), text
    assert any("MODEL SHA-256" in card for card in cards)


def test_existing_file_still_needs_overwrite(store, tmp_path):
    out = tmp_path / "f.sgy"
    out.write_bytes(b"precious")
    assert_one_line(run("export", store, "facies", out), 1, "exists", "--overwrite")
    assert out.read_bytes() == b"precious"
    refused = run("export", store, "facies", out, "--overwrite")  # not seisflow's: kept
    assert_one_line(refused, 1, "is a file that is not a SEG-Y file written by seisflow")
    assert out.read_bytes() == b"precious"
    own = tmp_path / "own.sgy"
    export_segy(store, "facies", own)
    first = own.read_bytes()
    export_segy(store, "amplitude", own, overwrite=True)  # seisflow's own: replaced
    assert own.read_bytes() != first and own.stat().st_size > 3600
