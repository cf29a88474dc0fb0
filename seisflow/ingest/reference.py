"""Where the samples of a file sit: the vertical domain and units, X/Y and the CRS.

The ingest recipe asks this module once per file (:func:`survey_reference`); it gathers what
the headers say and what the user overrides, and returns the store attributes:

* ``domain`` (``time`` or ``depth``) and ``domain_evidence``: ``--domain`` when given (a
  warning when the headers say otherwise), else the ``SEISFLOW DOMAIN=...`` line of a file
  seisflow exported, else a time or depth phrase in the text headers
  (:func:`~seisflow.ingest.text_header.domain_in_text`), else time (said so in the evidence;
  a warning when the headers name both);
* ``vertical_units`` (``ms``, ``m`` or ``ft``) and ``xy_units`` (``m``, ``ft`` or ``deg``)
  from the measurement system and the coordinate units (:mod:`seisflow.ingest.units`); an
  exported file's marker fills them in where the binary header is silent;
* ``measurement_system`` and ``coordinate_units``: the header codes with their names;
* the coordinates (:mod:`seisflow.ingest.coordinates`): ``coordinate_source``, the affine
  (``spatial:transform``, None without coordinates) and its residual, in ``xy_units``;
* the CRS (:func:`~seisflow.ingest.georef.resolve_crs`): ``proj:code``, ``proj:wkt2``,
  ``crs_source`` and ``crs_evidence``;
* ``text_header_extended``: the decoded extended text headers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from seisflow.ingest.coordinates import SurveyCoordinates, survey_coordinates
from seisflow.ingest.geometry import Geometry
from seisflow.ingest.georef import CrsInfo, resolve_crs
from seisflow.ingest.segy import HeaderScan
from seisflow.ingest.text_header import (
    Marker,
    TextHeaders,
    domain_in_text,
    marker_in_text,
    read_text_headers,
)
from seisflow.ingest.units import (
    COORDINATE_UNITS,
    MEASUREMENT_SYSTEMS,
    measurement_system,
    vertical_units,
)

__all__ = ["Reference", "resolve_domain", "survey_reference"]


@dataclass(frozen=True)
class Reference:
    """The vertical axis, coordinates and CRS of a file (see the module docstring)."""

    domain: str
    vertical_units: str
    domain_evidence: str
    xy_units: str
    system: int
    coordinates: SurveyCoordinates
    crs: CrsInfo
    headers: TextHeaders

    def attributes(self) -> dict[str, Any]:
        """The store's group attributes for all of the above."""
        affine = self.coordinates.affine
        units = self.coordinates.coordinate_units
        return {
            "proj:code": self.crs.code,
            "proj:wkt2": self.crs.wkt2,
            "spatial:transform": list(affine.coefficients) if affine else None,
            "spatial:transform_rms_m": affine.rms_residual if affine else None,
            "crs_source": self.crs.source,
            "crs_evidence": self.crs.evidence,
            "domain": self.domain,
            "domain_evidence": self.domain_evidence,
            "vertical_units": self.vertical_units,
            "xy_units": self.xy_units,
            "measurement_system": {
                "code": self.system,
                "name": MEASUREMENT_SYSTEMS.get(self.system, "not stated"),
            },
            "coordinate_units": {"code": units, "name": COORDINATE_UNITS.get(units, "not stated")},
            "coordinate_source": self.coordinates.source,
            "text_header_extended": list(self.headers.extended),
        }

    def geometry_attributes(self) -> dict[str, Any]:
        """``crooked`` (the affine misses the traces by more than half ``trace_spacing``)
        and ``trace_spacing`` (``xy_units``), for the ``geometry`` attribute."""
        return {"crooked": self.coordinates.crooked, "trace_spacing": self.coordinates.spacing}


def survey_reference(
    scan: HeaderScan, geometry: Geometry, *, crs: str | None, domain: str | None
) -> Reference:
    """Read the vertical domain, units, coordinates and CRS of a scanned file.

    Args:
        scan: The file's headers.
        geometry: Where its traces sit on the grid.
        crs: ``--crs`` (EPSG code or WKT), or None to take it from the headers.
        domain: ``--domain`` (``time`` or ``depth``), or None to take it from the headers.

    Raises:
        InputFileError: For a ``--crs`` that pyproj cannot read or that cannot hold the
            coordinates; SegyFormatError for traces in different coordinate units.
    """
    headers = read_text_headers(scan)
    marker = marker_in_text(headers)
    system = measurement_system(scan.binary)
    chosen, units, evidence = resolve_domain(domain, headers, marker, system, path=scan.path)
    coordinates = survey_coordinates(scan, geometry, system=system)
    xy_units = coordinates.units
    if marker is not None and system not in MEASUREMENT_SYSTEMS and xy_units != "deg":
        xy_units = marker.xy_units if marker.xy_units != "deg" else xy_units
    crs_info = resolve_crs(
        crs,
        headers,
        path=scan.path,
        marker=marker,
        x=coordinates.x,
        y=coordinates.y,
        xy_units=xy_units,
        stated_units=system in MEASUREMENT_SYSTEMS,
    )
    return Reference(chosen, units, evidence, xy_units, system, coordinates, crs_info, headers)


def resolve_domain(
    user: str | None, headers: TextHeaders, marker: Marker | None, system: int, *, path: object
) -> tuple[str, str, str]:
    """``(domain, vertical_units, evidence)`` as the module docstring says."""
    detected = None
    both = ""
    if marker is not None:
        detected = (marker.domain, f"{marker.where}: SEISFLOW line")
    else:
        depth, time = domain_in_text(headers)
        if depth and time:
            both = f"depth ({depth.evidence}) and time ({time.evidence})"
        elif depth or time:
            found = depth or time
            detected = (found.value, found.evidence)  # type: ignore[union-attr]
    if user:
        if detected is not None and detected[0] != user:
            warnings.warn(
                f"{path}: --domain {user} differs from {detected[0]} found in the text header "
                f"({detected[1]}); using {user} as given (leave --domain out to use "
                f"{detected[0]})",
                UserWarning,
                stacklevel=3,
            )
        chosen, evidence = user, "--domain"
    elif detected is not None:
        chosen, evidence = detected
    elif both:
        warnings.warn(
            f"{path}: the text header names both {both}; the samples are taken as times "
            "(pass --domain depth if they are depths)",
            UserWarning,
            stacklevel=3,
        )
        chosen, evidence = "time", "assumed: the text header names both time and depth"
    else:
        chosen, evidence = "time", "assumed: no time or depth words in the text header"
    units = vertical_units(chosen, system)
    if marker is not None and marker.domain == chosen and system not in MEASUREMENT_SYSTEMS:
        units = marker.vertical_units
    return chosen, units, evidence
