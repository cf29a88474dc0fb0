"""The ``seisflow`` command line: thin commands over the Python API.

Every command imports what it needs when it runs, so ``seisflow --help`` and the SEG-Y
commands start fast and never import torch. A :class:`~seisflow.errors.SeisflowError` is
printed as one line (``seisflow: error: ...``) with a non-zero exit code; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from seisflow._version import __version__
from seisflow.errors import SeisflowError

__all__ = ["cli", "main"]


class _Group(click.Group):
    """A click group that turns SeisflowError into a one-line message and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeisflowError as exc:
            if ctx.params.get("debug"):
                raise
            click.echo(f"seisflow: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


class _Triple(click.ParamType):
    """Three comma-separated integers, such as a survey shape ``IL,XL,NS``."""

    def __init__(self, metavar: str, example: str, *, positive: bool = False) -> None:
        self.name = metavar
        self.example = example
        self.positive = positive

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        try:
            parts = tuple(int(part) for part in str(value).split(","))
        except ValueError:
            parts = ()
        if len(parts) != 3 or (self.positive and min(parts) < 1):
            kind = "positive integers" if self.positive else "integers"
            self.fail(f"{value!r} is not three {kind} {self.name} such as {self.example}",
                      param, ctx)  # fmt: skip
        return parts


def _fractions(
    context: click.Context, parameter: click.Parameter, value: str | None
) -> tuple[float, ...] | None:
    """A comma-separated list of numbers, e.g. ``0.1,0.3,0.5``."""
    if value is None:
        return None
    try:
        return tuple(float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seisflow")
@click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
def cli(debug: bool) -> None:
    """seisflow: facies and anomaly maps from post-stack seismic surveys."""


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--shape",
    type=_Triple("IL,XL,NS", "40,50,120"),
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
@click.option("--unit-tops", metavar="T1,...,T5", callback=_fractions,
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

    from seisflow.config import SynthConfig
    from seisflow.synth import synthesize

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
        f"wrote {result.segy} ({result.traces} traces, {result.bytes / 1e6:.1f} MB, "
        f"{result.bytes / 1e6 / seconds:.0f} MB/s) and {result.truth}"
    )


@cli.command()
@click.argument("segy", type=click.Path(path_type=Path))
@click.argument("store", type=click.Path(path_type=Path))
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
    help="CRS as EPSG:XXXX or WKT [default: an EPSG code in the text header].",
)
@click.option(
    "--domain",
    type=click.Choice(["time", "depth"]),
    default="time",
    show_default=True,
    help="Vertical axis: time (ms) or depth (m).",
)
@click.option(
    "--chunks",
    type=_Triple("I,X,S", "64,64,256", positive=True),
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
    type=click.Choice(["error", "first", "last"]),
    default="error",
    show_default=True,
    help="Two traces in one bin: fail, or keep the first/last.",
)
@click.option("--overwrite", is_flag=True, help="Replace STORE if it exists.")
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on a Dask distributed cluster, e.g. tcp://host:8786 [default: threads].",
)
def ingest(
    segy: Path,
    store: Path,
    iline_byte: int,
    xline_byte: int,
    cdpx_byte: int,
    cdpy_byte: int,
    cdp_byte: int,
    scalar_byte: int,
    crs: str | None,
    domain: str,
    chunks: tuple[int, int, int],
    compressor_name: str,
    duplicates: str,
    overwrite: bool,
    scheduler: str | None,
) -> None:
    """Ingest SEGY (SEG-Y or Seismic Unix) into the survey store STORE (Zarr v3).

    The geometry comes from the trace headers (any sorting, steps, missing traces; 2-D lines
    by CDP); amplitudes are float32 with NaN where no trace; CDP X/Y, the CRS and the affine
    grid transform are stored for georeferencing.
    """
    import time
    import warnings

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
            overwrite=overwrite,
            scheduler=scheduler,
            progress=sys.stderr.isatty(),
        )
    for warning in caught:
        click.echo(f"seisflow: warning: {warning.message}", err=True)
    seconds = time.perf_counter() - start
    kind = "2-D line" if report.is_2d else "3-D survey"
    click.echo(
        f"wrote {report.store}: {kind} {report.shape[0]} x {report.shape[1]} x {report.shape[2]}"
        f", {report.traces} traces, {report.missing} empty bins, CRS {report.crs or 'unknown'}"
        f", {report.bytes_read / 1e6 / seconds:.0f} MB/s"
    )
    if report.non_finite:
        click.echo(
            f"seisflow: warning: {report.non_finite} NaN/inf samples in {segy} were ingested "
            "as they are (counted in the store's statistics)",
            err=True,
        )


