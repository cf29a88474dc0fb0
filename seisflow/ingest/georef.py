"""Georeferencing: scaled CDP coordinates, the grid's affine transform and the CRS.

* Coordinates: the raw header words times the coordinate scalar (byte 71 by default): a
  negative scalar divides, a positive one multiplies, zero means 1 (SEG-Y rev 1).
* Affine: least squares over every live trace of ``(X, Y) = A @ (j, i, 1)``, where ``i`` and
  ``j`` are the inline and crossline *array indices*, so ``A`` is the GeoZarr / GDAL
  ``spatial:transform`` ``[a, b, c, d, e, f]`` with ``X = a*j + b*i + c`` and
  ``Y = d*j + e*i + f``. Rotation and shear are allowed; the RMS residual says how well a plane
  grid fits (large for a crooked 2-D line).
* CRS: given by the user, else an EPSG code found in the text header, else unknown (a
  warning; the affine is stored either way). A user CRS that contradicts the text header's
  EPSG code is kept, with a warning naming both.

References:
    GeoZarr specification draft, "proj:" and "spatial:" conventions (OGC, 2025).
    CF Conventions 1.11, section 5.6 "Horizontal coordinate reference systems".
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from seisflow.errors import InputFileError

__all__ = [
    "Affine",
    "CrsInfo",
    "dataset_affine",
    "fit_affine",
    "resolve_crs",
    "scaled_coordinates",
    "trace_xy",
]

EPSG_PATTERN = re.compile(r"EPSG\s*[:=]?\s*(\d{4,6})", re.IGNORECASE)


def scaled_coordinates(raw: np.ndarray, scalar: np.ndarray) -> np.ndarray:
    """Apply the SEG-Y coordinate scalar: float64 ``raw * s`` (s > 0) or ``raw / |s|`` (s < 0)."""
    raw = raw.astype(np.float64)
    scalar = scalar.astype(np.float64)
    factor = np.ones_like(scalar)
    positive, negative = scalar > 0, scalar < 0
    factor[positive] = scalar[positive]
    factor[negative] = -1.0 / scalar[negative]
    return raw * factor


@dataclass(frozen=True)
class Affine:
    """``(X, Y)`` of array indices ``(i, j)``: ``X = a*j + b*i + c``, ``Y = d*j + e*i + f``."""

    coefficients: tuple[float, float, float, float, float, float]
    rms_residual: float

    def __call__(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a, b, c, d, e, f = self.coefficients
        return a * j + b * i + c, d * j + e * i + f


def fit_affine(i: np.ndarray, j: np.ndarray, x: np.ndarray, y: np.ndarray) -> Affine:
    """Least-squares affine from array indices to coordinates over the given traces."""
    design = np.column_stack([j, i, np.ones_like(i)]).astype(np.float64)
    (a, b, c), *_ = np.linalg.lstsq(design, x, rcond=None)
    (d, e, f), *_ = np.linalg.lstsq(design, y, rcond=None)
    fitted = Affine((a, b, c, d, e, f), 0.0)
    fx, fy = fitted(i, j)
    rms = float(np.sqrt(np.mean((fx - x) ** 2 + (fy - y) ** 2))) if x.size else 0.0
    return Affine(tuple(float(v) for v in (a, b, c, d, e, f)), rms)  # type: ignore[arg-type]


def dataset_affine(dataset: Any) -> Affine:
    """The grid affine of a survey dataset: its ``spatial:transform`` attribute, else fitted
    to the live ``cdp_x`` / ``cdp_y``.

    Raises:
        ValueError: When there is neither a transform nor three traces with coordinates.
    """
    stored = dataset.attrs.get("spatial:transform")
    if stored is not None and len(stored) == 6:
        return Affine(tuple(float(v) for v in stored), 0.0)  # type: ignore[arg-type]
    x, y = np.asarray(dataset.cdp_x.values), np.asarray(dataset.cdp_y.values)
    i, j = np.nonzero(np.isfinite(x) & np.isfinite(y))
    if i.size < 3:
        raise ValueError(
            "the dataset has no spatial:transform attribute and fewer than 3 traces with "
            "cdp_x/cdp_y: it cannot be placed in X/Y"
        )
    return fit_affine(i, j, x[i, j], y[i, j])


def trace_xy(dataset: Any, i: int, j: int) -> tuple[float, float]:
    """X and Y of the bin at array indices ``(i, j)``: the trace's ``cdp_x`` / ``cdp_y``, or
    the grid affine's bin centre where there is no trace."""
    x, y = float(dataset.cdp_x.values[i, j]), float(dataset.cdp_y.values[i, j])
    if np.isfinite(x) and np.isfinite(y):
        return x, y
    fx, fy = dataset_affine(dataset)(np.asarray(i), np.asarray(j))
    return float(fx), float(fy)


@dataclass(frozen=True)
class CrsInfo:
    """The survey CRS: ``code`` (``EPSG:xxxx`` or None), ``wkt2`` and where it came from."""

    code: str | None
    wkt2: str | None
    source: str  # "user", "text header" or "unknown"
    cf: dict[str, object]


def resolve_crs(user: str | None, text_header: str, *, path: object = "") -> CrsInfo:
    """The CRS from ``--crs`` (EPSG code or WKT), else the text header, else unknown.

    A ``--crs`` that is not the CRS of the text header's EPSG code is used as given, with a
    UserWarning naming both.

    Raises:
        InputFileError: When ``user`` is not a CRS pyproj understands.
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    found = _text_header_crs(text_header)
    if user:
        try:
            crs = CRS.from_user_input(user)
        except CRSError as exc:
            raise InputFileError(
                f"--crs {user!r} is not a coordinate reference system ({exc}): give an EPSG "
                "code such as EPSG:23031 or a WKT string"
            ) from None
        info = _info(crs, "user")
        if found is not None and not crs.equals(found[1], ignore_axis_order=True):
            given = info.code or f"{crs.name!r}"
            warnings.warn(
                f"{path}: --crs {given} differs from {found[0]} named in the text header; using "
                f"{given} as given (leave --crs out to use {found[0]})",
                UserWarning,
                stacklevel=2,
            )
        return info
    if found is not None:
        return _info(found[1], "text header")
    warnings.warn(
        f"{path}: no CRS given and no EPSG code in the text header; the store's CRS is "
        "unknown (pass --crs EPSG:XXXX to set it); the affine transform is stored anyway",
        UserWarning,
        stacklevel=2,
    )
    return CrsInfo(code=None, wkt2=None, source="unknown", cf={})


def _text_header_crs(text_header: str) -> tuple[str, Any] | None:
    """``("EPSG:xxxx", pyproj.CRS)`` of the first valid EPSG code in the text header."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    for match in EPSG_PATTERN.finditer(text_header):
        try:
            return f"EPSG:{int(match.group(1))}", CRS.from_epsg(int(match.group(1)))
        except CRSError:
            continue
    return None


def _info(crs: object, source: str) -> CrsInfo:
    authority = crs.to_authority()  # type: ignore[attr-defined]
    code = f"{authority[0]}:{authority[1]}" if authority else None
    cf = {k: v for k, v in crs.to_cf().items() if isinstance(v, str | int | float)}  # type: ignore[attr-defined]
    return CrsInfo(code=code, wkt2=crs.to_wkt(), source=source, cf=cf)  # type: ignore[attr-defined]
