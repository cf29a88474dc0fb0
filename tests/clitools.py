"""Running ``seisflow`` as a user does (a subprocess) and checking its one-line errors."""

from __future__ import annotations

import subprocess
import sys
from typing import Any


def run(*args: object, timeout: float = 600, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``python -m seisflow ARGS`` in a subprocess, text output captured."""
    command = [sys.executable, "-m", "seisflow", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)


def assert_one_line(out: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The command exited with ``code`` and wrote exactly one ``seisflow: error:`` line
    holding every fragment; returns the message after that prefix."""
    assert out.returncode == code, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("seisflow: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0].removeprefix("seisflow: error: ")
