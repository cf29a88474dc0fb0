"""Atomic layers on a local disk: staged folders renamed into place.

A layer is written into the hidden array ``_partial_<name>``; publishing takes the old layer
out of the consolidated metadata, moves its folder aside, renames the staged folder to
``<name>`` and consolidates again. A reader, or a process killed between the renames, sees
the old layer, none, or the new one, never a listed layer whose folder is gone or that holds
half the data.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import zarr

from seisflow.ingest.metadata import STAGED_PREFIX, consolidate
from seisflow.outputs import refuse_links

__all__ = ["FolderLayers"]


class FolderLayers:
    """Stage, publish and remove layers of a store in the local folder ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _old(self, name: str) -> Path:
        return self.path / f"{STAGED_PREFIX}old_{name}"

    @contextlib.contextmanager
    def stage(
        self, names: tuple[str, ...]
    ) -> Iterator[tuple[zarr.Group, tuple[str, ...], dict[str, dict[str, Any]]]]:
        """The staged folders of ``names``: leftovers of an interrupted write cleared, each
        created exclusively (never through a link planted in the store), removed again when
        the write fails (a full disk leaves nothing behind). Yields ``(group, staged,
        options)`` as :meth:`seisflow.infer.object_layers.ObjectLayers.stage`."""
        staged = tuple(STAGED_PREFIX + name for name in names)
        for name, folder in zip(names, staged, strict=True):
            refuse_links(self.path, ("zarr.json", name, folder, self._old(name).name))
            shutil.rmtree(self.path / folder, ignore_errors=True)
        try:
            for folder in staged:
                (self.path / folder).mkdir()
            yield zarr.open_group(str(self.path), mode="r+"), staged, {s: {} for s in staged}
        except BaseException:
            for folder in staged:
                shutil.rmtree(self.path / folder, ignore_errors=True)
            raise

    def publish(self, names: tuple[str, ...]) -> None:
        """Move the fully written ``_partial_<name>`` arrays to their names (see the module)."""
        olds = [self._old(name) for name in names]
        for old in olds:
            shutil.rmtree(old, ignore_errors=True)
        consolidate(self.path, hide=names)
        for name, old in zip(names, olds, strict=True):
            if (self.path / name).exists():
                (self.path / name).rename(old)
            (self.path / (STAGED_PREFIX + name)).rename(self.path / name)
        consolidate(self.path)
        for old in olds:
            shutil.rmtree(old, ignore_errors=True)

    def remove(self, name: str) -> None:
        """Delete the layer ``name`` and any leftover of writing it."""
        folders = (name, STAGED_PREFIX + name, self._old(name).name)
        refuse_links(self.path, ("zarr.json", *folders))
        consolidate(self.path, hide=(name,))  # invisible before its chunks go
        for folder in folders:
            shutil.rmtree(self.path / folder, ignore_errors=True)
