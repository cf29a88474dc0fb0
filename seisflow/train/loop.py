"""The training loop, top to bottom: configure -> data -> model -> optimiser -> resume ->
steps (loss, backward, clip, step, log, evaluate, checkpoint) -> final checkpoint.

One loop serves survey stores and the image benchmarks, on CUDA (bf16 autocast, TF32,
optional ``torch.compile``, pinned uint8 transfers dequantised on the device) or on CPU,
alone or under ``torchrun``. Everything random is seeded from ``train.seed``: the weights,
the data order, and the dequantisation noise of step ``s`` (drawn for the whole global batch
from a generator seeded with ``s``, each rank taking its slice), so a resumed run repeats an
uninterrupted one exactly on CPU, and N processes see what one process with the same global
batch sees. The run folder's rules (who may start a run where, no writes through links) are
in :mod:`seisflow.train.rundir`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm import tqdm

from seisflow import presets
from seisflow.config import apply_overrides, from_mapping, override_example, to_dict
from seisflow.errors import ConfigError, TrainingError
from seisflow.models import FractalFlow, build_flow
from seisflow.storage import Location
from seisflow.train import distributed, refit, rundir
from seisflow.train.checkpoint import (
    CHECKPOINT,
    check_resumable,
    load_checkpoint,
    restore,
    rng_state,
    save_checkpoint,
    saved_config,
)
from seisflow.train.config import DataConfig, RunConfig, TrainConfig
from seisflow.train.data import (
    Source,
    check_same_source,
    check_signal,
    open_source,
    rank_slice,
    source_record,
)
from seisflow.train.evaluation import autocast, evaluate

__all__ = ["TrainResult", "evaluate", "resolve_config", "train"]

#: Parts of the loss logged for the LDA prior (see :meth:`FractalFlow.loss`).
TOPICS = ("usage_kl", "topics_used")


@dataclass
class TrainResult:
    """What a run did.

    Attributes:
        run_dir: The run directory.
        step: Steps done (the configured total).
        metrics: The last logged training metrics and the last evaluation.
        seconds: Wall time of this invocation's steps.
        patches_per_s: Training throughput over this invocation (all processes).
    """

    run_dir: Path
    step: int
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    patches_per_s: float = 0.0


def resolve_config(
    raw: Mapping[str, Any], source_shape: tuple[int, int, int], *, preset: str | None = None
) -> RunConfig:
    """The run configuration with ``model.in_shape`` taken from the data and ``preset``
    recording the preset the settings started from.

    ``raw`` holds the settings after the ``--set`` overrides. A preset's or a file's own
    ``model.in_shape`` and ``preset`` are dropped before (:func:`seisflow.presets.compose`),
    so a value found here was set on purpose, by ``--set`` or by a resumed run's checkpoint.

    Raises:
        ConfigError: When ``raw`` sets another ``model.in_shape`` than the data's, or another
            ``preset``.
    """
    model = raw.get("model", {})
    if not isinstance(model, Mapping):
        return from_mapping(RunConfig, raw)  # refused there: model must be a table
    given = model.get("in_shape")
    found = list(given) if isinstance(given, list | tuple) else [given]
    if given is not None and found != list(source_shape):
        raise ConfigError(
            f"model.in_shape {given!r} does not match the data's {list(source_shape)}: drop "
            "--set model.in_shape (it is always taken from the data) or change data.size"
        )
    named = raw.get("preset")
    if named is not None and named != preset:
        raise ConfigError(
            f"preset {named!r} cannot be set: it records the preset the run started from "
            f"({preset}); choose a preset with --preset NAME instead of --set preset=..."
        )
    settings = {**raw, "model": {**model, "in_shape": list(source_shape)}, "preset": preset}
    return from_mapping(RunConfig, settings)


class _Objective(nn.Module):
    """The flow's training loss as ``forward``, which DistributedDataParallel hooks."""

    def __init__(self, flow: FractalFlow) -> None:
        super().__init__()
        self.flow = flow

    def forward(
        self, x: Tensor, noise: Tensor, anti_collapse: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """uint8 ``x`` ``(N, C, H, W)``, noise like ``x``, ``anti_collapse`` ``()`` (a tensor,
        so a compiled step does not recompile as it anneals) -> the loss ``()`` and parts."""
        return self.flow.loss(x, noise=noise, anti_collapse=anti_collapse)


def _noise(seed: int, step: int, shape: tuple[int, ...], device: torch.device) -> Tensor:
    """Dequantisation noise ``U[0, 1)`` of a whole global batch at ``step``."""
    generator = torch.Generator(device=device)
    generator.manual_seed((seed * 1_000_003 + step) % 2**63)
    return torch.rand(shape, generator=generator, device=device)


def _lr_factor(step: int, *, warmup: int, steps: int) -> float:
    """Linear warm-up to 1, then cosine decay to 0 at ``steps``."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def _anti_collapse(step: int, config: TrainConfig) -> float:
    """The anti-collapse weight at ``step``: linear from ``anti_collapse`` to 0 at
    ``anti_collapse_end`` of the run."""
    end = config.anti_collapse_end * config.steps
    return config.anti_collapse * max(0.0, 1.0 - step / end)


def _diverged(
    step: int, loss: Tensor, grad_norm: Tensor, run_dir: Path, saved_step: int | None
) -> str:
    """The message of a run whose loss or gradient norm (both ``()``) is not finite at
    ``step``, before the optimiser applied it."""
    value, norm = float(loss.detach()), float(grad_norm)
    return rundir.diverged(step, value, run_dir, saved_step,
                           grad_norm=norm if math.isfinite(value) else None)  # fmt: skip


def _optimizer(flow: FractalFlow, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW; the prior's parameters learn ``prior_lr_scale`` times faster."""
    prior = {id(p) for p in flow.prior.parameters()}
    groups = [
        {"params": [p for p in flow.parameters() if id(p) not in prior], "lr": config.lr},
        {"params": [p for p in flow.prior.parameters()], "lr": config.lr * config.prior_lr_scale},
    ]
    groups = [g for g in groups if g["params"]]
    return torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)


