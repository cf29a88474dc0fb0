"""Model commands: ``train``, ``validate`` and ``demo``."""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import click

from seisflow import presets
from seisflow.commands.params import DEVICE, SOURCE, scores_text, storage_option
from seisflow.storage import Location

__all__ = ["demo", "one_line_warnings", "train", "validate"]


@contextlib.contextmanager
def one_line_warnings() -> Iterator[None]:
    """Print every warning shown inside the block as one ``seisflow: warning: ...`` line on
    stderr, when it happens (the filters are left as they are)."""

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:  # fmt: skip
        from tqdm import tqdm  # writes above a progress bar instead of through it

        tqdm.write(f"seisflow: warning: {' '.join(str(message).split())}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def _list_presets(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--list-presets``: print every preset with its description and stop."""
    if value and not ctx.resilient_parsing:
        click.echo(presets.listing())
        ctx.exit()


@click.command(epilog="\b\nPresets (--preset NAME):\n" + presets.listing())
@click.argument("source", type=SOURCE)
@storage_option
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.option("--preset", default=presets.AUTO, show_default=True, metavar="NAME",
              help="A shipped preset (listed below). auto: survey-quick on CPU, survey on "
                   "CUDA (a store); NAME-quick or NAME (the image benchmark NAME).")  # fmt: skip
@click.option("--config", "config_file", type=click.Path(path_type=Path),
              help="Your TOML file ([model], [data], [train]), merged over the preset key by "
                   "key; a run's config.toml may be reused.")  # fmt: skip
@click.option("--set", "overrides", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Override a setting, e.g. --set train.steps=200 (repeatable).")  # fmt: skip
@click.option("--list-presets", is_flag=True, expose_value=False, is_eager=True,
              callback=_list_presets, help="List the presets with their descriptions.")  # fmt: skip
@click.option("--data-dir", type=click.Path(path_type=Path),
              help="Folder of the image benchmarks' .npz files.")  # fmt: skip
@click.option("--device", type=DEVICE, default="auto", show_default=True,
              help="auto: CUDA when present, else CPU.")  # fmt: skip
@click.option("--resume", is_flag=True, help="Continue the run saved in RUN_DIR exactly.")
@click.option("--quiet", is_flag=True, help="No progress bar (none when stderr is no terminal).")
def train(
    source: str | Location,
    run_dir: Path,
    preset: str,
    config_file: Path | None,
    overrides: tuple[str, ...],
    data_dir: Path | None,
    device: str,
    resume: bool,
    quiet: bool,
) -> None:
    """Train a Fractal Flow on SOURCE, writing checkpoints and metrics to RUN_DIR.

    SOURCE is a survey store (from `seisflow ingest`) or an image benchmark: mnist,
    fashion_mnist or cifar10_automobile (read from --data-dir). The settings are a preset
    (by default the one that makes facies and anomaly maps of a store, sized for the device:
    survey-quick on CPU, survey on CUDA), then --config FILE merged over it key by key, then
    --set; model.in_shape always comes from the data. RUN_DIR receives checkpoint.pt
    (weights, optimiser, step, RNG states, config, version), config.toml (the resolved
    settings, naming the preset) and metrics.jsonl; a new run needs a new or empty RUN_DIR.
    --resume continues with the saved settings. A progress bar is drawn only when stderr is
    a terminal. Several processes: torchrun --nproc-per-node N -m seisflow train ...
    """
    from seisflow.config import read_toml
    from seisflow.train import train as run_training
    from seisflow.train.rundir import CONFIG

    progress = not quiet and sys.stderr.isatty()  # no bars of carriage returns in a log file
    with one_line_warnings():
        result = run_training(source, run_dir, preset=preset, config_file=config_file,
                              overrides=overrides, data_dir=data_dir, device=device,
                              resume=resume, progress=progress)  # fmt: skip
    figures = ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items() if k != "lr")
    used = read_toml(result.run_dir / CONFIG).get("preset")
    named = f"preset {used}" if used else "no preset"
    click.echo(f"trained {result.step} steps into {result.run_dir} ({named}): {figures}")


@click.command()
@click.argument("run_dir", type=click.Path(path_type=Path))
@click.argument("dataset", type=click.Choice(["mnist", "fashion_mnist", "cifar10_automobile"]))
@click.option("--data-dir", type=click.Path(path_type=Path), required=True,
              help="Folder of the image benchmarks' .npz files.")  # fmt: skip
@click.option("--split", type=click.Choice(["test", "train"]), default="test",
              show_default=True)  # fmt: skip
@click.option("--limit", type=click.IntRange(min=1), help="Use the first N images only.")
@click.option("--samples", type=click.IntRange(min=1), default=16, show_default=True,
              help="Importance samples of the LDA bits/dim bound.")  # fmt: skip
@click.option("--baseline-run", type=click.Path(path_type=Path),
              help="A standard-prior run: k-means on its latents is a baseline.")  # fmt: skip
@click.option("--device", type=DEVICE, default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON line.")
def validate(
    run_dir: Path,
    dataset: str,
    data_dir: Path,
    split: str,
    limit: int | None,
    samples: int,
    baseline_run: Path | None,
    device: str,
    as_json: bool,
) -> None:
    """Score the run in RUN_DIR on an image benchmark: bits/dim and clustering by topic.

    Clusters are the arg-max topic (k-means on the latents for a standard prior), scored
    against the labels (ARI, NMI, matched accuracy) beside k-means on pixels (and on a
    standard-prior run's latents with --baseline-run); on fashion_mnist also against the
    super-classes clothing / footwear / bags. Figures and report.json go to
    RUN_DIR/validation/DATASET-SPLIT/.
    """
    import json

    from seisflow.train.validate import validate as run_validation

    report = run_validation(run_dir, dataset, data_dir=data_dir, split=split, limit=limit,
                            samples=samples, baseline_run=baseline_run, device=device)  # fmt: skip
    if as_json:
        click.echo(json.dumps(report))
        return

    lines = [f"{dataset} {split} ({report['n']} images), step {report['step']}",
             f"bits/dim   {report['bits_per_dim']:.4f} ({report['bits_per_dim_kind']})",
             f"clusters   {report['clusters']} ({report['readout']}): "
             + scores_text({k: report[k] for k in ("ari", "nmi", "accuracy")}
                      if report["ari"] is not None else None)]  # fmt: skip
    baselines = report["baselines"].items()
    lines += [f"baseline   {name}: {scores_text(values)}" for name, values in baselines]
    if coarse := report.get("super_classes"):
        lines += [f"super      {'/'.join(coarse['classes'])}: clusters "
                  f"{scores_text(coarse['flow'])}; kmeans_pixels "
                  f"{scores_text(coarse['kmeans_pixels'])}"]  # fmt: skip
    lines += [f"figure     {path}" for path in report["figures"].values()]
    click.echo("\n".join(lines))


@click.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default="seisflow-demo",
              show_default=True, help="Folder of everything the demo writes.")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--steps", type=click.IntRange(min=1), default=300, show_default=True,
              help="Training steps (300: the quick survey preset).")  # fmt: skip
