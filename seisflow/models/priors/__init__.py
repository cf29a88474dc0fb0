"""Priors over the coarsest latent, split into ``B`` words of ``D`` dimensions.

Every prior has ``log_prob(words) -> (N,)`` (nats) and ``sample(n) -> (n, B, D)``; words are
``(N, B, D)`` and computed in float32 or wider (safe under bf16 autocast).
"""

from seisflow.models.priors.grid import GridComponents
from seisflow.models.priors.kat_gmm import KatGmmPrior
from seisflow.models.priors.lda import LdaPrior
from seisflow.models.priors.standard import StandardPrior

__all__ = ["GridComponents", "KatGmmPrior", "LdaPrior", "StandardPrior"]