def train(
    source: str | Location,
    run_dir: str | Path,
    *,
    preset: str | None = None,
    config_file: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
    overrides: Iterable[str] = (),
    data_dir: str | Path | None = None,
    device: str = "auto",
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train a Fractal Flow on a survey store or an image benchmark.

    Args:
        source: A survey store (path, URL or :class:`~seisflow.storage.Location`), or
            ``mnist``, ``fashion_mnist``, ``cifar10_automobile``.
        run_dir: Where ``checkpoint.pt``, ``config.toml`` and ``metrics.jsonl`` go.
        preset: A shipped preset (see :mod:`seisflow.presets`), ``auto`` for the source's
            own on the device the run trains on (``survey-quick`` on CPU, ``survey`` on
            CUDA, for a store; the command line's default), or None: the schema defaults.
            The name is recorded as the configuration's ``preset``.
        config_file: A TOML file with ``model``, ``data`` and ``train`` sections, merged
            over the preset key by key (a run's ``config.toml`` may be reused: its
            ``model.in_shape`` is ignored, the data's is taken).
        settings: The same sections as a mapping (when there is no ``config_file``).
        overrides: ``section.key=value`` settings applied after the file.
        data_dir: The folder of the image benchmarks' ``.npz`` files.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
        resume: Continue the run saved in ``run_dir`` (same settings, same data) exactly.
        progress: Show a progress bar (rank 0).

    Raises:
        ConfigError, InputFileError, OutputPathError: On bad settings, data or run folder
            (a new run starts only in a new or empty folder, see :mod:`~.rundir`).
        TrainingError: When the loss diverges (no checkpoint of NaN weights is written).
    """
    # --- configure: a preset (``auto``: the source's own on this device), then a file or
    # mapping, then --set (see seisflow.presets); a resumed run starts from its saved
    # settings unless a file or a preset is named, and keeps the record of its preset
    run_dir = Path(run_dir)
    if resume:
        rundir.refuse_links(run_dir)
    else:
        rundir.check_new_run(run_dir)
    saved = load_checkpoint(run_dir / CHECKPOINT) if resume else None
    stored = saved_config(saved, run_dir / CHECKPOINT) if saved is not None else None
    chosen = None
    if stored is not None and config_file is None and preset in (None, presets.AUTO):
        base = to_dict(stored)
    else:
        kind = distributed.pick_device(device).type  # the preset depends on the device
        chosen = presets.resolve_name(preset, str(source), kind)
        base = presets.compose(chosen, config_file=config_file, settings=settings)
    name = stored.preset if stored is not None else chosen
    raw = apply_overrides(base, overrides, example=override_example(RunConfig))
    data_config = from_mapping(DataConfig, raw.get("data", {}), where="data.")
    seed = from_mapping(TrainConfig, raw.get("train", {}), where="train.").seed
    data = open_source(source, data=data_config, seed=seed, data_dir=data_dir)
    config = resolve_config(raw, data.shape, preset=name)
    context = distributed.setup(device)
    try:
        if context.main:
            if saved is None:
                rundir.create_run_dir(run_dir)
            data.prepare()  # read the normalisation once, before the other ranks start
        distributed.barrier(context)
        return _run(data, config, run_dir, context, saved, progress, data_dir)
    finally:
        distributed.teardown(context)


def _run(
    data: Source,
    config: RunConfig,
    run_dir: Path,
    context: distributed.Context,
    saved: dict[str, Any] | None,
    progress: bool,
    data_dir: str | Path | None,
) -> TrainResult:
    cfg, device = config.train, context.device
    part = rank_slice(cfg.batch_size, context.rank, context.world)
    record = source_record(data, data_dir)

    # --- model and optimiser -------------------------------------------------------------
    torch.manual_seed(cfg.seed)
    flow = build_flow(config.model).to(device)
    optimizer = _optimizer(flow, cfg)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: _lr_factor(s, warmup=cfg.warmup, steps=cfg.steps)
    )
    start, saved_step = 0, None  # saved_step: the step the run's checkpoint holds
    if saved is not None:  # --- resume exactly where the checkpoint left off
        check_resumable(saved, config, run_dir)
        check_same_source(saved["source"], record, run_dir)
        restore(saved, run_dir / CHECKPOINT, flow=flow, optimizer=optimizer, schedule=schedule)
        start = saved_step = int(saved["step"])
    else:  # --- data-dependent initialisation (actnorm, LDA topics) on the first global batch
        first = data.first_batch(cfg.batch_size)
        check_signal(data, first)
        first = first.to(device)
        if context.main and cfg.warmup >= cfg.steps:  # the schedule would never decay
            warnings.warn(rundir.warmup_warning(cfg), UserWarning, stacklevel=3)
        with torch.no_grad():
            flow.loss(first, noise=_noise(cfg.seed, 0, tuple(first.shape), device))
    model: nn.Module = distributed.wrap(_Objective(flow), context)
    if cfg.compile:
        model = torch.compile(model)

    if context.main:
        rundir.write_config(run_dir, config)
    metrics = rundir.Metrics(run_dir / rundir.METRICS, active=context.main,
                             keep_until=start if saved is not None else None)  # fmt: skip
    eval_set = data.eval_set(cfg.eval_size) if context.main and cfg.eval_every else None
    batches = data.batches(start=start, batch_size=cfg.batch_size, rank=context.rank,
                           world=context.world)  # fmt: skip
    bar = tqdm(total=cfg.steps, initial=start, disable=not (progress and context.main),
               desc="train", unit="step", dynamic_ncols=True)  # fmt: skip
    last: dict[str, float] = dict(saved["metrics"]) if saved is not None else {}
    began = window = time.perf_counter()
    window_start = start

    def checkpoint(step: int) -> None:
        nonlocal saved_step
        if context.main:
            save_checkpoint(run_dir / CHECKPOINT, step=step, config=to_dict(config),
                            model=flow.state_dict(), optimizer=optimizer.state_dict(),
                            schedule=schedule.state_dict(), rng=rng_state(),
                            source=record, metrics=dict(last))  # fmt: skip
        saved_step = step
        distributed.barrier(context)

    # --- the steps -----------------------------------------------------------------------
    refits = bool(cfg.topic_refit) and flow.prior.fittable
    refit_batch = None  # the patches the LDA topics are refitted to (rank 0 refits)
    if refits and context.main:
        refit_batch = data.first_batch(cfg.topic_refit_size).to(device)
    model.train()
    for step in range(start, cfg.steps):
        x = next(batches)
        if device.type == "cuda":
            x = x.pin_memory().to(device, non_blocking=True)
        noise = _noise(cfg.seed, step, (cfg.batch_size, *x.shape[1:]), device)[part][: len(x)]
        if refits and step and step % cfg.topic_refit == 0:
            refit.refit_topics(flow, refit_batch, optimizer, seed=cfg.seed, context=context)
        weight = torch.tensor(_anti_collapse(step, cfg), device=device)
        with autocast(device, cfg.amp):
            loss, parts = model(x, noise, weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(flow.parameters(), cfg.clip)
        # every step, before the update: one host sync (and one all-reduce under torchrun)
        bad = ~(torch.isfinite(loss.detach()) & torch.isfinite(grad_norm))
        if distributed.any_true(bad, context):
            raise TrainingError(_diverged(step + 1, loss, grad_norm, run_dir, saved_step))
        optimizer.step()
        schedule.step()
        done = step + 1
        bar.update(1)

        if done % cfg.log_every == 0 or done == cfg.steps:
            now = time.perf_counter()
            rate = (done - window_start) * cfg.batch_size / max(now - window, 1e-9)
            line = {
                "loss": distributed.all_mean(loss, context),
                "bits_per_dim": distributed.all_mean(parts["bits_per_dim"], context),
                "l2": distributed.all_mean(parts["l2"], context),
                **{k: distributed.all_mean(v, context) for k, v in parts.items() if k in TOPICS},
                "grad_norm": float(grad_norm),
                "lr": schedule.get_last_lr()[0],
                "patches_per_s": rate,
            }
            metrics.write({"step": done, **line, "elapsed_s": now - began})
            last.update(line)
            bar.set_postfix(loss=f"{last['loss']:.3f}", bpd=f"{last['bits_per_dim']:.3f}",
                            patches_s=f"{rate:.0f}")  # fmt: skip
            window, window_start = now, done
        if eval_set is not None and (done % cfg.eval_every == 0 or done == cfg.steps):
            bar.set_description("evaluating")
            value = evaluate(flow, eval_set, batch_size=cfg.batch_size, seed=cfg.seed,
                             amp=cfg.amp)  # fmt: skip
            bar.set_description("train")
            last["eval_bits_per_dim"] = value
            metrics.write({"step": done, "eval_bits_per_dim": value})
        if done % max(cfg.checkpoint_every, 1) == 0 and cfg.checkpoint_every and done < cfg.steps:
            checkpoint(done)
    if refits and start < cfg.steps:
        bar.set_description("final topic refit")
        refit.refit_topics(flow, refit_batch, optimizer, seed=cfg.seed, context=context)
    seconds = time.perf_counter() - began
    bar.set_description("saving")
    checkpoint(cfg.steps)
    bar.close()
    return TrainResult(
        run_dir=run_dir,
        step=cfg.steps,
        metrics=last,
        seconds=seconds,
        patches_per_s=(cfg.steps - start) * cfg.batch_size / max(seconds, 1e-9),
    )
