"""Where a map's patch table lives while the map runs: files on a local disk.

The table holds a row per patch from the first batch scored to the last layer written (52
bytes a patch of eight topics: 394 MB for a 16 GB survey at stride 32). Held in the
process's memory, it is the part of a map's memory that grows with the survey; as
memory-mapped files (:class:`~seisflow.infer.score.TableFill`'s ``folder``) its pages are
the page cache's, which the kernel writes back and drops as it needs.

The folder is beside a local store (hidden: ``.NAME.seisflow-table-XXXX``, on the store's
disk, in the folder where the map already keeps its lock) and in the system's temporary
folder for a store on object storage (``seisflow-table-NAME-HASH-XXXX``, ``HASH`` of the
store's URL). It is removed when the map ends, however the map ends; a kill runs no code
and leaves it, so the next map of the store on this machine, holding the store's lock,
removes what a killed map left.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from seisflow.storage import Location, StoreLike, locate

__all__ = ["table_folder"]

SUFFIX = ".seisflow-table-"


@contextmanager
def table_folder(store: StoreLike | Location) -> Iterator[Path]:
    """A new local folder for the patch table of a map of ``store``, removed on exit.

    Take it while holding ``store``'s lock (:class:`~seisflow.locks.StoreLock`): the folders
    of earlier maps of the store found where its folder goes are then a killed map's, and
    are removed.
    """
    location = locate(store)
    if location.is_local:
        target = Path(os.path.realpath(location.path))  # beside the lock, which follows links
        parent, prefix = target.parent, f".{target.name}{SUFFIX}"
    else:  # the URL's hash tells stores of one name apart
        digest = hashlib.sha256(location.url.rstrip("/").encode()).hexdigest()[:12]
        parent = Path(tempfile.gettempdir())
        prefix = f"seisflow-table-{location.name}-{digest}-"
    for stale in parent.glob(f"{prefix}*"):
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=prefix, dir=parent) as folder:
        yield Path(folder)
