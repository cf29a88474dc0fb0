"""PatchStream as the trainer sees it: mixed directions and survey parts from the first
batch, round-robin shards, any chunk shape, and a spatial hold-out for evaluation."""

from __future__ import annotations

import numpy as np
import pytest

import seisflow.ingest.stream as module
from seisflow.errors import ConfigError
from seisflow.ingest import segy_to_zarr
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.stream import PatchStream, tile
from seisflow.train.config import DataConfig
from seisflow.train.data import SurveySource, source_record

SHAPE = (32, 40, 96)
MIXED = PatchSpec(size=16, axis="both", stride=8)


@pytest.fixture(scope="module")
def stores(make_survey, tmp_path_factory):
    """One survey ingested twice: default chunks (one chunk column) and 8 x 8 x 96 chunks
    (20 chunk columns, each narrower than a patch)."""
    root = tmp_path_factory.mktemp("stream")
    segy = make_survey(shape=SHAPE).segy
    return {
        "default": segy_to_zarr(segy, root / "default.zarr").store,
        "small": segy_to_zarr(segy, root / "small.zarr", chunks=(8, 8, 96)).store,
    }


def _first(stream: PatchStream, n: int) -> np.ndarray:
    """Positions ``(n, 4)`` of the first ``n`` patches of a batched stream."""
    _, where = next(iter(stream))
    assert len(where) == n
    return where.numpy()


def _assert_mixed(where: np.ndarray, shape: tuple[int, ...] = SHAPE) -> None:
    """Both directions in proportion, and patches from both halves of both map axes."""
    inline = float(np.mean(where[:, 0] == 0))
    assert 0.25 <= inline <= 0.75, f"{inline:.0%} inline"
    for column, n in ((1, shape[0]), (2, shape[1])):
        start = where[:, column]
        assert (start < n // 2).any() and (start >= n // 2).any(), f"one half of axis {column}"
    columns = {(i // 8, j // 8) for i, j in where[:, 1:3].tolist()}
    assert len(columns) >= 4, f"from {len(columns)} chunk columns only"


def test_first_shuffled_patches_mix_directions_and_span_the_survey(stores):
    stream = PatchStream(stores["small"], MIXED, seed=3, buffer=128, batch_size=512,
                         return_positions=True)  # fmt: skip
    _assert_mixed(_first(stream, 512))


def test_each_consumer_mixes_and_units_are_dealt_round_robin(stores, monkeypatch):
    stream = PatchStream(stores["small"], MIXED, seed=3, buffer=128, batch_size=256,
                         return_positions=True)  # fmt: skip
    shares = [stream._units(0, index, 2) for index in range(2)]
    assert not set(shares[0]) & set(shares[1])
    assert sorted(shares[0] + shares[1]) == sorted(stream._by_unit)
    for index, share in enumerate(shares):
        assert {axis for axis, _, _ in share} == {0, 1}  # both directions in every share
        # the directions alternate from the first unit on
        assert {axis for axis, _, _ in share[:2]} == {0, 1}
        monkeypatch.setattr(module, "shard", lambda index=index: (index, 2))
        _assert_mixed(_first(stream, 256))
    # another epoch, another deal
    assert stream._units(1, 0, 2) != shares[0]


def test_first_batch_for_initialisation_and_refit_is_mixed(stores):
    data = DataConfig(size=16, stride=8, axis="both", buffer=128)
    source = SurveySource(stores["small"], data=data, seed=0)
    patches, where = source.sample(512)
    assert patches.shape == (512, 1, 16, 16)
    _assert_mixed(where.numpy())
    assert source.first_batch(64).shape == (64, 1, 16, 16)


@pytest.mark.parametrize(
    "spec",
    [
        PatchSpec(size=32, axis="both", stride=16),
        PatchSpec(size=16, axis="both", stride=8, depth3d=3, time_window=(20.0, 300.0)),
    ],
    ids=["2d-32", "3d-16-window"],
)
def test_chunks_smaller_than_a_patch_give_the_same_patches(stores, spec):
    def everything(store):
        stream = PatchStream(store, spec, shuffle=False, return_positions=True)
        out = {tuple(p.tolist()): x.numpy().tobytes() for x, p in stream}
        assert len(out) == len(stream) == len(tile(store, spec))  # none twice, none lost
        return out

    small, default = everything(stores["small"]), everything(stores["default"])
    assert {p[0] for p in small} == {0, 1}
    assert small == default


def _epoch(stream: PatchStream) -> set[tuple[int, ...]]:
    """The positions of one whole epoch of a shuffled stream (its first ``len`` patches)."""
    stream.batch_size = len(stream)
    where = _first(stream, len(stream))
    assert len({tuple(p) for p in where.tolist()}) == len(stream)
    return {tuple(p) for p in where.tolist()}


def test_holdout_separates_train_and_eval_columns(stores):
    def split(seed, part):
        return PatchStream(stores["small"], MIXED, seed=seed, holdout=0.25, split=part,
                           return_positions=True)  # fmt: skip

    train, evaluation = split(5, "train"), split(5, "eval")
    record = train.holdout
    assert record == evaluation.holdout and record["fraction"] == 0.25
    block = tuple(record["block"])
    held = {tuple(c) for c in record["columns"]}
    assert len(held) == round(0.25 * 20) and block == (8, 8)

    def columns(positions):
        return {(i // block[0], j // block[1]) for _, i, j, _ in positions}

    seen_train, seen_eval = _epoch(train), _epoch(evaluation)
    assert columns(seen_eval) <= held and not columns(seen_train) & held
    assert not seen_train & seen_eval
    complete = {tuple(p) for p in tile(stores["small"], MIXED, complete=True).tolist()}
    assert seen_train | seen_eval == complete
    assert split(5, "eval").holdout == record  # same seed, same split
    assert _epoch(split(5, "eval")) == seen_eval
    assert split(6, "train").holdout["columns"] != record["columns"]


def test_survey_source_evaluates_on_held_out_columns_only(stores):
    data = DataConfig(size=16, stride=8, axis="both", buffer=128)
    source = SurveySource(stores["small"], data=data, seed=2)
    record = source.holdout
    block, held = tuple(record["block"]), {tuple(c) for c in record["columns"]}
    assert held

    def columns(where):
        return {(i // block[0], j // block[1]) for _, i, j, _ in where.tolist()}

    _, evaluation = source.sample(10_000, "eval")  # capped at the held-out patches
    _, training = source.sample(2048)
    assert columns(evaluation) <= held and not columns(training) & held
    assert len({tuple(p) for p in evaluation.tolist()}) == len(evaluation) < 10_000
    assert len(source.eval_set(32)) == 32
    assert source_record(source, None)["holdout"] == record
    again = SurveySource(stores["small"], data=data, seed=2)
    assert again.holdout == record


def test_survey_source_without_holdout_trains_on_every_column(stores):
    data = DataConfig(size=16, stride=8, axis="both", buffer=128, holdout=0.0)
    source = SurveySource(stores["small"], data=data, seed=2)
    assert source.holdout["columns"] == [] and source.holdout["fraction"] == 0.0
    every = {tuple(p) for p in tile(stores["small"], MIXED, complete=True).tolist()}
    stream = source._stream(batch_size=len(every), positions=True)
    assert {tuple(p) for p in next(iter(stream))[1].tolist()} == every  # nothing held out
    np.testing.assert_array_equal(source.eval_set(32), source.sample(32)[0])  # training's
    with pytest.raises(ConfigError, match=r"data holdout 0\.6 must be between 0 and 0\.5"):
        DataConfig(holdout=0.6)
