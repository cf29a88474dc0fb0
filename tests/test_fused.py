"""The fused anomaly read-out and its hint."""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr

from seisflow.infer.attributes import (
    attributes,
    block_attributes,
    block_log_envelope,
    survey_floor,
)
from seisflow.infer.contrast import lateral_contrast, lazy_lateral_contrast
from seisflow.infer.fused import HINTS, anomaly_hint, envelope_contrast, fuse


def _survey(seed: int = 0) -> xr.Dataset:
    """Laterally uniform reflections with small noise; a bright patch of traces, a dimmed
    one and a missing trace, chunked in blocks of 4 x 5 traces."""
    rng = np.random.default_rng(seed)
    t = np.arange(80)
    wiggle = np.sin(2 * np.pi * t / 12.0)[None, None, :] * np.ones((10, 12, 1))
    amplitude = wiggle + 0.02 * rng.standard_normal(wiggle.shape)
    amplitude[2:4, 2:4, 30:45] *= 4.0  # bright
    amplitude[6:8, 8:10, 50:65] *= 0.2  # dim
    live = np.ones((10, 12), dtype=bool)
    live[9, 0] = False
    amplitude[~live] = 0.0
    coords = {"inline": np.arange(10), "crossline": np.arange(12), "time": t * 4.0}
    return xr.Dataset(
        {"amplitude": (("inline", "crossline", "time"),
                       da.from_array(amplitude.astype(np.float32), chunks=(4, 5, 40))),
         "trace_mask": (("inline", "crossline"), da.from_array(live, chunks=(4, 5)))},
        coords=coords, attrs={"statistics": {"rms": float(np.sqrt(np.mean(wiggle**2)))}},
    )  # fmt: skip


def test_the_envelope_contrast_is_signed_and_equals_the_whole_volume_one():
    survey = _survey()
    lazy = envelope_contrast(survey, radius=3)
    assert lazy.chunks == survey.amplitude.data.chunks
    e = lazy.compute()
    live = survey.trace_mask.values
    envelope = attributes(survey, names=("log_envelope",)).log_envelope.values
    expected = lateral_contrast(envelope, live, radius=3, signed=True)
    np.testing.assert_allclose(e, expected, rtol=1e-5, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(np.abs(e), lateral_contrast(envelope, live, radius=3),
                               rtol=1e-5, atol=1e-6, equal_nan=True)  # fmt: skip
    assert np.isnan(e[9, 0]).all()
    assert float(np.median(e[2:4, 2:4, 33:42])) > 5  # brighter than the neighbours
    assert float(np.median(e[6:8, 8:10, 53:62])) < -5  # dimmer


def test_each_chunk_reads_its_own_halo_with_the_values_of_the_neighbours_one():
    """The envelope contrast reads each chunk's halo of amplitude itself: the values are
    those of the contrast that takes the halo from the neighbouring chunks' envelopes, bit
    for bit, and its chunks depend on no other chunk's."""
    survey = _survey(2)
    live = survey.trace_mask.values
    envelope = attributes(survey, names=("log_envelope",)).log_envelope.data
    neighbours = lazy_lateral_contrast(envelope, live, radius=3, signed=True)
    own = envelope_contrast(survey, radius=3)
    np.testing.assert_array_equal(own.compute(), neighbours.compute())
    assert not any("overlap" in name for name in own.dask.layers)


def test_the_log_envelope_a_few_inlines_at_a_time_equals_the_whole_block_one():
    survey = _survey(3)
    block, live = survey.amplitude.values, survey.trace_mask.values
    for floor in (None, 0.05):
        sliced = block_log_envelope(block, live, floor=floor, slab=3)
        whole = block_attributes(block, live, floor=floor)["log_envelope"]
        np.testing.assert_array_equal(sliced, whole)
    chunked = attributes(survey, names=("log_envelope",)).log_envelope.values
    np.testing.assert_array_equal(block_log_envelope(block, live, floor=survey_floor(survey)),
                                  chunked)  # fmt: skip


def test_fuse_and_hint_on_known_terms():
    e = np.array([4.0, -4.0, 1.0, 0.5, np.nan, 2.0, -1.0], dtype=np.float32)
    f = np.array([1.0, 1.0, 6.0, 1.0, 1.0, 2.0, 4.0], dtype=np.float32)
    e3, f3 = (da.from_array(v.reshape(1, 1, -1), chunks=(1, 1, 3)) for v in (e, f))
    np.testing.assert_array_equal(fuse(f3, e3, flow_weight=0.5).compute().ravel(),
                                  np.abs(e) + 0.5 * f)  # fmt: skip
    codes = anomaly_hint(f3, e3, flow_weight=0.5, threshold=3.0).compute().ravel()
    # fused: 4.5, 4.5, 4, 1 (below the cut), NaN (missing), 3 and 3 (at the cut)
    expected = ["amplitude_high", "amplitude_low", "incoherent", "none", "missing",
                "amplitude_high", "incoherent"]  # fmt: skip
    assert [HINTS[c] if c >= 0 else "missing" for c in codes] == expected
    assert codes.dtype == np.int16


def test_a_planted_bright_spot_and_dim_zone_get_their_hints():
    survey = _survey(1)
    e = envelope_contrast(survey, radius=3)
    flow = da.zeros_like(e)  # no texture evidence
    codes = anomaly_hint(flow, e).compute()
    assert HINTS[int(np.median(codes[2:4, 2:4, 33:42]))] == "amplitude_high"
    assert HINTS[int(np.median(codes[6:8, 8:10, 53:62]))] == "amplitude_low"
    assert HINTS[int(np.median(codes[0, 8:, :20]))] == "none"
    assert (codes[9, 0] == -1).all()  # the missing trace
