"""Map commands: ``map`` (layers into a store) and ``evaluate`` (against a truth)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from seisflow.commands.params import DEVICE, STORE, scores_text, storage_option
from seisflow.storage import Location

__all__ = ["evaluate", "map_command"]


@click.command(name="map")
@click.argument("store", type=STORE)
@storage_option
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--stride", type=click.IntRange(min=1),
              help="Step in samples between patch starts (default: the run's "
                   "data.stride).")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True,
              help="Patches per forward pass of the flow (lower it when memory is "
                   "short).")  # fmt: skip
@click.option("--device", type=DEVICE, default="auto", show_default=True,
              help="Where the flow runs: auto takes CUDA when present.")  # fmt: skip
@click.option("--scheduler", metavar="ADDRESS",
              help="A Dask distributed scheduler's address: runs the patch scoring, "
                   "stitching and writing on that cluster (default: here, local "
                   "threads).")  # fmt: skip
@click.option("--layers", default="facies,anomaly", show_default=True,
              help="Any of facies (with facies_confidence), anomaly, topic_proportions "
                   "(mean topic proportions on the patch grid).")  # fmt: skip
@click.option("--readout", type=click.Choice(["cluster", "patch", "word", "lda"]),
              default="cluster", show_default=True,
              help="Facies read-out: cluster (k-means on the mean topic proportions of the "
                   "patches covering a sample, smoothed over +-8 traces x +-16 samples), "
                   "patch (their arg-max), word (lda runs: of their two leading topics, the one "
                   "its words favour) or lda (topics of attribute words in long documents, "
                   "fitted afresh: the flow takes no part).")  # fmt: skip
@click.option("--anomaly-readout", type=click.Choice(["fused", "contrast", "patch"]),
              default="fused", show_default=True,
              help="Anomaly read-out: fused (the robust lateral z-score of the log envelope "
                   "plus half that of the patch score, over +-16 traces), contrast (the "
                   "lateral z-score of the patch score alone, over +-8 traces: two-sided, a "
                   "dead trace stands out) or patch (the patch score itself). Every read-out "
                   "also writes anomaly_hint: amplitude_high, amplitude_low or incoherent, "
                   "from the term that dominates.")  # fmt: skip
@click.option("--overwrite", is_flag=True, help="Replace layers the store already has.")
@click.option("--quiet", is_flag=True,
              help="No progress bars (they are shown only when stderr is a terminal).")  # fmt: skip
def map_command(
    store: Location,
    run_dir: Path,
    stride: int | None,
    batch_size: int,
    device: str,
    scheduler: str | None,
    layers: str,
    readout: str,
    anomaly_readout: str,
    overwrite: bool,
    quiet: bool,
) -> None:
    """Write facies, facies_confidence and anomaly layers into STORE with the flow in RUN_DIR.

    Every patch with a live trace is scored (topic proportions; the patch score = the flow's
    bits/dim minus zlib's bits/dim of the patch), and the scores are averaged over
    overlapping patches at every live sample, chunk by chunk (with --readout word, the
    words covering a sample choose between the two leading topics there); anomaly is then
    how far a sample's log envelope and patch score stand from the traces around it
    (--anomaly-readout fused, the default), the patch score's part alone (contrast) or the
    patch score itself (patch), and anomaly_hint names the term that dominates where the
    fused score is 3 or more. topic_proportions keeps the mean proportions at every
    stride-th sample of each axis. Each layer is written
    atomically beside amplitude, which is never modified. A run trained with the standard
    prior has no topics: map it with --layers anomaly.

    Layers the store already has are refused (all of them named) before any work, unless
    --overwrite; one writer at a time per store. Progress bars go to stderr when it is a
    terminal. The scores are saved beside the store every 5 minutes while they are worked
    out here (not with --scheduler): a map interrupted and run again with the same run,
    store and options scores only the patches after the last save.
    """
    from seisflow.infer.maps import map_survey

    summary = map_survey(store, run_dir, stride=stride, batch_size=batch_size, device=device,
                         layers=tuple(p.strip() for p in layers.split(",") if p.strip()),
                         overwrite=overwrite, scheduler=scheduler,
                         readout=readout, anomaly_readout=anomaly_readout,
                         progress=False if quiet else None)  # fmt: skip
    written = ", ".join(summary["layers"])
    click.echo(
        f"wrote {written} into {store}: {summary['patches']} patches in "
        f"{summary['seconds']:.1f} s ({summary['traces_per_s']:.0f} traces/s)"
    )


@click.command()
@click.argument("store", type=STORE)
@storage_option
@click.argument("truth", type=STORE)
@click.option("--samples", type=click.IntRange(min=1000), default=2_000_000, show_default=True,
              help="Live samples scored (a seeded random subset of larger surveys).")  # fmt: skip
@click.option("--seeds", type=click.IntRange(min=1),
              help="Train and score this many seeds (train.seed 0..N-1) instead of scoring "
                   "the store's layers; needs --runs.")  # fmt: skip
@click.option("--runs", "runs_dir", type=click.Path(path_type=Path),
              help="--seeds: folder of the runs (seed-<s>, standard-seed-<s>); finished runs "
                   "found there are reused, interrupted ones resumed.")  # fmt: skip
@click.option("--preset", default="auto", show_default=True, metavar="NAME",
              help="--seeds: the training preset (seisflow train --list-presets); auto: "
                   "survey-quick on CPU, survey on CUDA.")  # fmt: skip
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="--seeds: your training TOML, merged over the preset.")  # fmt: skip
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="--seeds: override a training setting (repeatable).")  # fmt: skip
@click.option("--readout", type=click.Choice(["cluster", "patch", "word", "lda"]),
              default="cluster", show_default=True,
              help="--seeds: facies read-out (see seisflow map).")  # fmt: skip
@click.option("--no-flow-baseline", is_flag=True,
              help="--seeds: skip the k-means on standard-prior latents baseline (which "
                   "trains a second run per seed).")  # fmt: skip
@click.option("--device", type=DEVICE, default="auto", show_default=True,
              help="--seeds: where the runs train: auto takes CUDA when present.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON line.")
def evaluate(
    store: Location,
    truth: Location,
    samples: int,
    seeds: int | None,
    runs_dir: Path | None,
    preset: str,
    config_file: Path | None,
    overrides: tuple[str, ...],
    readout: str,
    no_flow_baseline: bool,
    device: str,
    as_json: bool,
) -> None:
    """Score the facies and anomaly layers of STORE against a synthetic TRUTH store.

    Facies: ARI, NMI and matched accuracy, beside k-means and a Gaussian mixture on PCA of
    the patch windows and k-means on window RMS. Anomaly: AUROC and average precision,
    beside an IsolationForest on patch features. Baselines use the layers' patch tiling and
    are computed in this run.

    With --seeds N: train N runs (train.seed 0..N-1) from --preset (by default the store's
    own, as `seisflow train` takes it), --config and --set into --runs (every setting is
    checked, the data's patch shape included, before the first run trains), score
    each run's facies (computed in memory, the store is not written) beside the baselines
    with the same seed, plus k-means on the latents of a standard-prior flow, and report the
    mean, spread, minimum and maximum of every figure and the topics each seed uses; a
    line on stderr marks each seed's start and end.

    Progress bars are shown on stderr when it is a terminal. The truth must be the one
    written beside the SEG-Y file the store was ingested from (its checksum is compared).
    """
    import json
    import sys

    progress = sys.stderr.isatty()
    if seeds is not None:
        from seisflow.infer.seeds import evaluate_seeds

        if runs_dir is None:
            raise click.UsageError("--seeds needs --runs DIR, the folder of the seeds' runs")
        report = evaluate_seeds(store, truth, runs_dir, seeds=seeds, preset=preset,
                                config_file=config_file, overrides=overrides, readout=readout,
                                flow_baseline=not no_flow_baseline, device=device,
                                samples=samples, progress=progress,
                                log=lambda line: click.echo(line, err=True))  # fmt: skip
        click.echo(json.dumps(report) if as_json else _seeds_text(report))
        return
    from seisflow.infer.evaluate import evaluate_layers

    report = evaluate_layers(store, truth, samples=samples, progress=progress)
    if as_json:
        click.echo(json.dumps(report))
        return

    lines = [f"{store} against {truth} ({report['samples']} live samples)"]
    for kind in ("facies", "anomaly"):
        if kind in report:
            lines.append(f"{kind:<10} {scores_text(report[kind])}")
            per_kind = (report[kind] or {}).get("kinds", {})
            lines += [f"    {name}: {scores_text(values)}" for name, values in per_kind.items()]
            baselines = report[f"{kind}_baselines"].items()
            lines += [f"  baseline {name}: {scores_text(values)}" for name, values in baselines]
    click.echo("\n".join(lines))


def _seeds_text(report: dict[str, Any]) -> str:
    """The --seeds summary: a row per method, mean +- spread [min, max] of each figure."""
    summary = report["summary"]
    lines = [f"{report['store']}: {len(report['seeds'])} seeds, {report['readout']} read-out, "
             f"{report['samples']} live samples; mean +- std [min, max]"]  # fmt: skip
    for method, figures in summary.items():
        cells = [f"{name} {f['mean']:.3f} +- {f['std']:.3f} [{f['min']:.3f}, {f['max']:.3f}]"
                 for name, f in figures.items()]  # fmt: skip
        lines.append(f"{method:<24} " + "; ".join(cells))
    return "\n".join(lines)
