"""Georeferencing: scaled CDP coordinates, the grid's affine transform and the CRS.

* Coordinates: the raw header words times the coordinate scalar (byte 71 by default): a
  negative scalar divides, a positive one multiplies, zero means 1 (SEG-Y rev 1).
* Affine: least squares over every live trace of ``(X, Y) = A @ (j, i, 1)``, where ``i`` and
  ``j`` are the inline and crossline *array indices*, so ``A`` is the GeoZarr / GDAL
  ``spatial:transform`` ``[a, b, c, d, e, f]`` with ``X = a*j + b*i + c`` and
  ``Y = d*j + e*i + f``. Rotation and shear are allowed; the RMS residual says how well a plane
  grid fits (large for a crooked 2-D line).
* CRS: given by the user, else the one an exported file's ``SEISFLOW`` line names, else one
  the text headers name (an EPSG code, an EPSG name, a UTM zone in words:
  :mod:`seisflow.ingest.text_header`), else WGS 84 for coordinates in degrees, else unknown
  (a warning; the affine is stored either way). A user CRS that contradicts the text header
  is kept, with a warning naming both; one that cannot hold the coordinates (geographic for
  plainly projected values, projected for plainly degrees) is refused.

References:
    GeoZarr specification draft, "proj:" and "spatial:" conventions (OGC, 2025).
    CF Conventions 1.11, section 5.6 "Horizontal coordinate reference systems".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from seisflow.errors import InputFileError
from seisflow.ingest.text_header import Evidence, Marker, TextHeaders, crs_in_text

__all__ = [
    "Affine",
    "CrsInfo",
    "dataset_affine",
    "fit_affine",
    "resolve_crs",
    "scaled_coordinates",
    "trace_xy",
]


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


#: Grid points whose residuals and products :func:`fit_affine` holds at once.
_FIT_POINTS = 1 << 18


def fit_affine(x: np.ndarray, y: np.ndarray, where: np.ndarray) -> Affine:
    """Least-squares affine from array indices ``(i, j)`` to the coordinates ``x``, ``y``
    (float ``(I, J)``) over the grid points ``where`` (bool ``(I, J)``).

    The normal equations of the centred indices are summed a block of inlines at a time, so
    the fit holds a block's products, not the survey's (a least-squares solve over every
    trace held some 200 bytes a trace). They are solved by least squares: the minimum-norm
    slopes where the points leave one undetermined (a 2-D line, whose inline index never
    changes, takes no inline slope). The RMS residual is over the same points.
    """
    step = max(_FIT_POINTS // max(x.shape[1], 1), 1)
    blocks = [slice(a, a + step) for a in range(0, x.shape[0], step)]

    def points(rows: slice) -> tuple[np.ndarray, ...]:
        """float64 ``i``, ``j``, ``x``, ``y`` of the points ``where`` in the inlines ``rows``."""
        inside = where[rows]
        i, j = np.nonzero(inside)
        i = (i + rows.start).astype(np.float64)
        return i, j.astype(np.float64), x[rows][inside], y[rows][inside]

    n = int(np.count_nonzero(where))
    if n == 0:
        return Affine((0.0,) * 6, 0.0)  # type: ignore[arg-type]
    sums = np.zeros(4)  # of i, j, x, y
    for rows in blocks:
        sums += [float(v.sum()) for v in points(rows)]
    im, jm, xm, ym = sums / n
    normal, right = np.zeros((2, 2)), np.zeros((2, 2))  # (j, i) x (j, i) and (j, i) x (x, y)
    for rows in blocks:
        i, j, px, py = points(rows)
        design = np.stack([j - jm, i - im])
        normal += design @ design.T
        right += design @ np.stack([px - xm, py - ym]).T
    (a, d), (b, e) = np.linalg.lstsq(normal, right, rcond=None)[0]
    c, f = xm - a * jm - b * im, ym - d * jm - e * im
    fitted = Affine((a, b, c, d, e, f), 0.0)
    squares = 0.0
    for rows in blocks:
        i, j, px, py = points(rows)
        fx, fy = fitted(i, j)
        squares += float(np.sum((fx - px) ** 2 + (fy - py) ** 2))
    coefficients = tuple(float(v) for v in (a, b, c, d, e, f))
    return Affine(coefficients, float(np.sqrt(squares / n)))  # type: ignore[arg-type]


def dataset_affine(dataset: Any) -> Affine:
    """The grid affine of a survey dataset: its ``spatial:transform`` attribute, else fitted
    to the live ``cdp_x`` / ``cdp_y``.

    Raises:
        ValueError: When the store has no coordinates (``coordinate_source`` unknown), or
            neither a transform nor three traces with coordinates.
    """
    stored = dataset.attrs.get("spatial:transform")
    if stored is not None and len(stored) == 6:
        return Affine(tuple(float(v) for v in stored), 0.0)  # type: ignore[arg-type]
    if dataset.attrs.get("coordinate_source") == "unknown":
        raise ValueError(
            "the store has no trace coordinates (the file's X/Y words held no positions): it "
            "cannot be placed in X/Y; ingest again with --cdpx-byte/--cdpy-byte"
        )
    x, y = np.asarray(dataset.cdp_x.values), np.asarray(dataset.cdp_y.values)
    defined = np.isfinite(x) & np.isfinite(y)
    if np.count_nonzero(defined) < 3:
        raise ValueError(
            "the dataset has no spatial:transform attribute and fewer than 3 traces with "
            "cdp_x/cdp_y: it cannot be placed in X/Y"
        )
    return fit_affine(x, y, defined)


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
    """The survey CRS: ``code`` (``EPSG:xxxx`` or None), ``wkt2``, where it came from
    (``source``: ``user``, ``text header``, ``extended text header``, ``coordinate units``
    or ``unknown``) and the words it rests on (``evidence``)."""

    code: str | None
    wkt2: str | None
    source: str
    cf: dict[str, object]
    evidence: str = ""


def resolve_crs(
    user: str | None,
    headers: TextHeaders | str,
    *,
    path: object = "",
    marker: Marker | None = None,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    xy_units: str = "m",
    stated_units: bool = False,
) -> CrsInfo:
    """The CRS from ``--crs`` (EPSG code or WKT), else the seisflow marker line, else the text
    headers (:func:`~seisflow.ingest.text_header.crs_in_text`), else WGS 84 for coordinates in
    degrees, else unknown (a warning).

    A ``--crs`` that is not the CRS the text headers name is used as given, with a
    UserWarning naming both. A projected CRS named in the text header of a file whose
    coordinates are angles gives way to its geographic CRS (ED50 / UTM zone 31N -> ED50).
    A CRS from the headers that cannot hold the coordinates (below) is dropped with a warning.

    Args:
        user: ``--crs``, or None.
        headers: The decoded text headers (or the 3200-byte one as a string).
        path: The file, for messages.
        marker: The ``SEISFLOW ... CRS=`` line of an exported file, if any.
        x, y: The coordinates (any shape, NaN where unknown), to check the CRS against.
        xy_units: ``m``, ``ft`` or ``deg`` (trace header bytes 89-90 and 3255-3256).
        stated_units: True when the binary header states metres or feet.

    Raises:
        InputFileError: When ``user`` is not a CRS pyproj understands, or is geographic for
            coordinates that are plainly projected, or projected for plainly degrees.
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if isinstance(headers, str):
        headers = TextHeaders(headers)
    found = crs_in_text(headers)
    if marker is not None and marker.crs is not None:
        found = (
            Evidence(marker.crs, f"{marker.where}: SEISFLOW line"),
            CRS.from_user_input(marker.crs),
        )
    points = _points(x, y)
    if user:
        try:
            crs = CRS.from_user_input(user)
        except CRSError as exc:
            raise InputFileError(
                f"--crs {user!r} is not a coordinate reference system ({exc}): give an EPSG "
                "code such as EPSG:23031 or a WKT string"
            ) from None
        info = _info(crs, "user", "--crs")
        given = info.code or f"{crs.name!r}"
        misfit = _misfit(crs, points, xy_units)
        if misfit:
            raise InputFileError(
                f"{path}: --crs {given} is {misfit}: give the CRS the coordinates are in"
                + (f", such as {found[0].value} named in the text header" if found else "")
                + " (pass --cdpx-byte/--cdpy-byte if the coordinates are in other words)"
            )
        if found is not None and not crs.equals(found[1], ignore_axis_order=True):
            warnings.warn(
                f"{path}: --crs {given} differs from {found[0].value} named in the text header "
                f"({found[0].evidence}); using {given} as given (leave --crs out to use "
                f"{found[0].value})",
                UserWarning,
                stacklevel=2,
            )
        _check_length_units(crs, given, xy_units, stated_units, path)
        return info
    if found is not None:
        evidence, crs = found
        source = "extended text header" if evidence.evidence.startswith("ext") else "text header"
        if xy_units == "deg" and crs.is_projected:
            crs = crs.geodetic_crs
            evidence = Evidence(evidence.value, f"{evidence.evidence} (its geographic CRS: the "
                                                "coordinates are angles)")  # fmt: skip
        misfit = _misfit(crs, points, xy_units)
        if not misfit:
            info = _info(crs, source, evidence.evidence)
            _check_length_units(crs, info.code or crs.name, xy_units, stated_units, path)
            return info
        warnings.warn(
            f"{path}: {evidence.value} named in the text header ({evidence.evidence}) is "
            f"{misfit}; the store's CRS is unknown (pass --crs EPSG:XXXX to set it)",
            UserWarning,
            stacklevel=2,
        )
        return CrsInfo(code=None, wkt2=None, source="unknown", cf={})
    if xy_units == "deg":
        warnings.warn(
            f"{path}: the coordinates are angles (trace header bytes 89-90) and no CRS is "
            "named: stored in EPSG:4326 (WGS 84 assumed; pass --crs to name the datum)",
            UserWarning,
            stacklevel=2,
        )
        return _info(CRS.from_epsg(4326), "coordinate units", "angles, WGS 84 assumed")
    if x is not None and not points[0].size:
        return CrsInfo(code=None, wkt2=None, source="unknown", cf={})  # no coordinates to place
    warnings.warn(
        f"{path}: no CRS given and none named in the text header; the store's CRS is "
        "unknown (pass --crs EPSG:XXXX to set it); the affine transform is stored anyway",
        UserWarning,
        stacklevel=2,
    )
    return CrsInfo(code=None, wkt2=None, source="unknown", cf={})


