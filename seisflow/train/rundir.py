"""A training run's folder: who may start a run in it, and how its files are written.

A run folder holds ``checkpoint.pt``, ``config.toml`` and ``metrics.jsonl`` (and, once a
run is validated, ``validation/``). seisflow never loses a user's files to a run:

* A new run starts only in a folder that does not exist, is empty, or holds nothing but the
  leftovers of a seisflow run stopped before its first checkpoint. Leftovers are recognised
  by content, not by name alone: a ``config.toml`` whose first line starts with
  :data:`CONFIG_HEADER` (seisflow writes it; a user's own config file does not start so), a
  ``metrics.jsonl`` whose every complete line is a JSON object with an integer ``step``
  (a last line cut short by a kill is ignored), present only beside such a ``config.toml``,
  and the hidden temporary files of an interrupted write (``.checkpoint.pt.*.tmp``,
  ``.config.toml.*.tmp``, ``.metrics.jsonl.*.tmp``). Anything else, a link among them, or a
  ``checkpoint.pt`` (a run to ``--resume``) is refused in one line.
* Nothing is written through a link: links named ``checkpoint.pt``, ``config.toml`` or
  ``metrics.jsonl`` inside a run folder are refused, whole files are written to a temporary
  file created exclusively and renamed into place, and metrics lines are appended with
  ``O_NOFOLLOW``.
* A full disk or a read-only folder is one :class:`~seisflow.errors.OutputPathError` line.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from seisflow._version import __version__
from seisflow.config import to_dict, to_toml
from seisflow.errors import InputFileError, OutputPathError
from seisflow.outputs import refuse_links as links_refused
from seisflow.train.checkpoint import CHECKPOINT, load_checkpoint, unwritable, write_atomically
from seisflow.train.config import RunConfig, TrainConfig

__all__ = [
    "CONFIG",
    "CONFIG_HEADER",
    "METRICS",
    "Metrics",
    "check_new_run",
    "create_run_dir",
    "diverged",
    "refuse_links",
    "warmup_warning",
    "write_config",
]

CONFIG = "config.toml"
METRICS = "metrics.jsonl"
#: The first line of every ``config.toml`` seisflow writes: how a run's own file is told
#: from a user's.
CONFIG_HEADER = "# The configuration of this seisflow run, written by `seisflow train`"
#: Temporary files of an interrupted write (see :func:`write_atomically`).
TEMPORARY = re.compile(r"\.(checkpoint\.pt|config\.toml|metrics\.jsonl)\..+\.tmp")


def refuse_links(run_dir: Path) -> None:
    """Refuse a run folder in which a file seisflow writes is a symbolic link.

    Raises:
        OutputPathError: Naming the link and its target.
    """
    links_refused(run_dir, (CHECKPOINT, CONFIG, METRICS))


def _is_metrics(text: str) -> bool:
    """Whether every complete line of ``text`` is a metrics record (a JSON object with an
    integer ``step``); what follows the last newline may be cut short by a kill."""
    for line in text.split("\n")[:-1]:
        try:
            record = json.loads(line)
        except ValueError:
            return False
        if not (isinstance(record, dict) and type(record.get("step")) is int):
            return False
    return True


def _leftover(path: Path, names: set[str]) -> bool:
    """Whether ``path`` (inside a folder holding ``names``) is left by a seisflow run
    stopped before its first checkpoint."""
    if path.is_symlink() or not path.is_file():
        return False
    if TEMPORARY.fullmatch(path.name):
        return True
    try:
        if path.name == CONFIG:
            with path.open(encoding="utf-8") as handle:
                return handle.readline().startswith(CONFIG_HEADER)
        if path.name == METRICS:
            ours = _leftover(path.with_name(CONFIG), set()) if CONFIG in names else False
            return ours and _is_metrics(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return False
    return False


def _listing(names: list[str]) -> str:
    """The first few of ``names``, and how many more."""
    shown = ", ".join(names[:4])
    return shown + (f" and {len(names) - 4} more" if len(names) > 4 else "")


def check_new_run(run_dir: Path) -> None:
    """Check that a new run may start in ``run_dir`` (see the module's rules); reads only.

    Raises:
        OutputPathError: When the folder holds a run, a link or a user's files.
    """
    if run_dir.exists() and not run_dir.is_dir():
        raise OutputPathError(f"{run_dir} is a file, not a folder: choose another RUN_DIR")
    if not run_dir.exists():
        return
    refuse_links(run_dir)
    checkpoint = run_dir / CHECKPOINT
    if checkpoint.exists():
        try:
            step = load_checkpoint(checkpoint)["step"]
        except InputFileError:
            raise OutputPathError(
                f"{run_dir} holds a {CHECKPOINT} that is not a readable seisflow checkpoint: "
                "choose another RUN_DIR"
            ) from None
        raise OutputPathError(
            f"{run_dir} already holds a run at step {step}: pass --resume to continue it or "
            "choose another RUN_DIR"
        )
    entries = list(run_dir.iterdir())
    names = {entry.name for entry in entries}
    foreign = sorted(entry.name for entry in entries if not _leftover(entry, names))
    if foreign:
        raise OutputPathError(
            f"{run_dir} is not empty and holds files that are not a seisflow run's "
            f"({_listing(foreign)}): a new run starts only in a new or empty folder; choose "
            "another RUN_DIR"
        )


def create_run_dir(run_dir: Path) -> None:
    """Create the folder of a new run and remove a stopped run's temporary files.

    Raises:
        OutputPathError: When it cannot be created.
    """
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(
            f"cannot create {run_dir}: {exc.strerror}; choose a writable RUN_DIR"
        ) from None
    for entry in run_dir.iterdir():
        if TEMPORARY.fullmatch(entry.name):
            entry.unlink(missing_ok=True)


def write_config(run_dir: Path, config: RunConfig) -> None:
    """Write ``config.toml`` (atomically, headed by :data:`CONFIG_HEADER`)."""
    text = f"{CONFIG_HEADER} {__version__}\n{to_toml(to_dict(config))}"
    write_atomically(run_dir / CONFIG, lambda handle: handle.write(text.encode("utf-8")))


class Metrics:
    """``metrics.jsonl``: one JSON object per line, written by rank 0 only.

    Args:
        path: The file.
        active: False on the other ranks (they write nothing).
        keep_until: When resuming, the checkpoint's step: later lines (written after it by
            the stopped run) and a line cut short are dropped. None: start empty.

    Raises:
        OutputPathError: When the file cannot be written.
    """

    def __init__(self, path: Path, *, active: bool, keep_until: int | None) -> None:
        self.path, self.active = path, active
        if not active:
            return
        kept: list[str] = []
        if keep_until is not None and path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    record = json.loads(line)
                except ValueError:  # cut short by a kill
                    continue
                step = record.get("step", 0) if isinstance(record, dict) else None
                if isinstance(step, int | float) and step <= keep_until:
                    kept.append(line)
        text = "".join(line + "\n" for line in kept)
        write_atomically(path, lambda handle: handle.write(text.encode("utf-8")))

    def write(self, record: dict[str, Any]) -> None:
        """Append ``record`` as one line (never through a link)."""
        if not self.active:
            return
        line = (json.dumps(record) + "\n").encode("utf-8")
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW
        try:
            with os.fdopen(os.open(self.path, flags, 0o644), "ab") as handle:
                handle.write(line)
        except OSError as exc:
            raise unwritable(self.path, exc) from None


def warmup_warning(config: TrainConfig) -> str:
    """The warning of a warm-up as long as the run (the schedule never decays)."""
    return (
        f"train.warmup {config.warmup} is not shorter than train.steps {config.steps}: the "
        "learning rate only ramps up and never decays; set train.warmup below train.steps "
        f"(e.g. train.warmup={config.steps // 10})"
    )


def diverged(
    step: int, loss: float, run_dir: Path, saved_step: int | None, *, grad_norm: float | None = None
) -> str:
    """The message of a run whose loss (or, with a finite loss, whose gradient norm
    ``grad_norm``) became non-finite at ``step``, saying which checkpoint its folder holds
    (``saved_step``), if any."""
    what = f"loss {loss}" if grad_norm is None else f"loss {loss}, gradient norm {grad_norm}"
    if saved_step is None:
        return (
            f"training diverged at step {step} ({what}) before any checkpoint was "
            f"written: lower train.lr or train.clip and train again (in {run_dir} or another "
            "RUN_DIR)"
        )
    return (
        f"training diverged at step {step} ({what}); {run_dir / CHECKPOINT} still holds "
        f"step {saved_step}: lower train.lr or train.clip and train again in another RUN_DIR "
        "(--resume keeps the saved settings)"
    )
