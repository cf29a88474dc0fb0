"""Opening a trained run: checkpoint -> flow, its configuration and provenance, on a device.

The one place ``infer`` (maps, evaluation) gets a model from: it never imports ``train``'s
loop. A run is a folder written by ``seisflow train`` (or its ``checkpoint.pt``).
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from seisflow.ingest.normalize import Normalization, measure
from seisflow.models import FractalFlow
from seisflow.storage import StoreLike
from seisflow.train.checkpoint import CHECKPOINT, load_flow
from seisflow.train.config import RunConfig
from seisflow.train.distributed import pick_device

__all__ = ["Run", "checkpoint_path", "open_run"]


@dataclass(frozen=True)
class Run:
    """A trained run, ready to score.

    Attributes:
        path: The run folder (or checkpoint file) as given.
        checkpoint: The checkpoint file.
        flow: The flow in eval mode, on ``device``.
        config: The run's configuration.
        content: The checkpoint's other entries (step, source, metrics, ...).
        device: Where the flow is.
    """

    path: Path
    checkpoint: Path
    flow: FractalFlow
    config: RunConfig
    content: dict[str, Any]
    device: torch.device

    def sha256(self) -> str:
        """The SHA-256 of the checkpoint file: which model wrote a layer."""
        digest = hashlib.sha256()
        with open(self.checkpoint, "rb") as handle:
            while piece := handle.read(1 << 20):
                digest.update(piece)
        return digest.hexdigest()

    def normalization(self, store: StoreLike) -> Normalization:
        """How to turn ``store``'s amplitudes into the bytes this run was trained on: the
        normalisation saved in the checkpoint (``source.normalization``), with a warning when
        the store's own (its scale at the run's percentile) differs by more than 5 %. A
        checkpoint from before normalisations were saved was trained on its store's own
        scale: that of ``store`` is used."""
        data = self.config.data
        own = measure(store, percentile=data.percentile, companding=data.companding,
                      headroom=data.headroom)  # fmt: skip
        record = (self.content.get("source") or {}).get("normalization")
        if record is None:
            return own
        trained = Normalization.from_dict(record)
        problem = trained.mismatch(own)
        if problem is not None:
            warnings.warn(
                f"{store}: its amplitudes are not scaled like those {self.path} was trained "
                f"on ({problem}); the run's normalisation is used: train on this survey if "
                "its amplitudes differ on purpose",
                UserWarning,
                stacklevel=2,
            )
        return trained


def checkpoint_path(path: str | Path) -> Path:
    """The checkpoint of a run folder, or ``path`` itself when it is the file."""
    path = Path(path)
    return path / CHECKPOINT if path.is_dir() else path


def open_run(path: str | Path, *, device: str = "auto") -> Run:
    """Open the run at ``path`` on ``device`` (``auto``: CUDA when present, else CPU).

    Raises:
        InputFileError: When there is no readable checkpoint, or it does not fit its config.
    """
    where = pick_device(device)
    flow, config, content = load_flow(path, device=where)
    return Run(path=Path(path), checkpoint=checkpoint_path(path), flow=flow, config=config,
               content=content, device=where)  # fmt: skip
