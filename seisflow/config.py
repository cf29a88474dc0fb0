"""Configuration: frozen dataclasses, loaded from TOML and overridden with ``key=value``.

Every setting seisflow uses lives in a frozen dataclass defined here. A section is built
from a TOML table with :func:`from_mapping`, which checks every key and converts every value
to the field's type, so a typo or a wrong type fails at load time with a message naming the
key, the value and the accepted values. Nothing is read from environment variables.

Example:
    >>> cfg = load_config(SynthConfig, overrides=["seed=3", "shape=[40, 50, 120]"])
    >>> cfg.shape
    (40, 50, 120)
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from seisflow.errors import ConfigError

__all__ = [
    "DataConfig",
    "FlowConfig",
    "RunConfig",
    "SynthConfig",
    "TrainConfig",
    "apply_overrides",
    "from_mapping",
    "load_config",
    "merge_tables",
    "override_example",
    "parse_override",
    "read_toml",
    "to_dict",
    "to_toml",
]

T = TypeVar("T")


@dataclass(frozen=True)
class SynthConfig:
    """A synthetic post-stack survey (see :mod:`seisflow.synth`).

    Attributes:
        shape: Number of inlines, crosslines and time samples.
        seed: Seed of every random choice; the same seed gives the same bytes.
        format: Sample format written to the SEG-Y file: ``ibm`` (code 1) or ``ieee`` (code 5).
        sorting: Trace order in the file: ``inline`` (crosslines vary fastest) or ``crossline``.
        xline_step: Increment between consecutive crossline numbers (>= 1).
        missing_corner: Leave out a triangular corner of traces, as on an irregular survey.
        anomalies: Add the bright spot, gas chimney, noise burst and dead traces.
        sample_interval_ms: Time sampling in milliseconds.
        first_inline: Number of the first inline.
        first_crossline: Number of the first crossline.
        inline_spacing_m: Distance between inlines in metres.
        crossline_spacing_m: Distance between adjacent crossline numbers in metres.
        azimuth_deg: Azimuth of the inline direction, clockwise from grid north.
        origin_xy: Projected X/Y in metres of the first inline/crossline.
        crs: Coordinate reference system written to the text header.
        noise: Random noise RMS relative to the signal RMS.
        unit_tops: The five unit tops as increasing fractions of the record (the facies mix:
            parallel beds with the channel belt, clinoforms, mass-transport complex,
            transparent shale, reservoir beds); None: about 0.10, 0.27, 0.43, 0.57, 0.71.
    """

    shape: tuple[int, int, int] = (64, 80, 200)
    seed: int = 0
    format: Literal["ibm", "ieee"] = "ibm"
    sorting: Literal["inline", "crossline"] = "inline"
    xline_step: int = 1
    missing_corner: bool = False
    anomalies: bool = True
    sample_interval_ms: float = 4.0
    first_inline: int = 1000
    first_crossline: int = 2000
    inline_spacing_m: float = 25.0
    crossline_spacing_m: float = 12.5
    azimuth_deg: float = 33.0
    origin_xy: tuple[float, float] = (605_000.0, 6_073_000.0)
    crs: str = "EPSG:32631"
    noise: float = 0.12
    unit_tops: tuple[float, float, float, float, float] | None = None

    #: A ``--set`` example that fits this config (for messages).
    EXAMPLE: ClassVar[str] = "seed=3"

    def __post_init__(self) -> None:
        tops = self.unit_tops
        if tops is not None and (
            len(tops) != 5 or tops[0] <= 0.0 or tops[-1] >= 1.0
            or any(b <= a for a, b in itertools.pairwise(tops))
        ):  # fmt: skip
            raise ConfigError(
                f"synth unit_tops {tops} must be five increasing fractions in (0, 1), such as "
                "0.1,0.27,0.43,0.57,0.71"
            )
        if len(self.shape) != 3 or any(n < 1 for n in self.shape):
            raise ConfigError(
                f"synth shape {','.join(map(str, self.shape))} is invalid: give three positive "
                "integers IL,XL,NS such as 40,50,120"
            )
        minimum = (8, 8, 32)
        if any(n < m for n, m in zip(self.shape, minimum, strict=True)):
            raise ConfigError(
                f"synth shape {','.join(map(str, self.shape))} is too small to hold the five "
                f"facies and the anomalies: use at least {','.join(map(str, minimum))}"
            )
        if self.xline_step < 1:
            raise ConfigError(f"synth xline_step {self.xline_step} must be 1 or more")
        if not 0.1 <= self.sample_interval_ms <= 60.0:
            raise ConfigError(
                f"synth sample_interval_ms {self.sample_interval_ms} is outside 0.1-60 ms"
            )
        if self.noise < 0:
            raise ConfigError(f"synth noise {self.noise} must be 0 or more")


@dataclass(frozen=True)
class FlowConfig:
    """The Fractal Flow (see :mod:`seisflow.models`); :func:`seisflow.models.build_flow`
    turns it into modules.

    Attributes:
        in_shape: Input ``(C, H, W)``; ``H`` and ``W`` divisible by ``2 ** levels`` (the
            fractal folds) and by 2 (the squeeze).
        prior: ``standard`` (N(0, I)), ``kat_gmm`` (fixed-grid Gaussian mixture) or ``lda``.
        subnet: Coupling networks: ``cnn``, ``mlp`` or ``kan``.
        levels: Fractal levels (0 = a plain coupling stack).
        width: Hidden channels (cnn, kan) or units (mlp) of the subnets; the full-resolution
            fractal stack, whose couplings see only the ``C`` input channels, uses half.
        depth: Coupling layers per stack.
        word: Side of the square spatial block of the coarsest latent that is one "word".
        grid: Grid points per dimension of the fixed component means (``Q = grid ** grid_dims``).
        grid_dims: Leading word dimensions that carry the grid means.
        grid_range: The means span ``[-grid_range, grid_range]``.
        topics: LDA topics ``K``.
        alpha: Dirichlet concentration of the topic proportions.
        lda_steps: Mean-field fixed-point steps.
        l2: Weight of the structure term ``mean ||z - x~||^2``.
        conv1x1: Invertible 1x1 convolutions between channel couplings.
    """

    in_shape: tuple[int, int, int] = (1, 32, 32)
    prior: Literal["standard", "kat_gmm", "lda"] = "standard"
    subnet: Literal["cnn", "mlp", "kan"] = "cnn"
    levels: int = 0
    width: int = 64
    depth: int = 4
    word: int = 2
    grid: int = 3
    grid_dims: int = 2
    grid_range: float = 2.0
    topics: int = 4
    alpha: float = 0.5
    lda_steps: int = 5
    l2: float = 0.01
    conv1x1: bool = True

    EXAMPLE: ClassVar[str] = "width=32"

    def __post_init__(self) -> None:
        c, h, w = self.in_shape
        if c < 1 or h < 2 or w < 2:
            raise ConfigError(f"model in_shape {self.in_shape} must be positive (C, H, W)")
        if not 0 <= self.levels <= 4:
            raise ConfigError(f"model levels {self.levels} must be between 0 and 4")
        step = max(2**self.levels, 2)
        if h % step or w % step:
            raise ConfigError(
                f"model in_shape {self.in_shape}: H and W must be divisible by {step} for "
                f"{self.levels} fractal levels and the squeeze; pad or crop the input"
            )
        if (h // 2) % self.word or (w // 2) % self.word:
            raise ConfigError(
                f"model word {self.word} must divide the coarsest latent {h // 2}x{w // 2}"
            )
        for name in ("width", "depth", "grid", "topics"):
            if getattr(self, name) < 1:
                raise ConfigError(f"model {name} {getattr(self, name)} must be 1 or more")
        if not 1 <= self.grid_dims <= 2 * c * self.word**2:
            raise ConfigError(
                f"model grid_dims {self.grid_dims} must be between 1 and the word size "
                f"{2 * c * self.word**2}"
            )
        _require("model", ("alpha", self.alpha, self.alpha > 0, "> 0"),
                 ("l2", self.l2, self.l2 >= 0, ">= 0"),
                 ("lda_steps", self.lda_steps, self.lda_steps >= 1, ">= 1"))  # fmt: skip


@dataclass(frozen=True)
class DataConfig:
    """How a survey store is cut into training patches (ignored for the image benchmarks,
    whose images are the patches). See :class:`seisflow.ingest.patches.PatchSpec`.

    Attributes:
        size: Patch height and width in samples and traces.
        axis: Sections to cut: ``inline``, ``crossline`` or ``both``.
        stride: Step between patch starts (<= size).
        time_window: Optional ``(first, last)`` of the vertical axis (ms or m).
        depth3d: Optional number of adjacent sections stacked as channels.
        percentile: Clip percentile of ``|amplitude|`` for the 8-bit quantisation.
        buffer: Shuffle buffer of the patch stream (patches).
        workers: DataLoader worker processes (0: read in the training process, the fastest
            on two cores).
    """

    size: int = 32
    axis: Literal["inline", "crossline", "both"] = "inline"
    stride: int = 16
    time_window: tuple[float, float] | None = None
    depth3d: int | None = None
    percentile: float = 99.5
    buffer: int = 8192
    workers: int = 0

    EXAMPLE: ClassVar[str] = "size=32"

    def __post_init__(self) -> None:
        if not 50.0 <= self.percentile <= 100.0:
            raise ConfigError(f"data percentile {self.percentile} must be between 50 and 100")
        _require("data", ("buffer", self.buffer, self.buffer >= 1, ">= 1"),
                 ("workers", self.workers, self.workers >= 0, ">= 0"))  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """The training loop (see :mod:`seisflow.train`).

    Attributes:
        steps: Optimiser steps.
        batch_size: Global batch (split evenly over distributed ranks).
        lr: Peak AdamW learning rate, reached after ``warmup`` steps, then cosine to 0.
        prior_lr_scale: The prior's parameters learn at ``lr * prior_lr_scale``.
        weight_decay: AdamW weight decay.
        warmup: Linear warm-up steps.
        clip: Gradient-norm clipping threshold.
        seed: Seed of the weights, the data order and the dequantisation noise.
        eval_every: Steps between evaluations of bits/dim on the held-out set (0: never).
        eval_size: Held-out patches or images per evaluation.
        checkpoint_every: Steps between checkpoints (one is always written at the end).
        log_every: Steps between lines of ``metrics.jsonl``.
        compile: ``torch.compile`` the model.
        amp: bf16 autocast on CUDA (TF32 is always on there); ignored on CPU.
        anti_collapse: Weight of ``KL(batch topic usage || uniform)`` in the loss at the
            start (LDA prior; 0 turns it off), annealed linearly to 0 at
            ``anti_collapse_end``.
        anti_collapse_end: Fraction of ``steps`` at which the anti-collapse weight reaches 0.
        topic_refit: Every this many steps, and after the last, the LDA topics are refitted
            to the words of ``topic_refit_size`` patches under the current flow, keeping
            whichever of the refit and the current topics has the better ELBO (0: never;
            the first batch initialises them in any case).
        topic_refit_size: Patches (or images) the refit uses.
    """

    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    prior_lr_scale: float = 1.0
    weight_decay: float = 0.0
    warmup: int = 100
    clip: float = 50.0
    seed: int = 0
    eval_every: int = 500
    eval_size: int = 1024
    checkpoint_every: int = 500
    log_every: int = 10
    compile: bool = False
    amp: bool = True
    anti_collapse: float = 0.0
    anti_collapse_end: float = 0.5
    topic_refit: int = 0
    topic_refit_size: int = 512

    EXAMPLE: ClassVar[str] = "steps=200"

    def __post_init__(self) -> None:
        if self.anti_collapse < 0 or not 0 < self.anti_collapse_end <= 1:
            raise ConfigError(
                f"train anti_collapse {self.anti_collapse} must be >= 0 and anti_collapse_end "
                f"{self.anti_collapse_end} in (0, 1]"
            )
        if self.topic_refit < 0 or self.topic_refit_size < 1:
            raise ConfigError(
                f"train topic_refit {self.topic_refit} must be >= 0 and topic_refit_size "
                f"{self.topic_refit_size} >= 1"
            )
        if self.steps < 1 or self.batch_size < 1:
            raise ConfigError(
                f"train steps {self.steps} and batch_size {self.batch_size} must be >= 1"
            )
        _require(
            "train",
            *((name, getattr(self, name), getattr(self, name) > 0, "> 0")
              for name in ("lr", "prior_lr_scale", "clip")),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, ">= 0"),
            *((name, getattr(self, name), getattr(self, name) >= 0, ">= 0")
              for name in ("warmup", "eval_every", "checkpoint_every")),
            ("log_every", self.log_every, self.log_every >= 1, ">= 1"),
        )  # fmt: skip
        if self.eval_size < 1:
            raise ConfigError(f"train eval_size {self.eval_size} must be >= 1")


@dataclass(frozen=True)
class RunConfig:
    """Everything a training run needs, as stored in its checkpoint: sections ``model``,
    ``data`` and ``train`` of a TOML file (a preset in ``seisflow/presets/``, a user's file,
    or a run's ``config.toml``).

    Attributes:
        model: The flow.
        data: The patches of a survey store.
        train: The training loop.
        preset: The shipped preset the run's settings started from (None: none). Written by
            seisflow (see :mod:`seisflow.presets`); a file's value is not read.
    """

    model: FlowConfig = field(default_factory=FlowConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    preset: str | None = None

    EXAMPLE: ClassVar[str] = "train.steps=200"


def _require(section: str, *checks: tuple[str, Any, bool, str]) -> None:
    """Raise ConfigError naming the first ``(key, value, ok, rule)`` check that fails."""
    for key, value, ok, rule in checks:
        if not ok:
            raise ConfigError(f"{section} {key} {value} must be {rule}")


def override_example(cls: type) -> str:
    """A ``key=value`` override that fits the config ``cls`` (for messages)."""
    return str(getattr(cls, "EXAMPLE", "seed=3"))


def from_mapping(cls: type[T], data: Mapping[str, Any], *, where: str = "") -> T:
    """Build the dataclass ``cls`` from a mapping, checking keys and converting values.

    Args:
        cls: A (frozen) dataclass type.
        data: Keys are field names; nested dataclass fields take nested mappings.
        where: Prefix naming the section in error messages (for example ``"synth."``).

    Returns:
        An instance of ``cls``; fields absent from ``data`` keep their defaults.

    Raises:
        ConfigError: On an unknown key or a value that cannot be converted.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown setting {where}{unknown[0]}: known keys are "
            + ", ".join(where + name for name in fields)
        )
    hints = typing.get_type_hints(cls)
    values = {name: _convert(value, hints[name], f"{where}{name}") for name, value in data.items()}
    return cls(**values)


