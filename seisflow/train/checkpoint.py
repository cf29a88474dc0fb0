"""Checkpoints: the weights, the optimiser, the schedule, the step, the RNG states, the full
configuration and the seisflow version, in one file written atomically.

A checkpoint is rebuilt into exactly the run that wrote it: :func:`load_flow` needs nothing
but the file. Files are written to a temporary name beside the target and renamed over it,
so a crash (even ``kill -9``) leaves either the old checkpoint or the new one, never half
(:func:`write_atomically`, also used for a run's ``config.toml`` and ``metrics.jsonl``). The
temporary file is created exclusively and never through a link, and ``os.replace`` replaces
a link at the target rather than writing through it. A file that is not a complete
checkpoint, or whose weights do not fit its own configuration, is refused with an
:class:`~seisflow.errors.InputFileError` naming it.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from seisflow._version import __version__
from seisflow.config import from_mapping, to_dict
from seisflow.errors import ConfigError, InputFileError, OutputPathError
from seisflow.models import FractalFlow, build_flow
from seisflow.train.config import RunConfig

__all__ = [
    "BOOKKEEPING",
    "CHECKPOINT",
    "check_resumable",
    "config_differences",
    "load_checkpoint",
    "load_flow",
    "load_weights",
    "restore",
    "rng_state",
    "save_checkpoint",
    "saved_config",
    "set_rng_state",
    "unwritable",
    "write_atomically",
]

#: The checkpoint's file name inside a run directory.
CHECKPOINT = "checkpoint.pt"
FORMAT = 1
#: Entries every checkpoint holds, and their types.
REQUIRED = {"step": int, "config": dict, "model": dict}
#: Further entries a resumed run needs.
RESUME = ("optimizer", "schedule", "rng", "source", "metrics")
#: What to do about a checkpoint that cannot be used.
FIX = "point at another run, or train again"
#: Settings a resumed run may change: they decide when things are written, not what is learnt.
BOOKKEEPING = frozenset(
    [
        "train.eval_every",
        "train.eval_size",
        "train.checkpoint_every",
        "train.log_every",
        "data.workers",
    ]
)


def rng_state() -> dict[str, Any]:
    """Every global random state: torch (CPU and CUDA), numpy and Python."""
    numpy_state = np.random.get_state(legacy=False)
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy_key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
        "numpy_pos": int(numpy_state["state"]["pos"]),
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    key = state["numpy_key"].numpy().astype(np.uint32)
    numpy_state = {"key": key, "pos": state["numpy_pos"]}
    np.random.set_state({"bit_generator": "MT19937", "state": numpy_state, "has_gauss": 0,
                         "gauss": 0.0})  # fmt: skip
    random.setstate(state["python"])


def unwritable(path: Path, exc: BaseException) -> OutputPathError:
    """The one-line error of a failed write into a run folder (full disk, read-only folder,
    no permission), saying whether ``--resume`` can continue from the folder's checkpoint."""
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    reason = " ".join(reason.split()) or type(exc).__name__
    saved = (path.parent / CHECKPOINT).is_file()
    again = f"train again with --resume (its {CHECKPOINT} is intact)" if saved else "train again"
    return OutputPathError(
        f"cannot write {path}: {reason}; free some space or make the folder writable, then {again}"
    )


