"""The Latent Dirichlet Allocation topic prior over words of the coarsest latent.

A document (one patch) has topic proportions ``theta ~ Dir(alpha)``; topic ``k`` is a
distribution ``beta_k`` over the ``Q`` grid components; each word ``b`` draws a topic from
``theta``, a component from ``beta_k`` and its value from that Gaussian, so
``p_k(z_b) = sum_q beta_kq N(z_b; mu_q, sigma_q)``. The evidence is bounded by the mean-field
ELBO with ``q(theta) = Dir(gamma)`` and word-topic responsibilities ``phi``, found by a few
differentiable fixed-point steps::

    phi_bk ∝ exp(psi(gamma_k) - psi(sum gamma)) p_k(z_b),   gamma = alpha + sum_b phi_b

For evaluation, ``log_prob(words, samples=S)`` is the importance-weighted bound with
``q(theta)`` as proposal, in which the word likelihoods are summed over topics exactly:
tighter than the ELBO, and tighter still as ``S`` grows. ``gamma / sum(gamma)`` is the
document's topic mixture. With several words per document (``B > 1``) the topics mean
something; a single word per document collapses to a fixed mixture.

Training also returns a balance term against all documents taking the same topics:
``balance="usage"``, ``KL(batch mean topic usage || uniform)``; ``balance="sinkhorn"``, the
cross-entropy of the proportions to their Sinkhorn equipartition (as SwAV's codes, see
:func:`~seisflow.models.priors.sinkhorn.sinkhorn`).

References:
    Blei, Ng, Jordan. Latent Dirichlet Allocation. JMLR 3, 2003.
    Burda, Grosse, Salakhutdinov. Importance weighted autoencoders. ICLR 2016.
    Caron et al. Unsupervised learning of visual features by contrasting cluster
    assignments (SwAV). NeurIPS 2020.
    Fractal Flow (arXiv:2508.19750).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import torch
from torch import Tensor, nn
from torch.distributions import Categorical, Dirichlet

from seisflow.models.priors.base import Prior
from seisflow.models.priors.grid import GridComponents
from seisflow.models.priors.sinkhorn import sinkhorn

__all__ = ["LdaPrior"]

TINY = 1e-30


class LdaPrior(Prior):
    """LDA over ``n_words`` words per sample, ``topics`` topics over the grid components.

    Whether the topics are initialised is the buffer ``initialized`` (saved with the
    weights) and its mirror ``ready``, a plain Python bool kept in step by
    :meth:`initialize` and ``load_state_dict``: no data-dependent branch in a compiled step.

    Args:
        n_words: Words per document ``B``.
        dim: Word dimension ``D``.
        topics: ``K``.
        alpha: Symmetric Dirichlet concentration.
        steps: Mean-field fixed-point steps.
        grid, grid_dims, grid_range: See :class:`GridComponents`.
        balance: The balance term of :meth:`training_terms`: ``usage`` (:meth:`usage_kl`)
            or ``sinkhorn`` (:meth:`sinkhorn_cross_entropy`).
    """

    has_topics = True
    fittable = True

    def __init__(
        self,
        n_words: int,
        dim: int,
        *,
        topics: int,
        alpha: float,
        steps: int,
        grid: int,
        grid_dims: int,
        grid_range: float,
        balance: Literal["usage", "sinkhorn"] = "usage",
    ) -> None:
        super().__init__()
        if balance not in ("usage", "sinkhorn"):
            raise ValueError(f"balance {balance!r} is not allowed: choose usage or sinkhorn")
        self.n_words, self.dim, self.steps = n_words, dim, steps
        self.balance = balance  # a Python str fixed here: the branch on it is static
        self.components = GridComponents(dim, grid=grid, grid_dims=grid_dims,
                                         grid_range=grid_range)  # fmt: skip
        self.topic_logits = nn.Parameter(0.5 * torch.randn(topics, self.components.n_components))
        self.register_buffer("alpha", torch.full((topics,), float(alpha)))
        self.register_buffer("initialized", torch.tensor(False))
        self.ready = False  # the buffer as a Python bool: no data-dependent branch

    def _load_from_state_dict(self, state: dict[str, Any], prefix: str, *args: Any) -> None:
        super()._load_from_state_dict(state, prefix, *args)
        self.ready = bool(self.initialized)

    @property
    def topics(self) -> int:
        return int(self.alpha.shape[0])

    def log_beta(self) -> Tensor:
        """``log beta``: ``(K, Q)``, each row a distribution over the components."""
        return torch.log_softmax(self.topic_logits.float(), dim=-1)

    def topic_log_probs(self, words: Tensor) -> Tensor:
        """``log p_k(z_b)``: ``(N, B, K)``."""
        components = self.components.log_probs(words)  # (N, B, Q)
        log_beta = self.log_beta().to(components.dtype)
        return torch.logsumexp(components.unsqueeze(-2) + log_beta, dim=-1)

    def posterior(self, words: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Mean-field fixed point: ``gamma`` (N, K), ``log phi`` and ``log p_k`` (N, B, K)."""
        return self._fixed_point(self.topic_log_probs(words))

    def _fixed_point(self, log_pk: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        alpha = self.alpha.to(log_pk.dtype)
        gamma = alpha + torch.full_like(log_pk[:, 0], log_pk.shape[1] / self.topics)  # (N, K)
        log_phi = torch.full_like(log_pk, -math.log(self.topics))
        for _ in range(self.steps):
            e_log_theta = torch.digamma(gamma) - torch.digamma(gamma.sum(-1, keepdim=True))
            log_phi = torch.log_softmax(e_log_theta.unsqueeze(1) + log_pk, dim=-1)
            gamma = alpha + log_phi.exp().sum(1)
        return gamma, log_phi, log_pk

    def elbo(self, words: Tensor) -> Tensor:
        """The mean-field evidence lower bound, ``(N,)`` nats."""
        return self.elbo_parts(words)[0]

    def elbo_parts(self, words: Tensor) -> tuple[Tensor, Tensor]:
        """The ELBO ``(N,)`` and the variational Dirichlet ``gamma`` ``(N, K)``."""
        return self._elbo(*self.posterior(words))

    def _elbo(self, gamma: Tensor, log_phi: Tensor, log_pk: Tensor) -> tuple[Tensor, Tensor]:
        return self._word_elbo(gamma, log_phi, log_pk).sum(-1), gamma

    def _word_elbo(self, gamma: Tensor, log_phi: Tensor, log_pk: Tensor) -> Tensor:
        """The ELBO word by word ``(N, B)``: each word's expected log-likelihood and topic
        entropy, plus an equal share of the document's ``E[log p(theta) - log q(theta)]``."""
        alpha = self.alpha.to(gamma.dtype)
        e_log_theta = torch.digamma(gamma) - torch.digamma(gamma.sum(-1, keepdim=True))
        log_p_theta = (torch.lgamma(alpha.sum()) - torch.lgamma(alpha).sum()
                       + ((alpha - 1) * e_log_theta).sum(-1))  # fmt: skip
        log_q_theta = (torch.lgamma(gamma.sum(-1)) - torch.lgamma(gamma).sum(-1)
                       + ((gamma - 1) * e_log_theta).sum(-1))  # fmt: skip
        phi = log_phi.exp()
        words_term = (phi * (e_log_theta.unsqueeze(1) + log_pk - log_phi)).sum(2)
        return words_term + ((log_p_theta - log_q_theta) / log_pk.shape[1]).unsqueeze(1)

    def word_log_prob(self, words: Tensor) -> Tensor:
        """The ELBO word by word, ``(N, B)`` (see :meth:`_word_elbo`); sums to :meth:`elbo`."""
        return self._word_elbo(*self.posterior(words))

    def importance_bound(self, words: Tensor, samples: int) -> Tensor:
        """``log (1/S) sum_s p(z, theta_s) / q(theta_s)``, ``theta_s ~ Dir(gamma)``: ``(N,)``."""
        gamma, _, log_pk = self.posterior(words)
        proposal = Dirichlet(gamma)
        theta = proposal.sample((samples,)).clamp_min(TINY)  # (S, N, K)
        theta = theta / theta.sum(-1, keepdim=True)
        likelihood = torch.logsumexp(theta.log().unsqueeze(2) + log_pk, dim=-1).sum(-1)
        prior = Dirichlet(self.alpha.to(gamma.dtype)).log_prob(theta)
        log_w = prior + likelihood - proposal.log_prob(theta)
        return torch.logsumexp(log_w, dim=0) - math.log(samples)

    def log_prob(self, words: Tensor, *, samples: int | None = None) -> Tensor:
        """The ELBO, or with ``samples`` the importance-weighted bound: ``(N,)`` nats.

        The first call in training mode initialises the topics from ``words`` (see
        :meth:`initialize`), as actnorm initialises from the first batch.
        """
        if self.training and not self.ready:
            self.initialize(words.detach())
        return self.elbo(words) if samples is None else self.importance_bound(words, samples)

    def training_terms(self, words: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """The ELBO ``(N,)``, the balance term ``()`` and the detached ``usage_kl`` and
        ``topics_used`` (topics that are the arg-max of at least 1/(4K) of the documents);
        initialises the topics from ``words`` first if need be.

        The balance term is, as ``balance`` says, ``KL(usage || uniform)`` (:meth:`usage_kl`)
        or the cross-entropy to the Sinkhorn equipartition (:meth:`sinkhorn_cross_entropy`);
        ``usage_kl`` is logged either way.
        """
        if not self.ready:
            self.initialize(words.detach())
        elbo, gamma = self.elbo_parts(words)
        usage_kl = self.usage_kl(gamma)
        balance = self.sinkhorn_cross_entropy(gamma) if self.balance == "sinkhorn" else usage_kl
        share = self.argmax_share(gamma)
        extra = {"usage_kl": usage_kl.detach(),
                 "topics_used": (share >= 0.25 / self.topics).sum().float()}  # fmt: skip
        return elbo, balance, extra

    def fit(self, words: Tensor, *, seed: int = 0) -> None:
        """Refit the topics to ``words`` (:meth:`initialize` with ``seed``)."""
        self.initialize(words, seed=seed)

    @torch.no_grad()
    def initialize(
        self, words: Tensor, *, restarts: int = 8, iterations: int = 15, seed: int = 0
    ) -> None:
        """Topics from the data: k-means of the documents' component histograms, then
        variational EM for ``beta`` (components held fixed); of ``restarts`` k-means++
        starts, and the current topics once initialised, the one with the best ELBO on
        ``words`` is kept.

        A topic starts as the mean histogram of a cluster of documents, so every topic
        starts in use: gradient descent from a random ``beta`` often leaves the topics mixed
        or collapsed, and EM from a random ``beta`` often merges clusters.

        Args:
            words: ``(N, B, D)`` words of ``N`` documents.
            restarts: k-means++ starts.
            iterations: EM iterations after each start.
            seed: Seed of the k-means++ starts.
        """
        components = self.components.log_probs(words.float())  # (N, B, Q), computed once
        histograms = torch.softmax(components, dim=-1).mean(1)  # (N, Q)
        generator = torch.Generator(device="cpu").manual_seed(seed)

        def elbo() -> float:
            joint = components.unsqueeze(-2) + self.log_beta()
            return float(self._elbo(*self._fixed_point(torch.logsumexp(joint, -1)))[0].mean())

        best, best_elbo = None, -math.inf
        if self.ready:
            best, best_elbo = self.topic_logits.clone(), elbo()
        for _ in range(restarts):
            centres = _kmeans(histograms.cpu(), self.topics, generator=generator)
            self.topic_logits.copy_(torch.log(centres + 1e-3).to(self.topic_logits))
            for _ in range(iterations):
                joint = components.unsqueeze(-2) + self.log_beta()  # (N, B, K, Q)
                log_pk = torch.logsumexp(joint, dim=-1)
                _, log_phi, _ = self._fixed_point(log_pk)
                within = torch.exp(joint - log_pk.unsqueeze(-1) + log_phi.unsqueeze(-1))
                counts = within.sum((0, 1))  # (K, Q) expected counts
                self.topic_logits.copy_(torch.log(counts / counts.sum(-1, keepdim=True) + 1e-3))
            value = elbo()
            if value > best_elbo:
                best, best_elbo = self.topic_logits.clone(), value
        self.topic_logits.copy_(best)
        self.initialized.fill_(True)
        self.ready = True

    def usage(self, gamma: Tensor) -> Tensor:
        """The batch's mean topic usage ``mean_n gamma_n / sum(gamma_n)``: ``(K,)``."""
        return (gamma / gamma.sum(-1, keepdim=True)).mean(0)

    def usage_kl(self, gamma: Tensor) -> Tensor:
        """``KL(usage || uniform)`` in nats, ``()``: 0 when every topic is used equally,
        ``log K`` when one topic takes every document (the anti-collapse penalty)."""
        usage = self.usage(gamma).float().clamp_min(TINY)
        return (usage * (usage * self.topics).log()).sum()

    def sinkhorn_cross_entropy(self, gamma: Tensor) -> Tensor:
        """``-mean_n sum_k Q_nk log p_nk`` in nats, ``()``: ``p = gamma / sum(gamma)`` the
        documents' topic proportions (with gradient), ``Q = sinkhorn(log p)`` their balanced
        assignment (detached; every topic takes ``N / K`` documents' worth). Pulls each
        document towards its share of an equal use of the topics, where :meth:`usage_kl`
        pulls the batch mean towards uniform. Not 0 at balance: a balanced batch costs its
        documents' mean topic entropy."""
        gamma = gamma.to(torch.promote_types(gamma.dtype, torch.float32))  # f32 or wider
        log_p = gamma.log() - gamma.sum(-1, keepdim=True).log()  # gamma >= alpha > 0
        target = sinkhorn(log_p)
        return -(target * log_p).sum(-1).mean()

    def argmax_share(self, gamma: Tensor) -> Tensor:
        """The share of documents whose arg-max topic is ``k``: ``(N, K) -> (K,)``.

        A one-hot sum of static shape (``bincount`` has a data-dependent output size, which
        breaks a compiled graph)."""
        topics = torch.arange(self.topics, device=gamma.device)
        return (gamma.argmax(-1, keepdim=True) == topics).float().mean(0)

    def proportions(self, words: Tensor) -> Tensor:
        """Posterior mean topic mixture ``gamma / sum(gamma)``: ``(N, K)``."""
        gamma, _, _ = self.posterior(words)
        return gamma / gamma.sum(-1, keepdim=True)

    def word_topics(self, words: Tensor) -> Tensor:
        """Each word's topic responsibilities ``phi`` (given its document): ``(N, B, K)``.

        The finer level of the hierarchy: at a boundary inside a document, words on each
        side take the topic of their side, chosen among the document's topics.
        """
        _, log_phi, _ = self.posterior(words)
        return log_phi.exp()

    def sample(self, n: int, *, topic: int | None = None) -> Tensor:
        """Words ``(n, B, D)``: from ``theta ~ Dir(alpha)``, or all from one ``topic``."""
        device = self.topic_logits.device
        if topic is None:
            theta = Dirichlet(self.alpha).sample((n,))
            topics = Categorical(probs=theta).sample((self.n_words,)).T  # (n, B)
        else:
            if not 0 <= topic < self.topics:
                raise ValueError(f"topic {topic} is outside 0..{self.topics - 1}")
            topics = torch.full((n, self.n_words), topic, device=device)
        components = Categorical(logits=self.log_beta()[topics]).sample()  # (n, B)
        return self.components.sample(components)


def _kmeans(points: Tensor, k: int, *, generator: torch.Generator, iterations: int = 20) -> Tensor:
    """Centres ``(k, Q)`` of k-means (k-means++ start, Lloyd iterations) of ``(N, Q)``."""
    n = points.shape[0]
    centres = points[torch.randint(n, (1,), generator=generator)]
    while centres.shape[0] < k:
        distance = torch.cdist(points, centres).min(1).values.square()
        weights = distance if float(distance.sum()) > 0 else torch.ones(n)
        pick = torch.multinomial(weights, 1, generator=generator)
        centres = torch.cat([centres, points[pick]])
    for _ in range(iterations):
        nearest = torch.cdist(points, centres).argmin(1)
        for j in range(k):
            members = points[nearest == j]
            if len(members):
                centres[j] = members.mean(0)
    return centres
