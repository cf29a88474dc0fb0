"""What an export may write, checked before anything is read: the output's format from its
extension, and a layer of the store that lies on the amplitude grid.

The output's extension says what it is: :data:`SEGY_SUFFIXES` for SEG-Y and
:data:`GEOTIFF_SUFFIXES` for GeoTIFF (see :func:`output_format`); any other, or a folder,
is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from seisflow.errors import InputFileError, OutputPathError

__all__ = [
    "GEOTIFF_SUFFIXES",
    "NAMES",
    "SEGY_SUFFIXES",
    "Format",
    "check_output",
    "export_layer",
    "output_format",
]

#: Extensions of a SEG-Y output (``.seg`` is the short form some packages write).
SEGY_SUFFIXES: tuple[str, ...] = (".sgy", ".segy", ".seg")
#: Extensions of a GeoTIFF output.
GEOTIFF_SUFFIXES: tuple[str, ...] = (".tif", ".tiff")
Format = Literal["segy", "geotiff"]
NAMES: dict[Format, str] = {"segy": "SEG-Y", "geotiff": "a GeoTIFF"}


def output_format(out: str | Path) -> Format:
    """What ``out`` is to be, from its extension (case-insensitive): ``segy`` or ``geotiff``.

    Raises:
        OutputPathError: When ``out`` is an existing folder, or its extension is neither a
            SEG-Y nor a GeoTIFF one.
    """
    out = Path(out)
    if out.is_dir():
        raise OutputPathError(
            f"{out} is a folder: name the file to write, e.g. {out / 'facies.sgy'} or "
            f"{out / 'facies.tif'}"
        )
    suffix = out.suffix.lower()
    if suffix in SEGY_SUFFIXES:
        return "segy"
    if suffix in GEOTIFF_SUFFIXES:
        return "geotiff"
    raise OutputPathError(
        f"{out}: the extension {suffix or '(none)'} names no format seisflow writes: end the "
        f"name with {', '.join(SEGY_SUFFIXES)} for SEG-Y or {', '.join(GEOTIFF_SUFFIXES)} for "
        "a GeoTIFF"
    )


def check_output(out: Path, kind: Format) -> None:
    """Refuse ``out`` when it is a folder or its extension names another format.

    Raises:
        OutputPathError: As :func:`output_format`, or for the other format's extension.
    """
    found = output_format(out)
    if found != kind:
        raise OutputPathError(
            f"{out}: the extension {out.suffix} is for {NAMES[found]}, not {NAMES[kind]}: "
            f"name the file with {', '.join(SEGY_SUFFIXES if kind == 'segy' else GEOTIFF_SUFFIXES)}"
        )


def export_layer(survey: Any, store: Path, layer: str, kind: Format) -> Any:
    """``layer`` of the opened ``survey`` (or ``amplitude``), checked to lie on its grid.

    Raises:
        InputFileError: An unknown layer, or one off the amplitude grid (the message names
            the ones that can be exported as ``kind``).
    """
    layers = [n for n in survey.data_vars if n not in ("amplitude", "trace_mask", "spatial_ref")]
    if layer not in survey.data_vars or layer == "spatial_ref":
        raise InputFileError(
            f"{store} has no layer {layer!r}: choose one of {', '.join([*layers, 'amplitude'])}"
        )
    if survey[layer].dims != survey.amplitude.dims:
        on_grid = [n for n in layers if survey[n].dims == survey.amplitude.dims]
        raise InputFileError(
            f"{store}: {layer} is not on the amplitude grid (its dimensions are "
            f"{', '.join(map(str, survey[layer].dims))}) and cannot be written as "
            f"{NAMES[kind]}: export one of {', '.join([*on_grid, 'amplitude'])}"
        )
    return survey[layer]
