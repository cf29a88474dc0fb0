"""seisflow: facies and anomaly maps from post-stack seismic surveys.

SEG-Y surveys are ingested into a georeferenced Zarr store, patches stream to a hierarchical
normalizing flow, and facies, confidence and anomaly layers are written back. Importing this
package is cheap: submodules (and torch, xarray) load only when used. The ``ds.seisflow``
accessor is registered on first use of ``seisflow.open_survey`` / :mod:`seisflow.ingest`,
or by ``import seisflow.accessor`` (for datasets opened with xarray directly).
"""

from seisflow._version import __version__
from seisflow.errors import SeisflowError
from seisflow.synth.config import SynthConfig

__all__ = [
    "SeisflowError",
    "SynthConfig",
    "__version__",
    "describe",
    "open_survey",
    "segy_to_zarr",
    "synthesize",
]

_LAZY = {
    "synthesize": "seisflow.synth",
    "open_survey": "seisflow.ingest",
    "segy_to_zarr": "seisflow.ingest",
    "describe": "seisflow.ingest",
}


def __getattr__(name: str) -> object:
    """Import the public functions on first use, so ``import seisflow`` stays light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seisflow' has no attribute {name!r}")
