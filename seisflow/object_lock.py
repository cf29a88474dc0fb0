"""One writer per store on object storage: a lock object beside the store.

Object storage has no ``flock``; the lock is the object ``.<store name>.seisflow-lock``
beside the store's prefix, created only if absent (a conditional ``PUT``, ``If-None-Match:
*``, where the filesystem offers exclusive creation) and deleted when the write ends. It
records its holder (purpose, process id, host, start time) for the refused writer's message.
A lock left by a process that was killed on this machine is taken over (its process is gone);
one left on another machine cannot be told from a live one: the message names the object to
delete once no seisflow process writes the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from datetime import UTC, datetime
from types import TracebackType

from seisflow.errors import StoreBusyError
from seisflow.locks import describe_holder
from seisflow.storage import Location

__all__ = ["ObjectLock"]


class ObjectLock:
    """An exclusive writer's lock on a store on object storage, as a context manager.

    Args:
        location: The store (it need not exist yet).
        purpose: What the holder does, shown to a refused writer.

    Raises:
        StoreBusyError: On entry, when another writer holds the lock.
    """

    def __init__(self, location: Location, *, purpose: str) -> None:
        self.location = location
        self.lock = location.sibling(f".{location.name}.seisflow-lock")
        self.purpose = purpose
        self.held = False

    def __enter__(self) -> ObjectLock:
        fs, key = self.lock.filesystem()
        record = json.dumps({
            "purpose": self.purpose, "pid": os.getpid(), "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "argv": " ".join(sys.argv[:3]),
        }).encode()  # fmt: skip
        for _ in range(2):
            try:
                _create(fs, key, record)
            except FileExistsError:
                holder = _read(fs, key)
                if _dead_here(holder):  # killed on this machine: take it over once
                    with contextlib.suppress(FileNotFoundError):
                        fs.rm_file(key)
                    continue
                raise StoreBusyError(
                    f"{self.location} is being written by {describe_holder(holder)}: a store takes "
                    "one writer at a time; wait for it to finish (readers are not blocked), or, "
                    f"if no seisflow process writes it any more, delete {self.lock}"
                ) from None
            self.held = True
            return self
        raise StoreBusyError(f"{self.location}: its lock {self.lock} keeps changing; try again")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.held:
            fs, key = self.lock.filesystem()
            with contextlib.suppress(FileNotFoundError):
                fs.rm_file(key)
            self.held = False


def _create(fs: object, key: str, record: bytes) -> None:
    """Write ``record`` at ``key`` only if nothing is there (FileExistsError otherwise)."""
    try:
        with fs.open(key, "xb") as handle:  # type: ignore[attr-defined]
            handle.write(record)
    except (ValueError, NotImplementedError):  # no exclusive creation: check, then write
        if fs.exists(key):  # type: ignore[attr-defined]
            raise FileExistsError(key) from None
        fs.pipe_file(key, record)  # type: ignore[attr-defined]


def _read(fs: object, key: str) -> dict[str, object]:
    try:
        record = json.loads(fs.cat_file(key))  # type: ignore[attr-defined]
    except (FileNotFoundError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _dead_here(holder: dict[str, object]) -> bool:
    """True when the holder ran on this machine and its process is gone."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
