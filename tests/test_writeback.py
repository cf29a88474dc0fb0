"""Layers written back into a survey store: values, atomicity, overwrite, amplitude intact."""

from __future__ import annotations

import hashlib

import dask.array as da
import numpy as np
import pytest
import zarr

from seisflow.errors import InputFileError, OutputPathError
from seisflow.infer import remove_layer, write_layer
from seisflow.ingest import describe, open_survey, segy_to_zarr


@pytest.fixture
def store(make_survey, tmp_path):
    return segy_to_zarr(make_survey().segy, tmp_path / "s.zarr", chunks=(8, 12, 48)).store


def _amplitude_digest(store):
    array = zarr.open_array(str(store), path="amplitude", mode="r")
    return hashlib.sha256(np.ascontiguousarray(array[...]).tobytes()).hexdigest()


def _layer_from_amplitude(store, dtype=np.float32):
    amplitude = open_survey(store).amplitude.data
    return (da.nan_to_num(amplitude) > 0).astype(dtype)


def test_a_layer_lands_on_the_grid_with_its_attributes(store):
    before = _amplitude_digest(store)
    write_layer(store, "facies", _layer_from_amplitude(store, np.int16),
                attrs={"long_name": "facies", "flag_values": [0, 1]})  # fmt: skip
    survey = open_survey(store)
    layer = survey.facies
    assert layer.dims == survey.amplitude.dims and layer.dtype == np.int16
    assert layer.encoding["chunks"] == survey.amplitude.encoding["chunks"]
    expected = (np.nan_to_num(survey.amplitude.values) > 0).astype(np.int16)
    np.testing.assert_array_equal(layer.values, expected)
    assert layer.attrs["flag_values"] == [0, 1]
    assert layer.attrs["grid_mapping"] == "spatial_ref"
    assert "facies" in describe(store)["layers"]
    assert _amplitude_digest(store) == before


def test_a_crash_mid_write_leaves_the_previous_layer(store):
    write_layer(store, "anomaly", _layer_from_amplitude(store), attrs={"version": 1})

    def explode(block, block_info=None):
        if block_info[0]["chunk-location"] == (1, 1, 1):
            raise RuntimeError("killed")
        return block * 0 + 7

    broken = _layer_from_amplitude(store).map_blocks(explode, dtype=np.float32)
    with pytest.raises(RuntimeError, match="killed"):
        write_layer(store, "anomaly", broken, attrs={"version": 2}, overwrite=True)
    survey = open_survey(store)
    assert survey.anomaly.attrs["version"] == 1  # the old layer, whole
    assert not np.any(survey.anomaly.values == 7)
    assert all(not name.startswith("_") for name in survey.variables)
    # a clean rerun replaces it and clears the leftover
    write_layer(store, "anomaly", _layer_from_amplitude(store) * 0 + 3, attrs={"version": 3},
                overwrite=True)  # fmt: skip
    survey = open_survey(store)
    assert survey.anomaly.attrs["version"] == 3 and float(survey.anomaly.max()) == 3.0
    assert not any(p.name.startswith("_partial_") for p in store.iterdir())


def test_errors_and_removal(store):
    write_layer(store, "facies_confidence", _layer_from_amplitude(store), attrs={})
    with pytest.raises(OutputPathError, match="already has a facies_confidence layer"):
        write_layer(store, "facies_confidence", _layer_from_amplitude(store), attrs={})
    with pytest.raises(OutputPathError, match="not allowed"):
        write_layer(store, "amplitude", _layer_from_amplitude(store), attrs={})
    with pytest.raises(InputFileError, match="amplitude grid"):
        write_layer(store, "x", da.zeros((2, 2, 2), dtype=np.float32), attrs={})
    remove_layer(store, "facies_confidence")
    assert "facies_confidence" not in open_survey(store)
