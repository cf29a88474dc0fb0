"""SEG-Y on object storage, read through fsspec in ranges into a local temporary copy.

segyio reads local files only (it maps them into memory), so a SEG-Y URL is fetched first,
in :data:`RANGE` byte ranges (memory stays bounded by one range), into a private temporary
folder that is removed when the block ends; the ingest then reads the copy at local speed.
It needs free local disk the size of the file. A local path is read where it is (the fast
default, nothing copied).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from seisflow.errors import InputFileError
from seisflow.storage import Location, locate

__all__ = ["RANGE", "local_file", "source_size"]

#: Bytes per ranged read of a remote SEG-Y file.
RANGE = 64 << 20


def source_size(source: str | Path | Location) -> int:
    """The size in bytes of a local or remote file (InputFileError when it is missing)."""
    location = locate(source)
    try:
        if location.is_local:
            return location.path.stat().st_size
        fs, key = location.filesystem()
        return int(fs.size(key))
    except FileNotFoundError:
        raise InputFileError(f"{source} does not exist: check the path or URL") from None


@contextlib.contextmanager
def local_file(source: str | Path | Location) -> Iterator[Path]:
    """A local path holding ``source``: the file itself, or a temporary copy of a URL.

    Raises:
        InputFileError: When the URL names no object.
    """
    location = locate(source)
    if location.is_local:
        yield location.path
        return
    size = source_size(location)
    fs, key = location.filesystem()
    with tempfile.TemporaryDirectory(prefix="seisflow-segy-") as folder:
        copy = Path(folder) / location.name
        with fs.open(key, "rb", block_size=RANGE) as remote, open(copy, "wb") as local:
            shutil.copyfileobj(remote, local, RANGE)
        if copy.stat().st_size != size:
            raise InputFileError(
                f"{source}: read {copy.stat().st_size} of its {size} bytes (it changed while "
                "being read?): ingest it again"
            )
        yield copy
