"""Sinkhorn equipartition and the LDA prior's ``balance="sinkhorn"`` term."""

from __future__ import annotations

import math

import pytest
import torch

from seisflow.models import FlowConfig, build_flow
from seisflow.models.priors import LdaPrior
from seisflow.models.priors.sinkhorn import sinkhorn


def test_sinkhorn_balances_random_scores():
    """Rows sum to 1 exactly, columns to N / K once converged; float32, no gradient."""
    torch.manual_seed(0)
    scores = (3.0 * torch.randn(12, 4, dtype=torch.float64)).requires_grad_()
    q = sinkhorn(scores, iterations=50)
    assert q.shape == (12, 4) and q.dtype == torch.float32 and not q.requires_grad
    torch.testing.assert_close(q.sum(1), torch.ones(12), atol=1e-6, rtol=0)
    torch.testing.assert_close(q.sum(0), torch.full((4,), 3.0), atol=1e-3, rtol=0)
    assert float((q - torch.softmax(scores.detach().float(), -1)).abs().max()) > 0.1  # moved
    # three iterations (the default) already spread a batch that all prefers topic 0
    one_sided = torch.log(torch.tensor([[0.7, 0.2, 0.1]]).repeat(6, 1))
    torch.testing.assert_close(sinkhorn(one_sided), torch.full((6, 3), 1 / 3))


def test_sinkhorn_leaves_balanced_scores_row_normalised():
    """Scores whose columns already hold N / K each come back as the row-normalised input,
    whatever offset each row carries."""
    rows = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    balanced = torch.cat([rows, rows.flip(0)])  # (6, 3): each column sums to 2 = N / K
    offsets = torch.tensor([[0.0], [2.0], [-1.0], [5.0], [0.5], [-3.0]])
    q = sinkhorn(balanced.log() + offsets, iterations=3)
    torch.testing.assert_close(q, balanced, atol=1e-6, rtol=0)


def _prior(balance: str) -> LdaPrior:
    torch.manual_seed(0)
    return LdaPrior(8, 2, topics=3, alpha=0.3, steps=5, grid=3, grid_dims=2, grid_range=1.0,
                    balance=balance).double()  # fmt: skip


def test_sinkhorn_cross_entropy_values_and_gradient():
    """A balanced batch of confident documents costs only their entropy (Q = p); a batch that
    all prefers topic 0 is pulled to uniform (Q = 1/K), costs ``-mean_k log p_k``, and its
    gradient moves every document's proportions away from topic 0."""
    prior = _prior("sinkhorn")
    p = torch.tensor([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]], dtype=torch.float64)
    balanced = torch.cat([p, p.flip(0)]) * 4.0  # gamma: proportions times any total
    entropy = -(p[0] * p[0].log()).sum()
    balanced_term = prior.sinkhorn_cross_entropy(balanced)
    assert float(balanced_term) == pytest.approx(float(entropy), abs=1e-6)

    collapsed = torch.tensor([[8.0, 1.0, 1.0]], dtype=torch.float64).repeat(6, 1)
    collapsed.requires_grad_()
    term = prior.sinkhorn_cross_entropy(collapsed)
    assert term.dtype == torch.float64
    assert float(term.detach()) == pytest.approx(-math.log(0.8 * 0.1 * 0.1) / 3, abs=1e-6)
    assert float(term.detach()) > 2 * float(balanced_term)
    (grad,) = torch.autograd.grad(term, collapsed)
    # d/dgamma_nk of -mean_n sum_k Q_nk log(gamma_nk / S_n) = (1/S_n - Q_nk/gamma_nk) / N
    expected = (0.1 - (1 / 3) / collapsed.detach()) / 6
    torch.testing.assert_close(grad, expected, atol=1e-7, rtol=0)
    step = collapsed.detach() - 10.0 * grad  # descent: topic 0 loses share in every document
    assert (step[:, 0] / step.sum(-1) < 0.8 - 5e-3).all()


def _words(n: int = 24) -> torch.Tensor:
    """Documents of 8 words, most near (-1, -1) and (1, 1), a few near (0, 0)."""
    generator = torch.Generator().manual_seed(1)
    means = torch.tensor([[-1.0, -1.0], [1.0, 1.0]], dtype=torch.float64)
    words = means[torch.randint(0, 2, (n, 8), generator=generator)]
    words[-4:] = 0.0
    return words + 0.15 * torch.randn(words.shape, generator=generator, dtype=torch.float64)


def test_balance_setting_picks_the_training_term():
    """``usage`` returns exactly the usage KL (the old term); ``sinkhorn`` the cross-entropy,
    with the same ELBO and logged ``usage_kl``, and a gradient that reaches the topics and
    the words."""
    words = _words()
    usage, balanced = _prior("usage"), _prior("sinkhorn")
    usage.initialize(words)
    balanced.load_state_dict(usage.state_dict())
    elbo, term, extra = usage.training_terms(words)
    gamma = usage.elbo_parts(words)[1]
    assert torch.equal(term, usage.usage_kl(gamma))
    assert torch.equal(extra["usage_kl"], term.detach())

    leaf = words.clone().requires_grad_()
    elbo_s, term_s, extra_s = balanced.training_terms(leaf)
    torch.testing.assert_close(elbo_s, elbo)
    torch.testing.assert_close(extra_s["usage_kl"], extra["usage_kl"])
    assert torch.equal(extra_s["topics_used"], extra["topics_used"])
    assert torch.equal(term_s, balanced.sinkhorn_cross_entropy(gamma))
    assert not torch.equal(term_s, term)
    term_s.backward()
    assert float(leaf.grad.abs().sum()) > 0
    assert float(balanced.topic_logits.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match="balance 'nope' is not allowed"):
        _prior("nope")


def test_flow_loss_adds_the_weighted_sinkhorn_term():
    torch.manual_seed(0)
    config = FlowConfig(in_shape=(1, 8, 8), prior="lda", levels=1, width=8, depth=1, topics=3,
                        word=1, grid=3, grid_range=1.0, balance="sinkhorn")  # fmt: skip
    flow = build_flow(config, dtype=torch.float64)
    assert flow.prior.balance == "sinkhorn"
    images = torch.randint(0, 256, (16, 1, 8, 8))
    noise = torch.rand(images.shape, dtype=torch.float64)
    plain, parts = flow.loss(images, noise=noise)  # initialises actnorm and the topics
    plain, parts = flow.loss(images, noise=noise)
    weighted, _ = flow.loss(images, noise=noise, anti_collapse=2.5)
    assert set(parts) == {"bits_per_dim", "l2", "usage_kl", "topics_used"}
    with torch.no_grad():
        _, _, coarse, _ = flow._forward(flow.dequantize(images, noise=noise))
        gamma = flow.prior.elbo_parts(flow.to_words(coarse))[1]
        term = flow.prior.sinkhorn_cross_entropy(gamma)
    assert abs(float(term) - float(flow.prior.usage_kl(gamma))) > 0.1
    torch.testing.assert_close(weighted, plain + 2.5 * term)
    weighted.backward()
    assert all(torch.isfinite(p.grad).all() for p in flow.parameters() if p.grad is not None)
