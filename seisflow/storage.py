"""Where a survey store lives: a local folder, or a prefix on object storage named by an
fsspec URL (``s3://bucket/survey.zarr``, ``gs://...``, ``az://...``; ``file://`` is local).

Every command and function that takes a store takes a :data:`StoreLike`: a path, a URL or a
:class:`Location`. Credentials and endpoints come from each cloud's standard environment
(``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ``GOOGLE_APPLICATION_CREDENTIALS``, ...) or
from ``storage_options`` (``--storage-option key=value`` on the command line), passed to
the fsspec filesystem as they are.

A :class:`Location` is small and picklable: it travels to DataLoader workers and Dask
workers, each of which opens its own connection.

References:
    fsspec: https://filesystem-spec.readthedocs.io
"""

from __future__ import annotations

import json
import os
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from seisflow.errors import ConfigError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem
    from zarr.abc.store import Store

__all__ = [
    "Location",
    "StoreLike",
    "close_filesystems",
    "is_url",
    "local_paths",
    "locate",
    "parse_storage_options",
]


@dataclass(frozen=True)
class Location:
    """A store's place: ``url`` (a local path for local stores) and fsspec ``options``.

    Attributes:
        url: The local path (absolute or relative, as given) or the URL.
        options: Storage options of the fsspec filesystem (remote stores only).
    """

    url: str
    options: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        return self.url

    @property
    def is_local(self) -> bool:
        """True for a folder on this machine."""
        return not is_url(self.url)

    @property
    def path(self) -> Path:
        """The local folder.

        Raises:
            ValueError: For a remote store (which has no path on this machine).
        """
        if not self.is_local:
            raise ValueError(f"{self.url} is on object storage and has no local path")
        return Path(self.url)

    @property
    def name(self) -> str:
        """The store's last path component (``survey.zarr``)."""
        return self.url.rstrip("/").rsplit("/", 1)[-1] if not self.is_local else self.path.name

    def filesystem(self) -> tuple[AbstractFileSystem, str]:
        """The fsspec filesystem and the store's root in it (no trailing slash)."""
        from fsspec.core import url_to_fs

        if self.is_local:
            from fsspec.implementations.local import LocalFileSystem

            return LocalFileSystem(), str(self.path.absolute())
        fs, root = url_to_fs(self.url, **self._fs_options())
        return fs, root.rstrip("/")

    def zarr_store(self, *, read_only: bool = False) -> Store:
        """A zarr store of this location: ``LocalStore`` or ``FsspecStore``."""
        from zarr.storage import FsspecStore, LocalStore

        if self.is_local:
            return LocalStore(self.path, read_only=read_only)
        return FsspecStore.from_url(
            self.url, storage_options=self._fs_options(), read_only=read_only
        )

    def _fs_options(self) -> dict[str, Any]:
        """The storage options, listings uncached unless they say otherwise: a store is
        written in one process and listed in another (adlfs, for one, keeps a listing made
        before its own writes, so zarr's consolidated metadata would miss the arrays)."""
        return {"use_listings_cache": False, **self.options}

    def child(self, name: str) -> Location:
        """The location ``name`` inside (or, with ``../x``, beside) this one."""
        if self.is_local:
            return Location(str(self.path / name))
        return Location(f"{self.url.rstrip('/')}/{name}", self.options)

    def sibling(self, name: str) -> Location:
        """The location ``name`` beside this one (same folder or prefix)."""
        if self.is_local:
            return Location(str(self.path.with_name(name)))
        return Location(f"{self.url.rstrip('/').rsplit('/', 1)[0]}/{name}", self.options)

    def exists(self) -> bool:
        """True when something is there: a folder (local) or any object under the prefix."""
        if self.is_local:
            return self.path.exists()
        fs, root = self.filesystem()
        return bool(fs.exists(root))

    def size_bytes(self) -> int:
        """Bytes of every file or object of the store."""
        if self.is_local:
            return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())
        fs, root = self.filesystem()
        return int(fs.du(root, total=True))


