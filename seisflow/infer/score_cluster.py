"""The flow pass over the mapping tiling (:func:`~seisflow.infer.score.score_patches`), run on
the workers of a Dask distributed cluster: ``seisflow map --scheduler ADDRESS``.

The flow (on the CPU, in eval mode) and the patch stream travel to every worker once
(``scatter(broadcast=True)``); each task then reads and scores one contiguous span of the
stream's deterministic pass and returns its rows, and the spans are gathered in order::

    units  |--u0--|----u1----|--u2--|---u3---|-u4-|      chunk columns, in the pass's order
    batches |  b0  |  b1  |  b2  |  b3  |  b4  | b5|     batch_size patches each
    spans   |      task 0        |    task 1      |     cut at the batch edge before a unit edge

A span holds a few neighbouring units, so a task reads each of their chunks about once
(:meth:`PatchStream.batches`), and it starts on a batch edge, so its batches are exactly the
ones :func:`score_patches` scores: the table is the same, array for array. A unit cut by a
span edge is read by both tasks (one unit more per task).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from seisflow.infer.score import PatchRows, PatchTable, TableFill, patch_table, score_batch
from seisflow.ingest.normalize import Normalization
from seisflow.ingest.patches import PatchSpec
from seisflow.ingest.stream import PatchStream
from seisflow.models import FractalFlow, build_flow
from seisflow.storage import StoreLike

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["TASKS_PER_THREAD", "score_on_cluster", "spans"]

#: Tasks per worker thread (at least 8 tasks in all): enough that slow ones even out.
TASKS_PER_THREAD = 4


def score_on_cluster(
    client: Client,
    flow: FractalFlow,
    store: StoreLike,
    spec: PatchSpec,
    *,
    normalization: Normalization,
    batch_size: int = 256,
    words: bool = False,
    density: bool = False,
    topics: bool = True,
    progress: bool = False,
    tasks: int | None = None,
) -> PatchTable:
    """:func:`~seisflow.infer.score.score_patches` on the workers of ``client``: the same
    table (same rows, same order, equal arrays when the workers' CPUs compute as this one's).

    Args:
        client: A client of the cluster (:func:`seisflow.cluster.connect`).
        flow: A trained flow, on any device: it is scored on the workers' CPUs.
        store: A survey store (a path, or a :class:`~seisflow.storage.Location`) that every
            worker can read.
        spec: The mapping tiling.
        normalization: The run's input normalisation.
        batch_size: Patches per forward pass.
        words: Also keep the word responsibilities (LDA prior only).
        density: Also keep the density maps.
        topics: Ask the prior for topic proportions (see :func:`score_patches`).
        progress: Show a progress bar on stderr (patches of the tasks done).
        tasks: Number of tasks (default: :data:`TASKS_PER_THREAD` per worker thread, at
            least 8); never more than the stream has units.
    """
    if words and not topics:
        raise ValueError("word responsibilities need topics: pass topics=True")
    stream = PatchStream(store, spec, shuffle=False, return_positions=True,
                         batch_size=batch_size, normalization=normalization)  # fmt: skip
    if tasks is None:
        tasks = max(8, TASKS_PER_THREAD * sum(client.nthreads().values()))
    parts = spans(list(stream.units().values()), batch_size, tasks)
    model, data = (client.scatter(x, broadcast=True, hash=False)
                   for x in (_on_cpu(flow), stream))  # fmt: skip
    futures = [client.submit(_score_span, model, data, start, stop, words=words,
                             density=density, topics=topics, pure=False)
               for start, stop in parts]  # fmt: skip
    try:
        if progress:
            from distributed import as_completed

            size = {f.key: stop - start for f, (start, stop) in zip(futures, parts, strict=True)}
            with tqdm(total=len(stream), desc="map: score", unit="patch") as bar:
                for future in as_completed(futures, loop=client.loop):
                    bar.update(size[future.key])
        rows: list[PatchRows] = client.gather(futures)
    finally:
        client.cancel([*futures, model, data])
    return patch_table(rows, spec)


def spans(counts: list[int], batch_size: int, tasks: int) -> list[tuple[int, int]]:
    """At most ``tasks`` contiguous ``(start, stop)`` ranges of a pass whose units hold
    ``counts`` patches, covering it in order: each about as many units, cut at the batch edge
    at or before a unit edge (ranges that would be empty are dropped)."""
    ends = np.cumsum(counts)
    edges = np.linspace(0, len(counts), min(tasks, len(counts)) + 1).round().astype(int)
    cuts = ends[edges[1:-1] - 1] // batch_size * batch_size
    bounds = np.unique(np.concatenate([[0], cuts, ends[-1:]])).tolist()
    return list(itertools.pairwise(bounds))


def _on_cpu(flow: FractalFlow) -> FractalFlow:
    """The flow in eval mode on the CPU: itself when it is there, else a copy."""
    if next(flow.parameters()).device.type == "cpu":
        return flow.eval()
    copy = build_flow(flow.config, dtype=flow.param_dtype)
    copy.load_state_dict(flow.state_dict())
    return copy.eval()


def _score_span(
    flow: FractalFlow,
    stream: PatchStream,
    start: int,
    stop: int,
    *,
    words: bool,
    density: bool,
    topics: bool,
) -> PatchRows:
    """On a worker: the rows of patches ``start:stop`` of ``stream``'s pass, scored batch by
    batch into one table's columns (:class:`~seisflow.infer.score.TableFill`).

    Torch runs one thread in each worker thread (its threads run tasks side by side); the
    flow is the worker's copy, shared by its threads (inference only: nothing changes it).
    """
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    fill = TableFill(stop - start)
    with torch.inference_mode():
        for codes, where in stream.batches(start, stop):
            fill.add(score_batch(flow, codes.numpy(), where.numpy(), words=words,
                                 density=density, topics=topics))  # fmt: skip
    return fill.rows()
