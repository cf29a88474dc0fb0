"""What the text headers say: the vertical domain, the CRS and seisflow's own marker line.

A SEG-Y file names its vertical axis and its coordinate reference system only in words, if at
all. This module reads those words from the 3200-byte text header and the extended text
headers (SEG-Y rev 1/2), and reports each finding with its evidence: where it was found and
the words themselves, so a user can check it.

* Marker: ``SEISFLOW DOMAIN=<time|depth> VUNITS=<ms|m|ft> XYUNITS=<m|ft|deg>
  CRS=<EPSG:xxxx|unknown>``, written by ``seisflow export`` into the text header of the files
  it writes; when present it is the strongest evidence, so export -> ingest round-trips.
* Domain: phrases such as ``Depth min``, ``depth domain``, ``TVDSS`` or a sample interval in
  metres or feet (depth); ``Time min``, ``TWT``, ``two-way time``, ``4 ms`` or a sample rate in
  microseconds (time). ``time/depth`` (a label for either) and a water depth are not
  evidence.
* CRS: an EPSG code (``EPSG:23031``, ``EPSG code = 23031``, the ``EPSG Code`` field of an
  IOGP P1/11 ``HC`` record in a rev 2 extended header), else the EPSG name of a projected CRS
  (``WGS 84 / UTM zone 31N``), else a UTM zone written the way interpretation software does
  (Petrel's ``ED50-UTM31``, ``NAD27 UTM 20N``, ``WGS84 UTM zone 31 South``) for WGS 84,
  ED50, NAD27 and NAD83.

References:
    SEG-Y rev 2.0 Data Exchange Format, SEG Technical Standards Committee (2017), section 6
    (extended textual file header) and appendix D-1 (IOGP P1/11 CRS stanza).
    EPSG Geodetic Parameter Dataset, via PROJ's database (pyproj).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "Evidence",
    "Marker",
    "TextHeaders",
    "crs_in_text",
    "domain_in_text",
    "marker_in_text",
    "read_text_headers",
]

MARKER = re.compile(
    r"SEISFLOW\s+DOMAIN=(?P<domain>TIME|DEPTH)\s+VUNITS=(?P<vunits>MS|M|FT)\s+"
    r"XYUNITS=(?P<xyunits>M|FT|DEG)\s+CRS=(?P<crs>EPSG:\d{4,6}|UNKNOWN)\b",
    re.IGNORECASE,
)
_LENGTH = r"(?:m|ft|metres?|meters?|feet|foot)"
DEPTH_WORDS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"(?<!WATER )(?<!WATER-)(?<!WATER_)"  # a water depth says nothing of the samples
        r"\bdepth\s*(?:min|max|range|domain|section|volume|data|cube|axis|units?)\b",
        r"\b(?:domain|vertical\s+(?:axis|domain)|z\s*(?:axis|domain))\s*[:=]?\s*depth\b",
        r"\b(?:converted|stretched|migrated)\s+(?:to|in)\s+depth\b",
        r"\bTVD(?:SS)?\b",
        rf"\bdepth\s*\(\s*{_LENGTH}\s*\)",
        rf"\bsample\s+(?:interval|rate)\s*[:=]?\s*\d+(?:\.\d+)?\s*{_LENGTH}\b",
    )
)
TIME_WORDS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\btime\s*(?:min|max|range|domain|section|volume|data|cube|axis)\b",
        r"\b(?:domain|vertical\s+(?:axis|domain)|z\s*(?:axis|domain))\s*[:=]?\s*time\b",
        r"\bTWT\b",
        r"\btwo[-\s]way(?:\s+travel)?\s+times?\b",
        r"\btime\s+of\s+first\s+sample\b",
        r"\b(?:converted|stretched)\s+(?:to|in)\s+time\b",
        r"\btime\s*\(\s*m?s\s*\)",
        r"\d\s*(?:ms|msec|millisec\w*)\b",
        r"\bsample\s+(?:interval|rate)\s*[:=]?\s*\d+(?:\.\d+)?\s*(?:us|usec|microsec\w*)\b",
    )
)
EITHER = re.compile(r"\b(?:time\s*/\s*depth|depth\s*/\s*time)\b", re.IGNORECASE)
EPSG_CODES = (
    re.compile(r"\bEPSG\s*(?:code)?\s*[:=#]?\s*(\d{4,6})\b", re.IGNORECASE),
    re.compile(r"\bEPSG\s*code[^,\n]*,\s*\d+\s*,\s*(\d{4,6})\b", re.IGNORECASE),  # P1/11 HC
)
UTM_WORDS = re.compile(
    r"(?<![A-Z0-9])(?P<datum>WGS\s*[-_]?\s*(?:19)?84|ED\s*[-_]?\s*(?:19)?50|"
    r"EUROPEAN\s+(?:DATUM\s+)?1950|NAD\s*[-_]?\s*(?:19)?(?:27|83)|"
    r"NORTH\s+AMERICAN\s+(?:DATUM\s+)?19(?:27|83))"
    r"[\s/_\-:,()]*(?:BASED\s+)?UTM[\s_\-,]*(?:ZONE[\s_\-]*)?(?P<zone>\d{1,2})"
    r"\s*(?P<hemisphere>[NS](?![A-Z])|NORTH|SOUTH)?",
    re.IGNORECASE,
)
#: First EPSG code of the UTM zones of each datum, north and south (None: no such CRSs).
UTM_CODES: dict[str, tuple[int, int | None]] = {
    "WGS84": (32600, 32700), "ED50": (23000, None), "NAD27": (26700, None),
    "NAD83": (26900, None),
}  # fmt: skip


@dataclass(frozen=True)
class TextHeaders:
    """The decoded text headers of a file: the 3200-byte one and the extended ones."""

    main: str
    extended: tuple[str, ...] = ()

    def lines(self) -> list[tuple[str, str]]:
        """``(where, line)`` of every non-blank line, e.g. ``("text header line 9", ...)``."""
        found = []
        for k, text in enumerate((self.main, *self.extended)):
            name = "text header" if k == 0 else f"extended text header {k}"
            for n, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    found.append((f"{name} line {n}", line))
        return found


def read_text_headers(scan: Any) -> TextHeaders:
    """The text headers of a scanned file (a :class:`~seisflow.ingest.segy.HeaderScan`): its
    decoded 3200-byte header and, for a file segyio reads, its extended text headers (as many
    as the binary header's bytes 3505-3506 count), each decoded EBCDIC or ASCII."""
    if scan.reader != "segyio":
        return TextHeaders(scan.text)
    from seisflow.ingest.segy import decode_text_header, open_segy

    with open_segy(scan.path, scan.endian) as handle:
        count = max(int(handle.ext_headers), 0)
        extended = tuple(decode_text_header(bytes(handle.text[k]))[0] for k in range(1, count + 1))
    return TextHeaders(scan.text, extended)


@dataclass(frozen=True)
class Evidence:
    """A finding (``value``) and the words it rests on (``evidence``, one short line)."""

    value: str
    evidence: str


@dataclass(frozen=True)
class Marker:
    """The ``SEISFLOW DOMAIN=... VUNITS=... XYUNITS=... CRS=...`` line of an exported file."""

    domain: str
    vertical_units: str
    xy_units: str
    crs: str | None
    where: str


def marker_in_text(headers: TextHeaders) -> Marker | None:
    """The seisflow marker line, if any text header holds one."""
    for where, line in headers.lines():
        found = MARKER.search(line)
        if found:
            crs = found["crs"].upper()
            return Marker(
                domain=found["domain"].lower(),
                vertical_units=found["vunits"].lower(),
                xy_units=found["xyunits"].lower(),
                crs=None if crs == "UNKNOWN" else crs,
                where=where,
            )
    return None


def domain_in_text(headers: TextHeaders) -> tuple[Evidence | None, Evidence | None]:
    """The first depth phrase and the first time phrase of the text headers (either None)."""
    depth = time = None
    for where, line in headers.lines():
        line = EITHER.sub(" ", line)
        if depth is None:
            depth = _first(DEPTH_WORDS, line, "depth", where)
        if time is None:
            time = _first(TIME_WORDS, line, "time", where)
    return depth, time


def _first(patterns: tuple[re.Pattern[str], ...], line: str, value: str, where: str) -> Any:
    for pattern in patterns:
        found = pattern.search(line)
        if found:
            return Evidence(value, f'{where}: "{found.group(0).strip()}"')
    return None


def crs_in_text(headers: TextHeaders) -> tuple[Evidence, Any] | None:
    """``(Evidence("EPSG:xxxx", where), pyproj.CRS)`` of the CRS the text headers name.

    In order: an EPSG code that is a CRS, the EPSG name of a projected CRS, a UTM zone of
    WGS 84, ED50, NAD27 or NAD83 in words. None when there is none.
    """
    lines = headers.lines()
    for where, line in lines:
        for pattern in EPSG_CODES:
            for found in pattern.finditer(line):
                crs = _epsg(int(found.group(1)))
                if crs is not None:
                    return Evidence(f"EPSG:{found.group(1)}", f'{where}: "{found[0]}"'), crs
    for where, line in lines:
        named = _epsg_name(line)
        if named is not None:
            code, name = named
            return Evidence(f"EPSG:{code}", f'{where}: "{name}"'), _epsg(code)
    for where, line in lines:
        for found in UTM_WORDS.finditer(line):
            code = _utm_code(found)
            if code is not None:
                words = found.group(0).strip()
                return Evidence(f"EPSG:{code}", f'{where}: "{words}"'), _epsg(code)
    return None


def _utm_code(found: re.Match[str]) -> int | None:
    """The EPSG code of a UTM zone in words, checked against the CRS's EPSG name."""
    datum = re.sub(r"[\s\-_]|19(?=\d\d$)", "", found["datum"].upper())
    datum = {"EUROPEAN50": "ED50", "EUROPEANDATUM50": "ED50"}.get(datum, datum)
    datum = re.sub(r"^NORTHAMERICAN(?:DATUM)?(\d\d)$", r"NAD\1", datum)
    zone = int(found["zone"])
    south = (found["hemisphere"] or "N").upper().startswith("S")
    if datum not in UTM_CODES or not 1 <= zone <= 60:
        return None
    base = UTM_CODES[datum][1 if south else 0]
    if base is None:
        return None
    crs = _epsg(base + zone)
    wanted = f"UTM zone {zone}{'S' if south else 'N'}"
    return base + zone if crs is not None and crs.name.endswith(wanted) else None


def _epsg(code: int) -> Any:
    """The pyproj CRS of an EPSG code, or None when the code is not a CRS."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        return CRS.from_epsg(code)
    except CRSError:
        return None


def _epsg_name(line: str) -> tuple[int, str] | None:
    """``(code, name)`` of the longest EPSG projected-CRS name written in ``line``."""
    text = " ".join(line.upper().split())
    best = None
    for name, code in _projected_names().items():
        at = text.find(name)
        while at >= 0:
            end = at + len(name)
            alone = (at == 0 or not text[at - 1].isalnum()) and (
                end == len(text) or not text[end].isalnum()
            )
            if alone and (best is None or len(name) > len(best[1])):
                best = (code, name)
                break
            at = text.find(name, at + 1)
    return best


@lru_cache(maxsize=1)
def _projected_names() -> dict[str, int]:
    """Upper-case EPSG names of the projected CRSs that have a ``/`` (``DATUM / PROJECTION``)."""
    from pyproj.database import query_crs_info
    from pyproj.enums import PJType

    infos = query_crs_info(auth_name="EPSG", pj_types=[PJType.PROJECTED_CRS])
    return {" ".join(i.name.upper().split()): int(i.code) for i in infos if " / " in i.name}
