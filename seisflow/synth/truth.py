"""The ground-truth store of a synthetic survey (xarray on Zarr v3).

Layout, on the grid of the SEG-Y file (missing traces included, flagged by ``live``):

* ``facies`` int8 (inline, crossline, time): codes of :data:`seisflow.synth.geology.FACIES`;
* ``anomaly`` bool and ``anomaly_kind`` int8 (inline, crossline, time): codes of
  :data:`seisflow.synth.anomalies.ANOMALY_KINDS`, 0 where nothing is anomalous;
* ``live`` bool, ``cdp_x`` / ``cdp_y`` float64 (inline, crossline); coordinates ``inline``,
  ``crossline`` (header numbers) and ``time`` (ms).

Categorical variables carry CF ``flag_values`` / ``flag_meanings``. The store is created
empty from a template and filled block by block with region writes.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from seisflow._version import __version__
from seisflow.config import to_dict
from seisflow.synth.anomalies import ANOMALY_KINDS
from seisflow.synth.geology import FACIES
from seisflow.synth.geometry import Block
from seisflow.synth.render import RenderedBlock, Survey

__all__ = ["create_truth", "seal_truth", "write_truth"]

DIMS = ("inline", "crossline", "time")


def _flags(names: tuple[str, ...]) -> dict[str, object]:
    return {"flag_values": list(range(len(names))), "flag_meanings": " ".join(names)}


def create_truth(path: str, survey: Survey, block: Block) -> None:
    """Create the empty truth store at ``path``, chunked like ``block`` along each axis."""
    grid, config = survey.grid, survey.config
    shape = config.shape
    chunks = (block.il.stop - block.il.start, block.xl.stop - block.xl.start, shape[2])
    x, y = grid.xy()
    blank = da.zeros(shape, chunks=chunks, dtype=np.int8)
    dataset = xr.Dataset(
        data_vars={
            "facies": (DIMS, blank, {"long_name": "facies", **_flags(FACIES)}),
            "anomaly": (DIMS, blank.astype(bool), {"long_name": "anomalous sample"}),
            "anomaly_kind": (DIMS, blank, {"long_name": "anomaly kind", **_flags(ANOMALY_KINDS)}),
            "live": (DIMS[:2], grid.live(), {"long_name": "trace recorded in the SEG-Y file"}),
        },
        coords={
            "inline": ("inline", grid.inlines),
            "crossline": ("crossline", grid.crosslines),
            "time": ("time", grid.times_ms, {"units": "ms"}),
            "cdp_x": (DIMS[:2], x, {"standard_name": "projection_x_coordinate", "units": "m"}),
            "cdp_y": (DIMS[:2], y, {"standard_name": "projection_y_coordinate", "units": "m"}),
        },
        attrs={
            "title": "seisflow synthetic survey ground truth",
            "seisflow_version": __version__,
            "synth_config": json.dumps(to_dict(config)),
            "crs": config.crs,
        },
    )
    with warnings.catch_warnings():  # consolidated metadata is a zarr-python v3 extension
        warnings.filterwarnings("ignore", "Consolidated metadata", UserWarning)
        dataset.to_zarr(path, mode="w", compute=False, zarr_format=3, consolidated=True)


def write_truth(path: str, rendered: RenderedBlock) -> None:
    """Write one rendered block into its region of the truth store at ``path``."""
    block = rendered.block
    kind = rendered.anomaly_kind
    region = xr.Dataset(
        {
            "facies": (DIMS, rendered.facies),
            "anomaly": (DIMS, kind > 0),
            "anomaly_kind": (DIMS, kind),
        }
    )
    region.to_zarr(
        path,
        region={"inline": block.il, "crossline": block.xl, "time": slice(None)},
        consolidated=False,
    )


def seal_truth(path: str | Path, *, segy_crc32: str) -> None:
    """Record the checksum of the SEG-Y written with the truth at ``path`` (``segy_crc32``,
    the CRC-32 a survey store records of its source) and consolidate: ``evaluate`` refuses
    a store whose source is another file."""
    group = zarr.open_group(str(path), mode="r+")
    group.attrs["segy_crc32"] = segy_crc32
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Consolidated metadata", UserWarning)
        zarr.consolidate_metadata(str(path))