def _points(x: np.ndarray | None, y: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The finite X/Y pairs of ``x``, ``y`` (empty when None)."""
    if x is None or y is None:
        return np.empty(0), np.empty(0)
    x, y = np.asarray(x, dtype=np.float64).ravel(), np.asarray(y, dtype=np.float64).ravel()
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def _misfit(crs: Any, points: tuple[np.ndarray, np.ndarray], xy_units: str) -> str:
    """Why ``crs`` cannot hold the coordinates (plainly projected values in a geographic
    CRS, plainly degrees in a projected one), or "" when it can."""
    x, y = points
    if x.size == 0:
        return ""
    extent = f"X {x.min():.6g} to {x.max():.6g}, Y {y.min():.6g} to {y.max():.6g}"
    if crs.is_geographic and (np.abs(x).max() > 360 or np.abs(y).max() > 90):
        return f"geographic (degrees) but the coordinates are plainly projected ({extent})"
    degrees = xy_units == "deg" or (np.abs(x).max() <= 180 and np.abs(y).max() <= 90)
    if crs.is_projected and degrees:
        why = "trace header bytes 89-90 say angles" if xy_units == "deg" else "within +-180/+-90"
        return f"projected but the coordinates are plainly degrees ({extent}; {why})"
    return ""


def _check_length_units(
    crs: Any, given: str, xy_units: str, stated_units: bool, path: object
) -> None:
    """Warn when the binary header states metres or feet and the CRS's axes are in the other."""
    if not (stated_units and crs.is_projected and crs.axis_info):
        return
    unit = crs.axis_info[0].unit_name
    in_feet = "foot" in unit or "feet" in unit
    if (xy_units == "ft") != in_feet:
        words = {"m": "metres", "ft": "feet"}[xy_units]
        warnings.warn(
            f"{path}: the binary header (bytes 3255-3256) says the coordinates are in {words}"
            f" but {given} is in {unit}; kept as they are (nothing is converted)",
            UserWarning,
            stacklevel=3,
        )


def _info(crs: object, source: str, evidence: str = "") -> CrsInfo:
    authority = crs.to_authority()  # type: ignore[attr-defined]
    code = f"{authority[0]}:{authority[1]}" if authority else None
    cf = {k: v for k, v in crs.to_cf().items() if isinstance(v, str | int | float)}  # type: ignore[attr-defined]
    return CrsInfo(code=code, wkt2=crs.to_wkt(), source=source, cf=cf, evidence=evidence)  # type: ignore[attr-defined]
