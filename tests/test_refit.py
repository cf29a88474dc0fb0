"""Topic refits under ``torchrun``: every rank holds rank 0's refit topics afterwards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from seisflow.models import FlowConfig, FractalFlow, build_flow
from seisflow.train.distributed import Context
from seisflow.train.refit import refit_topics

CONFIG = FlowConfig(in_shape=(1, 8, 8), prior="lda", levels=0, width=4, depth=1, topics=3,
                    word=1)  # fmt: skip
SEED = 5


def _batch(rank: int) -> torch.Tensor:
    """uint8 images ``(32, 1, 8, 8)``, different on each rank."""
    generator = torch.Generator().manual_seed(100 + rank)
    return torch.randint(0, 256, (32, 1, 8, 8), generator=generator, dtype=torch.uint8)


def _flow(rank: int) -> tuple[FractalFlow, torch.optim.Optimizer]:
    """An LDA flow initialised on the rank's own batch, after one optimiser step (so the
    optimiser holds state), with random topics of its own: ranks that drifted apart."""
    torch.manual_seed(rank)
    flow = build_flow(CONFIG)
    flow.train()
    optimizer = torch.optim.AdamW(flow.parameters(), lr=1e-3)
    loss, _ = flow.loss(_batch(rank))
    loss.backward()
    optimizer.step()
    with torch.no_grad():  # topics that drifted (differently on each rank)
        flow.prior.topic_logits.normal_(0.0, 3.0)
    return flow, optimizer


def _worker(rank: int, world: int, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    try:
        flow, optimizer = _flow(rank)
        context = Context(rank=rank, world=world, device=torch.device("cpu"), distributed=True)
        # each rank passes its own batch: only rank 0's counts
        refit_topics(flow, _batch(rank), optimizer, seed=SEED, context=context)
        prior = set(map(id, flow.prior.parameters()))
        torch.save({"prior": flow.prior.state_dict(), "ready": flow.prior.ready,
                    "prior_state": [p for p in optimizer.state if id(p) in prior],
                    "other_state": len([p for p in optimizer.state if id(p) not in prior])},
                   Path(out) / f"rank{rank}.pt")  # fmt: skip
    finally:
        dist.destroy_process_group()
    # A gloo worker thread releases a finished broadcast's tensors after the broadcast returns,
    # and takes the GIL to do so: if this process finalizes first, that thread is made to exit
    # inside a destructor and the process aborts ("terminate called without an active
    # exception", about one run in fifteen). The results are saved: leave without finalizing.
    os._exit(0)


@pytest.mark.slow
def test_two_gloo_ranks_hold_identical_topics_after_a_refit(tmp_path):
    mp.spawn(_worker, args=(2, f"file://{tmp_path / 'rendezvous'}", str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for key, value in ranks[0]["prior"].items():
        assert torch.equal(value, ranks[1]["prior"][key]), key
    assert not torch.allclose(ranks[1]["prior"]["topic_logits"], _flow(1)[0].prior.topic_logits)
    assert all(r["ready"] for r in ranks)
    # the topics are rank 0's refit of its own batch, as one process computes it
    flow, _ = _flow(0)
    before = flow.prior.topic_logits.detach().clone()
    flow.fit_topics(_batch(0), seed=SEED)
    torch.testing.assert_close(ranks[1]["prior"]["topic_logits"], flow.prior.topic_logits)
    assert not torch.allclose(before, flow.prior.topic_logits)  # the refit changed them
    # the prior's optimiser state was restarted on both ranks, the flow's kept
    assert all(r["prior_state"] == [] and r["other_state"] > 0 for r in ranks)


def test_a_single_process_refit_needs_the_lda_prior_and_a_batch():
    context = Context(rank=0, world=1, device=torch.device("cpu"), distributed=False)
    flow, optimizer = _flow(0)
    with pytest.raises(ValueError, match="needs the patches"):
        refit_topics(flow, None, optimizer, seed=0, context=context)
    standard = build_flow(FlowConfig(in_shape=(1, 8, 8), width=4, depth=1))
    with pytest.raises(ValueError, match="only the lda prior"):
        refit_topics(standard, _batch(0), optimizer, seed=0, context=context)
