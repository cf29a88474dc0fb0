"""The scores of a map in progress, saved as it scores, so an interrupted map resumes.

Scoring is most of a map's time: hours for a survey of several gigabytes on a CPU. While
:func:`~seisflow.infer.score.score_patches` scores, :class:`SavedScores` writes the rows
scored since its last save as one more part, every ``every`` seconds, into a hidden folder
beside the store (``.<store name>.seisflow-scores``, a local folder or an object-storage
prefix), then a small ``manifest.json`` naming the parts. The manifest, written last (one
rename, or one PUT), is the commit point: a part cut short by a kill is never read. A map
that starts again with the same run, store, tiling and settings (the manifest's ``key``)
reads the parts back and scores only the patches after them: the same batches, so the same
table. With any other key the folder is cleared and the scoring starts over. The map clears
the folder once its layers are written, and when it fails with an error (a full disk: what
a save left half-written goes too); an interruption (Ctrl-C, a kill) keeps it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import uuid
from typing import Any

import numpy as np

from seisflow._version import __version__
from seisflow.infer.score import PatchRows, TableFill
from seisflow.ingest.patches import PatchSpec
from seisflow.storage import Location, locate

__all__ = ["SavedScores", "scores_key", "scores_location"]

SUFFIX = ".seisflow-scores"
MANIFEST = "manifest.json"
FORMAT = 1


def scores_location(store: str | os.PathLike[str] | Location) -> Location:
    """Where the map of ``store`` keeps its scores while it scores: beside the store."""
    location = store if isinstance(store, Location) else locate(store)
    return location.sibling(f".{location.name}{SUFFIX}")


def scores_key(
    *,
    model_sha256: str,
    survey: Any,
    spec: PatchSpec,
    normalization: dict[str, Any],
    batch_size: int,
    words: bool,
    topics: bool,
) -> dict[str, Any]:
    """What a map's scores depend on: the run's checkpoint (SHA-256), the survey (its
    source, statistics, grid and live traces), the tiling, the input normalisation, the
    batch size, what is kept and the version that scores."""
    attrs = survey.attrs
    return {"model_sha256": model_sha256, "source": attrs.get("source"),
            "statistics": attrs.get("statistics"),
            "shape": [int(n) for n in survey.amplitude.shape],
            "live_traces": int(survey.trace_mask.values.sum()),
            "patch": {"size": spec.size, "stride": spec.stride, "axis": spec.axis,
                      "time_window": spec.time_window, "depth3d": spec.depth3d},
            "normalization": normalization, "batch_size": batch_size, "words": words,
            "topics": topics, "version": __version__}  # fmt: skip


class SavedScores:
    """Saves a :class:`~seisflow.infer.score.TableFill` part by part, and restores it.

    Args:
        location: The folder (see :func:`scores_location`).
        key: What the scores depend on (JSON values): the run's checkpoint, the store, the
            tiling, the normalisation, the batch size, what is kept. Saved scores with
            another key are discarded.
        every: Seconds between saves (0: after every batch).
    """

    def __init__(self, location: Location, *, key: dict[str, Any], every: float = 300.0) -> None:
        self.location = location
        self.key = json.loads(json.dumps(key))  # as it reads back from the manifest
        self.every = every
        self._parts: list[dict[str, Any]] = []
        self._saved = 0  # rows in the parts
        self._last = time.monotonic()

    def restore(self, fill: TableFill) -> int:
        """Add the saved rows to the empty ``fill``, when their key is this one (else clear
        them): the number of rows restored, where the scoring goes on."""
        manifest = self._manifest()
        if manifest is None or manifest.get("format") != FORMAT or manifest.get("key") != self.key:
            self.clear()
            return 0
        fs, root = self.location.filesystem()
        for part in manifest["parts"]:
            with fs.open(f"{root}/{part['name']}", "rb") as handle:
                fill.add(_rows(np.load(io.BytesIO(handle.read()))))
        self._parts, self._saved = list(manifest["parts"]), fill.filled
        return fill.filled

    def save(self, fill: TableFill, *, now: bool = False) -> None:
        """Save the rows added since the last save, when ``every`` seconds have passed since
        it (or ``now``)."""
        if fill.filled == self._saved or not (now or time.monotonic() - self._last >= self.every):
            return
        fs, root = self.location.filesystem()
        fs.makedirs(root, exist_ok=True)
        name = f"part-{len(self._parts):05d}-{uuid.uuid4().hex[:8]}.npz"
        buffer = io.BytesIO()
        np.savez(buffer, **_arrays(fill.part(self._saved, fill.filled)))
        fs.pipe_file(f"{root}/{name}", buffer.getvalue())
        self._parts.append({"name": name, "rows": fill.filled - self._saved})
        self._write_manifest({"format": FORMAT, "key": self.key, "parts": self._parts})
        self._saved, self._last = fill.filled, time.monotonic()

    def clear(self) -> None:
        """Remove the saved scores (nothing when there are none)."""
        fs, root = self.location.filesystem()
        if fs.exists(root):
            fs.rm(root, recursive=True)
        self._parts, self._saved = [], 0

    def exit(self, kind: type[BaseException] | None, *_: object) -> bool:
        """For ``ExitStack.push`` around a map: clear the saved scores when the map fails
        with an error (a full disk, a bad input: starting over is the fix), keep them when
        it is interrupted (Ctrl-C, ``KeyboardInterrupt``; a kill runs no code at all), so
        the next map resumes. Never swallows the exception."""
        if kind is not None and issubclass(kind, Exception):
            with contextlib.suppress(OSError):  # a read-only or full disk: nothing to add
                self.clear()
        return False

    def _manifest(self) -> dict[str, Any] | None:
        fs, root = self.location.filesystem()
        path = f"{root}/{MANIFEST}"
        if not fs.exists(path):
            return None
        manifest = json.loads(fs.cat_file(path))
        return manifest if isinstance(manifest, dict) else None

    def _write_manifest(self, manifest: dict[str, Any]) -> None:
        fs, root = self.location.filesystem()
        text = json.dumps(manifest).encode()
        if self.location.is_local:  # write aside, then one rename: never half a manifest
            staged = self.location.path / f".{MANIFEST}.{uuid.uuid4().hex[:8]}"
            staged.write_bytes(text)
            os.replace(staged, self.location.path / MANIFEST)
        else:  # one PUT: an object is whole or absent
            fs.pipe_file(f"{root}/{MANIFEST}", text)


def _arrays(rows: PatchRows) -> dict[str, np.ndarray]:
    """The columns of ``rows`` by name (``density.<map>`` for the density maps)."""
    positions, proportions, anomaly, words, density = rows
    arrays = {"positions": positions, "proportions": proportions, "anomaly": anomaly}
    if words is not None:
        arrays["words"] = words
    for name, values in (density or {}).items():
        arrays[f"density.{name}"] = values
    return arrays


def _rows(arrays: Any) -> PatchRows:
    """:func:`_arrays` read back."""
    names = list(arrays.files)
    density = {n.split(".", 1)[1]: arrays[n] for n in names if n.startswith("density.")}
    words = arrays["words"] if "words" in names else None
    return (arrays["positions"], arrays["proportions"], arrays["anomaly"], words,
            density or None)  # fmt: skip
