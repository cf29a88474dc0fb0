"""seisflow: facies and anomaly maps from post-stack seismic surveys.

SEG-Y surveys are ingested into a georeferenced Zarr store, patches stream to a hierarchical
normalizing flow, and facies, confidence and anomaly layers are written back. Importing this
package is cheap: submodules (and torch) load only when used.
"""

from seisflow._version import __version__
from seisflow.config import SynthConfig
from seisflow.errors import SeisflowError

__all__ = ["SeisflowError", "SynthConfig", "__version__", "synthesize"]


def __getattr__(name: str) -> object:
    if name == "synthesize":
        from seisflow.synth import synthesize

        return synthesize
    raise AttributeError(f"module 'seisflow' has no attribute {name!r}")
