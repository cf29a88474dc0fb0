"""Topic refits during training: the LDA topics refitted to the words of a fixed set of
patches under the current flow, identically on every process.

Under ``torchrun`` a refit that each rank ran on its own would leave the ranks with
different topics (DistributedDataParallel broadcasts parameters once, when it wraps the
model, and then only averages gradients), and the ranks would drift apart from there. So rank 0
alone refits (to the first ``topic_refit_size`` patches of the run, the same patches a
single process uses) and broadcasts the prior's parameters and buffers to the others; every
rank then restarts the optimiser state of the prior's parameters.
"""

from __future__ import annotations

import torch
from torch import Tensor

from seisflow.models import FractalFlow
from seisflow.train import distributed

__all__ = ["refit_topics"]


def refit_topics(
    flow: FractalFlow,
    batch: Tensor | None,
    optimizer: torch.optim.Optimizer,
    *,
    seed: int,
    context: distributed.Context,
) -> None:
    """Refit the LDA topics of ``flow`` (:meth:`FractalFlow.fit_topics`) and make every
    rank hold rank 0's result.

    Every rank must call this at the same step (it is a collective when distributed).

    Args:
        flow: The flow (not its DistributedDataParallel wrapper), LDA prior.
        batch: uint8 patches ``(N, C, H, W)`` on the flow's device; only rank 0 uses them
            (other ranks may pass ``None``).
        optimizer: Its state of the prior's parameters is dropped (the refit topics start
            afresh).
        seed: Seed of the k-means++ starts.
        context: This process (:func:`seisflow.train.distributed.setup`).

    Raises:
        ValueError: When rank 0 has no ``batch`` or the prior is not ``lda``.
    """
    prior = flow.prior
    if not prior.fittable:
        raise ValueError("only the lda prior has topics to refit")
    if context.main:
        if batch is None:
            raise ValueError("rank 0 needs the patches to refit the topics to")
        flow.fit_topics(batch, seed=seed)
    distributed.broadcast_state(prior, context)
    prior.ready = bool(prior.initialized)  # the buffer may have come from rank 0
    for parameter in prior.parameters():
        optimizer.state.pop(parameter, None)
