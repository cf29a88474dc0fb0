"""Survey stores on object storage: whether one is complete, clearing one, replacing one.

Object storage has no rename, so a new store is built at its own prefix and marked unfinished
(the group attribute :data:`UNFINISHED`) until :func:`~seisflow.ingest.store.finish` writes
its attributes and consolidated metadata, the commit point. A prefix holding a store that
never reached it is the leftover of an interrupted ingest: the next ingest clears it.

A store replaced with ``--overwrite`` stays whole while its successor is built beside it, at
the hidden prefix :func:`staging`; only once that one is committed is the old store deleted
and the new one copied into its place (server-side copies), its root metadata last.
"""

from __future__ import annotations

import json
from typing import Any

from seisflow.errors import OutputPathError
from seisflow.storage import Location

__all__ = [
    "UNFINISHED",
    "committed",
    "occupied",
    "remove_store",
    "root_metadata",
    "staging",
    "swap_in",
]

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


def staging(location: Location) -> Location:
    """Where the successor of the store at ``location`` is built: ``.<name>.seisflow-new``
    beside it."""
    return location.sibling(f".{location.name}.seisflow-new")


def remove_store(location: Location) -> None:
    """Delete whatever is at ``location``, its root metadata first (so that readers stop
    seeing a store at once); nothing when nothing is there."""
    fs, root = location.filesystem()
    if root_metadata(location) is not None:
        fs.rm_file(f"{root}/zarr.json")
    if fs.find(root, maxdepth=1, withdirs=True):
        fs.rm(root, recursive=True)


def occupied(location: Location, *, overwrite: bool) -> bool:
    """Check ``location`` for a new store: False when nothing is there or only the leftover
    of an interrupted ingest (then cleared); True when a seisflow survey store is there,
    which ``overwrite`` lets the new one replace.

    Raises:
        OutputPathError: When something is there and ``overwrite`` is False, or it is not a
            seisflow survey store.
    """
    fs, root = location.filesystem()
    meta = root_metadata(location)
    if meta is None and not fs.find(root, maxdepth=1, withdirs=True):
        return False
    attrs = (meta or {}).get("attributes") or {}
    if UNFINISHED in attrs and not committed(location):
        remove_store(location)
        return False
    if not overwrite:
        raise OutputPathError(
            f"{location} exists: choose another name or pass --overwrite to replace it"
        )
    if not ("seisflow_version" in attrs and "byte_locations" in attrs):
        raise OutputPathError(
            f"{location} holds objects that are not a seisflow survey store: --overwrite "
            "replaces only what seisflow wrote; choose another prefix, or delete them yourself"
        )
    return True


def swap_in(new: Location, target: Location) -> None:
    """Replace the store at ``target`` with the committed store at ``new`` (then removed).

    The old store is deleted (root metadata first), a root metadata marked unfinished is
    written (so an interruption from here on leaves a leftover the next ingest clears, while
    the new store is still whole at ``new``), every other object of the new store is copied
    server-side, and its root metadata, copied last, commits it.
    """
    fs, source = new.filesystem()
    _, destination = target.filesystem()
    meta = fs.cat_file(f"{source}/zarr.json")
    marker = json.loads(meta)
    marker.pop("consolidated_metadata", None)
    marker["attributes"] = {**(marker.get("attributes") or {}), UNFINISHED: True}
    remove_store(target)
    fs.pipe_file(f"{destination}/zarr.json", json.dumps(marker).encode())
    keys = [key for key in fs.find(source) if key != f"{source}/zarr.json"]
    fs.copy(keys, [destination + key[len(source) :] for key in keys])
    fs.pipe_file(f"{destination}/zarr.json", meta)
    remove_store(new)
