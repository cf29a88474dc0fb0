"""The user-facing error hierarchy.

Every failure a user can cause raises a :class:`SeisflowError` subclass whose message names
the file (or setting), the value found and what to do about it. The CLI prints the message on
one line and exits non-zero; a traceback is shown only with ``--debug``. These classes are
defined here and nowhere else.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputFileError",
    "OutputPathError",
    "SegyFormatError",
    "SeisflowError",
    "StoreBusyError",
    "TrainingError",
]


class SeisflowError(Exception):
    """Base class of every error seisflow raises on purpose.

    The message is a single line: what was found, where, and what to try.
    """

    exit_code: int = 1


class ConfigError(SeisflowError):
    """An invalid setting: an unknown key, a value of the wrong type or out of range."""

    exit_code = 2


class InputFileError(SeisflowError):
    """An input file that is missing, unreadable or not what it should be."""


class SegyFormatError(InputFileError):
    """A file that is not a SEG-Y file seisflow can read, or whose headers contradict it."""


class OutputPathError(SeisflowError):
    """An output path that cannot be written, or that exists and would be overwritten."""


class StoreBusyError(OutputPathError):
    """A store that another process is writing: one writer per store at a time."""


class TrainingError(SeisflowError):
    """A training run that cannot go on: the loss diverged (the last checkpoint is kept)."""