#: What a store argument may be: a path, a URL or a :class:`Location`.
StoreLike = str | os.PathLike[str] | Location


def is_url(value: str | os.PathLike[str]) -> bool:
    """True for ``protocol://...`` other than ``file://`` (which names a local path)."""
    text = os.fspath(value)
    scheme = urlparse(text).scheme if "://" in text else ""
    return bool(scheme) and scheme != "file"


def locate(store: StoreLike, options: Mapping[str, Any] | None = None) -> Location:
    """The :class:`Location` of ``store``; ``options`` (storage options) are added to a
    :class:`Location`'s own. ``file://`` URLs become local paths.

    Raises:
        ConfigError: Storage options for a local store, or a URL whose protocol no
            installed fsspec filesystem handles (the message names the package to install).
    """
    if isinstance(store, Location):
        if not options:
            return store
        return Location(store.url, {**store.options, **options})
    text = os.fspath(store)
    if text.startswith("file://"):
        text = unquote(urlparse(text).path)
    if not is_url(text):
        if options:
            raise ConfigError(
                f"--storage-option {_pairs(options)} given for the local store {text}: storage "
                "options are for object storage URLs (s3://, gs://, az://); leave them out"
            )
        return Location(text)
    _check_protocol(text)
    return Location(text.rstrip("/"), dict(options or {}))


#: The package that serves each common object-storage protocol.
PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs",
            "abfs": "adlfs", "abfss": "adlfs", "memory": "fsspec"}  # fmt: skip


def _check_protocol(url: str) -> None:
    from fsspec.registry import get_filesystem_class

    protocol = urlparse(url).scheme
    try:
        get_filesystem_class(protocol)
    except (ImportError, ValueError) as exc:
        package = PACKAGES.get(protocol)
        fix = f"pip install {package}" if package else "use s3://, gs://, az:// or a local path"
        raise ConfigError(f"{url}: no filesystem for {protocol}:// ({exc}): {fix}") from None


def close_filesystems() -> None:
    """Drop the exit-time finalizers of object-storage filesystems that cannot run.

    adlfs closes its clients in finalizers that call ``fsspec.asyn.sync(fs.loop, ...)``; for
    the asynchronous instances zarr opens, ``fs.loop`` is None, so at interpreter exit each
    prints ``RuntimeError: Loop is not running`` (fsspec/adlfs issue 495) after a command
    that succeeded. The process is ending and its connections close with it: those
    finalizers are detached. The standard library offers no list of finalizers; this reads
    ``weakref.finalize``'s registry where it has one and does nothing where it has none.
    """
    from fsspec.asyn import AsyncFileSystem

    for finalizer in list(getattr(weakref.finalize, "_registry", {})):
        held = finalizer.peek()
        if held is None:
            continue
        owner, _, args, _ = held
        if isinstance(owner, AsyncFileSystem) and args and args[0] is None:
            finalizer.detach()


def parse_storage_options(pairs: Iterable[str]) -> dict[str, Any]:
    """``key=value`` pairs (``--storage-option``) as a dict; values that read as JSON
    (``true``, ``3``, ``{"a": 1}``) take that type, others stay strings. Dotted keys nest
    (``client_kwargs.region_name=eu-west-1``).

    Raises:
        ConfigError: A pair without ``=`` (the message quotes it).
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError(
                f"--storage-option {pair!r} is not key=value: write e.g. "
                "--storage-option endpoint_url=http://127.0.0.1:9000"
            )
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        *parents, last = key.split(".")
        target = options
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = value
    return options


def local_paths(location: Location) -> tuple[Path, ...]:
    """``(path,)`` of a local store, ``()`` of a remote one: the inputs an output written on
    this machine must not be or contain."""
    return (location.path,) if location.is_local else ()


def _pairs(options: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in options.items())
