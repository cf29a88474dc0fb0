"""Write a synthetic survey: the SEG-Y file and its ground-truth store, streamed by blocks.

The recipe: check the outputs -> build the survey -> open both outputs under temporary
names -> render, encode and write one block at a time -> rename both into place. Memory is
bounded by the block size, whatever the survey size.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import segyio

from seisflow._version import __version__
from seisflow.checksums import crc32_of
from seisflow.errors import OutputPathError
from seisflow.ingest.segy_writer import SegyWriter, text_header
from seisflow.outputs import (
    SEGY,
    TRUTH_STORE,
    claim_output,
    remove,
    replace_with,
    staging_path,
    writing,
)
from seisflow.synth.anomalies import ANOMALY_KINDS
from seisflow.synth.config import SynthConfig
from seisflow.synth.geology import FACIES
from seisflow.synth.geometry import Block
from seisflow.synth.render import RenderedBlock, Survey
from seisflow.synth.truth import create_truth, seal_truth, write_truth

__all__ = ["SynthResult", "synthesize", "truth_path"]

DEFAULT_BLOCK_SAMPLES = 4 * 1024 * 1024  # samples rendered at once (16 MB of float32)
TRACE_FIELDS = {
    "sequence_line": segyio.TraceField.TRACE_SEQUENCE_LINE,
    "sequence_file": segyio.TraceField.TRACE_SEQUENCE_FILE,
    "field_record": segyio.TraceField.FieldRecord,
    "cdp": segyio.TraceField.CDP,
    "cdp_trace": segyio.TraceField.CDP_TRACE,
    "trace_id": segyio.TraceField.TraceIdentificationCode,
    "scalar": segyio.TraceField.SourceGroupScalar,
    "source_x": segyio.TraceField.SourceX,
    "source_y": segyio.TraceField.SourceY,
    "coordinate_units": segyio.TraceField.CoordinateUnits,
    "samples": segyio.TraceField.TRACE_SAMPLE_COUNT,
    "interval": segyio.TraceField.TRACE_SAMPLE_INTERVAL,
    "cdp_x": segyio.TraceField.CDP_X,
    "cdp_y": segyio.TraceField.CDP_Y,
    "inline": segyio.TraceField.INLINE_3D,
    "crossline": segyio.TraceField.CROSSLINE_3D,
}
COORDINATE_SCALAR = -100  # coordinates stored in centimetres


@dataclass(frozen=True)
class SynthResult:
    """What :func:`synthesize` wrote."""

    segy: Path
    truth: Path
    traces: int
    bytes: int


def truth_path(segy: str | Path) -> Path:
    """The ground-truth store beside a synthetic SEG-Y file: ``OUT.sgy`` -> ``OUT.truth.zarr``."""
    segy = Path(segy)
    return segy.with_name(segy.stem + ".truth.zarr")


def synthesize(
    path: str | Path,
    config: SynthConfig | None = None,
    *,
    overwrite: bool = False,
    block_samples: int = DEFAULT_BLOCK_SAMPLES,
    progress: bool = False,
    workers: int = 2,
) -> SynthResult:
    """Write a synthetic post-stack survey and its ground truth.

    Args:
        path: The SEG-Y file to write; the truth goes to :func:`truth_path` of it.
        config: The survey (defaults to ``SynthConfig()``).
        overwrite: Replace existing outputs instead of refusing.
        block_samples: Samples rendered per block; memory use is proportional to it.
        progress: Show a progress bar on stderr.
        workers: Threads rendering blocks; ``workers + 1`` blocks are in memory at once.

    Returns:
        The paths written, the number of traces and the SEG-Y size in bytes.

    Raises:
        OutputPathError: When an output exists (without ``overwrite``) or cannot be written.
    """
    config = config or SynthConfig()
    segy, truth = _check_outputs(Path(path), truth_path(path), overwrite=overwrite)
    survey = Survey.from_config(config)
    grid = survey.grid
    blocks = list(grid.blocks(block_samples))
    writer = SegyWriter(
        segy,
        samples=grid.n_samples,
        interval_us=round(config.sample_interval_ms * 1000),
        format=config.format,
        text=text_header(_text_lines(config, truth.name)),
        binary={
            segyio.BinField.JobID: 1,
            segyio.BinField.LineNumber: int(grid.inlines[0]),
            segyio.BinField.Traces: grid.n_crosslines
            if config.sorting == "inline"
            else grid.n_inlines,
            segyio.BinField.EnsembleFold: 1,
            segyio.BinField.SortingCode: 4,  # horizontally stacked
            segyio.BinField.MeasurementSystem: 1,  # metres
        },
        fields=list(TRACE_FIELDS.values()),
        overwrite=True,
    )
    partial_truth = staging_path(truth, folder=True)
    with contextlib.ExitStack() as cleanup, writing(truth):
        cleanup.callback(remove, partial_truth)
        create_truth(str(partial_truth), survey, blocks[0])
        with writer, ThreadPoolExecutor(max_workers=workers) as pool:
            for rendered in _progress(
                _rendered(pool, survey, blocks, workers), progress, len(blocks)
            ):
                _write_traces(writer, survey, rendered)
                write_truth(str(partial_truth), rendered)
        seal_truth(partial_truth, segy_crc32=crc32_of(segy))
        replace_with(partial_truth, truth)
    return SynthResult(segy, truth, writer.traces_written, segy.stat().st_size)


def _check_outputs(segy: Path, truth: Path, *, overwrite: bool) -> tuple[Path, Path]:
    """Refuse a folder for the SEG-Y, existing outputs without ``overwrite`` and, with it,
    outputs seisflow did not write; returns the paths to write (links followed)."""
    if segy.is_dir():
        raise OutputPathError(f"{segy} is a folder: give a file name such as survey.sgy")
    return (claim_output(segy, kind=SEGY, overwrite=overwrite),
            claim_output(truth, kind=TRUTH_STORE, overwrite=overwrite))  # fmt: skip


def _rendered(
    pool: ThreadPoolExecutor, survey: Survey, blocks: list[Block], workers: int
) -> Iterator[RenderedBlock]:
    """Render blocks in ``pool`` (numpy releases the GIL), yielding them in order.

    At most ``workers + 1`` blocks are in flight, which bounds memory.
    """
    pending: deque[Future[RenderedBlock]] = deque()
    for block in blocks:
        pending.append(pool.submit(survey.render, block))
        if len(pending) > workers:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def _progress(items: Iterator[RenderedBlock], enabled: bool, total: int) -> Iterator[RenderedBlock]:
    if not enabled:
        return items
    from tqdm import tqdm

    return iter(tqdm(items, desc="synth", unit="block", total=total))


def _text_lines(config: SynthConfig, truth_name: str) -> list[str]:
    n_il, n_xl, ns = config.shape
    last_xl = config.first_crossline + (n_xl - 1) * config.xline_step
    fmt = {"ibm": "4-BYTE IBM FLOAT (1)", "ieee": "4-BYTE IEEE FLOAT (5)"}[config.format]
    return [
        f"SYNTHETIC POST-STACK SURVEY WRITTEN BY SEISFLOW {__version__} - NOT FIELD DATA",
        f"SEED {config.seed}  GRID {n_il} INLINES X {n_xl} CROSSLINES X {ns} SAMPLES",
        f"INLINES {config.first_inline}-{config.first_inline + n_il - 1} STEP 1  "
        f"CROSSLINES {config.first_crossline}-{last_xl} STEP {config.xline_step}",
        f"SAMPLE INTERVAL {config.sample_interval_ms:g} MS  TIME OF FIRST SAMPLE 0 MS  {fmt}",
        f"TRACE SORTING {config.sorting.upper()}  MISSING CORNER "
        f"{'YES' if config.missing_corner else 'NO'}",
        f"CRS {config.crs}  PROJECTED COORDINATES IN METRES",
        f"GRID ORIGIN X {config.origin_xy[0]:.2f} Y {config.origin_xy[1]:.2f}  INLINE AZIMUTH "
        f"{config.azimuth_deg:g} DEG",
        f"BIN {config.inline_spacing_m:g} M (INLINE) X "
        f"{config.crossline_spacing_m * config.xline_step:g} M (CROSSLINE)",
        "BYTES: INLINE 189 CROSSLINE 193 CDP-X 181 CDP-Y 185 COORD SCALAR 71 (-100)",
        "FACIES: " + " ".join(f"{i}={name.upper()}" for i, name in enumerate(FACIES)),
        "ANOMALIES: "
        + (" ".join(k.upper() for k in ANOMALY_KINDS[1:]) if config.anomalies else "NONE"),
        f"GROUND TRUTH: {truth_name}",
        *([""] * 27),
        "END TEXTUAL HEADER",
    ]


def _write_traces(writer: SegyWriter, survey: Survey, rendered: RenderedBlock) -> None:
    """Encode the block's live traces in file order and append them."""
    grid, block = survey.grid, rendered.block
    order = grid.file_order(block)
    n_xl_block = block.xl.stop - block.xl.start
    i = block.il.start + order // n_xl_block
    j = block.xl.start + order % n_xl_block
    x, y = grid.xy(block)
    x, y = np.rint(x.ravel()[order] * 100), np.rint(y.ravel()[order] * 100)
    first = writer.traces_written
    position_in_line = j if survey.config.sorting == "inline" else i
    f = TRACE_FIELDS
    headers = {
        f["sequence_line"]: position_in_line + 1,
        f["sequence_file"]: np.arange(first + 1, first + 1 + order.size),
        f["field_record"]: grid.inlines[i],
        f["cdp"]: i * grid.n_crosslines + j + 1,  # bin number, whatever the sorting
        f["cdp_trace"]: 1,
        f["trace_id"]: 1,
        f["scalar"]: COORDINATE_SCALAR,
        f["source_x"]: x,
        f["source_y"]: y,
        f["coordinate_units"]: 1,
        f["samples"]: grid.n_samples,
        f["interval"]: round(survey.config.sample_interval_ms * 1000),
        f["cdp_x"]: x,
        f["cdp_y"]: y,
        f["inline"]: grid.inlines[i],
        f["crossline"]: grid.crosslines[j],
    }
    traces = rendered.amplitude.reshape(-1, grid.n_samples)[order]
    writer.write(headers, traces)
