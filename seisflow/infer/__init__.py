"""Inference: result layers of a trained flow written back into the survey store."""

from seisflow.infer.writeback import remove_layer, write_layer

__all__ = ["remove_layer", "write_layer"]
