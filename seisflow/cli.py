"""The ``seisflow`` command line: thin commands over the Python API.

Every command imports what it needs when it runs, so ``seisflow --help`` and the SEG-Y
commands start fast and never import torch. A :class:`~seisflow.errors.SeisflowError` is
printed as one line (``seisflow: error: ...``) with a non-zero exit code; ``--debug`` shows
the traceback instead.
"""

from __future__ import annotations

import os
from typing import Any

import click

from seisflow._version import __version__
from seisflow.commands import maps, model, survey
from seisflow.errors import SeisflowError
from seisflow.outputs import WRITE_ERRNOS
from seisflow.storage import close_filesystems

__all__ = ["cli", "main"]


class _Group(click.Group):
    """A click group that turns SeisflowError into a one-line message and an exit code, and
    so does a write that the operating system refuses (a full disk, a read-only folder)
    wherever a command did not already say it in its own words."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SeisflowError as exc:
            if ctx.params.get("debug"):
                raise
            click.echo(f"seisflow: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except OSError as exc:
            if ctx.params.get("debug") or exc.errno not in WRITE_ERRNOS:
                raise
            click.echo(f"seisflow: error: cannot write {exc.filename}: {exc.strerror}; free "
                       "some space or choose a writable folder", err=True)  # fmt: skip
            ctx.exit(1)


COMMANDS = (survey.synth, survey.ingest, survey.info, model.train, maps.map_command,
            maps.evaluate, survey.export, model.validate, model.demo)  # fmt: skip


@click.group(cls=_Group, commands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})  # fmt: skip
@click.version_option(__version__, prog_name="seisflow")
@click.option("--debug", is_flag=True, help="Show the full traceback of errors.")
def cli(debug: bool) -> None:
    """seisflow: facies and anomaly maps from post-stack seismic surveys."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``seisflow`` console script and ``python -m seisflow``.

    Sets ``GOMP_SPINCOUNT=10000`` unless the environment already sets it, before any command
    loads torch: torch's OpenMP threads then spin briefly at each barrier and sleep, instead
    of spinning for long. Measured on two cores (benchmarks/RESULTS.md, 2026-12-02): as fast
    on idle cores, and beside two busy processes 1.5x faster with a fifth of the CPU.
    """
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")
    try:
        cli.main(args=argv, prog_name="seisflow")
    finally:
        close_filesystems()
