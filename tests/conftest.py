"""Shared fixtures: small synthetic surveys written once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from seisflow.config import SynthConfig
from seisflow.synth import SynthResult, synthesize

SMALL = (24, 30, 96)


@pytest.fixture(scope="session")
def make_survey(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., SynthResult]:
    """Write (once) and return a small synthetic survey for the given SynthConfig fields."""
    cache: dict[tuple, SynthResult] = {}
    root = tmp_path_factory.mktemp("surveys")

    def make(**fields: object) -> SynthResult:
        fields.setdefault("shape", SMALL)
        key = tuple(sorted(fields.items()))
        if key not in cache:
            name = "_".join(f"{k}-{v}" for k, v in key).replace(" ", "").replace(",", "x")
            name = name.replace("(", "").replace(")", "")
            cache[key] = synthesize(Path(root) / f"{name}.sgy", SynthConfig(**fields))
        return cache[key]

    return make


SHARED_SEGY = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "segy"


@pytest.fixture(scope="session")
def shared_segy() -> Path:
    """The folder of real SEG-Y files (../shared/data/segy); skips when it is absent."""
    if not SHARED_SEGY.is_dir():
        pytest.skip(f"real SEG-Y files not found at {SHARED_SEGY} (../shared is absent)")
    return SHARED_SEGY
