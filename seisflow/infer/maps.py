"""Facies, confidence and anomaly maps of a survey from a trained flow.

The recipe: check the layers asked for are free (or --overwrite) -> load the run -> check
its patches fit the store -> take the store's writer lock -> score every patch of the
deterministic mapping tiling (every patch with a live trace), keeping one small row per
patch (topic proportions and an anomaly score; :mod:`seisflow.infer.score`) in memory-mapped
files (:mod:`seisflow.infer.table_folder`), saved beside the store as they come so an
interrupted map resumes (:mod:`seisflow.infer.saved_scores`) -> stitch the rows to every
sample, chunk by chunk, as a Dask graph (overlapping patches averaged; memory bounded by a
chunk and the table's lookups; :mod:`seisflow.infer.stitch`) -> write the layers
atomically (:func:`seisflow.infer.writeback.write_layer`) -> remove the saved scores.

The scoring and stitching live in their own modules and are re-exported here, so
``from seisflow.infer.maps import score_patches, stitch`` keeps working.
"""

from __future__ import annotations

import contextlib
import sys
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from seisflow.errors import ConfigError, InputFileError, OutputPathError
from seisflow.infer.contrast import sourced_lateral_contrast
from seisflow.infer.facies_readout import Readout, facies_layer, facies_layers, facies_values
from seisflow.infer.fused import (
    FLOW_WEIGHT,
    FUSION_RADIUS,
    HINT_THRESHOLD,
    HINTS,
    anomaly_hint,
    envelope_contrast,
    fuse,
)
from seisflow.infer.saved_scores import SavedScores, scores_key, scores_location
from seisflow.infer.score import PatchTable, compressor_bits_per_dim, score_patches
from seisflow.infer.score_cluster import score_on_cluster
from seisflow.infer.stitch import (
    patch_grid,
    reduce_argmax,
    reduce_first,
    reduce_max,
    reduce_words,
    stitch,
    stitched_source,
)
from seisflow.infer.table_folder import table_folder
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.store import open_survey
from seisflow.memory import release_freed_memory
from seisflow.models import FractalFlow
from seisflow.runs import Run, open_run
from seisflow.storage import StoreLike

__all__ = [
    "LAYERS",
    "AnomalyReadout",
    "PatchTable",
    "Readout",
    "compressor_bits_per_dim",
    "facies_layer",
    "facies_values",
    "layer_names",
    "map_survey",
    "patch_grid",
    "reduce_argmax",
    "reduce_first",
    "reduce_max",
    "reduce_words",
    "score_patches",
    "stitch",
]

#: The layers :func:`map_survey` can write (``facies`` brings ``facies_confidence``).
LAYERS: tuple[str, ...] = ("facies", "anomaly", "topic_proportions")
#: Anomaly read-outs. ``fused`` (the default): the envelope's lateral contrast plus half the
#: flow's (:mod:`seisflow.infer.fused`, over +-16 traces), the best read-out measured on
#: surveys never tuned on; ``contrast``: the robust lateral z-score
#: (:mod:`seisflow.infer.contrast`, over +-:data:`CONTRAST_RADIUS` traces) of the patch score
#: alone, two-sided, so a trace simpler than its neighbours (a dead one) stands out as much
#: as a more complex one; samples only patches holding fill values cover (next to missing
#: traces) take 0 and stay out of their neighbours' medians; ``patch``: the patch score
#: itself (flow bits/dim minus zlib bits/dim, averaged over the covering patches). Every
#: read-out writes ``anomaly_hint`` beside ``anomaly`` (:func:`seisflow.infer.fused.anomaly_hint`).
AnomalyReadout = Literal["fused", "contrast", "patch"]
CONTRAST_RADIUS = 8
#: ``facies_confidence`` attributes: of the flow's read-outs (False) and of ``lda`` (True).
CONFIDENCE_ATTRS = {
    False: {"long_name": "largest mean topic proportion", "valid_range": [0, 1]},
    True: {"long_name": "probability of the facies (LDA word topics)", "valid_range": [0, 1]},
}


def check_fits(
    store: StoreLike, survey: Any, flow: FractalFlow, spec: PatchSpec, run: str | Path
) -> None:
    """Raise a clear error when the run's patches do not suit the store (opened: ``survey``)."""
    if tuple(flow.config.in_shape) != spec.shape:
        raise ConfigError(
            f"{run} was trained on {list(flow.config.in_shape)} patches, not {list(spec.shape)}:"
            " map with the run's patch size (leave --patch-size out) or train on that size"
        )
    if min(survey.amplitude.shape[1:]) < spec.size:
        raise InputFileError(
            f"{store}: its grid {survey.amplitude.shape} is smaller than the run's "
            f"{spec.size}-sample patches: map a larger survey or train on smaller patches"
        )


