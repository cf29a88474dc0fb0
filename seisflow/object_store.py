"""Survey stores on object storage: whether one is complete, and clearing one.

Object storage has no rename, so a store is built at its own prefix and marked unfinished
(the group attribute :data:`UNFINISHED`) until :func:`~seisflow.ingest.store.finish` writes
its attributes and consolidated metadata, the commit point. A prefix holding a store that
never reached it is the leftover of an interrupted ingest: the next ingest clears it.
"""

from __future__ import annotations

import json
from typing import Any

from seisflow.errors import OutputPathError
from seisflow.storage import Location

__all__ = ["UNFINISHED", "clear_store", "committed", "root_metadata"]

#: Group attribute of a store being built (removed when it is finished).
UNFINISHED = "seisflow:unfinished"


def root_metadata(location: Location) -> dict[str, Any] | None:
    """The root ``zarr.json`` of the store at ``location`` (None when there is none)."""
    fs, root = location.filesystem()
    try:
        meta = json.loads(fs.cat_file(f"{root}/zarr.json"))
    except (FileNotFoundError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def committed(location: Location) -> bool:
    """True when the store's consolidated metadata has been written."""
    meta = root_metadata(location) or {}
    return bool(meta.get("consolidated_metadata"))


def clear_store(location: Location, *, overwrite: bool, unfinished: bool = False) -> None:
    """Make room for a new store at ``location``: nothing there, a leftover of an
    interrupted ingest (cleared), or with ``overwrite`` a seisflow survey store (deleted,
    its root metadata first so that readers stop seeing it at once).

    Args:
        location: An object-storage location.
        overwrite: The user's ``--overwrite``.
        unfinished: Clear whatever is there (the store this process was building).

    Raises:
        OutputPathError: When something is there and ``overwrite`` is False, or it is not a
            seisflow survey store.
    """
    fs, root = location.filesystem()
    meta = root_metadata(location)
    if meta is None and not fs.find(root, maxdepth=1):
        return
    attrs = (meta or {}).get("attributes") or {}
    leftover = UNFINISHED in attrs and not committed(location)
    if not (unfinished or leftover):
        if not overwrite:
            raise OutputPathError(
                f"{location} exists: choose another name or pass --overwrite to replace it"
            )
        if not ("seisflow_version" in attrs and "byte_locations" in attrs):
            raise OutputPathError(
                f"{location} holds objects that are not a seisflow survey store: --overwrite "
                "replaces only what seisflow wrote; choose another prefix, or delete them yourself"
            )
    if meta is not None:
        fs.rm_file(f"{root}/zarr.json")
    fs.rm(root, recursive=True)
