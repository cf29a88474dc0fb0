"""Trace coordinates: which header words hold them, their units, and how well a grid fits.

* Source: the CDP X/Y words (bytes 181/185 by default). When they are the same on every trace
  (or zero) and the source X/Y words (bytes 73/77) vary, those are used, with a warning; when
  both are constant there are no coordinates: ``cdp_x``/``cdp_y`` are stored as NaN and there
  is no affine transform, with a warning. (A legacy line's bytes 181-188 often hold other
  words: the same "X" and "Y" on every trace are not a position.)
* Units: the coordinate scalar (byte 71) is applied, then angles (byte 89-90 = 2, 3 or 4) are
  converted to decimal degrees (:mod:`seisflow.ingest.units`).
* Fit: the least-squares affine from array indices to X/Y
  (:func:`~seisflow.ingest.georef.fit_affine`). Its RMS residual is compared with half the
  trace spacing: the median distance between neighbouring traces of a 2-D line, or the
  smaller bin size of a 3-D grid. A larger residual (a crooked line, an irregular grid) is
  warned about; ``cdp_x``/``cdp_y`` always keep each trace's own position, from which
  :func:`seisflow.ingest.lines.along_line_distance` measures a crooked line trace to trace.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from seisflow.errors import SegyFormatError
from seisflow.ingest.geometry import Geometry
from seisflow.ingest.georef import Affine, fit_affine, scaled_coordinates
from seisflow.ingest.segy import HeaderScan, header_words, open_segy
from seisflow.ingest.units import to_degrees, xy_units

__all__ = ["SOURCE_XY", "SurveyCoordinates", "coordinate_units", "survey_coordinates"]

SOURCE_XY = (73, 77)  # source X/Y, the fallback when CDP X/Y are constant
UNITS_BYTE = 89  # coordinate units
UNITS_SAMPLE = 1024  # traces whose coordinate-units word is read (spread over the file)


@dataclass(frozen=True)
class SurveyCoordinates:
    """X/Y of the grid and how they were found.

    Attributes:
        x, y: float64 ``(n_il, n_xl)``, in ``units``; NaN where no trace, or everywhere when
            the file has no coordinates.
        affine: The least-squares grid affine, None without coordinates.
        source: Which words: ``CDP X/Y (bytes 181/185)``, ``source X/Y (bytes 73/77)`` or
            ``unknown``.
        units: ``m``, ``ft`` or ``deg``.
        coordinate_units: Trace header bytes 89-90 (0 when not stated or not read).
        spacing: Median trace spacing (2-D) or smaller bin size (3-D), in ``units``.
        crooked: True when the affine residual exceeds half of ``spacing``.
    """

    x: np.ndarray
    y: np.ndarray
    affine: Affine | None
    source: str
    units: str
    coordinate_units: int
    spacing: float | None
    crooked: bool


def coordinate_units(scan: HeaderScan) -> int:
    """Trace header bytes 89-90 (1 length, 2 arc-seconds, 3 degrees, 4 DMS), read from up to
    :data:`UNITS_SAMPLE` traces; 0 when not stated (or read through obspy).

    Raises:
        SegyFormatError: When traces state different units.
    """
    if scan.reader != "segyio":
        return 0
    with open_segy(scan.path, scan.endian) as handle:
        step = max(1, handle.tracecount // UNITS_SAMPLE)
        codes = np.unique(np.asarray(handle.attributes(UNITS_BYTE)[::step], dtype=np.int64))
    stated = codes[codes != 0]
    if stated.size > 1:
        raise SegyFormatError(
            f"{scan.path}: the traces state different coordinate units (bytes 89-90: "
            f"{', '.join(map(str, stated))}): seisflow needs one for the file; rewrite the "
            "coordinates in one unit"
        )
    return int(stated[0]) if stated.size else 0


def survey_coordinates(scan: HeaderScan, geometry: Geometry, *, system: int) -> SurveyCoordinates:
    """The grid's coordinates, with the fallbacks and warnings of the module docstring.

    Args:
        scan: Header words of the file.
        geometry: Where each trace sits on the grid.
        system: Measurement system (binary header bytes 3255-3256): 2 means feet.
    """
    units_code = coordinate_units(scan)
    units = xy_units(units_code, system)
    x = scaled_coordinates(scan.cdp_x, scan.scalar)
    y = scaled_coordinates(scan.cdp_y, scan.scalar)
    where = f"bytes {scan.locations.cdp_x}/{scan.locations.cdp_y}"
    source = f"CDP X/Y ({where})"
    if _constant(x, y):
        found = f"{scan.path}: the CDP X/Y ({where}) are {_point(x, y)} on every trace"
        other = _source_xy(scan)
        if other is not None and not _constant(*other):
            warnings.warn(
                f"{found}; using the source X/Y (bytes {SOURCE_XY[0]}/{SOURCE_XY[1]}), which "
                "vary (pass --cdpx-byte/--cdpy-byte to choose other words)",
                UserWarning,
                stacklevel=3,
            )
            x, y = other
            source = f"source X/Y (bytes {SOURCE_XY[0]}/{SOURCE_XY[1]})"
        else:
            also = ""
            if other is not None:
                also = f", and the source X/Y (bytes 73/77) are {_point(*other)}"
            warnings.warn(
                f"{found}{also}: not positions; the coordinates are stored as unknown (NaN) "
                "with no affine transform (pass --cdpx-byte/--cdpy-byte if they are in other "
                "words)",
                UserWarning,
                stacklevel=3,
            )
            nan = np.full(geometry.shape, np.nan)
            return SurveyCoordinates(nan, nan.copy(), None, "unknown", units, units_code,
                                     None, False)  # fmt: skip
    x, y = to_degrees(x, units_code), to_degrees(y, units_code)
    gx, gy = np.full(geometry.shape, np.nan), np.full(geometry.shape, np.nan)
    live = geometry.mask
    gx[live] = x[geometry.trace_index[live]]
    gy[live] = y[geometry.trace_index[live]]
    affine = fit_affine(gx, gy, live)
    spacing = _spacing(geometry, gx, gy, affine)
    crooked = spacing is not None and affine.rms_residual > spacing / 2
    if crooked:
        _warn_crooked(scan, geometry, affine.rms_residual, spacing, units)  # type: ignore[arg-type]
    return SurveyCoordinates(gx, gy, affine, source, units, units_code, spacing, crooked)


def _constant(x: np.ndarray, y: np.ndarray) -> bool:
    """True when every trace has the same X/Y (more than one trace), or all are zero."""
    if x.size == 0:
        return True
    same = x.size > 1 and np.ptp(x) == 0 and np.ptp(y) == 0
    return bool(same or (not np.any(x) and not np.any(y)))


def _point(x: np.ndarray, y: np.ndarray) -> str:
    return f"X {x.flat[0]:g}, Y {y.flat[0]:g}" if np.any(x) or np.any(y) else "zero"


def _source_xy(scan: HeaderScan) -> tuple[np.ndarray, np.ndarray] | None:
    """Scaled source X/Y of every trace; None when they are the words already used, or the
    file is read through obspy."""
    if scan.reader != "segyio" or (scan.locations.cdp_x, scan.locations.cdp_y) == SOURCE_XY:
        return None
    with open_segy(scan.path, scan.endian) as handle:
        words = [header_words(handle, byte) for byte in SOURCE_XY]
    return scaled_coordinates(words[0], scan.scalar), scaled_coordinates(words[1], scan.scalar)


def _spacing(geometry: Geometry, x: np.ndarray, y: np.ndarray, affine: Affine) -> float | None:
    """Median neighbour distance along a 2-D line, or the smaller bin size of a 3-D grid."""
    if geometry.is_2d:
        j = np.flatnonzero(geometry.mask[0])
        if j.size < 2:
            return None
        steps = np.hypot(np.diff(x[0, j]), np.diff(y[0, j])) / np.diff(j)
        median = float(np.median(steps))
        return median if median > 0 else None
    a, b, _, d, e, _ = affine.coefficients
    sizes = [np.hypot(a, d)] if geometry.shape[1] > 1 else []
    sizes += [np.hypot(b, e)] if geometry.shape[0] > 1 else []
    sizes = [float(s) for s in sizes if s > 0]
    return min(sizes) if sizes else None


def _warn_crooked(
    scan: HeaderScan, geometry: Geometry, rms: float, spacing: float, units: str
) -> None:
    if geometry.is_2d:
        what = f"a straight line, more than half the trace spacing ({spacing:.3g} {units}): a "
        what += "crooked line; sections are measured along the traces (cdp_x/cdp_y)"
    else:
        what = f"a regular grid, more than half a bin ({spacing:.3g} {units}): the affine "
        what += "transform (spatial:transform) is approximate; cdp_x/cdp_y keep each trace's X/Y"
    warnings.warn(
        f"{scan.path}: the traces lie {rms:.3g} {units} RMS from {what}",
        UserWarning,
        stacklevel=4,
    )