def _provenance(run: Run, config: dict[str, Any], spec: PatchSpec) -> dict[str, Any]:
    import datetime

    from seisflow._version import __version__

    return {
        "seisflow:model_sha256": run.sha256(),
        "seisflow:run": str(run.path),
        "seisflow:config": config,
        "seisflow:patch": {
            "size": spec.size,
            "stride": spec.stride,
            "axis": spec.axis,
            "time_window": spec.time_window,
            "depth3d": spec.depth3d,
        },
        "seisflow:version": __version__,
        "seisflow:created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def _proportions_grid(
    table: PatchTable, survey: Any, shape: tuple[int, int, int], live: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`patch_grid` as ``(values, coords)`` for
    :func:`~seisflow.infer.writeback.write_grid`: the grid's line numbers and times."""
    axes, values = patch_grid(table, shape, live)
    names = [*survey.amplitude.dims, "topic"]
    coords = {f"patch_{n}": survey[n].values[a] for n, a in zip(names, axes, strict=False)}
    coords["topic"] = np.arange(values.shape[-1], dtype=np.int32)
    return values, coords


def layer_names(layers: tuple[str, ...], survey: Any) -> list[str]:
    """Every array that mapping ``layers`` writes into the store (opened: ``survey``):
    ``facies`` brings ``facies_confidence``, ``anomaly`` brings ``anomaly_hint``;
    ``topic_proportions`` brings its coordinate
    arrays (``patch_<axis>`` of each axis and ``topic``)."""
    names: list[str] = []
    if "facies" in layers:
        names += ["facies", "facies_confidence"]
    if "anomaly" in layers:
        names += ["anomaly", "anomaly_hint"]
    if "topic_proportions" in layers:
        names += ["topic_proportions", *(f"patch_{d}" for d in survey.amplitude.dims), "topic"]
    return names


def _check_free(store: StoreLike, survey: Any, layers: tuple[str, ...], overwrite: bool) -> None:
    """Refuse, naming every one of them, the layers ``store`` already has (unless
    ``overwrite``): before any model is loaded or patch scored."""
    if overwrite:
        return
    taken = [name for name in layer_names(layers, survey) if name in survey.variables]
    if not taken:
        return
    coordinates = set(layer_names(("topic_proportions",), survey)) - {"topic_proportions"}
    parts = [f"{'an' if name[0] in 'aeiou' else 'a'} {name} "
             f"{'coordinate' if name in coordinates else 'layer'}" for name in taken]  # fmt: skip
    what = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    raise OutputPathError(
        f"{store} already has {what}: pass --overwrite to replace "
        f"{'it' if len(taken) == 1 else 'them'}, or leave {'it' if len(taken) == 1 else 'them'} "
        "out of --layers"
    )


def _facies_layers(
    table: PatchTable, survey: Any, readout: Readout, attrs: dict[str, Any]
) -> dict[str, tuple[Any, dict[str, Any]]]:
    """``facies`` by ``readout`` and ``facies_confidence`` (lazy), each with its attributes."""
    facies, confidence = facies_layers(table, survey, readout)
    return {"facies": (facies, attrs),
            "facies_confidence": (confidence, CONFIDENCE_ATTRS[readout == "lda"])}  # fmt: skip


def _anomaly_layers(
    table: PatchTable, survey: Any, readout: AnomalyReadout, attrs: dict[str, Any]
) -> dict[str, tuple[Any, dict[str, Any]]]:
    """``anomaly`` by ``readout`` and ``anomaly_hint`` (lazy), each with its attributes."""
    shape = tuple(int(n) for n in survey.amplitude.shape)
    chunks, live = survey.amplitude.data.chunks, survey.trace_mask.values
    source = stitched_source(table, table.anomaly, live)  # each chunk stitches its own halo
    flow = sourced_lateral_contrast(source, shape, chunks, live, radius=FUSION_RADIUS)
    envelope = envelope_contrast(survey, radius=FUSION_RADIUS)
    if readout == "fused":
        layer = fuse(flow, envelope)
    elif readout == "contrast":
        layer = sourced_lateral_contrast(source, shape, chunks, live, radius=CONTRAST_RADIUS)
    else:  # the stitched patch score itself
        layer = stitch(table, chunks, reduce_first, values=table.anomaly[:, None], live=live,
                       dtype=np.float32)  # fmt: skip
    hint_attrs = {
        "long_name": "anomaly hint: which lateral z-score dominates",
        "flag_values": list(range(len(HINTS))),
        "flag_meanings": " ".join(HINTS),
        "description": f"where |e| + {FLOW_WEIGHT} f >= {HINT_THRESHOLD} (e, f: the lateral "
        f"z-scores over +-{FUSION_RADIUS} traces of the log envelope and of the patch score): "
        "amplitude_high / amplitude_low where |e| dominates (e above / below the neighbours), "
        "incoherent where the flow's term does; none elsewhere; -1 where no trace",
    }
    return {"anomaly": (layer, attrs), "anomaly_hint": (anomaly_hint(flow, envelope), hint_attrs)}


def _writing(name: str, progress: bool, client: Any) -> contextlib.AbstractContextManager[Any]:
    """A progress bar over the Dask tasks that stitch and write layer ``name`` (local
    schedulers only: a distributed scheduler shows its progress on its dashboard)."""
    if not progress or client is not None:
        return contextlib.nullcontext()
    from tqdm import tqdm
    from tqdm.dask import TqdmCallback

    return TqdmCallback(tqdm_class=tqdm, desc=f"map: stitch+write {name}", unit="task")


def _plan(
    table: PatchTable, layers: tuple[str, ...], readout: Readout, anomaly: AnomalyReadout
) -> dict[str, dict[str, Any]]:
    """The layers on the amplitude grid to write, in order, with their attributes:
    ``facies`` (with ``facies_confidence``: :func:`facies_layers`) and ``anomaly`` (with
    ``anomaly_hint``: :func:`_anomaly_layers`)."""
    from seisflow.infer.palette import cycled_colours

    k = table.proportions.shape[1]
    plan: dict[str, dict[str, Any]] = {}
    if "facies" in layers:
        label, what = {"cluster": ("facies", "clusters of the smoothed topic proportions"),
                       "lda": ("facies", "topics of attribute words, LDA")}.get(
                           readout, ("topic", "arg-max topic"))  # fmt: skip
        facies_attrs = {
            "long_name": f"seismic facies ({what})",
            "seisflow:readout": readout,
            "flag_values": list(range(k)),
            "flag_meanings": " ".join(f"{label}_{t}" for t in range(k)),
            "colors": cycled_colours(k),
        }
        plan["facies"] = facies_attrs
    if "anomaly" in layers:
        anomaly_attrs = {"long_name": "anomaly score: flow bits/dim minus zlib bits/dim",
                         "units": "bit", "seisflow:anomaly_readout": anomaly}  # fmt: skip
        if anomaly == "contrast":
            anomaly_attrs.update(
                long_name="anomaly: lateral z-score of the patch score", units="1",
                description=f"robust lateral z-score over +-{CONTRAST_RADIUS} traces of the "
                "patch score (flow bits/dim minus zlib bits/dim)",
                **{"seisflow:contrast_radius": CONTRAST_RADIUS},
            )  # fmt: skip
        if anomaly == "fused":
            anomaly_attrs.update(
                long_name="anomaly: envelope and flow lateral z-scores fused", units="1",
                description=f"|e| + {FLOW_WEIGHT} f: e, f the robust lateral z-scores over "
                f"+-{FUSION_RADIUS} traces of the log envelope and of the patch score (flow "
                "bits/dim minus zlib bits/dim)",
                **{"seisflow:contrast_radius": FUSION_RADIUS, "seisflow:flow_weight": FLOW_WEIGHT},
            )  # fmt: skip
        plan["anomaly"] = anomaly_attrs
    return plan


def map_survey(
    store: StoreLike,
    run_dir: str | Path,
    *,
    stride: int | None = None,
    batch_size: int = 256,
    device: str = "auto",
    layers: tuple[str, ...] = ("facies", "anomaly"),
    overwrite: bool = False,
    scheduler: str | None = None,
    readout: Readout = "cluster",
    anomaly_readout: AnomalyReadout = "fused",
    progress: bool | None = None,
    save_every: float = 300.0,
) -> dict[str, Any]:
    """Write ``facies`` + ``facies_confidence``, ``anomaly`` and/or ``topic_proportions``
    layers into ``store``.

    Args:
        store: A survey store.
        run_dir: A run trained on survey patches (``seisflow train``).
        stride: Step between patch starts (default: the run's ``data.stride``).
        batch_size: Patches per forward pass.
        device: ``auto``, ``cpu`` or ``cuda``.
        layers: Any of ``facies`` (with ``facies_confidence``), ``anomaly`` and
            ``topic_proportions`` (on the patch grid, see :func:`patch_grid`); a
            standard-prior run (no topics) maps ``anomaly`` alone.
        overwrite: Replace existing layers.
        scheduler: Address of a Dask distributed scheduler whose workers score the patches
            (on their CPUs: :func:`~seisflow.infer.score_cluster.score_on_cluster`) and
            stitch and write the layers (None: here, and local threads).
        readout: How ``facies`` is read out (see :data:`Readout`).
        anomaly_readout: How ``anomaly`` is read out (see :data:`AnomalyReadout`).
        progress: Progress bars on stderr for the scoring and for the stitching and writing
            of each layer; None shows them when stderr is a terminal.
        save_every: Seconds between saves of the scores while scoring here (not on a
            cluster), beside the store: a map interrupted (killed, out of time) and started
            again with the same run, store and settings scores only the patches after the
            last save (:mod:`seisflow.infer.saved_scores`); removed once the layers are
            written.

    Returns:
        A summary: patches scored, seconds, traces/s and the layers written.

    Raises:
        ConfigError: Unknown layers, or layers or a read-out the run cannot give.
        OutputPathError: A layer asked for exists and ``overwrite`` is False (checked for
            every layer before anything is scored or written).
        StoreBusyError: Another process is writing the store.
    """
    import time

    from seisflow.cluster import connect
    from seisflow.config import to_dict
    from seisflow.infer.writeback import write_grid, write_layers
    from seisflow.locks import StoreLock

    unknown = sorted(set(layers) - set(LAYERS))
    if unknown or not layers:
        raise ConfigError(f"--layers {','.join(layers)}: choose from {','.join(LAYERS)}")
    progress = sys.stderr.isatty() if progress is None else progress
    began = time.perf_counter()
    run_dir = Path(run_dir)
    _check_free(store, open_survey(store), layers, overwrite)
    run = open_run(run_dir, device=device)
    flow, config = run.flow, run.config
    if config.model.prior == "standard" and set(layers) - {"anomaly"}:
        raise ConfigError(
            f"{run_dir} has the standard prior, which has no topics: map --layers anomaly, or "
            "train with model.prior=lda for facies"
        )
    if readout == "word" and config.model.prior != "lda":
        raise ConfigError(f"--readout word needs an lda run; {run_dir} has {config.model.prior}")
    data = config.data
    spec = PatchSpec(size=data.size, axis=data.axis, stride=stride or data.stride,
                     time_window=data.time_window, depth3d=data.depth3d)  # fmt: skip
    check_fits(store, open_survey(store), flow, spec, run_dir)
    with contextlib.ExitStack() as stack:
        client = stack.enter_context(connect(scheduler)) if scheduler else None  # fail early
        lock = stack.enter_context(StoreLock(store, purpose="seisflow map"))
        survey = open_survey(store)  # as it is now that no other writer can change it
        _check_free(store, survey, layers, overwrite)
        normalization = run.normalization(store)
        topics, words = set(layers) != {"anomaly"}, readout == "word" and "facies" in layers
        saved = None  # the scores saved as they come: here only, not on a cluster
        if client is None:
            key = scores_key(model_sha256=run.sha256(), survey=survey, spec=spec,
                             normalization=normalization.as_dict(), batch_size=batch_size,
                             words=words, topics=topics)  # fmt: skip
            saved = SavedScores(scores_location(store), key=key, every=save_every)
            stack.push(saved.exit)  # kept when interrupted, cleared on an error
            folder = stack.enter_context(table_folder(store))  # the table's columns: files
            score = partial(score_patches, saved=saved, folder=folder)
        else:
            score = partial(score_on_cluster, client)
        table = score(flow, store, spec, normalization=normalization, batch_size=batch_size,
                      topics=topics, words=words, progress=progress)  # fmt: skip
        release_freed_memory()  # the scoring's freed batches, before the layers allocate
        shape = tuple(int(n) for n in survey.amplitude.shape)
        live = survey.trace_mask.values
        provenance = {**_provenance(run, to_dict(config), spec),
                      "seisflow:normalization": normalization.as_dict()}  # fmt: skip
        plan = _plan(table, layers, readout, anomaly_readout)
        written: list[str] = []
        if "topic_proportions" in layers:
            write_grid(store, "topic_proportions", *_proportions_grid(table, survey, shape, live),
                       attrs={"long_name": "mean topic proportions on the patch grid",
                              "valid_range": [0, 1], **provenance},
                       overwrite=overwrite, lock=lock)  # fmt: skip
        for name, attrs in plan.items():
            if name == "facies":  # facies and facies_confidence: one write
                outputs = _facies_layers(table, survey, readout, attrs)
            else:  # anomaly and anomaly_hint share their work: one write
                outputs = _anomaly_layers(table, survey, anomaly_readout, attrs)
            written += outputs
            with _writing(", ".join(outputs), progress, client):
                write_layers(store, {out: (values, {**extra, **provenance})
                                     for out, (values, extra) in outputs.items()},
                             overwrite=overwrite, scheduler=client, lock=lock)  # fmt: skip
            del outputs  # its graph holds this pass's patch lookup: freed before the next
        if saved is not None:
            saved.clear()  # every layer is written: the scores are not needed again
    seconds = time.perf_counter() - began
    traces = int(survey.trace_mask.values.sum())
    written += [n for n in layers if n == "topic_proportions"]
    return {"store": str(store), "layers": written, "patches": len(table.positions),
            "seconds": seconds, "traces_per_s": traces / seconds}  # fmt: skip
