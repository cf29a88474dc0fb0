"""Priors: normalised densities, LDA bounds, topic sampling, and a toy clustering run."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from seisflow.models import FlowConfig, build_flow
from seisflow.models.priors import KatGmmPrior, LdaPrior, StandardPrior


def _integral(prior: torch.nn.Module, half_width: float = 9.0, n: int = 721) -> float:
    """Numerical integral of exp(log_prob) over a 2-D word on a fine grid."""
    axis = torch.linspace(-half_width, half_width, n, dtype=torch.float64)
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    words = torch.stack([a.flatten(), b.flatten()], dim=-1)[:, None, :]  # (M, 1, 2)
    density = prior.log_prob(words).exp()
    step = float(axis[1] - axis[0])
    return float(density.sum()) * step * step


@pytest.mark.parametrize("grid_dims", [1, 2])
def test_densities_integrate_to_one(grid_dims):
    torch.manual_seed(0)
    assert _integral(StandardPrior(1, 2)) == pytest.approx(1.0, abs=1e-6)
    prior = KatGmmPrior(1, 2, grid=3, grid_dims=grid_dims, grid_range=2.0).double()
    with torch.no_grad():
        prior.logits.normal_()
        prior.components.log_sigma.add_(0.3 * torch.randn_like(prior.components.log_sigma))
    assert _integral(prior) == pytest.approx(1.0, abs=1e-4)


def lda(topics=3, words=8, dim=2, seed=0) -> LdaPrior:
    torch.manual_seed(seed)
    prior = LdaPrior(words, dim, topics=topics, alpha=0.3, steps=20, grid=3, grid_dims=2,
                     grid_range=2.0).double().eval()  # fmt: skip
    with torch.no_grad():
        prior.topic_logits.mul_(4)
    return prior


def test_importance_bound_is_above_the_elbo_and_rises_with_samples():
    prior = lda()
    torch.manual_seed(1)
    words = prior.sample(64).double()
    elbo = prior.log_prob(words)
    bounds = {s: torch.stack([prior.log_prob(words, samples=s) for _ in range(20)]).mean(0)
              for s in (1, 10, 100)}  # fmt: skip
    assert (bounds[1] >= elbo - 1e-6).float().mean() > 0.95
    assert float(bounds[1].mean()) <= float(bounds[10].mean()) <= float(bounds[100].mean())
    assert float(bounds[100].mean()) > float(elbo.mean())


def test_one_topic_is_the_fixed_mixture():
    prior = lda(topics=1)
    mixture = KatGmmPrior(8, 2, grid=3, grid_dims=2, grid_range=2.0).double()
    with torch.no_grad():
        mixture.logits.copy_(prior.topic_logits[0])
        mixture.components.log_sigma.copy_(prior.components.log_sigma)
    words = torch.randn(16, 8, 2, dtype=torch.float64) * 2
    torch.testing.assert_close(prior.log_prob(words), mixture.log_prob(words))
    torch.testing.assert_close(prior.log_prob(words, samples=7), mixture.log_prob(words))


def test_topic_samples_follow_beta():
    prior = lda(topics=3, words=50)
    with torch.no_grad():
        prior.components.log_sigma.fill_(-6.0)  # words sit on their component's mean
    for topic in range(3):
        words = prior.sample(400, topic=topic)[..., :2].reshape(-1, 2)
        nearest = torch.cdist(words.double(), prior.components.means.double()).argmin(-1)
        frequencies = torch.bincount(nearest, minlength=9).double() / nearest.numel()
        torch.testing.assert_close(frequencies, prior.log_beta()[topic].exp().double(),
                                   atol=0.015, rtol=0)  # fmt: skip


def test_sampling_from_the_whole_prior_and_errors():
    prior = lda()
    assert prior.sample(5).shape == (5, 8, 2)
    with pytest.raises(ValueError, match="topic 3 is outside"):
        prior.sample(1, topic=3)
    with pytest.raises(ValueError, match="no topics"):
        StandardPrior(4, 2).sample(1, topic=0)


def stripes(n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """8x8 images of one texture: horizontal stripes (label 0) or vertical (label 1).

    Each 4x4 quarter has its own random phase, so a texture is a family of patterns (as a
    facies is) and a topic has to gather the family; noise on top.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    phase = rng.integers(0, 2, (n, 2, 2)).repeat(4, axis=1).repeat(4, axis=2)
    index = np.arange(8)
    rows = (index[None, :, None] + phase) % 2
    columns = (index[None, None, :] + phase) % 2
    images = np.where(labels[:, None, None] == 0, rows, columns)
    images = images * 160 + 48 + rng.normal(0, 12, images.shape)
    return torch.from_numpy(np.clip(images, 0, 255).astype(np.uint8)[:, None]), labels


def test_short_training_separates_two_textures():
    """An LDA flow trained for seconds on CPU tells horizontal from vertical stripes.

    The topics start from EM on the first batch (data-dependent initialisation) and the
    structure term (l2) keeps the flow from moving words between grid components while it
    learns; without it the topics found at initialisation drift apart within 150 steps.
    """
    from sklearn.metrics import adjusted_rand_score

    torch.manual_seed(0)
    config = FlowConfig(in_shape=(1, 8, 8), prior="lda", subnet="cnn", levels=1, width=16,
                        depth=2, topics=2, alpha=0.3, word=2, grid=3, grid_dims=2,
                        grid_range=1.0, l2=2.0)  # fmt: skip
    flow = build_flow(config)
    images, _ = stripes(512, seed=0)
    optimizer = torch.optim.Adam(flow.parameters(), lr=2e-3)
    start = time.perf_counter()
    flow.train()
    curve = []
    for _ in range(150):
        batch = images[torch.randint(0, len(images), (64,))]
        loss, metrics = flow.loss(batch)
        curve.append(float(metrics["bits_per_dim"]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert time.perf_counter() - start < 60
    assert np.mean(curve[-20:]) < np.mean(curve[:20]) - 0.15  # it learned
    flow.eval()
    test, labels = stripes(400, seed=1)
    proportions, confidence = flow.topic_posterior(flow.dequantize(test))
    assert adjusted_rand_score(labels, proportions.argmax(-1).numpy()) > 0.9
    assert float(confidence.mean()) > 0.8


def test_score_is_log_prob_and_topic_posterior_in_one_pass():
    import torch

    from seisflow.models import FlowConfig, build_flow

    for prior in ("lda", "kat_gmm"):
        flow = build_flow(FlowConfig(in_shape=(1, 8, 8), prior=prior, width=8, depth=1),
                          dtype=torch.float64).eval()  # fmt: skip
        x = torch.rand(5, 1, 8, 8, dtype=torch.float64)
        log_p, proportions = flow.score(x)
        torch.testing.assert_close(log_p, flow.log_prob(x))
        torch.testing.assert_close(proportions, flow.topic_posterior(x)[0])
