"""One writer per store: a lock file beside the store, held for the whole of a write.

Every command that writes into a survey store (ingest, map, a layer written from Python)
takes :class:`StoreLock` first; a second writer is refused at once, in one line naming the
holder (its command, process id, host and start time). Readers never look at the lock, so
they are never blocked. A store on object storage has a lock object instead
(:mod:`seisflow.object_lock`).

The lock is a hidden file ``.<store name>.seisflow-lock`` in the store's folder (beside the
store, not inside it, so that replacing a whole store keeps it). It is held with an
exclusive ``flock`` on the open file: the kernel releases it when the holder exits, however
it exits, so a lock left by a killed process is stale and simply taken over. The file also
records the holder, for the message. Taking the lock checks that the file locked is still
the one at the path (a releasing holder unlinks it), so two processes never both hold it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from seisflow.errors import OutputPathError, StoreBusyError
from seisflow.storage import Location, StoreLike, locate

if TYPE_CHECKING:
    from seisflow.object_lock import ObjectLock

__all__ = ["StoreLock", "describe_holder", "holding", "lock_path"]

SUFFIX = ".seisflow-lock"


def lock_path(store: str | Path) -> Path:
    """The lock file of ``store`` (a link to a store is followed: the target is locked)."""
    target = Path(os.path.realpath(store))
    return target.with_name(f".{target.name}{SUFFIX}")


class StoreLock:
    """An exclusive writer's lock on a store, as a context manager.

    Args:
        store: The store (it need not exist yet: ingest locks the name it will create).
        purpose: What the holder does, shown to a refused writer (e.g. ``seisflow map``).

    Raises:
        StoreBusyError: On entry, when another process holds the lock.
        OutputPathError: When the lock file cannot be created (a read-only folder).
    """

    def __init__(self, store: StoreLike, *, purpose: str) -> None:
        location = locate(store)
        self.location = location
        self.store: Path | Location = location.path if location.is_local else location
        #: The lock file (local) or lock object (object storage).
        self.path: Any = lock_path(location.path) if location.is_local else location
        self.purpose = purpose
        self._fd: int | None = None
        self._object: ObjectLock | None = None
        if not location.is_local:
            from seisflow.object_lock import ObjectLock

            self._object = ObjectLock(location, purpose=purpose)
            self.path = self._object.lock

    def __enter__(self) -> StoreLock:
        if self._object is not None:
            self._object.__enter__()
            return self
        for _ in range(10):  # the file can be unlinked by a releasing holder meanwhile
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                holder = _read(fd)
                os.close(fd)
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise OutputPathError(
                        f"cannot lock {self.path} for writing {self.store}: {exc.strerror}"
                    ) from None
                raise StoreBusyError(
                    f"{self.store} is being written by {describe_holder(holder)}: a store takes "
                    "one writer at a time; wait for it to finish (readers are not blocked)"
                ) from None
            if _same_file(fd, self.path):
                self._fd = fd
                _write(fd, self.purpose)
                return self
            os.close(fd)
        raise StoreBusyError(f"{self.store}: its lock {self.path} keeps changing; try again")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._object is not None:
            self._object.__exit__(kind, error, trace)
            return
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()  # while still held: nobody takes a lock on a file going away
        os.close(self._fd)
        self._fd = None

    def covers(self, store: StoreLike) -> bool:
        """True when this lock is held and is the lock of ``store``."""
        location = locate(store)
        if self._object is not None:
            return self._object.held and location.url == self.location.url
        return self._fd is not None and location.is_local and lock_path(location.path) == self.path

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputPathError(
                    f"{self.path} is a symbolic link: seisflow never writes through links "
                    "beside or inside a store; remove it"
                ) from None
            raise OutputPathError(
                f"cannot write {self.store}: its lock {self.path} cannot be created "
                f"({exc.strerror}); choose a writable folder"
            ) from None


@contextlib.contextmanager
def holding(store: StoreLike, lock: StoreLock | None, *, purpose: str) -> Iterator[StoreLock]:
    """``lock`` when it already covers ``store``, else a new :class:`StoreLock` held for
    the ``with`` block (so a recipe that holds the lock can call writers that take it)."""
    if lock is not None:
        if not lock.covers(store):
            raise ValueError(f"the lock given is {lock.path}, not the lock of {store}")
        yield lock
        return
    with StoreLock(store, purpose=purpose) as taken:
        yield taken


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)


def _write(fd: int, purpose: str) -> None:
    record = {
        "purpose": purpose,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.now(UTC).isoformat(timespec="seconds"),
        "argv": " ".join(sys.argv[:3]),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode(), 0)


def _read(fd: int) -> dict[str, object]:
    try:
        record = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def describe_holder(holder: dict[str, object]) -> str:
    """The holder of a lock in words, from its record."""
    if not holder:
        return "another process"
    return (
        f"{holder.get('purpose', 'another process')} (pid {holder.get('pid')} on "
        f"{holder.get('host')} since {holder.get('since')})"
    )
