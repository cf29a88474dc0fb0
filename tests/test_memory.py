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


CHURN = """
import resource
import torch
from seisflow.memory import reused_memory

def churn(mb=64):  # minor page faults of ten blocks of mb MB, each written, then freed
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        torch.ones(mb * 2**18)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

outside = churn()
with reused_memory() as done:
    churn()  # the heap grows once
    inside = churn()
# after: blocks larger than the free chunk the heap may keep (which would serve 64 MB ones)
print(done, outside, inside, churn(128))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux")
def test_large_blocks_are_reused_within_and_mapped_afresh_after():
    out = subprocess.run([sys.executable, "-c", CHURN], capture_output=True, text=True,
                         check=True).stdout.split()  # fmt: skip
    done, outside, inside, after = out[0], *map(int, out[1:])
    assert done == "True"
    pages = 10 * 64 * 2**20 // 4096
    if outside < pages // 2:
        pytest.skip(f"{outside} page faults for {pages} pages: the kernel maps huge pages")
    assert inside < pages // 100  # each block reuses the pages of the one freed before it
    assert after > pages  # thresholds at 32 MB again: each 128 MB block is mapped afresh
