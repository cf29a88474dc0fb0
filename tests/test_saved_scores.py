"""The scores of a map in progress, saved as it scores (:mod:`seisflow.infer.saved_scores`):
they read back exactly, another key discards them, and an interrupted map scores only the
patches after the last save and writes the same layers as a map never interrupted."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import zarr

import seisflow.infer.score as score
from seisflow.infer.maps import map_survey
from seisflow.infer.saved_scores import MANIFEST, SavedScores, scores_location
from seisflow.infer.score import TableFill
from seisflow.ingest import segy_to_zarr
from seisflow.storage import locate
from seisflow.train import train

SETTINGS = ["model.width=8", "model.depth=1", "train.batch_size=16", "train.steps=2",
            "train.warmup=0", "train.eval_every=0", "data.size=16", "data.stride=8",
            "data.buffer=128", "model.topics=3", "model.prior=lda"]  # fmt: skip
LAYERS = ("facies", "facies_confidence", "anomaly", "anomaly_hint")


def _batch(rng: np.random.Generator, n: int) -> tuple:
    maps = {"logdet": rng.normal(size=(n, 4, 4)).astype(np.float16)}
    return (rng.integers(0, 99, (n, 4)), rng.random((n, 3)).astype(np.float32),
            rng.normal(size=n).astype(np.float32),
            rng.random((n, 3, 2, 2)).astype(np.float16), maps)  # fmt: skip


@pytest.fixture(params=["local", "s3"])
def where(request, tmp_path):
    """A store location, on disk or in a bucket of the loopback S3 server."""
    if request.param == "local":
        return locate(tmp_path / "survey.zarr")
    return locate(f"{request.getfixturevalue('bucket')}/survey.zarr")


def test_saved_rows_read_back_exactly_and_another_key_discards_them(where):
    rng = np.random.default_rng(3)
    batches = [_batch(rng, n) for n in (5, 5, 5, 2)]
    folder = scores_location(where)
    assert folder.name == ".survey.zarr.seisflow-scores"
    fill = TableFill(17)
    saving = SavedScores(folder, key={"run": "a", "stride": 8}, every=0)
    for batch in batches[:3]:
        fill.add(batch)
        saving.save(fill)
    # a part written after the last manifest (a kill before the manifest) is never read
    fill.add(batches[3])
    fs, root = folder.filesystem()
    fs.pipe_file(f"{root}/part-99999-stray.npz", b"cut short")

    again = TableFill(17)
    assert SavedScores(folder, key={"run": "a", "stride": 8}).restore(again) == 15
    for got, want in zip(again.part(0, 15), fill.part(0, 15), strict=True):
        if isinstance(want, dict):
            assert got.keys() == want.keys()
            for name in want:
                np.testing.assert_array_equal(got[name], want[name])
        else:
            np.testing.assert_array_equal(got, want)
            assert got.dtype == want.dtype

    other = TableFill(17)
    assert SavedScores(folder, key={"run": "b", "stride": 8}).restore(other) == 0
    assert other.filled == 0 and not folder.exists()


@pytest.fixture(scope="module")
def survey_run(make_survey, tmp_path_factory):
    """An ingested survey (a missing corner) and a two-step run on it."""
    root = tmp_path_factory.mktemp("saved_scores")
    store = segy_to_zarr(make_survey(missing_corner=True).segy, root / "s.zarr",
                         chunks=(8, 15, 48)).store  # fmt: skip
    train(str(store), root / "run", overrides=SETTINGS, progress=False)
    return Path(store), root / "run"


def _layers(store: Path) -> dict[str, np.ndarray]:
    group = zarr.open_group(str(store), mode="r")
    return {name: group[name][...] for name in LAYERS}


def test_an_interrupted_map_resumes_after_its_last_save(survey_run, tmp_path, monkeypatch):
    store, run = survey_run
    whole = Path(shutil.copytree(store, tmp_path / "whole.zarr"))
    map_survey(whole, run, stride=8, batch_size=32)
    cut = Path(shutil.copytree(store, tmp_path / "cut.zarr"))
    folder = scores_location(cut)

    scored = score.score_batch
    calls = []

    def stops_at_the_fifth(*args, **kwargs):
        if len(calls) == 4:
            raise KeyboardInterrupt  # as Ctrl-C, or a kill between two saves
        calls.append(1)
        return scored(*args, **kwargs)

    def fails_at_the_fifth(*args, **kwargs):
        if len(calls) == 4:
            raise RuntimeError("a failure, not an interruption")
        calls.append(1)
        return scored(*args, **kwargs)

    monkeypatch.setattr(score, "score_batch", fails_at_the_fifth)
    with pytest.raises(RuntimeError, match="not an interruption"):
        map_survey(cut, run, stride=8, batch_size=32, save_every=0)
    assert not folder.exists()  # an error clears the saved scores: the next map starts over

    calls.clear()
    monkeypatch.setattr(score, "score_batch", stops_at_the_fifth)
    with pytest.raises(KeyboardInterrupt):
        map_survey(cut, run, stride=8, batch_size=32, save_every=0)
    assert (folder.path / MANIFEST).exists()
    assert not set(LAYERS) & set(zarr.open_group(str(cut), mode="r").array_keys())

    calls.clear()
    monkeypatch.setattr(score, "score_batch", lambda *a, **k: calls.append(1) or scored(*a, **k))
    summary = map_survey(cut, run, stride=8, batch_size=32, save_every=0)
    assert len(calls) == -(-summary["patches"] // 32) - 4  # only the batches after the save
    assert not folder.exists()  # cleared once the layers are written
    for name, values in _layers(whole).items():
        np.testing.assert_array_equal(_layers(cut)[name], values, err_msg=name)
