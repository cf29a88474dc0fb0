"""Processes and devices: one process on CPU or a GPU, or many under ``torchrun``.

``torchrun --nproc-per-node N -m seisflow train ...`` starts N processes; each joins the
process group (nccl on GPUs, gloo on CPU), takes GPU ``rank % device_count`` and trains a
DistributedDataParallel copy of the model on its share of every global batch. Rank 0 alone
logs, evaluates, writes checkpoints and refits the LDA topics (:mod:`seisflow.train.refit`,
which broadcasts them with :func:`broadcast_state`); every rank checks every step for a
non-finite loss or gradient together (:func:`any_true`), so all stop at the same step.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from seisflow.errors import ConfigError

__all__ = [
    "Context",
    "all_mean",
    "any_true",
    "barrier",
    "broadcast_state",
    "pick_device",
    "setup",
    "teardown",
    "wrap",
]


@dataclass(frozen=True)
class Context:
    """Where this process runs.

    Attributes:
        rank: This process among ``world`` (0 when alone).
        world: Number of processes.
        device: Its device.
        distributed: Whether a process group was started.
    """

    rank: int
    world: int
    device: torch.device
    distributed: bool

    @property
    def main(self) -> bool:
        """Rank 0: the process that logs, evaluates and checkpoints."""
        return self.rank == 0


def pick_device(name: str) -> torch.device:
    """``auto`` (CUDA when present), ``cpu`` or ``cuda`` as a device; ConfigError otherwise."""
    if name not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"--device {name!r}: choose auto, cpu or cuda")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda but no CUDA device is available: use auto or cpu")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


def setup(device: str = "auto") -> Context:
    """Pick the device and, under ``torchrun``, join the process group.

    On CUDA, TF32 matrix products and convolutions are switched on.
    """
    chosen = pick_device(device)
    if chosen.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if not dist.is_torchelastic_launched():
        return Context(rank=0, world=1, device=chosen, distributed=False)
    dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    if chosen.type == "cuda":
        chosen = torch.device("cuda", rank % torch.cuda.device_count())
        torch.cuda.set_device(chosen)
    return Context(rank=rank, world=world, device=chosen, distributed=True)


def teardown(context: Context) -> None:
    """Leave the process group (if one was joined)."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: nn.Module, context: Context) -> nn.Module:
    """``module`` inside DistributedDataParallel when there are several processes (its
    parameters and buffers are broadcast from rank 0)."""
    if not context.distributed:
        return module
    ids = [context.device.index] if context.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def all_mean(value: torch.Tensor, context: Context) -> float:
    """The mean of a scalar over all processes."""
    value = value.detach().float().reshape(1).clone()
    if context.distributed:
        dist.all_reduce(value)
        value /= context.world
    return float(value)


def barrier(context: Context) -> None:
    """Wait for every process (no-op when alone)."""
    if context.distributed:
        dist.barrier()


def any_true(flag: torch.Tensor, context: Context) -> bool:
    """Whether a boolean ``()`` tensor is true on any process: one all-reduce when
    distributed, and one device-to-host copy in any case."""
    value = flag.detach().reshape(1).to(torch.int32)
    if context.distributed:
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value)


@torch.no_grad()
def broadcast_state(module: nn.Module, context: Context, *, src: int = 0) -> None:
    """Copy every parameter and buffer of ``module`` from rank ``src`` to all ranks, in
    place (no-op when alone)."""
    if not context.distributed:
        return
    for tensor in [*module.parameters(), *module.buffers()]:
        dist.broadcast(tensor.data, src=src)
