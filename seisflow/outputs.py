"""Claiming output paths: never overwrite by accident, fail early on unwritable folders."""

from __future__ import annotations

from pathlib import Path

from seisflow.errors import OutputPathError

__all__ = ["claim_outputs"]


def claim_outputs(*paths: Path, overwrite: bool) -> None:
    """Check that ``paths`` may be written and create their folders.

    Raises:
        OutputPathError: When a path exists and ``overwrite`` is False, or its folder
            cannot be created.
    """
    for path in paths:
        if path.exists() and not overwrite:
            raise OutputPathError(
                f"{path} exists: choose another name or pass --overwrite to replace it"
            )
    for folder in {path.parent for path in paths}:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputPathError(
                f"cannot create the folder {folder}: {exc.strerror}; choose a writable path"
            ) from None
