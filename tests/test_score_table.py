"""The patch table filled batch by batch (:class:`seisflow.infer.score.TableFill`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from seisflow.infer.score import TableFill, patch_table
from seisflow.ingest.patches import PatchSpec

SPEC = PatchSpec(size=8, axis="both", stride=4)


def _batch(rng: np.random.Generator, n: int, *, words: bool) -> tuple:
    maps = {"logdet": rng.normal(size=(n, 8, 8)).astype(np.float16),
            "prior": rng.normal(size=(n, 8, 8)).astype(np.float16)}  # fmt: skip
    fields = rng.random((n, 3, 4, 4)).astype(np.float16) if words else None
    return (rng.integers(0, 99, (n, 4)), rng.random((n, 3)).astype(np.float32),
            rng.normal(size=n).astype(np.float32), fields, maps)  # fmt: skip


@pytest.mark.parametrize("words", [True, False])
def test_filled_columns_equal_the_batches_end_to_end(words):
    rng = np.random.default_rng(5)
    batches = [_batch(rng, n, words=words) for n in (7, 7, 3, 1)]
    table = patch_table(batches, SPEC)
    assert table.positions.shape == (18, 4) and table.positions.dtype == np.int32
    np.testing.assert_array_equal(table.positions, np.concatenate([b[0] for b in batches]))
    np.testing.assert_array_equal(table.proportions, np.concatenate([b[1] for b in batches]))
    np.testing.assert_array_equal(table.anomaly, np.concatenate([b[2] for b in batches]))
    if words:
        np.testing.assert_array_equal(table.words, np.concatenate([b[3] for b in batches]))
    else:
        assert table.words is None
    assert table.density is not None and table.density.keys() == {"logdet", "prior"}
    for name, values in table.density.items():
        assert values.dtype == np.float16
        np.testing.assert_array_equal(values, np.concatenate([b[4][name] for b in batches]))


def test_a_table_takes_exactly_its_rows():
    rng = np.random.default_rng(6)
    fill = TableFill(10)
    fill.add(_batch(rng, 6, words=False))
    with pytest.raises(ValueError, match="6 of the table's 10 rows were added"):
        fill.table(SPEC)
    with pytest.raises(ValueError, match="11 rows added to a table of 10"):
        fill.add(_batch(rng, 5, words=False))
    fill.add(_batch(rng, 4, words=False))
    assert fill.table(SPEC).anomaly.shape == (10,)


@pytest.mark.parametrize("words", [True, False])
def test_a_table_in_files_holds_what_one_in_memory_holds(tmp_path, words):
    rng = np.random.default_rng(7)
    batches = [_batch(rng, n, words=words) for n in (7, 7, 4)]
    in_memory, in_files = TableFill(18), TableFill(18, folder=tmp_path)
    for batch in batches:
        in_memory.add(batch)
        in_files.add(batch)
    expected, table = in_memory.table(SPEC), in_files.table(SPEC)
    names = {"positions.npy", "proportions.npy", "anomaly.npy", "density-logdet.npy",
             "density-prior.npy"} | ({"words.npy"} if words else set())  # fmt: skip
    assert {p.name for p in tmp_path.iterdir()} == names
    columns = [table.positions, table.proportions, table.anomaly, *table.density.values()]
    for column in [*columns, *([table.words] if words else [])]:
        assert isinstance(column, np.memmap) and Path(column.filename).parent == tmp_path
    assert table.positions.dtype == np.int32
    for name in ("positions", "proportions", "anomaly", "words"):
        np.testing.assert_array_equal(getattr(table, name), getattr(expected, name))
    for name, values in expected.density.items():
        np.testing.assert_array_equal(table.density[name], values)
    # the files are the columns: read back as plain .npy, they hold the rows
    np.testing.assert_array_equal(np.load(tmp_path / "anomaly.npy"), expected.anomaly)
