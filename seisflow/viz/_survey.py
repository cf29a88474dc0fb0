"""Reading a survey dataset's grid: vertical axis, line and sample look-ups, bin X/Y.

Shared by the map views and the ``ds.seisflow`` accessor. Every look-up that can miss
raises a ``ValueError`` naming the value asked for and the valid range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from seisflow.ingest.georef import dataset_affine

if TYPE_CHECKING:
    import xarray as xr

__all__ = [
    "bin_spacing",
    "crs_code",
    "grid_xy",
    "line_index",
    "sample_index",
    "transform",
    "vertical_dim",
]

UNITS = {"time": "ms", "depth": "m"}


def vertical_dim(ds: xr.Dataset) -> str:
    """``time`` or ``depth``: the vertical dimension of the survey."""
    for name in ("time", "depth"):
        if name in ds.dims:
            return name
    raise ValueError(
        f"the dataset has no time or depth dimension (dims: {', '.join(map(str, ds.dims))}): "
        "is it a seisflow survey?"
    )


def crs_code(ds: xr.Dataset) -> str | None:
    """The store's ``proj:code`` (``EPSG:xxxx``) or None when the CRS is unknown."""
    code = ds.attrs.get("proj:code")
    return str(code) if code else None


def line_index(ds: xr.Dataset, dim: str, number: int) -> int:
    """Array index of inline or crossline ``number``.

    Raises:
        ValueError: When the survey has no such line (the message gives the valid range).
    """
    lines = np.asarray(ds[dim].values)
    found = np.flatnonzero(lines == number)
    if not found.size:
        step = int(lines[1] - lines[0]) if lines.size > 1 else 1
        raise ValueError(
            f"{dim} {number} is not in this survey: {dim}s run {int(lines[0])}..{int(lines[-1])}"
            f" in steps of {step}"
        )
    return int(found[0])


def sample_index(ds: xr.Dataset, value: float) -> int:
    """Index of the sample nearest ``value`` (ms or m) on the vertical axis.

    Raises:
        ValueError: When ``value`` is outside the samples by more than half an interval.
    """
    dim = vertical_dim(ds)
    samples = np.asarray(ds[dim].values, dtype=np.float64)
    half = abs(float(samples[1] - samples[0])) / 2 if samples.size > 1 else 0.5
    unit = UNITS.get(dim, "")
    if not (samples.min() - half <= value <= samples.max() + half):
        raise ValueError(
            f"{dim} {value:g} {unit} is outside this survey: samples run {samples[0]:g}.."
            f"{samples[-1]:g} {unit}"
        )
    return int(np.argmin(np.abs(samples - value)))


def transform(ds: xr.Dataset) -> tuple[float, float, float, float, float, float]:
    """The grid's affine ``[a, b, c, d, e, f]``: ``X = a*j + b*i + c``, ``Y = d*j + e*i + f``
    (``i`` inline index, ``j`` crossline index); from ``spatial:transform``, else fitted to
    the live ``cdp_x`` / ``cdp_y``.

    Raises:
        ValueError: When there is neither a transform nor three traces with coordinates.
    """
    return dataset_affine(ds).coefficients


def grid_xy(ds: xr.Dataset, *, corners: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """X and Y (m) of every bin centre, ``(n_inline, n_crossline)``, traced or not; with
    ``corners`` the ``(n_inline + 1, n_crossline + 1)`` bin corners (for ``pcolormesh``)."""
    a, b, c, d, e, f = transform(ds)
    shape = (ds.sizes["inline"], ds.sizes["crossline"])
    if corners:
        i, j = np.meshgrid(
            np.arange(shape[0] + 1) - 0.5, np.arange(shape[1] + 1) - 0.5, indexing="ij"
        )
    else:
        i, j = np.indices(shape)
    return a * j + b * i + c, d * j + e * i + f


def bin_spacing(ds: xr.Dataset) -> tuple[float, float]:
    """Distance (m) between neighbouring inlines and between neighbouring crosslines."""
    a, b, _, d, e, _ = transform(ds)
    return float(np.hypot(b, e)), float(np.hypot(a, d))