@click.option("--survey-only", is_flag=True, help="Stop after the survey figure (seconds).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier demo in --out.")
@click.option("--quiet", is_flag=True, help="No progress bars (none when stderr is no terminal).")
def demo(
    out_dir: Path, seed: int, steps: int, survey_only: bool, overwrite: bool, quiet: bool
) -> None:
    """Run seisflow end to end on an embedded default survey.

    Synthesise a survey (demo.sgy, demo.truth.zarr), ingest it (demo.zarr), draw it with
    its truth (survey.png), train the quick survey model (run/), map facies, confidence and
    anomaly into the store, evaluate them against the truth, export the facies as SEG-Y and
    a time slice as GeoTIFF, and draw the maps (maps.png).
    """
    import dataclasses

    from seisflow.demo import DEFAULT_DEMO, run_demo

    with one_line_warnings():
        result = run_demo(out_dir, dataclasses.replace(DEFAULT_DEMO, seed=seed),
                          overwrite=overwrite, train=not survey_only,
                          train_overrides=[f"train.steps={steps}"],
                          progress=not quiet and sys.stderr.isatty())  # fmt: skip
    lines = [f"survey     {result.survey.segy} (truth {result.survey.truth})",
             f"store      {result.store}", f"figure     {result.figure}"]  # fmt: skip
    if result.scores is not None:
        facies, anomaly = result.scores["facies"], result.scores["anomaly"]
        best = max(v["ari"] for v in result.scores["facies_baselines"].values())
        baselines = result.scores["anomaly_baselines"]
        name, forest = max(((n, v["auroc"]) for n, v in baselines.items() if v),
                           key=lambda item: item[1])  # fmt: skip
        lines += [
            f"run        {result.run} ({steps} steps)",
            f"maps       facies, facies_confidence, anomaly, anomaly_hint in {result.store}; "
            f"{result.maps}",
            f"training   {result.training}",
            f"exports    {', '.join(str(p) for p in result.exports)}",
            f"facies     ARI {facies['ari']:.3f} (best baseline {best:.3f}), NMI "
            f"{facies['nmi']:.3f}, accuracy {facies['accuracy']:.3f}",
            f"anomaly    AUROC {anomaly['auroc']:.3f} (best baseline {forest:.3f}, {name}), "
            f"average precision {anomaly['average_precision']:.3f}",
        ]
    click.echo("\n".join(lines))
