"""Facies read-outs: how a sample's facies is read from the flow's patch table.

``patch``, ``word``, ``cluster`` (the default) and ``lda`` are described at
:data:`Readout`; :func:`facies_layers` gives the lazy facies and confidence layers of each,
:func:`facies_values` what :func:`~seisflow.infer.stitch.stitch` averages for the stitched
ones.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from seisflow.infer.facies_cluster import cluster_layers
from seisflow.infer.score import PatchTable
from seisflow.infer.stitch import Reduce, reduce_argmax, reduce_max, reduce_words, stitch
from seisflow.infer.word_facies import lda_facies

__all__ = ["Readout", "facies_layer", "facies_layers", "facies_values"]

#: Facies read-outs. ``patch``: a sample takes the arg-max of the mean topic proportions of
#: the patches covering it (inline and crossline patches alike);
#: ``word`` (LDA only): of the
#: two topics with the largest mean proportions there, the one the words covering the
#: sample favour (mean topic responsibilities), so a sample between two units takes one of
#: their two topics, never a third, and the boundary follows the words, not the patch grid;
#: ``cluster`` (the default, measured best): k-means on the mean topic proportions,
#: box-smoothed (:mod:`seisflow.infer.facies_cluster`); ``lda``: topics of attribute words
#: in long multi-scale documents (:mod:`seisflow.infer.word_facies`): the flow takes no part.
Readout = Literal["patch", "word", "cluster", "lda"]


def facies_layer(table: PatchTable, survey: Any, readout: Readout) -> Any:
    """The facies of every sample of ``survey`` by ``readout``: a lazy int16 Dask array,
    -1 where no trace."""
    if readout == "cluster":
        return cluster_layers(table, survey)[0]
    if readout == "lda":
        return lda_facies(survey, k=table.proportions.shape[1])[0]
    values, reduce = facies_values(table, readout)
    return stitch(table, survey.amplitude.data.chunks, reduce, values=values,
                  live=survey.trace_mask.values, dtype=np.int16)  # fmt: skip


def facies_values(table: PatchTable, readout: Readout) -> tuple[np.ndarray, Reduce]:
    """What :func:`stitch` averages for a facies read-out, and its reduction: the topic
    proportions ``(n, K)`` and :func:`reduce_argmax` (``patch``; ``cluster`` re-clusters
    them, :func:`facies_layer`), or the proportions spread
    over each patch followed by the word responsibilities, float16 ``(n, 2K, rows,
    columns)``, and :func:`reduce_words` (``word``)."""
    if readout in ("patch", "cluster", "lda"):
        return table.proportions, reduce_argmax
    if table.words is None:
        raise ValueError("the word read-out needs a table scored with words=True")
    n, k, rows, columns = table.words.shape
    spread = np.broadcast_to(table.proportions[:, :, None, None], (n, k, rows, columns))
    return np.concatenate([spread.astype(np.float16), table.words], axis=1), reduce_words


def facies_layers(table: PatchTable, survey: Any, readout: Readout) -> tuple[Any, Any]:
    """``facies`` (as :func:`facies_layer`) and ``facies_confidence``, both lazy: the largest
    mean topic proportion of the covering patches, or for ``lda`` the facies' probability."""
    if readout == "lda":
        return lda_facies(survey, k=table.proportions.shape[1])
    if readout == "cluster":  # the largest of the stitched proportions, one stitch for both
        return cluster_layers(table, survey)
    confidence = stitch(table, survey.amplitude.data.chunks, reduce_max,
                        values=table.proportions, live=survey.trace_mask.values,
                        dtype=np.float32)  # fmt: skip
    return facies_layer(table, survey, readout), confidence