@cli.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def info(store: Path, as_json: bool) -> None:
    """Describe the survey store STORE: grid, extent, corners, CRS, samples, layers, size."""
    import json

    from seisflow.ingest import describe

    summary = describe(store)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    grid, samples = summary["grid"], summary["samples"]
    lines = [
        f"store      {summary['store']}",
        f"grid       inlines {_axis_text(grid['inlines'])}, crosslines "
        f"{_axis_text(grid['crosslines'])}, {grid['samples']} samples"
        + (" (2-D line)" if grid["is_2d"] else ""),
        f"traces     {grid['traces']} live, {grid['missing_traces']} empty bins",
        f"{samples['domain']:<10} {samples['first']:g} to {samples['last']:g} "
        f"{samples['units']} every {samples['interval']:g}",
        f"CRS        {summary['crs']} (affine fit RMS {summary['affine_rms_residual_m']:.2f} m)",
    ]
    if summary["extent"]["x"]:
        (x0, x1), (y0, y1) = summary["extent"]["x"], summary["extent"]["y"]
        lines.append(f"extent     X {x0:.1f} to {x1:.1f}, Y {y0:.1f} to {y1:.1f}")
    for corner in summary["corners"]:
        lines.append(
            f"corner     IL {corner['inline']} XL {corner['crossline']}: "
            f"X {corner['x']:.1f} Y {corner['y']:.1f}"
        )
    lines.append(f"layers     {', '.join(summary['layers']) or 'none'}")
    lines.append(
        f"size       {summary['size_on_disk_bytes'] / 1e6:.1f} MB on disk, chunks "
        f"{summary['chunks']}"
    )
    click.echo("\n".join(lines))


def _axis_text(axis: dict[str, int]) -> str:
    return f"{axis['first']}-{axis['last']} step {axis['step']} ({axis['count']})"


_DEVICE = click.Choice(["auto", "cpu", "cuda"])


def _scores_text(values: dict[str, float] | None) -> str:
    """``name 0.123, ...`` of a score table, or ``not scored``."""
    if not values:
        return "not scored"
    return ", ".join(f"{name} {value:.3f}" for name, value in values.items())


@cli.command()
@click.argument("source")
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="TOML file: [model], [data], [train] sections (see configs/).")  # fmt: skip
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a setting, e.g. --set train.steps=200 (repeatable).")  # fmt: skip
@click.option("--data-dir", type=click.Path(path_type=Path),
              help="Folder of the image benchmarks' .npz files.")  # fmt: skip
@click.option("--device", type=_DEVICE, default="auto", show_default=True,
              help="auto: CUDA when present, else CPU.")  # fmt: skip
@click.option("--resume", is_flag=True, help="Continue the run saved in RUN_DIR exactly.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(
    source: str,
    run_dir: Path,
    config_file: Path | None,
    overrides: tuple[str, ...],
    data_dir: Path | None,
    device: str,
    resume: bool,
    quiet: bool,
) -> None:
    """Train a Fractal Flow on SOURCE, writing checkpoints and metrics to RUN_DIR.

    SOURCE is a survey store (from `seisflow ingest`) or an image benchmark: mnist,
    fashion_mnist or cifar10_automobile (read from --data-dir). RUN_DIR receives
    checkpoint.pt (weights, optimiser, step, RNG states, config, version), config.toml and
    metrics.jsonl. Several processes: torchrun --nproc-per-node N -m seisflow train ...
    """
    from seisflow.train import train as run_training

    result = run_training(str(source), run_dir, config_file=config_file, overrides=overrides,
                          data_dir=data_dir, device=device, resume=resume,
                          progress=not quiet)  # fmt: skip
    figures = ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items() if k != "lr")
    click.echo(f"trained {result.step} steps into {result.run_dir}: {figures}")


