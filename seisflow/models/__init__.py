"""The Fractal Flow model (tensors only; never imports :mod:`seisflow.ingest`).

* :mod:`.config`: :class:`FlowConfig`, the model's settings (imports no tensors);
* :mod:`.layers`: actnorm, squeeze, invertible 1x1 convolution, logit pre-processing;
* :mod:`.coupling`: affine couplings (checkerboard and channel masks);
* :mod:`.fractal`: fractal coupling over 2x2 quadrants, recursively;
* :mod:`.subnets`: ``cnn``, ``mlp`` and ``kan`` coupling networks;
* :mod:`.priors`: ``standard``, ``kat_gmm`` and ``lda`` priors over the coarsest latent;
* :mod:`.flow` and :func:`build_flow`: the whole model from a :class:`FlowConfig`.

The names below are loaded when first used, so that importing :mod:`seisflow.models.config`
(as :mod:`seisflow.train.config` does) does not load torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seisflow._lazy import lazy_names

if TYPE_CHECKING:
    from seisflow.models.build import build_flow
    from seisflow.models.config import FlowConfig
    from seisflow.models.flow import FractalFlow

__all__ = ["FlowConfig", "FractalFlow", "build_flow"]

_WHERE = {
    "FlowConfig": "seisflow.models.config",
    "FractalFlow": "seisflow.models.flow",
    "build_flow": "seisflow.models.build",
}


__getattr__ = lazy_names(__name__, _WHERE)
