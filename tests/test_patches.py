"""Patches and streams: exact normalisation, complete tiling, sharding, determinism."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from seisflow.errors import ConfigError, InputFileError
from seisflow.images import ImageStream, load_images
from seisflow.ingest import open_survey, segy_to_zarr
from seisflow.ingest.normalize import measure
from seisflow.ingest.patches import PatchSpec, cut, expand, positions, starts
from seisflow.ingest.stream import PatchStream, tile


@pytest.fixture(scope="module")
def store(make_survey, tmp_path_factory):
    """A store with missing traces and chunks smaller than the volume."""
    root = tmp_path_factory.mktemp("patches")
    return segy_to_zarr(
        make_survey(missing_corner=True).segy, root / "s.zarr", chunks=(8, 12, 48)
    ).store


@pytest.mark.parametrize(
    "spec",
    [
        PatchSpec(size=16, axis="inline", stride=8),
        PatchSpec(size=16, axis="crossline", stride=8),
        PatchSpec(size=8, axis="both", stride=5, depth3d=3),
        PatchSpec(size=16, axis="both", stride=8, time_window=(40.0, 300.0)),
    ],
    ids=["inline", "crossline", "3d-both", "window"],
)
def test_patches_equal_normalize_of_the_raw_slice(store, spec):
    stream = PatchStream(store, spec, shuffle=False, return_positions=True)
    volume = open_survey(store).amplitude.values
    seen = 0
    for patch, position in stream:
        axis, i, j, k = position.tolist()
        d, s = spec.channels, spec.size
        raw = (
            volume[i : i + d, j : j + s, k : k + s]
            if axis == 0
            else volume[i : i + s, j : j + d, k : k + s].transpose(1, 0, 2)
        )
        expected = stream.normalize(raw.transpose(0, 2, 1))  # rows: time, columns: traces
        assert patch.dtype == torch.uint8 and tuple(patch.shape) == (d, s, s)
        np.testing.assert_array_equal(patch.numpy(), expected)
        seen += 1
    assert seen == len(stream) == len(tile(store, spec))
    if spec.time_window:
        k = stream.times
        times = open_survey(store).time.values
        assert times[k].min() >= 40.0 and times[k + spec.size - 1].max() <= 300.0


@settings(max_examples=40, deadline=None)
@given(
    n_il=st.integers(1, 12),
    n_xl=st.integers(1, 12),
    ns=st.integers(4, 30),
    size=st.integers(2, 8),
    stride_fraction=st.floats(0.01, 1.0),
    axis=st.sampled_from(["inline", "crossline", "both"]),
    holes=st.integers(0, 2**31),
)
def test_mapping_tiling_covers_every_live_sample(
    n_il, n_xl, ns, size, stride_fraction, axis, holes
):
    stride = max(1, round(stride_fraction * size))
    rng = np.random.default_rng(holes)
    live = rng.random((n_il, n_xl)) < 0.7
    spec = PatchSpec(size=size, axis=axis, stride=stride)
    pos = positions(spec, live, samples=(0, ns), complete=False)
    covered = np.zeros((n_il, n_xl, ns), dtype=bool)
    for a, i, j, k in pos:
        if a == 0:
            covered[i, j : j + size, k : k + size] = True
        else:
            covered[i : i + size, j, k : k + size] = True
    fits = {0: n_xl >= size, 1: n_il >= size}
    usable = [a for a in spec.axes if fits[a] and ns >= size]
    if usable:
        assert covered[live].all()
    train = positions(spec, live, samples=(0, ns), complete=True)
    for a, i, j, _ in train:  # training patches never touch a missing trace
        assert (live[i, j : j + size] if a == 0 else live[i : i + size, j]).all()
    assert len({tuple(p) for p in pos.tolist()}) == len(pos)


def test_spec_refuses_gaps():
    with pytest.raises(ConfigError, match="stride <= size"):
        PatchSpec(size=8, stride=9)


def test_starts_are_flush_with_the_end():
    assert starts(10, 4, 3).tolist() == [0, 3, 6]
    assert starts(11, 4, 3).tolist() == [0, 3, 6, 7]
    assert starts(3, 4, 1).tolist() == []


def _positions_of(dataset, workers):
    loader = DataLoader(dataset, batch_size=7, num_workers=workers)
    return [tuple(p) for _, batch in loader for p in batch.tolist()]


def test_workers_and_ranks_deliver_disjoint_complete_passes(store, monkeypatch):
    spec = PatchSpec(size=16, axis="both", stride=8)
    stream = PatchStream(store, spec, shuffle=False, return_positions=True)
    everything = {tuple(p) for p in tile(store, spec).tolist()}
    single = _positions_of(stream, 0)
    assert len(single) == len(everything) and set(single) == everything
    two_workers = _positions_of(stream, 2)
    assert sorted(two_workers) == sorted(single)
    # two distributed ranks x two workers: the union is the pass, with no overlap
    import seisflow.ingest.stream as module

    delivered = []
    for rank in range(2):
        monkeypatch.setattr(module.torch.distributed, "is_initialized", lambda: True)
        monkeypatch.setattr(module.torch.distributed, "get_rank", lambda rank=rank: rank)
        monkeypatch.setattr(module.torch.distributed, "get_world_size", lambda: 2)
        delivered.append(_positions_of(stream, 2))
    assert not set(delivered[0]) & set(delivered[1])
    assert sorted(delivered[0] + delivered[1]) == sorted(single)


def test_training_stream_is_endless_shuffled_and_deterministic(store):
    spec = PatchSpec(size=16, axis="inline", stride=8)

    def take(seed, n):
        stream = PatchStream(store, spec, seed=seed, buffer=64, return_positions=True)
        out = []
        for _, position in stream:
            out.append(tuple(position.tolist()))
            if len(out) == n:
                return out
        raise AssertionError("the training stream ended")

    n = 3 * len(PatchStream(store, spec))  # more than one pass: it must not stop
    first, again, other = take(1, n), take(1, n), take(2, n)
    assert first == again and first != other
    in_order = [tuple(p) for p in tile(store, spec, complete=True).tolist()]
    assert first[: len(in_order)] != in_order  # shuffled
    assert set(first) == set(in_order)  # complete patches only, every one of them


def test_normalization_reads_a_sample_of_chunks(store, tmp_path):
    import shutil

    copy = tmp_path / "copy.zarr"
    shutil.copytree(store, copy)
    group = zarr.open_group(str(copy), mode="r+")
    group.attrs.pop("seisflow:normalization", None)
    reads = []
    original = zarr.Array.blocks.fget

    def counting(self):
        reads.append(1)
        return original(self)

    try:
        zarr.Array.blocks = property(counting)  # count chunk reads
        result = measure(copy, percentile=99.0, max_chunks=5)
    finally:
        zarr.Array.blocks = property(original)
    assert len(reads) == 5 < zarr.open_array(str(copy), path="amplitude").nchunks
    volume = open_survey(copy).amplitude.values
    full = np.percentile(np.abs(volume[np.isfinite(volume)]), 99.0)
    assert 0.7 * full < result.scale < 1.3 * full  # a sample estimates the whole
    before = {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()}
    again = measure(copy, percentile=99.0, max_chunks=5)
    assert again == result  # the same chunks again: seeded
    assert {p: p.read_bytes() for p in copy.rglob("*") if p.is_file()} == before  # read only


def test_clear_errors(store, tmp_path):
    with pytest.raises(InputFileError, match="does not fit the volume"):
        PatchStream(store, PatchSpec(size=64))
    import xarray as xr

    xr.Dataset({"other": ("x", [1])}).to_zarr(tmp_path / "o.zarr", zarr_format=3, consolidated=True)
    with pytest.raises(InputFileError, match="no amplitude"):
        PatchStream(tmp_path / "o.zarr", PatchSpec())


def test_cut_orientation():
    block = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    patch = cut(block, (0, 0, 0), np.array([0, 1, 0, 1]), size=2)
    assert patch.shape == (1, 2, 2)
    assert patch[0].tolist() == [[block[1, 0, 1], block[1, 1, 1]], [block[1, 0, 2], block[1, 1, 2]]]


def test_images(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "mnist.npz",
        x_train=rng.integers(0, 255, (10, 28, 28), dtype=np.uint8),
        y_train=np.arange(10),
        x_test=np.zeros((2, 28, 28), np.uint8),
        y_test=np.zeros(2),
    )
    np.savez(
        tmp_path / "cifar10_automobile.npz",
        x_train=rng.integers(0, 255, (4, 32, 32, 3), dtype=np.uint8),
        y_train=np.ones(4),
        x_test=np.zeros((1, 32, 32, 3), np.uint8),
        y_test=np.ones(1),
    )
    images, labels = load_images("mnist", tmp_path)
    assert images.shape == (10, 1, 28, 28) and labels.tolist() == list(range(10))
    colour, _ = load_images("cifar10_automobile", tmp_path)
    assert colour.shape == (4, 3, 32, 32)
    stream = ImageStream(images, shuffle=False, return_positions=True)
    got = [int(i) for _, batch in DataLoader(stream, batch_size=3, num_workers=2) for i in batch]
    assert sorted(got) == list(range(10))
    with pytest.raises(InputFileError, match=r"fashion_mnist\.npz not found"):
        load_images("fashion_mnist", tmp_path)
    with pytest.raises(InputFileError, match="unknown image set"):
        load_images("imagenet", tmp_path)


def test_real_image_files(image_dir):
    images, labels = load_images("mnist", image_dir, split="test")
    assert images.shape == (10000, 1, 28, 28) and images.dtype == np.uint8
    assert set(np.unique(labels)) == set(range(10))


def test_batch_mode_matches_patch_mode(store):
    spec = PatchSpec(size=16, axis="both", stride=8)
    single = PatchStream(store, spec, shuffle=False, return_positions=True)
    batched = PatchStream(store, spec, shuffle=False, return_positions=True, batch_size=50)
    patches = {tuple(p.tolist()): x for x, p in single}
    sizes = []
    for batch, where in DataLoader(batched, batch_size=None, num_workers=2):
        assert batch.dtype == torch.uint8 and batch.shape[1:] == (1, 16, 16)
        sizes.append(batch.shape[0])
        for x, p in zip(batch, where, strict=True):
            assert torch.equal(patches.pop(tuple(p.tolist())), x)
    assert not patches  # every position once
    assert max(sizes) == 50 and sum(sizes) == len(single)
    training = iter(PatchStream(store, spec, batch_size=32, buffer=40))
    assert all(next(training).shape == (32, 1, 16, 16) for _ in range(30))


def test_the_stream_holds_its_patch_columns_once(store):
    spec = PatchSpec(size=16, axis="both", stride=8)
    stream = PatchStream(store, spec, shuffle=False)
    groups = list(stream._by_unit.values())
    assert len(groups) > 2 and all(np.shares_memory(g, stream.columns) for g in groups)
    assert sum(len(g) for g in groups) == len(stream.columns)
    assert stream.columns.shape[1] == 3 and len(stream.times) > 1
    assert len(stream) == len(stream.columns) * len(stream.times)
    mine = expand(stream.columns, stream.times)  # the same set of positions as the tiling
    every = tile(store, spec)
    order, theirs = (np.lexsort(p.T[::-1]) for p in (mine, every))
    np.testing.assert_array_equal(mine[order], every[theirs])


def test_training_batches_stay_full_across_epochs(store):
    spec = PatchSpec(size=16, axis="inline", stride=8)
    stream = PatchStream(store, spec, seed=1, batch_size=64, buffer=128)
    epoch = len(stream)
    batches = iter(stream)
    sizes = [len(next(batches)) for _ in range(3 * epoch // 64 + 2)]
    assert set(sizes) == {64}  # three epochs and more, never a short batch at an epoch end
