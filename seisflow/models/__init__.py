"""The Fractal Flow model (tensors only; never imports :mod:`seisflow.ingest`).

* :mod:`.layers`: actnorm, squeeze, invertible 1x1 convolution, logit pre-processing;
* :mod:`.coupling`: affine couplings (checkerboard and channel masks);
* :mod:`.fractal`: fractal coupling over 2x2 quadrants, recursively;
* :mod:`.subnets`: ``cnn``, ``mlp`` and ``kan`` coupling networks;
* :mod:`.priors`: ``standard``, ``kat_gmm`` and ``lda`` priors over the coarsest latent;
* :mod:`.flow` and :func:`build_flow`: the whole model from a :class:`FlowConfig`.
"""

from seisflow.config import FlowConfig
from seisflow.models.build import build_flow
from seisflow.models.flow import FractalFlow

__all__ = ["FlowConfig", "FractalFlow", "build_flow"]
