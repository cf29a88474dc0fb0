"""Units of a SEG-Y file: the measurement system, the coordinate units, and conversions.

* Measurement system, binary header bytes 3255-3256: 1 metres, 2 feet (0 or anything else:
  not stated, read as metres). It gives the units of depths and of length coordinates; feet
  stay feet (nothing is converted, the units are recorded).
* Coordinate units, trace header bytes 89-90: 1 length (metres or feet), 2 seconds of arc,
  3 decimal degrees, 4 degrees-minutes-seconds (``±DDDMMSS.ss`` once the coordinate scalar is
  applied); 0 is read as length. Angles are converted to decimal degrees, X being the
  longitude and Y the latitude.

References:
    SEG-Y rev 1 Data Exchange Format (2002): binary header bytes 3255-3256, trace header
    bytes 71-72 and 89-90.
    CF Conventions 1.11, section 4.1 (latitude and longitude coordinates).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "COORDINATE_UNITS",
    "MEASUREMENT_SYSTEMS",
    "coordinate_attrs",
    "measurement_system",
    "to_degrees",
    "vertical_units",
    "xy_units",
]

MEASUREMENT_SYSTEMS = {1: "metres", 2: "feet"}
COORDINATE_UNITS = {1: "length", 2: "seconds of arc", 3: "decimal degrees", 4: "DMS"}


def measurement_system(binary: dict[str, int]) -> int:
    """Bytes 3255-3256 of the binary header as segyio (``MeasurementSystem``) or obspy
    (``measurement_system``) names them; 0 when absent."""
    return int(binary.get("MeasurementSystem", binary.get("measurement_system", 0)) or 0)


def vertical_units(domain: str, system: int) -> str:
    """``ms`` for time; ``ft`` for depth in a feet file, else ``m``."""
    if domain == "time":
        return "ms"
    return "ft" if system == 2 else "m"


def xy_units(coordinate_units: int, system: int) -> str:
    """``deg`` for angles (codes 2-4), else ``ft`` in a feet file, else ``m``."""
    if coordinate_units in (2, 3, 4):
        return "deg"
    return "ft" if system == 2 else "m"


def to_degrees(values: np.ndarray, coordinate_units: int) -> np.ndarray:
    """Scaled coordinates in the given units as decimal degrees (lengths are returned as
    they are)."""
    values = np.asarray(values, dtype=np.float64)
    if coordinate_units == 2:
        return values / 3600.0
    if coordinate_units == 4:
        sign, size = np.sign(values), np.abs(values)
        degrees = np.floor(size / 10000.0)
        minutes = np.floor((size - degrees * 10000.0) / 100.0)
        seconds = size - degrees * 10000.0 - minutes * 100.0
        return sign * (degrees + minutes / 60.0 + seconds / 3600.0)
    return values


def coordinate_attrs(axis: str, units: str) -> dict[str, Any]:
    """CF attributes of ``cdp_x`` (``axis="x"``) or ``cdp_y`` in ``m``, ``ft`` or ``deg``."""
    if units == "deg":
        name = "longitude" if axis == "x" else "latitude"
        return {"standard_name": name, "units": "degrees_east" if axis == "x" else "degrees_north"}
    return {"standard_name": f"projection_{axis}_coordinate", "units": units}
