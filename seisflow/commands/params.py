"""Option types and text helpers shared by the commands."""

from __future__ import annotations

from typing import Any

import click

from seisflow.storage import Location, is_url, locate, parse_storage_options

__all__ = [
    "DEVICE",
    "SEGY_FILE",
    "SOURCE",
    "STORE",
    "StoreParam",
    "Triple",
    "fractions",
    "rate_text",
    "scores_text",
    "storage_option",
]

#: ``--device``: ``auto`` takes CUDA when present.
DEVICE = click.Choice(["auto", "cpu", "cuda"])


#: Where ``--storage-option`` leaves its parsed options in the click context's ``meta``.
OPTIONS_KEY = "seisflow.storage_options"


def _remember(context: click.Context, parameter: click.Parameter, value: tuple[str, ...]) -> None:
    context.meta[OPTIONS_KEY] = parse_storage_options(value)


#: ``--storage-option KEY=VALUE`` (repeatable): fsspec options of object-storage stores. Eager,
#: so that it is parsed before the store arguments that use it.
storage_option = click.option(
    "--storage-option", "storage_options", multiple=True, metavar="KEY=VALUE", is_eager=True,
    expose_value=False, callback=_remember,
    help="An fsspec option for stores on object storage (s3://, gs://, az://), e.g. "
    "endpoint_url=http://127.0.0.1:9000; repeat for more. Without it, credentials and "
    "endpoints come from the cloud's environment (AWS_ACCESS_KEY_ID, AWS_ENDPOINT_URL, ...).",
)  # fmt: skip


class StoreParam(click.ParamType):
    """A survey store: a local path or an fsspec URL (``s3://bucket/survey.zarr``), as a
    :class:`~seisflow.storage.Location` carrying the ``--storage-option`` options. With
    ``images`` an image benchmark's name passes through as it is (``train``'s SOURCE)."""

    def __init__(self, *, name: str = "store", images: bool = False) -> None:
        self.name = name
        self.images = images

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, Location) or (self.images and value in _image_sets()):
            return value
        options = ctx.meta.get(OPTIONS_KEY) if ctx is not None else None
        return locate(str(value), options if is_url(str(value)) else None)


def _image_sets() -> dict[str, str]:
    from seisflow.images import IMAGE_SETS  # here, not at import: it imports torch

    return IMAGE_SETS


STORE = StoreParam()
SOURCE = StoreParam(name="source", images=True)
#: A SEG-Y file: a local path or a URL (read through fsspec, :mod:`seisflow.ingest.fetch`).
SEGY_FILE = StoreParam(name="file")


class Triple(click.ParamType):
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


def fractions(
    context: click.Context, parameter: click.Parameter, value: str | None
) -> tuple[float, ...] | None:
    """A comma-separated list of numbers, e.g. ``0.1,0.3,0.5``."""
    if value is None:
        return None
    try:
        return tuple(float(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from None


def scores_text(values: dict[str, Any] | None) -> str:
    """``name 0.123, ...`` of a score table (nested tables, such as per-kind figures, left
    out), or ``not scored``."""
    if not values:
        return "not scored"
    return ", ".join(f"{name} {value:.3f}" for name, value in values.items()
                     if not isinstance(value, dict))  # fmt: skip


def rate_text(nbytes: float, seconds: float) -> str:
    """``", 412 MB/s"`` (two significant digits below 10 MB/s), or ``""`` for a run too
    short to time (under 0.05 s)."""
    if seconds < 0.05:
        return ""
    rate = nbytes / 1e6 / seconds
    return f", {rate:.0f} MB/s" if rate >= 10 else f", {rate:.2g} MB/s"
