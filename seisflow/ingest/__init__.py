"""SEG-Y in and out, and the survey store (never imports :mod:`seisflow.models`).

* :func:`segy_to_zarr`: SEG-Y (or Seismic Unix) to a georeferenced Zarr survey store;
* :func:`open_survey`: open a store lazily with xarray; :func:`describe`: summarise one;
* opening a store registers the ``ds.seisflow`` accessor (:mod:`seisflow.accessor`);
* :mod:`.segy` reads with segyio/obspy, :mod:`.segy_writer` writes SEG-Y.
"""

import seisflow.accessor  # noqa: F401  (registers the ds.seisflow accessor)
from seisflow.ingest.convert import IngestReport, segy_to_zarr
from seisflow.ingest.segy import ByteLocations
from seisflow.ingest.store import describe, open_survey

__all__ = ["ByteLocations", "IngestReport", "describe", "open_survey", "segy_to_zarr"]
