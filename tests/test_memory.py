"""Handing freed memory back to the operating system (glibc ``malloc_trim``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

CHILD = """
import numpy as np
from seisflow.memory import release_freed_memory

def anon():
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("RssAnon"))

blocks = [np.ones(8000) for _ in range(4000)]  # 64 kB each: on the heap, 256 MB
pin = np.ones(100)  # allocated after them, so the heap's top is not free
del blocks
before = anon()
print(release_freed_memory(), before - anon())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim: Linux")
def test_freed_heap_pages_go_back_to_the_system():
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         check=True).stdout.split()  # fmt: skip
    assert out[0] == "True"
    assert int(out[1]) > 100_000  # kB the heap still held for the freed blocks (0 untrimmed)