def write_atomically(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` whole or not at all: ``write`` fills a temporary file created
    exclusively beside it (``O_CREAT | O_EXCL | O_NOFOLLOW``), which is synced and renamed
    over ``path`` (a link at ``path`` is replaced, never written through).

    Raises:
        OutputPathError: When the folder cannot be written.
    """
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise unwritable(path, exc) from None
    temporary = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except (OSError, RuntimeError) as exc:  # torch.save reports a failed write as RuntimeError
        raise unwritable(path, exc) from None
    finally:
        temporary.unlink(missing_ok=True)


def save_checkpoint(path: Path, **content: Any) -> None:
    """Write ``content`` (plus the format and the seisflow version) to ``path`` atomically.

    Raises:
        OutputPathError: When it cannot be written (the previous checkpoint stays).
    """
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed writer
        stale.unlink(missing_ok=True)
    payload = {"format": FORMAT, "version": __version__, **content}
    write_atomically(path, lambda handle: torch.save(payload, handle))


def load_checkpoint(path: str | Path, *, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint (a file, or a run directory holding ``checkpoint.pt``).

    Raises:
        InputFileError: When there is no checkpoint or it is not one seisflow wrote.
    """
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise InputFileError(
            f"{path} not found: give a run directory written by `seisflow train` (or its "
            f"{CHECKPOINT}); a run stopped before its first checkpoint starts again without "
            "--resume"
        )
    try:
        content = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # unpickling arbitrary bytes fails in arbitrary ways
        raise InputFileError(
            f"{path} is not a readable seisflow checkpoint ({type(exc).__name__}): {FIX}"
        ) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InputFileError(
            f"{path} is not a seisflow checkpoint of format {FORMAT}: train again with this "
            f"version ({__version__}) or point at another run"
        )
    for key, kind in REQUIRED.items():
        if not isinstance(content.get(key), kind):
            found = "no" if key not in content else f"a {type(content[key]).__name__} as its"
            raise InputFileError(
                f"{path} has {found} {key!r} entry: it is not a complete seisflow checkpoint; {FIX}"
            )
    return content


def saved_config(content: Mapping[str, Any], path: Path) -> RunConfig:
    """The run configuration saved in a checkpoint.

    Raises:
        InputFileError: When this version refuses it (the message names ``path``).
    """
    raw = content["config"]
    data = raw.get("data") if isinstance(raw, Mapping) else None
    if isinstance(data, Mapping) and "companding" not in data:  # saved before companding:
        raw = {**raw, "data": {**data, "companding": "clip"}}  # those runs clipped
    try:
        return from_mapping(RunConfig, raw)
    except ConfigError as exc:
        raise InputFileError(f"{path} holds a configuration this version refuses ({exc}); "
                             f"{FIX}") from None  # fmt: skip


def load_weights(flow: torch.nn.Module, state: Mapping[str, Any], path: Path) -> None:
    """Load a checkpoint's weights into ``flow``, built from the checkpoint's configuration.

    Raises:
        InputFileError: When the weights do not fit (a file altered or from another build).
    """
    expected = flow.state_dict()
    problems = [f"{key} is missing" for key in expected if key not in state]
    problems += [f"{key} is not the model's" for key in state if key not in expected]
    for key, value in expected.items():
        found = state.get(key)
        if key in state and (not isinstance(found, torch.Tensor) or found.shape != value.shape):
            shape = list(found.shape) if isinstance(found, torch.Tensor) else type(found).__name__
            problems.append(f"{key} is {shape}, its configuration needs {list(value.shape)}")
    if not problems:
        try:
            flow.load_state_dict(state)
        except (RuntimeError, TypeError, ValueError) as exc:
            problems.append(" ".join(str(exc).split()))
    if problems:
        more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
        raise InputFileError(
            f"{path}: its weights do not fit its own configuration ({problems[0]}{more}): "
            f"the file was altered or written by another version; {FIX}"
        )


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def config_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """``key: saved -> current`` for every setting that differs, bookkeeping ones aside."""
    old, new = _flatten(saved), _flatten(current)
    keys = sorted((set(old) | set(new)) - BOOKKEEPING)
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def check_resumable(checkpoint: dict[str, Any], config: RunConfig, where: Path) -> None:
    """Raise ConfigError naming the differing keys when ``config`` is not the saved one,
    InputFileError when the checkpoint lacks what a resume needs."""
    missing = [key for key in RESUME if key not in checkpoint]
    if missing:
        raise InputFileError(
            f"{where / CHECKPOINT} has no {missing[0]!r} entry, which --resume needs: it is "
            "not a complete seisflow checkpoint; start a new run in another RUN_DIR"
        )
    differences = config_differences(checkpoint["config"], to_dict(config))
    if differences:
        raise ConfigError(
            f"{where} was trained with another configuration ({'; '.join(differences)}): "
            "resume with the saved settings (see its config.toml) or start a new run directory"
        )


def load_flow(
    path: str | Path, *, device: str | torch.device = "cpu"
) -> tuple[FractalFlow, RunConfig, dict[str, Any]]:
    """The trained flow of a run (in eval mode), its configuration and the checkpoint.

    Raises:
        InputFileError: When there is no checkpoint, it is not one, or it does not hold
            weights that fit its configuration.
    """
    path = Path(path)
    file = path / CHECKPOINT if path.is_dir() else path
    content = load_checkpoint(file, device=device)
    config = saved_config(content, file)
    flow = build_flow(config.model).to(device)
    load_weights(flow, content["model"], file)
    return flow.eval(), config, content


def restore(
    checkpoint: dict[str, Any],
    path: Path,
    *,
    flow: FractalFlow,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler,
) -> None:
    """Put a resumed run back where ``checkpoint`` left it: weights, optimiser, schedule and
    every random state.

    Raises:
        InputFileError: When the file's states do not fit the run (the message names it).
    """
    load_weights(flow, checkpoint["model"], path)
    try:
        optimizer.load_state_dict(checkpoint["optimizer"])
        schedule.load_state_dict(checkpoint["schedule"])
        set_rng_state(checkpoint["rng"])
    except Exception as exc:  # states of another shape fail in many ways
        raise InputFileError(
            f"{path}: its optimiser, schedule or random states do not fit the run "
            f"({type(exc).__name__}); start a new run in another RUN_DIR"
        ) from None
