"""Priors: normalised densities, LDA bounds, topic sampling, and a toy clustering run."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from seisflow.models import FlowConfig, build_flow
from seisflow.models.priors import KatGmmPrior, LdaPrior, Prior, StandardPrior


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


def _exact_two_topic_log_marginal(prior: LdaPrior, words: torch.Tensor) -> torch.Tensor:
    """``log p(z) = log int Beta(t; a, a) prod_b (t p_1(z_b) + (1 - t) p_2(z_b)) dt`` for
    ``K = 2`` by quadrature, ``(N,)`` nats for words ``(N, B, D)``.

    The Beta density is singular at 0 and 1 for ``a < 1``: on ``(0, 1/2]`` the substitution
    ``t = s ** (1 / a)`` turns ``t ** (a - 1) dt`` into ``ds / a`` (a smooth integrand, 400
    Gauss-Legendre nodes); ``(1/2, 1)`` is the same with the topics swapped.
    """
    a = float(prior.alpha[0])
    log_pk = prior.topic_log_probs(words).detach()  # (N, B, 2)
    nodes, weights = np.polynomial.legendre.leggauss(400)
    top = 0.5**a
    s = torch.tensor((nodes + 1) / 2 * top, dtype=torch.float64)
    log_w = torch.tensor(weights / 2 * top, dtype=torch.float64).log()
    t = s ** (1 / a)

    def half(near: torch.Tensor, far: torch.Tensor) -> torch.Tensor:
        mixed = torch.logaddexp(t.log()[:, None, None] + near, torch.log1p(-t)[:, None, None] + far)
        log_f = mixed.sum(-1) + (a - 1) * torch.log1p(-t)[:, None]  # (nodes, N)
        return torch.logsumexp(log_f + log_w[:, None], dim=0) - math.log(a)

    log_beta_fn = 2 * math.lgamma(a) - math.lgamma(2 * a)
    both = torch.logaddexp(half(log_pk[..., 0], log_pk[..., 1]),
                           half(log_pk[..., 1], log_pk[..., 0]))  # fmt: skip
    return both - log_beta_fn


def test_importance_bound_stays_below_the_exact_marginal_for_two_topics():
    """K = 2: the exact marginal by quadrature over theta; the ELBO is below it for every
    document, and the importance-weighted bound (mean of 20 draws) is below it within
    three standard errors and above the ELBO; in bits/dim all three read the other way
    round (the bounds are upper bounds on bits)."""
    prior = lda(topics=2)
    torch.manual_seed(1)
    words = prior.sample(24).double()
    dims = words.shape[1] * words.shape[2]

    def bits(log_p: torch.Tensor) -> torch.Tensor:
        return -log_p / (dims * math.log(2))

    with torch.no_grad():
        same = copy.deepcopy(prior)  # two equal topics: theta does not matter
        same.topic_logits[1] = same.topic_logits[0]
        expected = same.topic_log_probs(words)[..., 0].sum(-1)
        torch.testing.assert_close(_exact_two_topic_log_marginal(same, words), expected)

        exact = _exact_two_topic_log_marginal(prior, words)
        elbo = prior.log_prob(words)
        assert (bits(elbo) > bits(exact) + 1e-4).all()
        for samples in (1, 100):
            draws = torch.stack([prior.log_prob(words, samples=samples) for _ in range(20)])
            mean, error = draws.mean(0), draws.std(0) / math.sqrt(20)
            assert (bits(mean) >= bits(exact + 3 * error + 1e-6)).all(), samples
            assert float(bits(mean).mean()) < float(bits(elbo).mean())


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
    """An LDA flow trained for 150 steps on CPU tells horizontal from vertical stripes.

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
    flow.train()
    curve = []
    for _ in range(150):
        batch = images[torch.randint(0, len(images), (64,))]
        loss, metrics = flow.loss(batch)
        curve.append(float(metrics["bits_per_dim"]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
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
        log_p, proportions, density, words = flow.score(x)
        torch.testing.assert_close(log_p, flow.log_prob(x))
        torch.testing.assert_close(proportions, flow.topic_posterior(x)[0])
        assert words is None and set(density) == {"logdet", "factored", "prior"}
        if prior == "lda":
            torch.testing.assert_close(flow.score(x, words=True).words, flow.word_topics(x))


def _lda(topics: int = 3) -> LdaPrior:
    return LdaPrior(16, 2, topics=topics, alpha=0.3, steps=5, grid=3, grid_dims=2,
                    grid_range=1.0)  # fmt: skip


def test_usage_kl_is_zero_for_uniform_use_and_log_k_for_one_topic():
    prior = _lda(topics=4)
    uniform = torch.full((6, 4), 2.0)
    assert float(prior.usage_kl(uniform)) == pytest.approx(0.0, abs=1e-6)
    one = torch.full((6, 4), 1e-4)
    one[:, 2] = 10.0
    assert float(prior.usage_kl(one)) == pytest.approx(np.log(4), abs=1e-3)
    half = torch.full((6, 4), 1e-6)
    half[:3, 0], half[3:, 1] = 1.0, 1.0  # two topics, each half of the documents
    assert float(prior.usage_kl(half)) == pytest.approx(np.log(2), abs=1e-3)


def _documents(n: int, seed: int) -> tuple[torch.Tensor, np.ndarray]:
    """Words of documents of three kinds, each drawing its 16 words near its own pair of grid
    means (kind 0: (-1, -1) and (1, 1); kind 1: (-1, 1) and (1, -1); kind 2: (0, 0))."""
    rng = np.random.default_rng(seed)
    kinds = rng.integers(0, 3, n)
    means = {0: [(-1, -1), (1, 1)], 1: [(-1, 1), (1, -1)], 2: [(0, 0), (0, 0)]}
    words = np.stack([np.array(means[k])[rng.integers(0, 2, 16)] for k in kinds])
    words = words + rng.normal(0, 0.15, words.shape)
    return torch.tensor(words, dtype=torch.float32), kinds


def test_initialize_from_data_gives_every_kind_of_document_its_topic():
    """k-means of the documents' component histograms + EM: one topic per kind, all used,
    whatever the seed of the k-means++ start."""
    from sklearn.metrics import adjusted_rand_score

    words, _ = _documents(300, seed=0)
    test, test_kinds = _documents(200, seed=1)
    for seed in range(3):
        prior = _lda(topics=3)
        prior.initialize(words, seed=seed)
        assert bool(prior.initialized)
        found = prior.proportions(test).argmax(-1).numpy()
        assert adjusted_rand_score(test_kinds, found) > 0.95
        assert float(prior.usage_kl(prior.posterior(test)[0])) < 0.05


def test_word_topics_follow_each_word_within_a_mixed_document():
    """A document half of kind 0 and half of kind 2: its words take those two topics, each
    word the topic of its half, and never the third."""
    words, _ = _documents(300, seed=0)
    prior = _lda(topics=3)
    prior.initialize(words, seed=0)
    mixed = torch.cat([torch.tensor([[-1.0, -1.0], [1.0, 1.0]]).repeat(4, 1),
                       torch.zeros(8, 2)])[None]  # fmt: skip
    phi = prior.word_topics(mixed)[0]  # (16, K)
    assert phi.shape == (16, 3)
    torch.testing.assert_close(phi.sum(-1), torch.ones(16))
    topics = phi.argmax(-1)
    assert len(set(topics[:8].tolist())) == 1 and len(set(topics[8:].tolist())) == 1
    assert topics[0] != topics[8]
    assert len(set(topics.tolist())) == 2


def test_loss_reports_topic_use_and_adds_the_weighted_penalty():
    torch.manual_seed(0)
    config = FlowConfig(in_shape=(1, 8, 8), prior="lda", levels=1, width=8, depth=1, topics=3,
                        alpha=0.3, word=1, grid=3, grid_range=1.0, l2=0.5)  # fmt: skip
    flow = build_flow(config, dtype=torch.float64)
    images, _ = stripes(32, seed=0)
    noise = torch.rand(images.shape, dtype=torch.float64)
    plain, parts = flow.loss(images, noise=noise)
    weighted, _ = flow.loss(images, noise=noise, anti_collapse=2.5)
    assert set(parts) == {"bits_per_dim", "l2", "usage_kl", "topics_used"}
    assert 1 <= float(parts["topics_used"]) <= 3
    assert 0 <= float(parts["usage_kl"]) <= np.log(3) + 1e-6
    torch.testing.assert_close(weighted, plain + 2.5 * parts["usage_kl"])
    standard = build_flow(FlowConfig(in_shape=(1, 8, 8), width=8, depth=1), dtype=torch.float64)
    _, parts = standard.loss(images, noise=noise, anti_collapse=1.0)
    assert set(parts) == {"bits_per_dim", "l2"}


def test_word_topics_lie_where_the_words_are():
    """A patch whose top half (rows = time) is one texture and bottom half another gets word
    topics that differ between the halves, laid out (N, K, rows, columns)."""
    torch.manual_seed(0)
    config = FlowConfig(in_shape=(1, 16, 16), prior="lda", levels=0, width=8, depth=1,
                        topics=2, alpha=0.3, word=2, grid=3, grid_range=1.0, l2=2.0)  # fmt: skip
    flow = build_flow(config, dtype=torch.float64)
    top = torch.full((8, 16), 30.0)
    bottom = torch.full((8, 16), 225.0)
    x = torch.cat([top, bottom])[None, None].repeat(64, 1, 1, 1)
    flow.train()
    flow.loss(x)  # initialises actnorm and the topics
    flow.eval()
    field = flow.word_topics(flow.bin_centres(x[:2]))
    assert field.shape == (2, 2, 4, 4)
    torch.testing.assert_close(field.sum(1), torch.ones(2, 4, 4, dtype=torch.float64))
    upper, lower = field[0, :, :2].argmax(0), field[0, :, 2:].argmax(0)
    assert (upper == upper[0, 0]).all() and (lower == lower[0, 0]).all()
    with pytest.raises(ValueError, match="lda"):
        build_flow(FlowConfig(in_shape=(1, 8, 8), width=8, depth=1)).word_topics(x[:1, :, :8, :8])


def _prior(kind: str) -> Prior:
    torch.manual_seed(0)
    grid = {"grid": 3, "grid_dims": 2, "grid_range": 2.0}
    if kind == "standard":
        return StandardPrior(4, 2).double()
    if kind == "kat_gmm":
        return KatGmmPrior(4, 2, **grid).double()
    return LdaPrior(4, 2, topics=3, alpha=0.3, steps=5, **grid).double()


@pytest.mark.parametrize("kind", ["standard", "kat_gmm", "lda"])
def test_every_prior_implements_the_prior_interface(kind):
    """Every prior answers the whole :class:`Prior` interface; what a prior cannot do (the
    standard prior's topics, a fit for all but LDA) it refuses with a clear ValueError."""
    prior = _prior(kind).eval()
    assert isinstance(prior, Prior)
    assert prior.has_topics == (kind != "standard")
    assert prior.fittable == (kind == "lda")
    assert prior.ready == (kind != "lda")  # LDA waits for its first batch
    torch.manual_seed(1)
    words = torch.randn(6, 4, 2, dtype=torch.float64)
    if kind == "lda":
        prior.fit(words, seed=0)
        assert prior.ready and bool(prior.initialized)
    else:
        with pytest.raises(ValueError, match="only the lda prior has topics to fit"):
            prior.fit(words, seed=0)
    log_p = prior.log_prob(words)
    assert log_p.shape == (6,) and log_p.dtype == torch.float64
    bound = prior.log_prob(words, samples=4)
    assert bound.shape == (6,)
    if kind != "lda":  # exact densities: samples is ignored
        assert torch.equal(bound, log_p)
    elbo, usage_kl, extra = prior.training_terms(words)
    assert torch.equal(elbo, log_p) and usage_kl.shape == ()
    assert set(extra) == ({"usage_kl", "topics_used"} if kind == "lda" else set())
    assert prior.sample(3).shape == (3, 4, 2)
    if kind == "standard":
        with pytest.raises(ValueError, match="the standard prior has no topics"):
            prior.proportions(words)
        with pytest.raises(ValueError, match="no topics"):
            prior.sample(1, topic=0)
    else:
        proportions = prior.proportions(words)
        assert proportions.shape[0] == 6
        torch.testing.assert_close(proportions.sum(-1), torch.ones(6, dtype=torch.float64))
        assert prior.sample(2, topic=1).shape == (2, 4, 2)
    if kind == "lda":
        phi = prior.word_topics(words)
        assert phi.shape == (6, 4, 3)
        torch.testing.assert_close(phi.sum(-1), torch.ones(6, 4, dtype=torch.float64))
    else:
        with pytest.raises(ValueError, match="word topics need the lda prior"):
            prior.word_topics(words)


@pytest.mark.parametrize("prior", ["standard", "kat_gmm"])
def test_flow_refuses_what_its_prior_cannot_do(prior):
    flow = build_flow(FlowConfig(in_shape=(1, 8, 8), width=8, depth=1, prior=prior, grid=3))
    x = torch.randint(0, 256, (2, 1, 8, 8), dtype=torch.uint8)
    with pytest.raises(ValueError, match="only the lda prior has topics to fit"):
        flow.fit_topics(x)
    if prior == "standard":
        with pytest.raises(ValueError, match="the standard prior has no topics"):
            flow.topic_posterior(flow.bin_centres(x))
    else:
        assert flow.topic_posterior(flow.bin_centres(x))[0].shape[0] == 2
