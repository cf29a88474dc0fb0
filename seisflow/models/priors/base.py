"""The interface every prior over the words of the coarsest latent implements.

:class:`~seisflow.models.FractalFlow` talks to its prior only through :class:`Prior`, so it
never asks which prior it holds: a prior says what it can do (``has_topics``, ``fittable``,
``ready``) and refuses what it cannot with a clear :class:`ValueError`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Prior"]


class Prior(nn.Module):
    """A density over ``n_words`` words of ``dim`` dimensions, words ``(N, B, D)``.

    Attributes:
        has_topics: Whether :meth:`proportions` gives each document a mixture over
            topics (LDA topics, KAT-GMM components).
        fittable: Whether :meth:`fit` fits the prior to data (the LDA topics).
        ready: Whether the prior is initialised, a plain Python bool (no data-dependent
            branch in a compiled step); a prior that needs no initialisation is always
            ready.
    """

    has_topics: bool = False
    fittable: bool = False
    ready: bool = True

    def log_prob(self, words: Tensor, *, samples: int | None = None) -> Tensor:
        """``log p(words)``: ``(N, B, D) -> (N,)`` nats. ``samples`` asks a prior whose
        density is a bound for an importance-weighted one; exact priors ignore it."""
        raise NotImplementedError

    def word_log_prob(self, words: Tensor) -> Tensor:
        """``log_prob`` word by word: ``(N, B, D) -> (N, B)`` nats, summing over the words to
        :meth:`log_prob` (a document-level term, like LDA's Dirichlet, is shared equally
        among the document's words)."""
        raise NotImplementedError

    def sample(self, n: int, *, topic: int | None = None) -> Tensor:
        """Words ``(n, B, D)``; ``topic`` draws every word from one topic."""
        raise NotImplementedError

    def training_terms(self, words: Tensor) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
        """What a training step needs: ``log p(words)`` ``(N,)``, the anti-collapse
        penalty ``()`` (zero without topics) and detached diagnostics to log."""
        return self.log_prob(words), torch.zeros((), device=words.device), {}

    def proportions(self, words: Tensor) -> Tensor:
        """Each document's topic proportions ``(N, K)``."""
        raise ValueError("this prior has no topics: use prior = lda or kat_gmm")

    def word_topics(self, words: Tensor) -> Tensor:
        """Each word's topic responsibilities ``(N, B, K)``."""
        raise ValueError("word topics need the lda prior")

    def fit(self, words: Tensor, *, seed: int = 0) -> None:
        """Fit the prior to the words ``(N, B, D)`` of ``N`` documents."""
        raise ValueError("only the lda prior has topics to fit")
