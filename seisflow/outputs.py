"""Output paths: what seisflow may replace, where it stages a write, and how a write fails.

The promise (README, "Errors and safety"): inputs are never modified, outputs appear whole
or not at all, and nothing outside the paths a user names is touched. Here that means:

* :func:`claim_output` refuses an existing output unless ``overwrite`` is given **and** the
  path holds what seisflow wrote there before (a :class:`OutputKind` recognises its own:
  a survey store by its attributes, a SEG-Y file by its text header, ...), and refuses any
  output that is, or contains, one of the command's inputs. A link to an output is
  followed: the target is what gets replaced.
* A write goes to a hidden, unique staged name beside the output, created exclusively
  (:func:`staging_path`): no user file can be clobbered by it, and a leftover of a killed
  run is recognised by its suffix. :func:`replace_with` moves it into place.
* :func:`writing` turns a full disk, a read-only folder or a missing permission into one
  :class:`~seisflow.errors.OutputPathError` line; :func:`refuse_links` refuses links planted
  inside a store or run folder where seisflow is about to write.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from seisflow.errors import OutputPathError

__all__ = [
    "GEOTIFF",
    "RUN_DIR",
    "SEGY",
    "SURVEY_STORE",
    "TRUTH_STORE",
    "WRITE_ERRNOS",
    "OutputKind",
    "claim_output",
    "refuse_links",
    "remove",
    "replace_with",
    "staging_path",
    "stale_staging",
    "writing",
]

#: Suffix of a staged (not yet complete) output: ``.<name>.<random>.seisflow-partial``.
STAGED_SUFFIX = ".seisflow-partial"
#: errno values that mean "this output cannot be written here".
WRITE_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.EFBIG}
)


@dataclass(frozen=True)
class OutputKind:
    """What an output is, and how to recognise one that seisflow wrote.

    Attributes:
        noun: The kind in words, e.g. ``a seisflow survey store``.
        folder: True for a folder (a store, a run), False for a file.
        recognise: True when the existing path is one seisflow wrote.
    """

    noun: str
    folder: bool
    recognise: Callable[[Path], bool]


def _zarr_attrs(path: Path) -> dict[str, object]:
    """The group attributes of a Zarr v3 store at ``path`` ({} when it is not one)."""
    try:
        meta = json.loads((path / "zarr.json").read_text())
    except (OSError, ValueError):
        return {}
    attrs = meta.get("attributes") if isinstance(meta, dict) else None
    return attrs if isinstance(attrs, dict) else {}


def _is_survey_store(path: Path) -> bool:
    attrs = _zarr_attrs(path)
    return path.is_dir() and "seisflow_version" in attrs and "byte_locations" in attrs


def _is_truth_store(path: Path) -> bool:
    return path.is_dir() and "synth_config" in _zarr_attrs(path)


def _is_seisflow_segy(path: Path) -> bool:
    """A SEG-Y file whose text header says seisflow wrote it (a synthetic survey or an
    export): ``SEISFLOW`` in the EBCDIC or ASCII text header."""
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        text = handle.read(3200)
    return any("SEISFLOW" in text.decode(codec, "replace").upper() for codec in ("cp037", "ascii"))


def _is_seisflow_geotiff(path: Path) -> bool:
    """A GeoTIFF with seisflow's tags: ``seisflow_version``, or (exports older than that
    tag) ``layer`` with the slice's ``time`` or the section's ``line``."""
    if not path.is_file():
        return False
    import rasterio
    from rasterio.errors import RasterioIOError

    try:
        with rasterio.open(path) as raster:
            tags = raster.tags()
    except RasterioIOError:
        return False
    return "seisflow_version" in tags or ("layer" in tags and ("time" in tags or "line" in tags))


#: Files a training run writes into its folder (and nothing else).
RUN_FILES = frozenset({"checkpoint.pt", "config.toml", "metrics.jsonl", "validation"})


def _is_run_dir(path: Path) -> bool:
    """A folder holding a seisflow run: its config.toml, and only a run's files."""
    if not path.is_dir():
        return False
    names = {p.name for p in path.iterdir() if not p.name.startswith(".checkpoint.pt.")}
    return "config.toml" in names and names <= RUN_FILES


