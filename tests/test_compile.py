"""``torch.compile`` of the training objective: one graph, no recompiles, the eager loss.

Compiled with dynamo's counting backends (``eager`` / ``aot_eager``, never inductor), so the
test stays fast on two CPU cores; what it checks is what the GPU path relies on: no graph
breaks (a break costs a host sync and a launch boundary per break and per step).
"""

from __future__ import annotations

import copy
import io

import pytest
import torch
import torch._dynamo
from torch._dynamo.testing import CompileCounterWithBackend

from seisflow.models import FlowConfig, FractalFlow, build_flow
from seisflow.models.layers import ActNorm
from seisflow.models.priors import LdaPrior
from seisflow.train.loop import _Objective


def _flow(prior: str) -> tuple[FractalFlow, torch.Tensor]:
    """A tiny flow (1x8x8, one fractal level) initialised on a first batch, as the loop
    does before compiling; and a uint8 batch ``(8, 1, 8, 8)``."""
    torch.manual_seed(0)
    config = FlowConfig(in_shape=(1, 8, 8), prior=prior, levels=1, width=4, depth=1, topics=2,
                        word=2)  # fmt: skip
    flow = build_flow(config)
    x = torch.randint(0, 256, (8, 1, 8, 8), dtype=torch.uint8)
    flow.train()
    with torch.no_grad():
        flow.loss(x)  # data-dependent initialisation (actnorm, topics), eagerly
    return flow, x


def _steps(
    model: torch.nn.Module, flow: FractalFlow, x: torch.Tensor, n: int
) -> list[torch.Tensor]:
    """``n`` AdamW steps of ``model`` (the objective of ``flow``) on ``x`` with seeded noise
    and an annealed anti-collapse weight; the losses ``()`` of each step."""
    optimizer = torch.optim.AdamW(flow.parameters(), lr=1e-3)
    losses = []
    for step in range(n):
        noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(step))
        loss, _ = model(x, noise, torch.tensor(2.0 * (1 - step / n)))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 50.0)
        optimizer.step()
        losses.append(loss.detach())
    return losses


@pytest.mark.parametrize("prior", ["standard", "lda"])
def test_compiled_step_is_one_graph_and_equals_eager(prior):
    flow, x = _flow(prior)
    twin = copy.deepcopy(flow)
    torch._dynamo.reset()
    counter = CompileCounterWithBackend("aot_eager")  # AOT autograd, no inductor
    compiled = torch.compile(_Objective(flow), backend=counter)
    losses = _steps(compiled, flow, x, 3)
    # one graph for the whole forward, compiled once: no break, no recompilation as the
    # anti-collapse weight anneals and the weights change
    assert counter.frame_count == 1
    explained = torch._dynamo.explain(_Objective(flow))(x, torch.rand(x.shape), torch.tensor(1.0))
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    reference = _steps(_Objective(twin), twin, x, 3)
    torch.testing.assert_close(torch.stack(losses), torch.stack(reference), rtol=1e-5, atol=1e-5)
    expected = twin.state_dict()
    for name, value in flow.state_dict().items():
        torch.testing.assert_close(value, expected[name], rtol=1e-4, atol=1e-5, msg=name)
    torch._dynamo.reset()


def test_initialised_flags_survive_a_state_dict_round_trip():
    """The Python mirrors of the ``initialized`` buffers follow ``load_state_dict``: a
    resumed run neither re-initialises actnorm or the topics from its first batch nor
    recompiles for them."""
    flow, x = _flow("lda")
    buffer = io.BytesIO()
    torch.save(flow.state_dict(), buffer)
    buffer.seek(0)
    twin = build_flow(flow.config)
    actnorms = [m for m in twin.modules() if isinstance(m, ActNorm)]
    assert isinstance(twin.prior, LdaPrior) and actnorms
    assert not twin.prior.ready and not any(m.ready for m in actnorms)
    twin.load_state_dict(torch.load(buffer))
    assert twin.prior.ready and all(m.ready for m in actnorms)
    before = copy.deepcopy(twin.state_dict())
    twin.train()
    with torch.no_grad():
        twin.loss(255 - x)  # another batch: no data-dependent initialisation now
    for name, value in twin.state_dict().items():
        assert torch.equal(value, before[name]), name
