"""Priors over the coarsest latent, split into ``B`` words of ``D`` dimensions.

Every prior is a :class:`Prior`: ``log_prob(words) -> (N,)`` (nats), ``sample(n) -> (n, B,
D)``, ``proportions`` / ``word_topics`` / ``fit`` where it has topics; words are ``(N, B,
D)`` and computed in float32 or wider (safe under bf16 autocast).
"""

from seisflow.models.priors.base import Prior
from seisflow.models.priors.grid import GridComponents
from seisflow.models.priors.kat_gmm import KatGmmPrior
from seisflow.models.priors.lda import LdaPrior
from seisflow.models.priors.standard import StandardPrior

__all__ = ["GridComponents", "KatGmmPrior", "LdaPrior", "Prior", "StandardPrior"]
