"""Survey data commands: ``synth``, ``ingest``, ``info`` and ``export``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from seisflow.commands.params import SEGY_FILE, STORE, Triple, fractions, storage_option
from seisflow.storage import Location

__all__ = ["export", "info", "ingest", "synth"]


@click.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--shape",
    type=Triple("IL,XL,NS", "40,50,120"),
    default="64,80,200",
    show_default=True,
    help="Inlines, crosslines and samples per trace.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ibm", "ieee"]),
    default="ibm",
    show_default=True,
    help="Sample format.",
)
@click.option(
    "--sorting",
    type=click.Choice(["inline", "crossline"]),
    default="inline",
    show_default=True,
    help="Trace order in the file.",
)
@click.option(
    "--xline-step",
    type=int,
    default=1,
    show_default=True,
    help="Increment between crossline numbers.",
)
@click.option("--missing-corner", is_flag=True, help="Leave out a corner of traces.")
@click.option(
    "--no-anomalies", is_flag=True, help="No bright spot, gas chimney, noise burst or dead traces."
)
@click.option("--unit-tops", metavar="T1,...,T5", callback=fractions,
              help="The facies mix: five increasing unit tops as fractions of the record "
                   "(default about 0.10,0.27,0.43,0.57,0.71).")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace OUT and its truth store if they exist.")
def synth(
    out: Path,
    shape: tuple[int, int, int],
    seed: int,
    fmt: str,
    sorting: str,
    xline_step: int,
    missing_corner: bool,
    no_anomalies: bool,
    unit_tops: tuple[float, float, float, float, float] | None,
    overwrite: bool,
) -> None:
    """Write a synthetic post-stack survey OUT (SEG-Y) and its ground truth OUT.truth.zarr.

    Five facies (parallel beds, transparent shale, chaotic mass-transport deposits,
    clinoforms, channel fills) folded and cut by normal faults, with a bright spot, a gas
    chimney, a noise burst and dead traces; inline/crossline at bytes 189/193, CDP X/Y at
    181/185 (scalar at 71), in a rotated projected grid.
    """
    import time

    from seisflow.commands.params import rate_text
    from seisflow.synth import synthesize
    from seisflow.synth.config import SynthConfig

    config = SynthConfig(
        shape=shape,
        seed=seed,
        format=fmt,  # type: ignore[arg-type]
        sorting=sorting,  # type: ignore[arg-type]
        xline_step=xline_step,
        missing_corner=missing_corner,
        anomalies=not no_anomalies,
        unit_tops=unit_tops,
    )
    start = time.perf_counter()
    result = synthesize(out, config, overwrite=overwrite, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - start
    click.echo(
        f"wrote {result.segy} ({result.traces} traces, {result.bytes / 1e6:.1f} MB"
        f"{rate_text(result.bytes, seconds)}) and {result.truth}"
    )


@click.command()
@click.argument("segy", type=SEGY_FILE)
@click.argument("store", type=STORE)
@storage_option
@click.option(
    "--iline-byte",
    type=int,
    default=189,
    show_default=True,
    help="Trace-header byte of the inline number.",
)
@click.option(
    "--xline-byte",
    type=int,
    default=193,
    show_default=True,
    help="Trace-header byte of the crossline number.",
)
@click.option("--cdpx-byte", type=int, default=181, show_default=True, help="Byte of CDP X.")
@click.option("--cdpy-byte", type=int, default=185, show_default=True, help="Byte of CDP Y.")
@click.option(
    "--cdp-byte",
    type=int,
    default=21,
    show_default=True,
    help="Byte of the CDP number (places the traces of a 2-D line).",
)
@click.option(
    "--scalar-byte", type=int, default=71, show_default=True, help="Byte of the coordinate scalar."
)
@click.option(
    "--crs",
    default=None,
    help="CRS as EPSG:XXXX or WKT [default: the CRS the text header names, by EPSG code "
    "or in words such as ED50-UTM31].",
)
@click.option(
    "--domain",
    metavar="[time|depth]",
    default=None,
    help="Vertical axis: time (ms) or depth (m, ft in a feet file) [default: told from the "
    "text header, else time].",
)
@click.option(
    "--chunks",
    metavar="I,X,S",
    default="64,64,256",
    show_default=True,
    help="Chunk shape inline,crossline,sample.",
)
@click.option(
    "--compressor",
    "compressor_name",
    default="blosc-lz4",
    show_default=True,
    help="blosc-lz4, blosc-zstd, zstd or none.",
)
@click.option(
    "--duplicates",
    metavar="[error|first|last]",
    default="error",
    show_default=True,
    help="Two traces in one bin: fail, or keep the first/last.",
)
@click.option(
    "--endian",
    metavar="[big|little]",
    default=None,
    help="Byte order of SEGY [default: read from its headers].",
)
@click.option("--overwrite", is_flag=True, help="Replace STORE if it exists.")
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on a Dask distributed cluster, e.g. tcp://host:8786 [default: threads].",
)
def ingest(
    segy: Location,
    store: Location,
    iline_byte: int,
    xline_byte: int,
    cdpx_byte: int,
    cdpy_byte: int,
    cdp_byte: int,
    scalar_byte: int,
    crs: str | None,
    domain: str | None,
    chunks: str,
    compressor_name: str,
    duplicates: str,
    endian: str | None,
    overwrite: bool,
    scheduler: str | None,
) -> None:
    """Ingest SEGY (SEG-Y or Seismic Unix) into the survey store STORE (Zarr v3).

    Either may be an object-storage URL (s3://, gs://, az://): a remote SEGY is read in
    ranges into a temporary local copy; a remote STORE is written in place and appears when
    its consolidated metadata is written last.

    The geometry comes from the trace headers (any sorting, steps, missing traces; 2-D lines
    by CDP); amplitudes are float32 with NaN where no trace; CDP X/Y, the CRS and the affine
    grid transform are stored for georeferencing. Either byte order is read (told from the
    headers, or given by --endian). Pre-stack gathers are refused: seisflow takes post-stack
    data. Time or depth, the units (feet stay feet, angles become degrees) and the CRS are
    told from the headers unless --domain/--crs are given. Settings are checked by
    segy_to_zarr, so a bad one gets the same one-line message here as from Python.
    """
    import time
    import warnings

    from seisflow.commands.params import rate_text
    from seisflow.ingest import ByteLocations, segy_to_zarr

    locations = ByteLocations(
        inline=iline_byte,
        crossline=xline_byte,
        cdp_x=cdpx_byte,
        cdp_y=cdpy_byte,
        cdp=cdp_byte,
        scalar=scalar_byte,
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        report = segy_to_zarr(
            segy,
            store,
            locations=locations,
            crs=crs,
            domain=domain,  # type: ignore[arg-type]
            chunks=chunks,
            compressor_name=compressor_name,
            duplicates=duplicates,  # type: ignore[arg-type]
            endian=endian,  # type: ignore[arg-type]
            overwrite=overwrite,
            scheduler=scheduler,
            progress=sys.stderr.isatty(),
        )
    for warning in caught:
        click.echo(f"seisflow: warning: {warning.message}", err=True)
    seconds = time.perf_counter() - start
    kind = "3-D survey"
    if report.is_2d:
        kind = f"2-D line ({report.placement})" if report.placement else "2-D line"
    click.echo(
        f"wrote {report.store}: {kind} {report.shape[0]} x {report.shape[1]} x {report.shape[2]}"
        f", {report.traces} traces, {report.missing} empty bins, {report.domain} "
        f"({report.vertical_units}), CRS {report.crs or 'unknown'}"
        f"{rate_text(report.bytes_read, seconds)}"
    )
    if report.non_finite:
        click.echo(
            f"seisflow: warning: {report.non_finite} NaN/inf samples in {segy} were ingested "
            "as they are (counted in the store's statistics)",
            err=True,
        )


@click.command()
@click.argument("store", type=STORE)
@storage_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(store: Location, as_json: bool) -> None:
    """Describe the survey store STORE: grid, extent, corners, CRS, samples, layers, size.

    A 2-D line is shown by its CDPs (and its name when the text header gives one), its two
    ends and its length along the traces. The domain and the CRS are shown with what they were
    told from (--domain/--crs, or the words of the text header).
    """
    import json

    from seisflow.ingest import describe

    summary = describe(store)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    grid, samples, line = summary["grid"], summary["samples"], summary.get("line")
    where = f"inlines {_axis_text(grid['inlines'])}, crosslines {_axis_text(grid['crosslines'])}"
    if line:  # a 2-D line: its traces by CDP, the line by its name
        name = f" {line['name']}" if line["name"] else ""
        where = f"2-D line{name}, {line['trace_label']}s {_axis_text(grid['crosslines'])}"
    lines = [
        f"store      {summary['store']}",
        f"grid       {where}, {grid['samples']} samples",
        f"traces     {grid['traces']} live, {grid['missing_traces']} empty bins",
        f"{samples['domain']:<10} {samples['first']:g} to {samples['last']:g} "
        f"{samples['units']} every {samples['interval']:g}"
        if samples["interval"] is not None  # one sample: no interval to show
        else f"{samples['domain']:<10} {samples['first']:g} {samples['units']} (one sample)",
        f"domain     {samples['domain']}, {_evidence(summary['domain_evidence'])}",
        f"CRS        {summary['crs']}{_crs_text(summary)}",
    ]
    if summary["extent"]["x"]:
        (x0, x1), (y0, y1) = summary["extent"]["x"], summary["extent"]["y"]
        lines.append(f"extent     X {x0:.1f} to {x1:.1f}, Y {y0:.1f} to {y1:.1f}")
    for corner in [] if line or summary["corners"][0]["x"] is None else summary["corners"]:
        lines.append(
            f"corner     IL {corner['inline']} XL {corner['crossline']}: "
            f"X {corner['x']:.1f} Y {corner['y']:.1f}"
        )
    for end in line["ends"] if line else []:
        xy = f"X {end['x']:.1f} Y {end['y']:.1f}" if end["x"] is not None else "X/Y unknown"
        lines.append(f"end        {line['trace_label']} {end['number']}: {xy}")
    if line and line["length"] is not None:
        along = f"{line['length']:.1f} {summary.get('xy_units', 'm')} along the line"
        lines.append(f"length     {along}, trace to trace")
    lines.append(f"layers     {', '.join(summary['layers']) or 'none'}")
    lines.append(
        f"size       {summary['size_on_disk_bytes'] / 1e6:.1f} MB on disk, chunks "
        f"{summary['chunks']}"
    )
    click.echo("\n".join(lines))


def _evidence(words: str) -> str:
    """``from <where>`` (or ``assumed: ...`` as it is) for an evidence string."""
    return words if not words or words.startswith("assumed") else f"from {words}"


def _crs_text(summary: dict[str, Any]) -> str:
    """Where the CRS came from and how well the grid affine fits the coordinates."""
    rms = summary["affine_rms_residual_m"]
    units = summary["xy_units"]
    if rms is None:
        fit = "no coordinates in the file: cdp_x/cdp_y are unknown"
    else:
        fit = f"affine fit RMS {rms:.2f} {units}"
        source = summary["coordinate_source"]
        if source and not source.startswith(("CDP", "unknown")):  # a fallback: say which
            fit += f", from the {source}"
    given = summary["crs_source"] != "unknown" and summary["crs_evidence"]
    return (f", {_evidence(summary['crs_evidence'])}" if given else "") + f" ({fit})"


def _axis_text(axis: dict[str, int]) -> str:
    return f"{axis['first']}-{axis['last']} step {axis['step']} ({axis['count']})"


@click.command()
@click.argument("store", type=STORE)
@storage_option
@click.argument("layer")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--time", "time_ms", type=float, help="GeoTIFF: the slice's time (ms; m in depth).")
@click.option("--inline", type=int, help="GeoTIFF: the vertical section along this inline.")
@click.option("--crossline", type=int, help="GeoTIFF: the vertical section along this crossline.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def export(
    store: Location,
    layer: str,
    out: Path,
    time_ms: float | None,
    inline: int | None,
    crossline: int | None,
    overwrite: bool,
) -> None:
    """Write LAYER of STORE (facies, facies_confidence, anomaly, ...) to OUT.

    OUT.sgy (.segy, .seg): SEG-Y with exactly the geometry of the file the store was
    ingested from (every trace header copied, traces of a 2-D line found by CDP, IEEE
    samples, the source's text header with a block naming the layer, the model's whole
    SHA-256, the legend and a SEISFLOW DOMAIN=... VUNITS=... XYUNITS=... CRS=... line).
    OUT.tif (.tiff) with exactly one of --time MS (the time slice as a GeoTIFF in the survey
    CRS), --inline N or --crossline N (the vertical section: rows are samples, columns the
    traces along the line, in a local frame of metres along the line by minus the time, with
    the traces' X/Y in the tags; a 2-D line is --inline 1, measured trace to trace). A
    GeoTIFF with no extent (a time slice of a 2-D line, a section of one trace or of traces
    without X/Y) is refused, as is any other extension, or a folder.
    """
    from seisflow.errors import OutputPathError
    from seisflow.infer.export import export_geotiff, export_segy, output_format

    if output_format(out) == "geotiff":
        result = export_geotiff(store, layer, out, time=time_ms, inline=inline,
                                crossline=crossline, overwrite=overwrite)  # fmt: skip
        rows, columns = result["shape"]
        if "time" in result:
            what = (f"the {result['domain']} slice at {result['time']:g} {result['units']} "
                    f"({rows} inlines x {columns} crosslines)")  # fmt: skip
        else:
            line = "inline" if "inline" in result else "crossline"
            along = f"{result['traces']}s"  # crosslines, inlines, or CDPs on a 2-D line
            what = f"the section along {line} {result[line]} ({rows} samples x {columns} {along})"
        click.echo(f"wrote {layer}, {what}, to {out}")
        return
    if inline is not None or crossline is not None or time_ms is not None:
        raise OutputPathError(
            f"{out}: --time, --inline and --crossline are for a GeoTIFF: name OUT .tif, or "
            "leave them out for SEG-Y"
        )
    summary = export_segy(store, layer, out, overwrite=overwrite)
    click.echo(f"wrote {layer} to {out}: {summary['traces']} traces x {summary['samples']}")
