"""Pre-stack gathers are refused: seisflow takes post-stack data, one trace per bin.

A survey store holds one trace per (inline, crossline) bin, so a file of gathers (shot gathers,
CDP gathers: several traces per ensemble, one per offset or channel) would be placed
wrongly: its traces piled into a few bins (and thinned by ``--duplicates``), or strung out in
file order as a "2-D line". The evidence is read from the trace headers, among the traces the
grid would put in one bin (for a line whose words are all constant, the whole file):

* two traces of one bin with different offsets (byte 37) or different trace numbers within
  their ensemble (byte 25): a CDP gather;
* two traces of one bin that are different channels (byte 13) of one field record (byte 9),
  in a bin that holds several field records: shot gathers.

Post-stack files pass: their traces lie in distinct bins, and repeated traces of one bin
(merged surveys) share their offset and ensemble numbers. A word is evidence only where every
trace holds a plausible value (:data:`LIMITS`): headers read at the wrong places (a wrong
sample count in the binary header) hold sample bits there, and are left to the geometry's
checks, which name the sample count.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from seisflow.errors import SegyFormatError
from seisflow.ingest.segy import GATHER_BYTES, HeaderScan

__all__ = ["LIMITS", "pre_stack_evidence", "refuse_pre_stack"]

#: Byte -> bound on the absolute value of that word in every trace of a real file: offsets
#: under 1000 km, channel and trace-in-ensemble numbers under 100000, field records under 10^8.
LIMITS = {37: 10**6, 25: 10**5, 13: 10**5, 9: 10**8}


def refuse_pre_stack(scan: HeaderScan, probe: Callable[[int], np.ndarray]) -> None:
    """Raise when the headers of ``scan`` show pre-stack gathers.

    Args:
        scan: Header words of the file.
        probe: Reads one header word of every trace by byte position; used for the words of
            :data:`~seisflow.ingest.segy.GATHER_BYTES` that ``scan`` does not hold, and only
            when traces share a bin.

    Raises:
        SegyFormatError: One line naming the file, the traces and words that show gathers,
            and that seisflow takes post-stack data.
    """
    evidence = pre_stack_evidence(scan, probe)
    if evidence:
        raise SegyFormatError(
            f"{scan.path} holds pre-stack gathers, not post-stack traces: {evidence}; seisflow "
            "takes post-stack data (one trace per bin): stack (or migrate) the gathers and "
            "ingest the result"
        )


def pre_stack_evidence(scan: HeaderScan, probe: Callable[[int], np.ndarray]) -> str | None:
    """What in the headers shows gathers (two traces and their words), or None."""
    if scan.n_traces < 2:
        return None
    bins, where = _bins(scan)
    counts = np.bincount(bins)
    shared = counts[bins] > 1  # traces in a bin with others
    if not shared.any():
        return None
    words = {b: scan.gathers[b] if b in scan.gathers else probe(b) for b in GATHER_BYTES}
    plausible = {b: bool(np.abs(words[b]).max() < limit) for b, limit in LIMITS.items()}
    for byte in (37, 25):
        pair = _differing(bins, words[byte], shared) if plausible[byte] else None
        if pair is not None:
            a, b = pair
            values = words[byte]
            return (
                f"traces {a} and {b} (0-based) have {GATHER_BYTES[byte]}s {values[a]} and "
                f"{values[b]} (byte {byte}) but {where(a)}"
            )
    if not (plausible[9] and plausible[13]):
        return None
    record, channel = words[9], words[13]
    # a key per (bin, record): two traces under one key with different channels are a gather
    key, first = _pair_ids(bins, record)
    records = np.bincount(bins[first], minlength=counts.size)  # field records per bin
    pair = _differing(key, channel, shared & (records[bins] > 1))
    if pair is None:
        return None
    a, b = pair
    return (
        f"traces {a} and {b} (0-based) are channels {channel[a]} and {channel[b]} (byte 13) "
        f"of field record {record[a]} (byte 9), one of {records[bins[a]]} records, but "
        f"{where(a)}"
    )


def _bins(scan: HeaderScan) -> tuple[np.ndarray, Callable[[int], str]]:
    """The bin number each trace would take (as :func:`~seisflow.ingest.geometry.
    build_geometry` places traces) and a function describing a trace's bin."""
    il, xl, cdp = scan.inline, scan.crossline, scan.cdp
    loc = scan.locations

    def by_lines(t: int) -> str:
        return f"share inline/crossline {il[t]}/{xl[t]} (bytes {loc.inline}/{loc.crossline})"

    def by_cdp(t: int) -> str:
        return f"share CDP {cdp[t]} (byte {loc.cdp})"

    def unplaced(t: int) -> str:
        return (f"nothing places them apart (inline/crossline bytes {loc.inline}/"
                f"{loc.crossline} and CDP byte {loc.cdp} are constant)")  # fmt: skip

    if not (np.all(il == il[0]) and np.all(xl == xl[0])):
        return _pair_ids(il, xl)[0], by_lines
    if np.unique(cdp).size > 1:
        _, bins = np.unique(cdp, return_inverse=True)
        return bins.ravel(), by_cdp
    return np.zeros(scan.n_traces, dtype=np.int64), unplaced


def _pair_ids(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids of the ``(a, b)`` pairs in lexicographic order (the inverse of
    ``np.unique(np.stack([a, b]), axis=1)``, from 1-D sorts of integers) and the first
    position of each id."""
    _, a_rank = np.unique(a, return_inverse=True)
    b_values, b_rank = np.unique(b, return_inverse=True)
    key = a_rank.ravel().astype(np.int64) * b_values.size + b_rank.ravel()
    _, first, ids = np.unique(key, return_index=True, return_inverse=True)
    return ids.ravel(), first


def _differing(key: np.ndarray, values: np.ndarray, among: np.ndarray) -> tuple[int, int] | None:
    """The first two traces (file positions, ``among`` only) with one ``key`` and different
    ``values``, or None."""
    index = np.flatnonzero(among)
    if index.size < 2:
        return None
    order = index[np.lexsort((index, key[index]))]  # by key, then file position
    k, v = key[order], values[order]
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    first_value = np.repeat(v[starts], np.diff(np.r_[starts, k.size]))
    differ = np.flatnonzero(v != first_value)
    if differ.size == 0:
        return None
    later = int(order[differ[0]])
    group_start = starts[np.searchsorted(starts, differ[0], side="right") - 1]
    return int(order[group_start]), later
