"""The training presets, shipped inside the package as ``seisflow/presets/NAME.toml``.

A preset is a TOML file with ``[model]``, ``[data]`` and ``[train]`` sections (see
:class:`seisflow.train.config.RunConfig`) whose first line is a one-line description. ``survey``
and the image benchmarks' names (``mnist``, ``fashion_mnist``, ``cifar10_automobile``) are
full-scale settings for a GPU; each has a ``-quick`` variant that trains in minutes on two
CPU cores. They are read with :mod:`importlib.resources`, so a pip-installed seisflow has
them wherever it is installed.

Where a run's settings come from, each layer overriding the one before key by key:

1. a preset: the one named, or with ``auto`` (the command line's default) the source's own
   on the device the run trains on: ``survey-quick`` for a survey store on CPU, ``survey`` on
   CUDA, ``NAME-quick`` or ``NAME`` for the image benchmark ``NAME``. These make facies and
   anomaly maps (the LDA prior with topics, both section directions, anti-collapse, topic
   refits). ``None`` (the Python API's default) is no preset: the schema's defaults;
2. a TOML file of the user's (``--config``), for example a run's own ``config.toml``, or a
   mapping of the same sections (``settings``);
3. ``--set SECTION.KEY=VALUE`` overrides (applied by the caller).

``model.in_shape`` always comes from the data: a value in a preset, a file or a mapping is
dropped (a run's ``config.toml`` holds the shape of its own data, so it can be reused with
another ``data.size``), and only a ``--set model.in_shape`` that differs from the data is
refused (see :func:`seisflow.train.loop.resolve_config`). The top-level ``preset`` key of a
run's configuration records the preset it started from; it is written by seisflow, and a
file's value is dropped too.

Example:
    >>> from seisflow import presets
    >>> presets.default("survey.zarr", "cpu")
    'survey-quick'
    >>> presets.read("survey-quick")["model"]["prior"]
    'lda'
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from seisflow.config import merge_tables, read_toml
from seisflow.errors import ConfigError

__all__ = [
    "AUTO",
    "IMAGE_BENCHMARKS",
    "compose",
    "default",
    "describe",
    "listing",
    "names",
    "read",
    "resolve_name",
]

#: The preset "name" that picks the source's own preset for the device (see :func:`default`).
AUTO = "auto"
#: The image benchmarks (the keys of :data:`seisflow.images.IMAGE_SETS`, repeated here
#: so that reading a preset never imports torch; a test keeps them equal).
IMAGE_BENCHMARKS = ("mnist", "fashion_mnist", "cifar10_automobile")
#: Keys of a preset or file that seisflow sets itself: the data's shape, the preset's name.
DERIVED = (("model", "in_shape"), ("preset",))


@cache
def names() -> tuple[str, ...]:
    """The shipped presets' names, sorted."""
    files = resources.files(__name__).iterdir()
    return tuple(sorted(f.name[: -len(".toml")] for f in files if f.name.endswith(".toml")))


def _text(name: str) -> str:
    """The TOML text of the preset ``name``.

    Raises:
        ConfigError: When there is no such preset.
    """
    if name not in names():
        raise ConfigError(
            f"unknown preset {name!r}: choose one of {', '.join(names())} (`seisflow train "
            "--list-presets` describes them) or pass your own TOML file with --config"
        )
    return resources.files(__name__).joinpath(f"{name}.toml").read_text(encoding="utf-8")


def read(name: str) -> dict[str, Any]:
    """The sections of the preset ``name`` (a fresh dict: change it freely).

    Raises:
        ConfigError: When there is no such preset.
    """
    return tomllib.loads(_text(name))


def describe(name: str) -> str:
    """The one-line description of the preset ``name`` (its first comment line).

    Raises:
        ConfigError: When there is no such preset.
    """
    first = _text(name).partition("\n")[0]
    return first.removeprefix("#").strip()


def listing() -> str:
    """One line per preset: its name and its description."""
    width = max(len(name) for name in names())
    return "\n".join(f"{name:<{width}}  {describe(name)}" for name in names())


def default(source: str, device_type: str) -> str:
    """The preset a run on ``source`` takes when none is named: the image benchmark's own
    (``mnist`` ...) or ``survey`` for a store, its ``-quick`` variant unless the run trains
    on CUDA (``device_type`` is a :class:`torch.device` type: ``cpu`` or ``cuda``)."""
    base = source if source in IMAGE_BENCHMARKS else "survey"
    return base if device_type == "cuda" else f"{base}-quick"


def resolve_name(preset: str | None, source: str, device_type: str) -> str | None:
    """The preset a run uses: ``None`` (none), ``auto`` (:func:`default`) or a name.

    Raises:
        ConfigError: When ``preset`` names no shipped preset.
    """
    if preset is None:
        return None
    name = default(source, device_type) if preset == AUTO else preset
    _text(name)  # an unknown name is refused here, before any work
    return name


def compose(
    preset: str | None,
    *,
    config_file: str | Path | None = None,
    settings: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The settings of a run before its ``--set`` overrides: the preset ``preset`` (a name,
    not ``auto``: see :func:`resolve_name`; None: none), then the TOML file
    ``config_file`` or else the mapping ``settings``, merged key by key; the keys seisflow
    sets itself (``model.in_shape``, ``preset``) are dropped from both.

    Raises:
        ConfigError: On an unknown preset, a missing or malformed file, or a section that is
            not a table.
    """
    base = read(preset) if preset is not None else {}
    if config_file is not None:
        top: Mapping[str, Any] = read_toml(config_file)
        where = f"config file {config_file}"
    else:
        top, where = settings or {}, "the settings"
    merged = merge_tables(base, top, where=where)
    for *sections, key in DERIVED:
        node: Any = merged
        for section in sections:
            node = node.get(section) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(key, None)
    return merged
