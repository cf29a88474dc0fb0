"""Plots with seismic conventions (matplotlib, object API: no pyplot state).

Every drawing function takes the ``Axes`` to draw into and returns what it drew, so it
works in scripts (``matplotlib.figure.Figure``), notebooks and the Agg backend alike.

* :mod:`.seismic`: sections (time downwards) and time slices with a symmetric percentile
  clip (a never-negative layer: a sequential map and a colour bar), categorical (facies)
  and continuous (anomaly) overlays;
* :mod:`.maps`: map views in X/Y (m, survey CRS) with a north arrow; the anomaly map with
  its top anomalies marked;
* :mod:`.ranking`: the top anomalies of a layer, ranked with non-maximum suppression;
* :mod:`.latent`: latent-space PCA scatter coloured by topic, sample mosaics per topic;
* :mod:`.training`: training curves from a run's ``metrics.jsonl``;
* :mod:`.anomaly_section`: an anomaly layer on a section, its top anomalies ringed;
* :mod:`.line2d`: sections of 2-D lines labelled by CDP and line name, with an axis of the
  true distance along the line;
* :mod:`.overview`: whole figures, returned for the caller to save: a survey's sections and
  slice with its synthetic truth, its facies and anomaly maps.
"""

from seisflow.viz.anomaly_section import anomaly_section
from seisflow.viz.latent import image_rows, latent_scatter, pca_2d, topic_samples
from seisflow.viz.line2d import distance_axis, line_title, section_labels
from seisflow.viz.maps import anomaly_map, map_view, mark_anomalies, north_arrow
from seisflow.viz.overview import map_overview, survey_overview
from seisflow.viz.ranking import top_anomalies
from seisflow.viz.seismic import (
    CATEGORY_COLOURS,
    NO_TRACE_COLOUR,
    SEQUENTIAL_CMAP,
    ColourScale,
    add_legend,
    categorical,
    category_colours,
    colour_scale,
    overlay,
    section,
    section_extent,
    seismic_cmap,
    slice_extent,
    symmetric_clip,
    time_slice,
)
from seisflow.viz.training import read_metrics, training_curves

__all__ = [
    "CATEGORY_COLOURS",
    "NO_TRACE_COLOUR",
    "SEQUENTIAL_CMAP",
    "ColourScale",
    "add_legend",
    "anomaly_map",
    "anomaly_section",
    "categorical",
    "category_colours",
    "colour_scale",
    "distance_axis",
    "image_rows",
    "latent_scatter",
    "line_title",
    "map_overview",
    "map_view",
    "mark_anomalies",
    "north_arrow",
    "overlay",
    "pca_2d",
    "read_metrics",
    "section",
    "section_extent",
    "section_labels",
    "seismic_cmap",
    "slice_extent",
    "survey_overview",
    "symmetric_clip",
    "time_slice",
    "top_anomalies",
    "topic_samples",
    "training_curves",
]
