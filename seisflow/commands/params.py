"""Option types and text helpers shared by the commands."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["DEVICE", "Triple", "fractions", "rate_text", "scores_text"]

#: ``--device``: ``auto`` takes CUDA when present.
DEVICE = click.Choice(["auto", "cpu", "cuda"])


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
