"""2-D lines in a survey store: how their traces are labelled, their name and their length.

A 2-D line is stored as one inline whose crosslines are the traces' CDP numbers (or their
positions in the file when the CDP word is constant, see
:func:`~seisflow.ingest.geometry.build_geometry`); the store's ``geometry`` attribute says
which (``is_2d``, ``placed_by``). Everything that shows a 2-D line to a user (``seisflow
info``, plots, exported sections) labels its traces by CDP rather than "crossline", names
the line when the text header does (``LINE L31``), and measures along it by the true
distance from trace to trace: a crooked line is longer than the straight line the grid
affine fits to it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["along_line_distance", "is_2d", "line_name", "line_summary", "trace_label"]

#: A text-header card naming the line: ``LINE L31`` at the start of the card, or ``LINE:`` /
#: ``LINE NAME =`` anywhere; the name must hold a digit, so ``LINE SPACING 25 M`` or
#: ``CROSS LINE: BYTES 193-196`` are not read as names.
_NAME_AT_START = re.compile(
    r"^C\s*\d{1,2}\s+(?:SEISMIC\s+)?LINE(?:\s*(?:NAME|ID|NO\.?|NUMBER))?\s*[:=]?\s*"
    r"(?P<name>[A-Za-z0-9][\w\-./]*)",
    re.IGNORECASE,
)
_NAME_INSIDE = re.compile(
    r"\bLINE\s*(?:NAME|ID)?\s*[:=]\s*(?P<name>[A-Za-z0-9][\w\-./]*)", re.IGNORECASE
)


def is_2d(attrs: Mapping[str, Any]) -> bool:
    """True when the store's attributes say it holds a 2-D line."""
    return bool(attrs.get("geometry", {}).get("is_2d", False))


def trace_label(attrs: Mapping[str, Any]) -> str:
    """What the ``crossline`` axis of a store counts: ``CDP`` on a 2-D line placed by CDP,
    ``trace`` on one placed in file order, ``crossline`` on a 3-D survey."""
    if not is_2d(attrs):
        return "crossline"
    return "trace" if attrs.get("geometry", {}).get("placed_by") == "file order" else "CDP"


def line_name(text_header: str) -> str | None:
    """The line's name from a decoded text header (``C02 LINE    L31`` -> ``L31``), or None.

    The first card naming a line wins; a candidate without a digit is skipped (see
    :data:`_NAME_AT_START`).
    """
    for card in text_header.splitlines():
        for pattern in (_NAME_AT_START, _NAME_INSIDE):
            found = pattern.search(card)
            if found and any(ch.isdigit() for ch in found["name"]):
                return found["name"]
    return None


def along_line_distance(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Distance (m) of every trace from the first one, measured from trace to trace.

    Traces without coordinates (NaN X or Y: empty bins) are placed between their live
    neighbours in proportion to their index, and before the first or after the last live
    trace at the mean live spacing.

    Args:
        x, y: Coordinates of the traces along the line, ``(n,)``.

    Returns:
        Float64 ``(n,)``, non-decreasing from 0; all NaN when no trace has coordinates.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    index = np.arange(x.size, dtype=np.float64)
    live = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if live.size == 0:
        return np.full(x.size, np.nan)
    cumulative = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x[live]), np.diff(y[live])))])
    distance = np.interp(index, live, cumulative)
    span = live[-1] - live[0]
    step = cumulative[-1] / span if span else 0.0
    distance = np.where(index < live[0], (index - live[0]) * step, distance)
    distance = np.where(index > live[-1], cumulative[-1] + (index - live[-1]) * step, distance)
    return distance - distance[0]


def line_summary(dataset: Any) -> dict[str, Any] | None:
    """What ``seisflow info`` says of a 2-D line, or None for a 3-D survey.

    Returns:
        ``{"name", "trace_label", "count", "ends", "length"}``: the line's name from the
        text header (None when it has none), what the traces are numbered by (``CDP`` or
        ``trace``), the number of traces, the first and last traces (``{"number", "x",
        "y"}``, their CDP X/Y; None where a bin is empty or the file has no coordinates)
        and the distance along the line from the first trace to the last, trace to trace
        (in the store's ``xy_units``, m by default; None without X/Y).
    """
    attrs = dataset.attrs
    if not is_2d(attrs):
        return None
    numbers = np.asarray(dataset.crossline.values)
    x, y = np.asarray(dataset.cdp_x.values[0]), np.asarray(dataset.cdp_y.values[0])
    distance = along_line_distance(x, y)
    length = float(distance[-1]) if distance.size and np.isfinite(distance[-1]) else None
    ends = [
        {
            "number": int(numbers[k]),
            "x": float(x[k]) if np.isfinite(x[k]) else None,
            "y": float(y[k]) if np.isfinite(y[k]) else None,
        }
        for k in (0, numbers.size - 1)
    ]
    return {
        "name": line_name(str(attrs.get("text_header", ""))),
        "trace_label": trace_label(attrs),
        "count": int(numbers.size),
        "ends": ends,
        "length": round(length, 2) if length is not None else None,
    }