def _convert(value: Any, hint: Any, key: str) -> Any:
    """Convert a TOML value to the annotated type ``hint``, or raise ConfigError."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            raise ConfigError(f"setting {key} must be a table, got {value!r}")
        return from_mapping(hint, value, where=key + ".")  # type: ignore[arg-type]
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0])
    if origin is Literal:
        if value not in args:
            raise ConfigError(
                f"setting {key} = {value!r} is not allowed: choose one of "
                + ", ".join(map(str, args))
            )
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"setting {key} must be a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], key) for v in value)
        if len(value) != len(args):
            raise ConfigError(f"setting {key} needs {len(args)} values, got {list(value)!r}")
        return tuple(_convert(v, a, key) for v, a in zip(value, args, strict=True))
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"setting {key} must be true or false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"setting {key} must be an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"setting {key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"setting {key} must be a finite number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"setting {key} must be a string, got {value!r}")
        return value
    raise TypeError(f"config field {key} has an unsupported annotation {hint!r}")


def parse_override(text: str, *, example: str = "seed=3") -> tuple[list[str], Any]:
    """Split ``section.key=value`` into its key path and its TOML-parsed value.

    The value is read as a TOML value (``3``, ``0.5``, ``true``, ``[40, 50]``, ``"ibm"``);
    a bare word that is not valid TOML (``ibm``) is taken as a string.

    Args:
        text: The override.
        example: A valid override of the config it is meant for, shown when ``text`` is
            not ``key=value`` (see :func:`override_example`).

    Raises:
        ConfigError: When the text has no ``=`` or an empty key.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} is not key=value: write for example {example}")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


