"""Where a map's patch table lives while it runs (:mod:`seisflow.infer.table_folder`)."""

from __future__ import annotations

import shutil
import tempfile

import numpy as np

import seisflow.infer.maps as maps
from seisflow.infer.maps import map_survey
from seisflow.infer.table_folder import table_folder


def test_a_local_store_has_its_table_beside_it_removed_after(tmp_path):
    store = tmp_path / "survey.zarr"
    store.mkdir()
    (tmp_path / ".survey.zarr.seisflow-table-killed").mkdir()  # a killed map's
    (tmp_path / ".survey.zarr.seisflow-table-killed" / "anomaly.npy").write_bytes(b"x")
    (tmp_path / ".other.zarr.seisflow-table-live").mkdir()  # another store's: not touched
    with table_folder(store) as folder:
        assert folder.parent == tmp_path and folder.name.startswith(".survey.zarr.seisflow-table-")
        (folder / "positions.npy").write_bytes(b"rows")
        assert sorted(p.name for p in tmp_path.glob(".survey.zarr.seisflow-table-*")) == [
            folder.name
        ]
    assert not folder.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.zarr.seisflow-table-live",
                                                          "survey.zarr"]  # fmt: skip


def test_a_store_on_object_storage_has_its_table_in_the_temporary_folder(monkeypatch, tmp_path):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # this test's temporary folder
    with table_folder("s3://bucket/survey.zarr") as killed:  # as a killed map leaves it
        (killed / "anomaly.npy").write_bytes(b"x")
        shutil.copytree(killed, tmp_path / "kept")
    (tmp_path / "kept").rename(killed)
    with table_folder("s3://other/survey.zarr") as other:  # same name, another store's
        shutil.copytree(other, tmp_path / "kept")
    (tmp_path / "kept").rename(other)
    with table_folder("s3://bucket/survey.zarr/") as folder:
        assert folder.parent == tmp_path and folder.is_dir() and folder != killed
        assert folder.name.startswith("seisflow-table-survey.zarr-")
        assert not killed.exists()  # the killed map's folder of this store: removed
    assert not folder.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name]  # not this store's


def test_a_map_keeps_its_table_in_files_and_removes_them(tiny_run, tmp_path, monkeypatch):
    store, run = tiny_run
    copy = tmp_path / "s.zarr"
    shutil.copytree(store, copy)
    score, seen = maps.score_patches, {}

    def spy(*args, **kwargs):  # the map's scoring, and what its table folder holds after it
        table = score(*args, **kwargs)
        seen.update(folder=kwargs["folder"], table=table,
                    files={p.name for p in kwargs["folder"].iterdir()})  # fmt: skip
        return table

    monkeypatch.setattr(maps, "score_patches", spy)
    map_survey(copy, run, batch_size=64, layers=("anomaly",), progress=False)
    assert seen["folder"].parent == tmp_path
    assert {"positions.npy", "proportions.npy", "anomaly.npy"} <= seen["files"]
    assert isinstance(seen["table"].anomaly, np.memmap)
    assert not seen["folder"].exists()
    assert not list(tmp_path.glob(".s.zarr.seisflow-table-*"))
