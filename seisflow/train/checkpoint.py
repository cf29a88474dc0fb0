"""Checkpoints: the weights, the optimiser, the schedule, the step, the RNG states, the full
configuration and the seisflow version, in one file written atomically.

A checkpoint is rebuilt into exactly the run that wrote it: :func:`load_flow` needs nothing
but the file. Files are written to a temporary name beside the target and renamed over it,
so a crash (even ``kill -9``) leaves either the old checkpoint or the new one, never half.
"""

from __future__ import annotations

import os
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seisflow._version import __version__
from seisflow.config import RunConfig, from_mapping, to_dict
from seisflow.errors import ConfigError, InputFileError
from seisflow.models import FractalFlow, build_flow

__all__ = [
    "BOOKKEEPING",
    "CHECKPOINT",
    "check_resumable",
    "config_differences",
    "load_checkpoint",
    "load_flow",
    "rng_state",
    "save_checkpoint",
    "set_rng_state",
]

#: The checkpoint's file name inside a run directory.
CHECKPOINT = "checkpoint.pt"
FORMAT = 1
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


def save_checkpoint(path: Path, **content: Any) -> None:
    """Write ``content`` (plus the format and the seisflow version) to ``path`` atomically."""
    for stale in path.parent.glob(f".{path.name}.*.tmp"):  # left by a killed writer
        stale.unlink(missing_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save({"format": FORMAT, "version": __version__, **content}, temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


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
    except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise InputFileError(
            f"{path} is not a readable seisflow checkpoint ({type(exc).__name__}): "
            "train again or point at another run"
        ) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise InputFileError(
            f"{path} is not a seisflow checkpoint of format {FORMAT}: train again with this "
            f"version ({__version__})"
        )
    return content


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
    """Raise ConfigError naming the differing keys when ``config`` is not the saved one."""
    differences = config_differences(checkpoint["config"], to_dict(config))
    if differences:
        raise ConfigError(
            f"{where} was trained with another configuration ({'; '.join(differences)}): "
            "resume with the saved settings (see its config.toml) or start a new run directory"
        )


def load_flow(
    path: str | Path, *, device: str | torch.device = "cpu"
) -> tuple[FractalFlow, RunConfig, dict[str, Any]]:
    """The trained flow of a run (in eval mode), its configuration and the checkpoint."""
    content = load_checkpoint(path, device=device)
    config = from_mapping(RunConfig, content["config"])
    flow = build_flow(config.model).to(device)
    flow.load_state_dict(content["model"])
    return flow.eval(), config, content
