"""The text header of an exported SEG-Y: the source's own cards with seisflow's provenance.

A SEG-Y text header is 40 cards of 80 characters. An export keeps every card of the file
the store was ingested from, byte for byte and in its encoding (EBCDIC or ASCII), and writes
seisflow's provenance block into the last run of free (blank) cards that holds it; failing
that into the last free cards wherever they are; failing that over the last cards (a final
``END TEXTUAL HEADER`` / ``END EBCDIC`` card is kept). Cards of an earlier seisflow block
(a re-export of an export) are cleared first, so a file carries exactly one block.

The block names the layer, its legend, the model's whole SHA-256, the source and one
machine-readable line that :mod:`seisflow.ingest.georef` reads back on a re-ingest::

    SEISFLOW DOMAIN=time VUNITS=ms XYUNITS=m CRS=EPSG:32631
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from seisflow._version import __version__
from seisflow.ingest.segy import decode_text_header

__all__ = ["CARDS", "provenance_lines", "seisflow_line", "with_provenance"]

CARDS = 40  # cards of 80 characters in a text header
MARK = "SEISFLOW "  # how every card of the block but the digest begins
DIGEST_CARD = "SEISFLOW MODEL SHA-256"  # the card before the digest card
DIGEST = re.compile(r"[0-9a-f]{64}|n/a")  # the digest card's whole text
DEFAULT_VERTICAL_UNITS = {"time": "ms", "depth": "m"}


def seisflow_line(attrs: Mapping[str, Any]) -> str:
    """``SEISFLOW DOMAIN=<domain> VUNITS=<u> XYUNITS=<u> CRS=<EPSG:xxxx|unknown>`` from a
    store's attributes ``domain``, ``vertical_units`` (default ``ms`` in time, ``m`` in
    depth), ``xy_units`` (default ``m``) and ``proj:code``."""
    domain = str(attrs.get("domain") or "time")
    vertical = attrs.get("vertical_units") or DEFAULT_VERTICAL_UNITS.get(domain, "ms")
    xy = attrs.get("xy_units") or "m"
    crs = attrs.get("proj:code") or "unknown"
    return f"SEISFLOW DOMAIN={domain} VUNITS={vertical} XYUNITS={xy} CRS={crs}"


def provenance_lines(
    layer: str, layer_attrs: Mapping[str, Any], store_attrs: Mapping[str, Any], source: str
) -> list[str]:
    """The seven cards of the provenance block (without the ``Cnn`` prefixes)."""
    meanings = layer_attrs.get("flag_meanings", "")
    return [
        f"SEISFLOW LAYER {layer}: {layer_attrs.get('long_name', '')}",
        f"SEISFLOW LEGEND {meanings}" if meanings else "SEISFLOW CONTINUOUS VALUES",
        f"{DIGEST_CARD} (THE RUN'S CHECKPOINT; THE WHOLE DIGEST FOLLOWS):",
        str(layer_attrs.get("seisflow:model_sha256", "n/a")),
        f"SEISFLOW SOURCE {source}",
        f"SEISFLOW {__version__} EXPORT: THE SOURCE'S TRACE HEADERS, IEEE FLOAT SAMPLES",
        seisflow_line(store_attrs),
    ]


def with_provenance(source: bytes, lines: Sequence[str]) -> bytes:
    """The 3200-byte text header ``source`` with ``lines`` written into its last free cards.

    Args:
        source: The source file's text header (EBCDIC or ASCII), kept card for card.
        lines: The block, at most 40 lines; each is written as ``Cnn <line>`` cut to 80
            characters, ``nn`` the card it lands on, in the source's encoding.

    Raises:
        ValueError: When ``source`` is not 3200 bytes or ``lines`` has more than 40 lines.
    """
    if len(source) != 80 * CARDS:
        raise ValueError(f"a SEG-Y text header is {80 * CARDS} bytes, got {len(source)}")
    if len(lines) > CARDS:
        raise ValueError(f"a SEG-Y text header holds {CARDS} cards, got {len(lines)} lines")
    _, encoding = decode_text_header(source)
    codec = "cp037" if encoding == "ebcdic" else "latin-1"
    texts = [_printable(source[80 * n : 80 * n + 80].decode(codec)) for n in range(CARDS)]
    out = bytearray(source)
    for n in _earlier_block(texts):
        out[80 * n : 80 * n + 80] = f"C{n + 1:2d}".ljust(80).encode(codec)
        texts[n] = ""
    for n, line in zip(_cards_for(texts, len(lines)), lines, strict=True):
        card = f"C{n + 1:2d} {line}"[:80].ljust(80)
        out[80 * n : 80 * n + 80] = card.encode(codec, errors="replace")
    return bytes(out)


def _printable(card: str) -> str:
    """A decoded card with every unprintable character a space."""
    return "".join(ch if ch.isprintable() else " " for ch in card)


def _body(text: str) -> str:
    """A card's text after its ``C``, ``C 1`` or ``C01`` prefix, stripped."""
    text = text.strip()
    if text[:1] in ("C", "c"):
        rest = text[1:].lstrip()
        digits = len(rest) - len(rest.lstrip("0123456789"))
        if digits <= 2:
            return rest[digits:].strip()
    return text


def _earlier_block(texts: Sequence[str]) -> list[int]:
    """Cards of an earlier seisflow block: those beginning ``SEISFLOW `` and the digest card
    (64 hex digits or ``n/a``) first after its ``SEISFLOW MODEL SHA-256`` card."""
    found = []
    for n, text in enumerate(texts):
        body = _body(text)
        if body.startswith(MARK):
            found.append(n)
            if body.startswith(DIGEST_CARD):
                after = (m for m in range(n + 1, len(texts)) if DIGEST.fullmatch(_body(texts[m])))
                digest = next(after, None)
                if digest is not None:
                    found.append(digest)
    return sorted(set(found))


def _cards_for(texts: Sequence[str], k: int) -> list[int]:
    """The ``k`` cards the block goes into (see the module docstring)."""
    if k == 0:
        return []
    free = [n for n, text in enumerate(texts) if not _body(text)]
    for start in range(CARDS - k, -1, -1):  # the last run of k free cards
        if all(not _body(texts[n]) for n in range(start, start + k)):
            return list(range(start, start + k))
    if len(free) >= k:
        return free[-k:]
    end = CARDS - 1 if _body(texts[-1]).upper().startswith("END") else CARDS
    start = max(end - k, 0)
    return list(range(start, start + k))