SURVEY_STORE = OutputKind("a seisflow survey store", True, _is_survey_store)
TRUTH_STORE = OutputKind("a seisflow truth store", True, _is_truth_store)
SEGY = OutputKind("a SEG-Y file written by seisflow", False, _is_seisflow_segy)
GEOTIFF = OutputKind("a GeoTIFF written by seisflow", False, _is_seisflow_geotiff)
RUN_DIR = OutputKind("a seisflow run folder", True, _is_run_dir)


def claim_output(
    path: str | Path, *, kind: OutputKind, overwrite: bool, inputs: Iterable[str | Path] = ()
) -> Path:
    """Check that ``path`` may be written as ``kind`` and create its folder.

    Args:
        path: The output the user named.
        kind: What it will be.
        overwrite: The user's ``--overwrite``.
        inputs: The command's inputs: the output may neither be nor contain one.

    Returns:
        The path to write: ``path``, or the target when ``path`` is a link.

    Raises:
        OutputPathError: When ``path`` exists and ``overwrite`` is False, or it exists and
            is not ``kind``, or it is or contains an input, or its folder cannot be created.
    """
    path = Path(path)
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    for source in inputs:
        source = Path(os.path.realpath(source))
        resolved = Path(os.path.realpath(target))
        if source == resolved or resolved in source.parents:
            raise OutputPathError(
                f"{path} {'is' if source == resolved else 'contains'} the input {source}: "
                "choose an output outside the inputs"
            )
    if target.exists() or target.is_symlink():
        if not overwrite:
            raise OutputPathError(
                f"{path} exists: choose another name or pass --overwrite to replace it"
            )
        if not kind.recognise(target):
            found = "a folder" if target.is_dir() else "a file"
            raise OutputPathError(
                f"{path} is {found} that is not {kind.noun}: --overwrite replaces only what "
                "seisflow wrote; choose another name, or move it away yourself"
            )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(
            f"cannot create the folder {target.parent}: {exc.strerror}; choose a writable path"
        ) from None
    return target


def staging_path(target: Path, *, folder: bool) -> Path:
    """A new, unique, hidden name beside ``target`` to write it under, created exclusively
    (an empty folder, or an empty file of mode 0644)."""
    prefix, parent = f".{target.name}.", str(target.parent)
    with writing(target):
        if folder:
            return Path(tempfile.mkdtemp(prefix=prefix, suffix=STAGED_SUFFIX, dir=parent))
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=STAGED_SUFFIX, dir=parent)
        os.fchmod(fd, 0o644)
        os.close(fd)
        return Path(name)


def stale_staging(target: Path) -> list[Path]:
    """Staged names of ``target`` left by interrupted runs."""
    pattern = f".{glob.escape(target.name)}.*{STAGED_SUFFIX}"
    return sorted(target.parent.glob(pattern))


def remove(path: Path) -> None:
    """Remove a staged file or folder, ignoring what is already gone or cannot go."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def replace_with(staged: Path, target: Path) -> None:
    """Move the complete ``staged`` output to ``target``, replacing what is there.

    A file is replaced atomically (``os.replace``). A folder is swapped: the old one is
    renamed to a unique hidden name, the new one into place, then the old one deleted; a
    crash in between leaves the old one under that name, never half of either.
    """
    if not target.is_dir() or target.is_symlink():
        os.replace(staged, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".seisflow-old",
                                dir=target.parent))  # fmt: skip
    target.rename(old)  # onto the empty folder just made: atomic on POSIX
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn a failed write (full disk, read-only folder, no permission) inside the block
    into one :class:`OutputPathError` line naming ``path`` and the file that failed."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in WRITE_ERRNOS:
            raise
        where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
        raise OutputPathError(
            f"cannot write {path}: {exc.strerror}{where}; free some space or choose a "
            "writable folder (nothing was kept)"
        ) from None


def refuse_links(root: Path, names: Iterable[str]) -> None:
    """Refuse to write when any of ``names`` inside ``root`` (a store or run folder) is a
    symbolic link: writing or deleting through it would touch files outside ``root``."""
    for name in names:
        path = root / name
        if path.is_symlink():
            raise OutputPathError(
                f"{path} is a symbolic link (to {os.readlink(path)}): seisflow never writes "
                f"through links inside {root}; remove the link and run again"
            )
