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


class _Shape(click.ParamType):
    """``IL,XL,NS``: three comma-separated integers."""

    name = "IL,XL,NS"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        try:
            shape = tuple(int(part) for part in str(value).split(","))
        except ValueError:
            shape = ()
        if len(shape) != 3:
            self.fail(f"{value!r} is not three integers IL,XL,NS such as 40,50,120", param, ctx)
        return shape


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seisflow")
@click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
def cli(debug: bool) -> None:
    """seisflow: facies and anomaly maps from post-stack seismic surveys."""


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--shape",
    type=_Shape(),
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
    )
    start = time.perf_counter()
    result = synthesize(out, config, overwrite=overwrite, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - start
    click.echo(
        f"wrote {result.segy} ({result.traces} traces, {result.bytes / 1e6:.1f} MB, "
        f"{result.bytes / 1e6 / seconds:.0f} MB/s) and {result.truth}"
    )


@cli.command()
@click.argument("out_dir", type=click.Path(path_type=Path), default="seisflow-demo")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier demo in OUT_DIR.")
def demo(out_dir: Path, seed: int, overwrite: bool) -> None:
    """Run the demo on an embedded default survey, writing into OUT_DIR.

    Today the demo synthesises a survey, reads it back with segyio and draws sections and a
    time slice with the true facies and anomalies (OUT_DIR/survey.png).
    """
    import dataclasses

    from seisflow.demo import DEFAULT_DEMO, run_demo

    result = run_demo(out_dir, dataclasses.replace(DEFAULT_DEMO, seed=seed), overwrite=overwrite)
    click.echo(f"wrote {result.survey.segy}, {result.survey.truth} and {result.figure}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seisflow`` console script and ``python -m seisflow``."""
    cli.main(args=argv, prog_name="seisflow")
