"""The QC IsolationForest baseline: chunk by chunk, seeded, blind to missing traces."""

from __future__ import annotations

import numpy as np
import xarray as xr

from seisflow.infer.qc import qc_isolation_forest
from seisflow.ingest import open_survey, segy_to_zarr


def test_qc_forest_is_seeded_masks_missing_traces_and_finds_dead_ones(make_survey, tmp_path):
    made = make_survey(missing_corner=True)
    store = segy_to_zarr(made.segy, tmp_path / "s.zarr", chunks=(8, 15, 48)).store
    survey = open_survey(store)
    lazy = qc_isolation_forest(survey, seed=3, fit_samples=20_000, trees=50)
    stored = survey.amplitude.data.chunks  # scored chunk by chunk, whole traces
    assert lazy.chunks == (stored[0], stored[1], (survey.amplitude.shape[2],))
    first = lazy.compute()
    np.testing.assert_array_equal(first, qc_isolation_forest(
        survey, seed=3, fit_samples=20_000, trees=50).compute())  # fmt: skip
    live = survey.trace_mask.values
    assert not live.all() and np.isnan(first[~live]).all() and np.isfinite(first[live]).all()
    kind = xr.open_zarr(made.truth).anomaly_kind.values
    dead = (kind == 4) & live[..., None]
    clean = (kind == 0) & live[..., None]
    assert np.median(first[dead]) > np.quantile(first[clean], 0.95)
