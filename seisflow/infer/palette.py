"""The colour table a categorical layer carries in its attributes (``colors``).

``infer`` writes it with the layer; ``viz`` reads it from the layer (and cycles this table
where a layer has none), so drawing never decides what a facies code looks like.
"""

from __future__ import annotations

__all__ = ["CATEGORY_COLOURS", "cycled_colours"]

#: Colour of each category code (colour-blind-friendly, after Paul Tol's "bright" scheme).
CATEGORY_COLOURS: tuple[str, ...] = (
    "#4477AA",
    "#EE6677",
    "#228833",
    "#CCBB44",
    "#66CCEE",
    "#AA3377",
    "#BBBBBB",
    "#000000",
)


def cycled_colours(n: int) -> list[str]:
    """The colours of codes ``0 .. n-1``: :data:`CATEGORY_COLOURS` cycled."""
    return [CATEGORY_COLOURS[k % len(CATEGORY_COLOURS)] for k in range(n)]
