"""Training curves from a run's ``metrics.jsonl``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

__all__ = ["read_metrics", "training_curves"]


def read_metrics(run: str | Path) -> list[dict[str, Any]]:
    """The records of a run's ``metrics.jsonl`` (one JSON object a line), in order.

    Blank lines and a last line cut short (a run killed while writing it) are skipped.

    Args:
        run: A run directory or its ``metrics.jsonl``.

    Raises:
        FileNotFoundError: When there is no ``metrics.jsonl`` (the message names the path).
        ValueError: When a line other than the last is not JSON.
    """
    path = Path(run)
    if path.is_dir() or path.suffix != ".jsonl":
        path = path / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: is {path.parent} a seisflow training run (seisflow train)?"
        )
    lines = path.read_text().splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise ValueError(f"{path}:{number} is not a JSON line: {line[:60]!r}") from None
    return records


def training_curves(
    ax: Axes,
    run: str | Path,
    *,
    keys: tuple[str, ...] = ("loss", "bits_per_dim"),
    eval_key: str = "eval_bits_per_dim",
    lr: bool = False,
    title: str | None = None,
) -> list[Line2D]:
    """Plot training curves against the step, with the evaluation points marked.

    Args:
        ax: Axes to draw into.
        run: A run directory or its ``metrics.jsonl``.
        keys: Logged quantities drawn as lines (``loss``, ``bits_per_dim``, ``l2``, ...).
        eval_key: The held-out quantity drawn as marked points (skipped when never logged).
        lr: Also draw the learning rate, dashed, on a second (log) axis to the right.
        title: Optional title (default: the run's name).

    Returns:
        The lines drawn on ``ax`` (the evaluation points last, when there are any).

    Raises:
        FileNotFoundError, ValueError: As :func:`read_metrics`.
    """
    records = read_metrics(run)
    lines = []
    for key in keys:
        steps, values = _series(records, key)
        if steps.size:
            (line,) = ax.plot(steps, values, label=key.replace("_", " "), lw=1.2)
            lines.append(line)
    steps, values = _series(records, eval_key)
    if steps.size:
        (line,) = ax.plot(steps, values, "o--", color="black", ms=5, lw=0.8,
                          label=eval_key.replace("_", " "))  # fmt: skip
        lines.append(line)
    ax.set_xlabel("step")
    ax.set_ylabel("bits/dim" if set(keys) <= {"bits_per_dim"} else "loss, bits/dim")
    ax.grid(True, alpha=0.3)
    handles, top = list(lines), ax
    if lr:
        steps, values = _series(records, "lr")
        if steps.size:
            right = ax.twinx()
            (line,) = right.plot(steps, values, ":", color="grey", label="learning rate")
            right.set_yscale("log")
            right.set_ylabel("learning rate")
            handles.append(line)
            top = right  # the legend above both curves' axes, clear of the decaying loss
    if handles:
        top.legend(handles=handles, fontsize="small", loc="best" if top is ax else "center right")
    name = Path(run).parent.name if Path(run).suffix == ".jsonl" else Path(run).name
    ax.set_title(title if title is not None else f"training: {name}")
    return lines


def _series(records: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """Steps and finite values of ``key`` over the records that log it."""
    pairs = [(r["step"], float(r[key])) for r in records if key in r and r[key] is not None]
    pairs = [(s, v) for s, v in pairs if np.isfinite(v)]
    if not pairs:
        return np.empty(0), np.empty(0)
    steps, values = zip(*pairs, strict=True)
    return np.asarray(steps), np.asarray(values)
