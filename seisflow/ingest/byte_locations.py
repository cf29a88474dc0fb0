"""Trace-header byte locations: where seisflow reads each header word, checked against the
words segyio can read (one message for the command line and for Python)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seisflow.errors import ConfigError

__all__ = ["FIELD_BYTES", "OPTIONS", "ByteLocations"]


@dataclass(frozen=True)
class ByteLocations:
    """Trace-header byte positions (1-based) of the words seisflow reads.

    Attributes:
        inline: Inline number (SEG-Y rev 1: 189).
        crossline: Crossline number (193).
        cdp_x: CDP X coordinate (181).
        cdp_y: CDP Y coordinate (185).
        cdp: CDP (ensemble) number, the trace number along a 2-D line (21).
        scalar: Coordinate scalar (71): negative divides, positive multiplies.

    Every byte must start a trace-header word segyio reads (:data:`FIELD_BYTES`): a 4-byte
    word lies inside the 240-byte header, so 237 is the last one; 71 is a 2-byte word.
    """

    inline: int = 189
    crossline: int = 193
    cdp_x: int = 181
    cdp_y: int = 185
    cdp: int = 21
    scalar: int = 71

    def __post_init__(self) -> None:
        """Raise ConfigError for a byte that does not start a word segyio reads."""
        for name, (option, usual) in OPTIONS.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                value = repr(value)
            elif int(value) in FIELD_BYTES:
                object.__setattr__(self, name, int(value))  # numpy ints: plain, for JSON
                continue
            raise ConfigError(
                f"{option} {value} is not where a trace-header word starts: give the first "
                f"byte of a field segyio reads ({_WORDS}), such as {usual}"
            )


#: Width in bytes of every trace-header word segyio reads, by its first byte (1-based):
#: the ``segyio.TraceField`` positions; any other byte is refused by segyio.
FIELD_BYTES: dict[int, int] = {
    **dict.fromkeys((*range(1, 29, 4), *range(37, 69, 4), *range(73, 89, 4),
                     *range(181, 201, 4), 205, 219, 225, 233, 237), 4),
    **dict.fromkeys((*range(29, 37, 2), 69, 71, *range(89, 181, 2), 201, 203,
                     *range(209, 219, 2), 223, 229, 231), 2),
}  # fmt: skip
_WORDS = (
    "a 4-byte word at 1-25, 37-65, 73-85 or 181-197 in steps of 4, 205, 219, 225, 233 or 237; "
    "a 2-byte word at an odd byte in 29-35, 69-71, 89-179, 201-203, 209-217, 223 or 229-231"
)
#: ``ByteLocations`` field -> (command-line option, typical value).
OPTIONS = {
    "inline": ("--iline-byte", "189 (SEG-Y rev 1 inline)"),
    "crossline": ("--xline-byte", "193 (SEG-Y rev 1 crossline)"),
    "cdp_x": ("--cdpx-byte", "181 (SEG-Y rev 1 CDP X)"),
    "cdp_y": ("--cdpy-byte", "185 (SEG-Y rev 1 CDP Y)"),
    "cdp": ("--cdp-byte", "21 (the CDP ensemble number)"),
    "scalar": ("--scalar-byte", "71 (the 2-byte coordinate scalar)"),
}
