"""The Fractal Flow: logit pre-processing, a fractal coupling flow, a squeeze with a
multi-scale factor-out, and a prior over the words of the coarsest latent.

Data ``x`` are 8-bit images ``(N, C, H, W)`` with values 0..255 (uint8 or float);
continuous inputs to :meth:`FractalFlow.log_prob` / :meth:`encode` are in [0, 1]::

    x in [0, 1] -> logit -> fractal coupling (level L) -> squeeze (4C, H/2, W/2)
      -> actnorm, 1x1 conv, channel couplings -> split: 2C channels factored out ~ N(0, I)
      -> channel couplings on the other 2C -> words of word x word x 2C -> prior

References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    Kingma, Dhariwal. Glow: generative flow with invertible 1x1 convolutions. NeurIPS 2018.
    Fractal Flow (arXiv:2508.19750).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from seisflow.models.config import FlowConfig
from seisflow.models.coupling import coupling_stack
from seisflow.models.fractal import FractalCoupling
from seisflow.models.layers import Logit, squeeze, unsqueeze
from seisflow.models.priors import KatGmmPrior, LdaPrior, Prior, StandardPrior
from seisflow.models.priors.standard import standard_normal_log_prob

__all__ = ["FractalFlow", "Scores"]


class Scores(NamedTuple):
    """What one pass of the flow says about each of ``N`` inputs (:meth:`FractalFlow.score`).

    Attributes:
        log_prob: ``(N,)`` nats (for LDA the ELBO), the sum of every ``density`` map.
        proportions: ``(N, K)`` topic proportions, ``(N, 0)`` for a prior without topics.
        density: ``{"logdet", "factored", "prior"}`` -> ``(N, H, W)`` maps in nats (see
            :meth:`FractalFlow.density_maps`).
        words: ``(N, K, H / (2 word), W / (2 word))`` word topic responsibilities when asked
            for, else None.
    """

    log_prob: Tensor
    proportions: Tensor
    density: dict[str, Tensor]
    words: Tensor | None = None


class FractalFlow(nn.Module):
    """The whole model. Build with :func:`seisflow.models.build_flow`.

    Args:
        config: The architecture and the prior.
    """

    def __init__(self, config: FlowConfig) -> None:
        super().__init__()
        self.config = config
        c, h, w = config.in_shape
        half = (h // 2, w // 2)
        stacks = {"depth": config.depth, "subnet": config.subnet, "width": config.width}
        self.logit = Logit()
        full = {**stacks, "width": max(8, config.width // 2)}  # one channel: half the width
        self.fractal = FractalCoupling(config.levels, c, (h, w), **full)
        self.mid = coupling_stack(4 * c, half, mask="channel", conv1x1=config.conv1x1, **stacks)
        self.coarse = coupling_stack(2 * c, half, mask="channel", conv1x1=config.conv1x1,
                                     **stacks)  # fmt: skip
        self.n_words = (half[0] // config.word) * (half[1] // config.word)
        self.word_dim = 2 * c * config.word**2
        grid = {"grid": config.grid, "grid_dims": config.grid_dims,
                "grid_range": config.grid_range}  # fmt: skip
        if config.prior == "standard":
            self.prior: Prior = StandardPrior(self.n_words, self.word_dim)
        elif config.prior == "kat_gmm":
            self.prior = KatGmmPrior(self.n_words, self.word_dim, **grid)
        else:
            self.prior = LdaPrior(self.n_words, self.word_dim, topics=config.topics,
                                  alpha=config.alpha, steps=config.lda_steps,
                                  balance=config.balance, **grid)  # fmt: skip

    @property
    def dims(self) -> int:
        """Dimensions per sample ``D = C * H * W``."""
        c, h, w = self.config.in_shape
        return c * h * w

    # --- words <-> coarse latent -------------------------------------------------------
    def to_words(self, coarse: Tensor) -> Tensor:
        """``(N, 2C, H/2, W/2)`` -> ``(N, B, D)``: spatial ``word x word`` blocks.

        Within a word the channels vary fastest, so the leading (grid) dimensions are all the
        channels at one position: the local pattern the squeeze turned into channels.
        """
        n, c, h, w = coarse.shape
        p = self.config.word
        blocks = coarse.reshape(n, c, h // p, p, w // p, p).permute(0, 2, 4, 3, 5, 1)
        return blocks.reshape(n, self.n_words, self.word_dim)

    def from_words(self, words: Tensor) -> Tensor:
        """Inverse of :meth:`to_words`."""
        c, h, w = self.config.in_shape
        p, n = self.config.word, words.shape[0]
        hh, ww = h // 2 // p, w // 2 // p
        blocks = words.reshape(n, hh, ww, p, p, 2 * c).permute(0, 5, 1, 3, 2, 4)
        return blocks.reshape(n, 2 * c, h // 2, w // 2)

    # --- the bijection -----------------------------------------------------------------
    def _forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """``x`` in (0, 1) -> (logit input, factored latent, coarse latent, log-det)."""
        y, logdet = self.logit(x)
        h, fractal = self.fractal(y)
        h, mid = self.mid(squeeze(h))
        factored, kept = h.chunk(2, dim=1)
        coarse, last = self.coarse(kept)
        return y, factored, coarse, logdet + fractal + mid + last

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x`` in [0, 1] ``(N, C, H, W)`` -> ``(z, logdet)``, ``z`` of the same shape
        (the factored-out half put back) and ``logdet`` ``(N,)``."""
        _, factored, coarse, logdet = self._forward(x)
        return unsqueeze(torch.cat([factored, coarse], dim=1)), logdet

    def decode(self, z: Tensor) -> Tensor:
        """Inverse of :meth:`encode`: ``(N, C, H, W)`` latent -> ``x`` in [0, 1]."""
        factored, coarse = squeeze(z).chunk(2, dim=1)
        kept = self.coarse.inverse(coarse)
        h = unsqueeze(self.mid.inverse(torch.cat([factored, kept], dim=1)))
        return self.logit.inverse(self.fractal.inverse(h))

    # --- densities ---------------------------------------------------------------------
    def log_prob(self, x: Tensor, *, samples: int | None = None) -> Tensor:
        """``log p(x)`` in nats for ``x`` in [0, 1] ``(N, C, H, W)``: ``(N,)``. Exact for the
        standard and KAT-GMM priors; for LDA the ELBO, or with ``samples`` the
        importance-weighted bound."""
        _, factored, coarse, logdet = self._forward(x)
        words = self.to_words(coarse)
        prior = self.prior.log_prob(words, samples=samples)
        return standard_normal_log_prob(factored) + prior + logdet

    def dequantize(self, x: Tensor, *, noise: Tensor | None = None) -> Tensor:
        """8-bit values 0..255 -> ``(x + u) / 256``, ``u ~ U[0, 1)``, in the model's dtype.

        ``noise`` gives ``u`` (the shape of ``x``), so a trainer can make it reproducible."""
        x = x.to(self.param_dtype)
        u = torch.rand_like(x) if noise is None else noise.to(x.dtype)
        return (x + u) / 256.0

    def bin_centres(self, x: Tensor) -> Tensor:
        """8-bit values 0..255 -> the centres of their bins ``(x + 0.5) / 256``: deterministic
        continuous inputs for read-outs (maps, clustering)."""
        return (x.to(self.param_dtype) + 0.5) / 256.0

    @property
    def param_dtype(self) -> torch.dtype:
        """The parameters' floating dtype (float32 or float64)."""
        return next(self.parameters()).dtype

    def bits_per_dim(
        self, x: Tensor, *, samples: int | None = None, noise: Tensor | None = None
    ) -> Tensor:
        """Bits per dimension of 8-bit data ``x`` (values 0..255) under uniform
        dequantisation: ``-(log p((x + u)/256) - D log 256) / (D log 2)``, ``(N,)``;
        ``noise`` gives ``u``."""
        log_p = self.log_prob(self.dequantize(x, noise=noise), samples=samples)
        return -(log_p - self.dims * math.log(256.0)) / (self.dims * math.log(2.0))

    def loss(
        self, x: Tensor, *, noise: Tensor | None = None, anti_collapse: float | Tensor = 0.0
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """Training loss on 8-bit ``x``: mean bits/dim + ``l2`` x mean ``||z - x~||^2``
        (+ ``anti_collapse`` x the balance term for the LDA prior); ``noise``
        is the dequantisation noise (see :meth:`dequantize`); ``anti_collapse`` may be a
        ``()`` tensor, so a compiled step does not specialise on (and recompile for) its
        annealed value.

        Under ``torch.compile`` the step is one graph once the first batch has initialised
        actnorm and the topics (eagerly, before compiling): the initialised checks are
        Python bools and the topic count is a one-hot sum of static shape.

        ``x~`` is the logit-space input, so the structure term asks each latent to stay
        near the pixel it came from: the flow cannot move words between grid components
        for free. The balance term, against all documents taking the same topics, is as
        ``model.balance`` says: ``usage``, ``KL(batch mean topic usage || uniform)``
        (:meth:`LdaPrior.usage_kl`); ``sinkhorn``, the cross-entropy of the documents'
        topic proportions to their Sinkhorn equipartition
        (:meth:`LdaPrior.sinkhorn_cross_entropy`).

        Returns:
            The loss ``()`` and detached parts: ``bits_per_dim``, ``l2`` and, for LDA,
            ``usage_kl`` (nats) and ``topics_used`` (topics that are the arg-max of at
            least 1/(4K) of the batch's documents).
        """
        y, factored, coarse, logdet = self._forward(self.dequantize(x, noise=noise))
        words = self.to_words(coarse)
        prior, balance, extra = self.prior.training_terms(words)
        log_p = standard_normal_log_prob(factored) + prior + logdet
        bpd = -(log_p - self.dims * math.log(256.0)) / (self.dims * math.log(2.0))
        z = unsqueeze(torch.cat([factored, coarse], dim=1))
        structure = (z.float() - y.float()).square().flatten(1).mean(1)
        total = bpd.mean() + self.config.l2 * structure.mean() + anti_collapse * balance
        parts = {"bits_per_dim": bpd.detach().mean(), "l2": structure.detach().mean()}
        return total, {**parts, **extra}

    @torch.no_grad()
    def fit_topics(self, x: Tensor, *, seed: int = 0) -> None:
        """Refit the LDA topics to the words of 8-bit ``x`` ``(N, C, H, W)`` under the
        current flow (:meth:`LdaPrior.initialize`): after a warm-up the flow's words mean
        more than those of the first batch under the untrained flow."""
        if not self.prior.fittable:  # refuse before the pass through the flow
            raise ValueError("only the lda prior has topics to fit")
        _, _, coarse, _ = self._forward(self.bin_centres(x))
        self.prior.fit(self.to_words(coarse), seed=seed)

    # --- generation and read-outs -------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int, *, topic: int | None = None) -> Tensor:
        """``n`` samples in [0, 1] ``(n, C, H, W)``; ``topic`` draws every word from one
        topic (LDA) or one component (KAT-GMM)."""
        c, h, w = self.config.in_shape
        words = self.prior.sample(n, topic=topic)
        coarse = self.from_words(words)
        factored = torch.randn(n, 2 * c, h // 2, w // 2, device=coarse.device)
        z = unsqueeze(torch.cat([factored, coarse], dim=1))
        return self.decode(z.to(self.param_dtype)).clamp(0, 1)

    @torch.no_grad()
    def topic_posterior(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Topic proportions ``(N, K)`` and confidence ``(N,)`` (the largest proportion) of
        ``x`` in [0, 1]. For KAT-GMM the "topics" are the components (mean word
        responsibilities)."""
        _, _, coarse, _ = self._forward(x)
        proportions = self.prior.proportions(self.to_words(coarse))
        return proportions, proportions.max(-1).values

    @torch.no_grad()
    def score(self, x: Tensor, *, words: bool = False) -> Scores:
        """``log p(x)`` (as :meth:`log_prob`), its maps (:meth:`density_maps`), the topic
        proportions (as :meth:`topic_posterior`; none for a prior without topics) and with
        ``words`` the word topics (as :meth:`word_topics`) of ``x`` in [0, 1] ``(N, C, H,
        W)``, from one pass of the flow."""
        density, coded = self._density(x)
        log_p = sum(part.flatten(1).sum(1) for part in density.values())
        if self.prior.has_topics:
            proportions = self.prior.proportions(coded)
        else:
            proportions = torch.zeros(len(x), 0, device=x.device)
        field = self._word_field(coded) if words else None
        return Scores(log_p, proportions, density, field)  # type: ignore[arg-type]

    @torch.no_grad()
    def density_maps(self, x: Tensor) -> dict[str, Tensor]:
        """``log p(x)`` position by position, in three parts, each ``(N, H, W)`` nats summed
        over the channels, that add up over the positions to :meth:`log_prob` (for LDA the
        ELBO):

        * ``logdet``: the log-det of the whole bijection where it arises (the logit's per
          pixel, each coupling's log-scale on the elements it moves, actnorm and 1x1
          convolutions spread evenly over their positions), un-squeezed to pixels;
        * ``factored``: the standard-normal log-density of the factored-out latent;
        * ``prior``: each word's term (:meth:`Prior.word_log_prob`), shared evenly among
          the ``2 word x 2 word`` pixels it covers.
        """
        return self._density(x)[0]

    def _density(self, x: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        """The density maps and the words of ``x``."""
        y, outer = self.logit.forward_map(x)
        h, fractal = self.fractal.forward_map(y)
        h, mid = self.mid.forward_map(squeeze(h))
        factored, kept = h.chunk(2, dim=1)
        coarse, last = self.coarse.forward_map(kept)
        words = self.to_words(coarse)
        wide = mid.dtype
        gauss = -0.5 * factored.to(wide).square() - 0.5 * math.log(2 * math.pi)
        per_word = self.prior.word_log_prob(words).to(wide) / self.word_dim  # (N, B)
        prior = self.from_words(per_word.unsqueeze(-1).expand(-1, -1, self.word_dim))
        nothing = torch.zeros_like(gauss)
        density = {
            "logdet": (outer + fractal).sum(1)
            + unsqueeze(mid + torch.cat([nothing, last], dim=1)).sum(1),
            "factored": unsqueeze(torch.cat([gauss, nothing], dim=1)).sum(1),
            "prior": unsqueeze(torch.cat([nothing, prior], dim=1)).sum(1),
        }
        return density, words

    @torch.no_grad()
    def word_topics(self, x: Tensor) -> Tensor:
        """Topic responsibilities of each word of ``x`` in [0, 1], laid out where the words
        sit in the input: ``(N, K, H / (2 word), W / (2 word))`` (LDA prior only); a word
        covers ``2 word x 2 word`` input pixels."""
        _, _, coarse, _ = self._forward(x)
        return self._word_field(self.to_words(coarse))

    def _word_field(self, words: Tensor) -> Tensor:
        phi = self.prior.word_topics(words)  # (N, B, K)
        _, h, w = self.config.in_shape
        side = 2 * self.config.word
        return phi.transpose(1, 2).reshape(len(words), -1, h // side, w // side)
