"""The dependency rule: ingest and models never import each other; the package imports light."""

from __future__ import annotations

import subprocess
import sys

import pytest


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("statement", "forbidden"),
    [
        ("import seisflow", {"torch", "seisflow.ingest", "seisflow.models", "xarray"}),
        ("import seisflow.models", {"seisflow.ingest"}),
        ("import seisflow.ingest", {"seisflow.models", "torch"}),
        ("import seisflow.cli", {"torch", "seisflow.models"}),
        (
            "import seisflow.synth.config, seisflow.models.config, seisflow.train.config",
            {"torch", "numpy", "xarray", "seisflow.ingest", "seisflow.models.flow"},
        ),
        (
            "import seisflow.infer.maps, seisflow.infer.evaluate, seisflow.infer.export",
            {"seisflow.viz", "seisflow.train.loop"},
        ),
    ],
)
def test_imports(statement, forbidden):
    assert not loaded_after(statement) & forbidden