def apply_overrides(
    data: Mapping[str, Any], overrides: Iterable[str], *, example: str = "seed=3"
) -> dict[str, Any]:
    """Return a deep copy of ``data`` with each ``key=value`` override applied in order
    (``example``: see :func:`parse_override`)."""
    result = _deep_copy(data)
    for text in overrides:
        path, value = parse_override(text, example=example)
        node = result
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part} is a value, not a section")
            node = child
        node[path[-1]] = value
    return result


def _deep_copy(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def merge_tables(
    base: Mapping[str, Any], top: Mapping[str, Any], *, where: str = "the settings"
) -> dict[str, Any]:
    """A deep copy of ``base`` with ``top`` merged in key by key: a table merges into a
    table, any other value replaces the one before (a preset, then a user's file).

    Args:
        base: The lower layer.
        top: The layer that wins.
        where: Names ``top`` in error messages (for example ``config file my.toml``).

    Raises:
        ConfigError: When ``top`` gives a plain value where ``base`` has a table.
    """
    result = _deep_copy(base)
    for key, value in top.items():
        below = result.get(key)
        if isinstance(below, dict) and isinstance(value, Mapping):
            result[key] = merge_tables(below, value, where=where)
        elif isinstance(below, dict):
            raise ConfigError(
                f"{where}: {key} = {value!r} must be a table: write its settings under [{key}]"
            )
        else:
            result[key] = _deep_copy(value) if isinstance(value, Mapping) else value
    return result


def load_config(
    cls: type[T], *, path: str | Path | None = None, overrides: Iterable[str] = ()
) -> T:
    """Load ``cls`` from an optional TOML file, then apply ``key=value`` overrides.

    Args:
        cls: The dataclass to build.
        path: A TOML file whose top-level keys are ``cls``'s fields (or None for defaults).
        overrides: ``key=value`` strings applied after the file, in order.

    Raises:
        ConfigError: On a missing or malformed file, an unknown key or a bad value.
    """
    data = read_toml(path) if path is not None else {}
    return from_mapping(cls, apply_overrides(data, overrides, example=override_example(cls)))


def read_toml(path: str | Path) -> dict[str, Any]:
    """The table of a TOML config file.

    Raises:
        ConfigError: On a missing or malformed file.
    """
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist: check the path") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def to_toml(data: Mapping[str, Any]) -> str:
    """TOML text of a plain mapping whose values are sections (mappings) or scalars and
    lists; ``None`` values are left out (TOML has no null, and None is every such default).
    """
    lines = [_toml_line(k, v) for k, v in data.items() if not isinstance(v, Mapping)]
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines += ["", f"[{key}]"] + [_toml_line(k, v) for k, v in value.items()]
    return "\n".join(line for line in lines if line is not None).strip() + "\n"


def _toml_line(key: str, value: Any) -> str | None:
    return None if value is None else f"{key} = {_toml_value(value)}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


def to_dict(config: Any) -> dict[str, Any]:
    """A plain, JSON- and TOML-friendly dict of a config dataclass (tuples become lists)."""
    return _plain(dataclasses.asdict(config))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
