"""Inference: result layers of a trained flow written back into the survey store.

* :mod:`.score`: one pass of the flow over the mapping tiling (a row per patch, optional
  density maps); :mod:`.stitch`: rows to samples, chunk by chunk; :mod:`.maps`: the recipe of
  ``seisflow map``; :mod:`.writeback`: atomic layer writes; :mod:`.palette`: colour tables.
* :mod:`.contrast`: the two-sided lateral z-score of the anomaly layer; :mod:`.median`: the
  lateral median it is taken from.
* :mod:`.attributes`: per-sample QC attributes; :mod:`.qc`: the QC IsolationForest baseline.
* :mod:`.evaluate` and :mod:`.seeds`: scores against a synthetic truth, beside baselines.
"""

from seisflow.infer.writeback import remove_layer, write_layer

__all__ = ["remove_layer", "write_layer"]
