"""Consolidated metadata: the commit point of every write into a survey store.

Readers open a store through its consolidated metadata (the ``consolidated_metadata`` of the
root ``zarr.json``, a zarr-python extension to Zarr v3), so an array is visible exactly when
that record lists it. :func:`consolidate` writes the record through a :class:`MetadataView`:
the store as readers should see it, without staged arrays (``_partial_*``) or the arrays
named in ``hide``, and with the staged metadata of the arrays named in ``publish`` in place
of their current one. Writing the record is one ``PUT`` of one object on object storage
and one file write locally: what it lists changes all at once.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import zarr
from zarr.abc.store import ByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import WrapperStore

from seisflow.storage import StoreLike, locate

__all__ = ["STAGED_PREFIX", "MetadataView", "consolidate", "listed"]

#: Name prefix of an array being written: never listed in the consolidated metadata.
STAGED_PREFIX = "_partial_"
META = "zarr.json"


class MetadataView(WrapperStore[Store]):
    """``store`` as readers should see it once a write is committed.

    Args:
        store: The survey store.
        hidden: Root arrays left out (a layer being removed or replaced on local disk).
        published: Root arrays whose metadata is read from their staged twin
            (``_partial_<name>/zarr.json``): the layers an object-store write commits.
    """

    def __init__(
        self,
        store: Store,
        hidden: frozenset[str] = frozenset(),
        published: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(store)
        self._hidden = hidden
        self._published = published

    def _with_store(self, store: Store) -> MetadataView:
        return MetadataView(store, self._hidden, self._published)

    def _source(self, key: str) -> str:
        name, _, rest = key.partition("/")
        return f"{STAGED_PREFIX}{name}/{META}" if name in self._published and rest == META else key

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        return await self._store.get(self._source(key), prototype, byte_range)

    async def exists(self, key: str) -> bool:
        return await self._store.exists(self._source(key))

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncIterator[tuple[str, Buffer | None]]:
        for key, prototype, byte_range in requests:
            yield key, await self.get(key, prototype, byte_range)

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        seen: set[str] = set()
        async for key in self._store.list_dir(prefix):
            if prefix:
                yield key
                continue
            name = key.rstrip("/")
            if name.startswith(STAGED_PREFIX) or name in self._hidden:
                continue
            seen.add(name)
            yield key
        if not prefix:
            for name in sorted(self._published - seen):
                yield name


def consolidate(
    store: Store | StoreLike, *, hide: Iterable[str] = (), publish: Iterable[str] = ()
) -> None:
    """Write the store's consolidated metadata as :class:`MetadataView` shows it
    (``store``: a zarr store, or a path, URL or :class:`~seisflow.storage.Location`)."""
    if not isinstance(store, Store):
        store = locate(store).zarr_store()
    view = MetadataView(store, frozenset(hide), frozenset(publish))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Consolidated metadata", UserWarning)
        zarr.consolidate_metadata(view)


def listed(store: Store) -> Mapping[str, Any]:
    """Name -> metadata of the root arrays the consolidated metadata lists ({} without one)."""
    group = zarr.open_group(store, mode="r", use_consolidated=True)
    record = group.metadata.consolidated_metadata
    return dict(record.metadata) if record is not None else {}
