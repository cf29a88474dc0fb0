"""Atomic layers on object storage, which has no rename.

A layer ``<name>`` is an array at the prefix ``<name>/``: its metadata ``<name>/zarr.json``
and its chunks. Zarr v3 names chunk keys by the array's chunk key encoding: ``c/0/0/0``
(``default``) or ``0/0/0`` (``v2`` with ``/``), two namespaces under one prefix. A new
layer's chunks are written in the namespace the visible layer does not use, through a
staged array ``_partial_<name>`` whose chunk keys are redirected to ``<name>/``
(:class:`Redirect`); no reader sees them, since the consolidated metadata still lists the
old layer with its own encoding. The commit point is one write, the root ``zarr.json``
listing the staged metadata (:func:`~seisflow.ingest.metadata.consolidate` with
``publish``); then ``<name>/zarr.json`` is replaced and the old namespace deleted. Nothing is
copied.

A write killed before the commit leaves the old layer listed and whole, its chunks untouched;
one killed after it leaves the new one. The next write clears what a killed one left: the
staged metadata and every chunk outside the listed namespace.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import zarr
from zarr.abc.store import ByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import WrapperStore

from seisflow.ingest.metadata import STAGED_PREFIX, consolidate, listed
from seisflow.storage import Location

__all__ = ["ObjectLayers", "Redirect"]

META = "zarr.json"
#: The two chunk key encodings a layer alternates between, by name.
ENCODINGS: dict[str, dict[str, Any]] = {
    "default": {"name": "default", "configuration": {"separator": "/"}},  # <name>/c/0/0/0
    "v2": {"name": "v2", "configuration": {"separator": "/"}},  # <name>/0/0/0
}


def namespace(relative: str) -> str:
    """The encoding whose chunk keys look like ``relative`` (a key below ``<name>/``)."""
    return "default" if relative.startswith("c/") else "v2"


class Redirect(WrapperStore[Store]):
    """``store`` with the chunk keys of ``_partial_<name>`` (every key but its metadata)
    moved to ``<name>/``, for the ``names`` given."""

    def __init__(self, store: Store, names: frozenset[str]) -> None:
        super().__init__(store)
        self._names = names

    def _with_store(self, store: Store) -> Redirect:
        return Redirect(store, self._names)

    def _key(self, key: str) -> str:
        head, _, rest = key.partition("/")
        name = head.removeprefix(STAGED_PREFIX)
        if head.startswith(STAGED_PREFIX) and name in self._names and rest and rest != META:
            return f"{name}/{rest}"
        return key

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        return await self._store.get(self._key(key), prototype, byte_range)

    async def get_partial_values(
        self,
        prototype: BufferPrototype,
        key_ranges: Iterable[tuple[str, ByteRequest | None]],
    ) -> list[Buffer | None]:
        moved = [(self._key(key), byte_range) for key, byte_range in key_ranges]
        return await self._store.get_partial_values(prototype, moved)

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncIterator[tuple[str, Buffer | None]]:
        for key, prototype, byte_range in requests:
            yield key, await self.get(key, prototype, byte_range)

    async def set(self, key: str, value: Buffer) -> None:
        await self._store.set(self._key(key), value)

    async def exists(self, key: str) -> bool:
        return await self._store.exists(self._key(key))

    async def delete(self, key: str) -> None:
        await self._store.delete(self._key(key))


class ObjectLayers:
    """Stage, publish and remove layers of a store on object storage (see the module)."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self.store = location.zarr_store()
        self.fs, self.root = location.filesystem()

    def _encodings(self) -> dict[str, str]:
        """Name -> chunk key encoding of every array the consolidated metadata lists."""
        return {
            name: meta.chunk_key_encoding.name
            for name, meta in listed(self.store).items()
            if hasattr(meta, "chunk_key_encoding")
        }

    def _clear(self, name: str, keep: str | None) -> None:
        """Delete the staged metadata of ``name`` and its chunks outside namespace ``keep``
        (None: everything under ``<name>/``, which no reader lists)."""
        doomed = self.fs.find(f"{self.root}/{STAGED_PREFIX}{name}")
        base = f"{self.root}/{name}/"
        for key in self.fs.find(base):
            relative = key[len(base) :]
            if keep is None or (relative != META and namespace(relative) != keep):
                doomed.append(key)
        if doomed:
            self.fs.rm(doomed)

    @contextlib.contextmanager
    def stage(
        self, names: tuple[str, ...]
    ) -> Iterator[tuple[zarr.Group, tuple[str, ...], dict[str, dict[str, Any]]]]:
        """Clear what a killed write left and yield ``(group, staged, options)``: the group
        to create the staged arrays ``staged`` in, and the ``create_array`` options of each
        (its chunk key encoding: the one the visible layer does not use)."""
        current = self._encodings()
        fresh = {n: "v2" if current.get(n) == "default" else "default" for n in names}
        for name in names:
            self._clear(name, current.get(name))
        group = zarr.open_group(Redirect(self.store, frozenset(names)), mode="r+",
                                use_consolidated=False)  # fmt: skip
        staged = tuple(STAGED_PREFIX + name for name in names)
        try:
            yield group, staged, {s: {"chunk_key_encoding": ENCODINGS[fresh[n]]}
                                  for s, n in zip(staged, names, strict=True)}  # fmt: skip
        except BaseException:
            for name in names:
                self._clear(name, current.get(name))
            raise

    def publish(self, names: tuple[str, ...]) -> None:
        """Commit the staged ``names`` (one write of the consolidated metadata), then move
        their metadata into place and delete the old chunks."""
        consolidate(self.store, publish=names)
        for name in names:
            meta = self.fs.cat_file(f"{self.root}/{STAGED_PREFIX}{name}/{META}")
            self.fs.pipe_file(f"{self.root}/{name}/{META}", meta)
        current = self._encodings()
        for name in names:
            self._clear(name, current[name])

    def remove(self, name: str) -> None:
        """Take ``name`` out of the consolidated metadata, then delete its objects."""
        consolidate(self.store, hide=(name,))
        self._clear(name, None)