@cli.command(name="map")
@click.argument("store", type=click.Path(path_type=Path))
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--stride", type=click.IntRange(min=1), help="Patch step (default: the run's).")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--device", type=_DEVICE, default="auto", show_default=True)
@click.option("--scheduler", metavar="ADDRESS", help="A Dask distributed scheduler's address.")
@click.option("--layers", default="facies,anomaly", show_default=True,
              help="Any of facies (with facies_confidence), anomaly, topic_proportions "
                   "(mean topic proportions on the patch grid).")  # fmt: skip
@click.option("--readout", type=click.Choice(["patch", "word"]), default="patch",
              show_default=True,
              help="Facies read-out: patch (mean topic proportions of the patches covering a "
                   "sample) or word (lda: of their two leading topics, the one its words "
                   "favour).")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace layers the store already has.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def map_command(
    store: Path,
    run_dir: Path,
    stride: int | None,
    batch_size: int,
    device: str,
    scheduler: str | None,
    layers: str,
    readout: str,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Write facies, facies_confidence and anomaly layers into STORE with the flow in RUN_DIR.

    Every patch with a live trace is scored (topic proportions; anomaly = the flow's
    bits/dim minus zlib's bits/dim of the patch), and the scores are averaged over
    overlapping patches at every live sample, chunk by chunk (with --readout word, the
    words covering a sample choose between the two leading topics there). topic_proportions
    keeps the
    mean proportions at every stride-th sample of each axis. Each layer is written
    atomically beside amplitude, which is never modified.
    """
    from seisflow.infer.maps import map_survey

    summary = map_survey(store, run_dir, stride=stride, batch_size=batch_size, device=device,
                         layers=tuple(p.strip() for p in layers.split(",") if p.strip()),
                         overwrite=overwrite, scheduler=scheduler,
                         readout=readout, progress=not quiet)  # fmt: skip
    written = ", ".join(summary["layers"])
    click.echo(
        f"wrote {written} into {store}: {summary['patches']} patches in "
        f"{summary['seconds']:.1f} s ({summary['traces_per_s']:.0f} traces/s)"
    )


@cli.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.argument("layer")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--time", "time_ms", type=float, help="GeoTIFF: the slice's time (ms; m in depth).")
@click.option("--inline", type=int, help="GeoTIFF: the vertical section along this inline.")
@click.option("--crossline", type=int, help="GeoTIFF: the vertical section along this crossline.")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
def export(
    store: Path,
    layer: str,
    out: Path,
    time_ms: float | None,
    inline: int | None,
    crossline: int | None,
    overwrite: bool,
) -> None:
    """Write LAYER of STORE (facies, facies_confidence, anomaly, ...) to OUT.

    OUT.sgy: SEG-Y with exactly the geometry of the file the store was ingested from (every
    trace header copied, IEEE samples, a text header naming the layer, the model and the
    legend). OUT.tif with exactly one of --time MS (the time slice as a GeoTIFF in the survey
    CRS), --inline N or --crossline N (the vertical section: rows are samples, columns the
    traces along the line, in a local frame of metres along the line by minus the time, with
    the traces' X/Y in the tags).
    """
    from seisflow.errors import OutputPathError
    from seisflow.infer.export import export_geotiff, export_segy

    suffix = out.suffix.lower()
    if suffix in (".tif", ".tiff"):
        result = export_geotiff(store, layer, out, time=time_ms, inline=inline,
                                crossline=crossline, overwrite=overwrite)  # fmt: skip
        rows, columns = result["shape"]
        if "time" in result:
            what = f"the time slice at {result['time']:g} ({rows} inlines x {columns} crosslines)"
        else:
            line = "inline" if "inline" in result else "crossline"
            along = "crosslines" if line == "inline" else "inlines"
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


@cli.command()
@click.argument("store", type=click.Path(path_type=Path))
@click.argument("truth", type=click.Path(path_type=Path))
@click.option("--samples", type=click.IntRange(min=1000), default=2_000_000, show_default=True,
              help="Live samples scored (a seeded random subset of larger surveys).")  # fmt: skip
@click.option("--seeds", type=click.IntRange(min=1),
              help="Train and score this many seeds (train.seed 0..N-1) instead of scoring "
                   "the store's layers; needs --runs.")  # fmt: skip
@click.option("--runs", "runs_dir", type=click.Path(path_type=Path),
              help="--seeds: folder of the runs (seed-<s>, standard-seed-<s>); finished runs "
                   "found there are reused, interrupted ones resumed.")  # fmt: skip
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="--seeds: the training TOML (see configs/).")  # fmt: skip
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="--seeds: override a training setting (repeatable).")  # fmt: skip
@click.option("--readout", type=click.Choice(["patch", "word"]), default="patch",
              show_default=True, help="--seeds: facies read-out (see seisflow map).")  # fmt: skip
@click.option("--no-flow-baseline", is_flag=True,
              help="--seeds: skip the k-means on standard-prior latents baseline (which "
                   "trains a second run per seed).")  # fmt: skip
@click.option("--device", type=_DEVICE, default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON line.")
def evaluate(
    store: Path,
    truth: Path,
    samples: int,
    seeds: int | None,
    runs_dir: Path | None,
    config_file: Path | None,
    overrides: tuple[str, ...],
    readout: str,
    no_flow_baseline: bool,
    device: str,
    as_json: bool,
) -> None:
    """Score the facies and anomaly layers of STORE against a synthetic TRUTH store.

    Facies: ARI, NMI and matched accuracy, beside k-means and a Gaussian mixture on PCA of
    the patch windows and k-means on window RMS. Anomaly: AUROC and average precision,
    beside an IsolationForest on patch features. Baselines use the layers' patch tiling and
    are computed in this run.

    With --seeds N: train N runs (train.seed 0..N-1) from --config/--set into --runs, score
    each run's facies (computed in memory, the store is not written) beside the baselines
    with the same seed, plus k-means on the latents of a standard-prior flow, and report the
    mean, spread, minimum and maximum of every figure and the topics each seed uses.
    """
    import json

    if seeds is not None:
        from seisflow.infer.seeds import evaluate_seeds

        if runs_dir is None:
            raise click.UsageError("--seeds needs --runs DIR, the folder of the seeds' runs")
        report = evaluate_seeds(store, truth, runs_dir, seeds=seeds, config_file=config_file,
                                overrides=overrides, readout=readout,
                                flow_baseline=not no_flow_baseline, device=device,
                                samples=samples)  # fmt: skip
        click.echo(json.dumps(report) if as_json else _seeds_text(report))
        return
    from seisflow.infer.evaluate import evaluate_layers

    report = evaluate_layers(store, truth, samples=samples)
    if as_json:
        click.echo(json.dumps(report))
        return

    lines = [f"{store} against {truth} ({report['samples']} live samples)"]
    for kind in ("facies", "anomaly"):
        if kind in report:
            lines.append(f"{kind:<10} {_scores_text(report[kind])}")
            baselines = report[f"{kind}_baselines"].items()
            lines += [f"  baseline {name}: {_scores_text(values)}" for name, values in baselines]
    click.echo("\n".join(lines))


def _seeds_text(report: dict[str, Any]) -> str:
    """The --seeds summary: a row per method, mean +- spread [min, max] of each figure."""
    summary = report["summary"]
    lines = [f"{report['store']}: {len(report['seeds'])} seeds, {report['readout']} read-out, "
             f"{report['samples']} live samples; mean +- std [min, max]"]  # fmt: skip
    for method, figures in summary.items():
        cells = [f"{name} {f['mean']:.3f} +- {f['std']:.3f} [{f['min']:.3f}, {f['max']:.3f}]"
                 for name, f in figures.items()]  # fmt: skip
        lines.append(f"{method:<24} " + "; ".join(cells))
    return "\n".join(lines)


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("dataset", type=click.Choice(["mnist", "fashion_mnist", "cifar10_automobile"]))
@click.option("--data-dir", type=click.Path(path_type=Path), required=True,
              help="Folder of the image benchmarks' .npz files.")  # fmt: skip
@click.option("--split", type=click.Choice(["test", "train"]), default="test",
              show_default=True)  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), help="Use the first N images only.")
@click.option("--samples", type=click.IntRange(min=1), default=16, show_default=True,
              help="Importance samples of the LDA bits/dim bound.")  # fmt: skip
@click.option("--baseline-run", type=click.Path(path_type=Path),
              help="A standard-prior run: k-means on its latents is a baseline.")  # fmt: skip
@click.option("--device", type=_DEVICE, default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON line.")
def validate(
    run_dir: Path,
    dataset: str,
    data_dir: Path,
    split: str,
    limit: int | None,
    samples: int,
    baseline_run: Path | None,
    device: str,
    as_json: bool,
) -> None:
    """Score the run in RUN_DIR on an image benchmark: bits/dim and clustering by topic.

    Clusters are the arg-max topic (k-means on the latents for a standard prior), scored
    against the labels (ARI, NMI, matched accuracy) beside k-means on pixels (and on a
    standard-prior run's latents with --baseline-run). Figures and report.json go to
    RUN_DIR/validation/DATASET-SPLIT/.
    """
    import json

    from seisflow.train.validate import validate as run_validation

    report = run_validation(run_dir, dataset, data_dir=data_dir, split=split, limit=limit,
                            samples=samples, baseline_run=baseline_run, device=device)  # fmt: skip
    if as_json:
        click.echo(json.dumps(report))
        return

    lines = [f"{dataset} {split} ({report['n']} images), step {report['step']}",
             f"bits/dim   {report['bits_per_dim']:.4f} ({report['bits_per_dim_kind']})",
             f"clusters   {report['clusters']} ({report['readout']}): "
             + _scores_text({k: report[k] for k in ("ari", "nmi", "accuracy")}
                      if report["ari"] is not None else None)]  # fmt: skip
    baselines = report["baselines"].items()
    lines += [f"baseline   {name}: {_scores_text(values)}" for name, values in baselines]
    lines += [f"figure     {path}" for path in report["figures"].values()]
    click.echo("\n".join(lines))


@cli.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default="seisflow-demo",
              show_default=True, help="Folder of everything the demo writes.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--steps", type=click.IntRange(min=1), default=300, show_default=True,
              help="Training steps (300: the quick survey preset).")  # fmt: skip
@click.option("--survey-only", is_flag=True, help="Stop after the survey figure (seconds).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier demo in --out.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo(
    out_dir: Path, seed: int, steps: int, survey_only: bool, overwrite: bool, quiet: bool
) -> None:
    """Run seisflow end to end on an embedded default survey.

    Synthesise a survey (demo.sgy, demo.truth.zarr), ingest it (demo.zarr), draw it with
    its truth (survey.png), train the quick survey model (run/), map facies, confidence and
    anomaly into the store, evaluate them against the truth, export the facies as SEG-Y and
    a time slice as GeoTIFF, and draw the maps (maps.png).
    """
    import dataclasses

    from seisflow.demo import DEFAULT_DEMO, run_demo

    result = run_demo(out_dir, dataclasses.replace(DEFAULT_DEMO, seed=seed), overwrite=overwrite,
                      train=not survey_only, train_overrides=[f"train.steps={steps}"],
                      progress=not quiet)  # fmt: skip
    lines = [f"survey     {result.survey.segy} (truth {result.survey.truth})",
             f"store      {result.store}", f"figure     {result.figure}"]  # fmt: skip
    if result.scores is not None:
        facies, anomaly = result.scores["facies"], result.scores["anomaly"]
        best = max(v["ari"] for v in result.scores["facies_baselines"].values())
        forest = result.scores["anomaly_baselines"]["isolation_forest"]["auroc"]
        lines += [
            f"run        {result.run} ({steps} steps)",
            f"maps       facies, facies_confidence, anomaly in {result.store}; {result.maps}",
            f"training   {result.training}",
            f"exports    {', '.join(str(p) for p in result.exports)}",
            f"facies     ARI {facies['ari']:.3f} (best baseline {best:.3f}), NMI "
            f"{facies['nmi']:.3f}, accuracy {facies['accuracy']:.3f}",
            f"anomaly    AUROC {anomaly['auroc']:.3f} (IsolationForest {forest:.3f}), "
            f"average precision {anomaly['average_precision']:.3f}",
        ]
    click.echo("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seisflow`` console script and ``python -m seisflow``."""
    cli.main(args=argv, prog_name="seisflow")
