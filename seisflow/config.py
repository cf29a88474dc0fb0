"""Configuration loading: frozen dataclasses built from TOML and ``key=value`` overrides.

Each settings dataclass lives beside the code it configures (:mod:`seisflow.synth.config`,
:mod:`seisflow.models.config`, :mod:`seisflow.train.config`); this module is the one generic
loader for all of them. A section is built from a TOML table with :func:`from_mapping`,
which checks every key and converts every value to the field's type, so a typo or a wrong
type fails at load time with a message naming the key, the value and the accepted values.
Nothing is read from environment variables.

Example:
    >>> from seisflow.synth.config import SynthConfig
    >>> cfg = load_config(SynthConfig, overrides=["seed=3", "shape=[40, 50, 120]"])
    >>> cfg.shape
    (40, 50, 120)
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from seisflow.errors import ConfigError

__all__ = [
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
