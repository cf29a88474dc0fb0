"""glibc's ``malloc`` around the map: large blocks reused while it scores, freed memory
handed back after a step.

glibc's ``malloc`` maps each block above its mmap threshold (128 kB at first, raised up to
32 MB by the blocks it sees freed) fresh from the kernel and unmaps it when it is freed.
Torch on the CPU has no caching allocator: every forward pass of the map's flow allocates its
activations anew, blocks of tens of megabytes, so each pass faults in every page of them
again; on this project's virtual machine two fifths of the scoring's CPU time went to those
page faults (``benchmarks/score_memory.py``). :func:`reused_memory` keeps such blocks in
glibc's heaps while the map scores.

The other way round, glibc keeps freed memory in its heaps for reuse, so a process that has
finished one step (the map's scoring) can hold hundreds of megabytes it no longer uses while
the next step (the map's layers) allocates more: :func:`release_freed_memory` returns the free
pages of every heap.

References:
    The GNU C Library manual, "Memory Allocation Tunables", ``mallopt(3)`` and
    ``malloc_trim(3)``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import sys
from collections.abc import Iterator

__all__ = ["release_freed_memory", "reused_memory"]

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>
#: Where glibc's own adjustment leaves its mmap and trim thresholds once large blocks have
#: been freed (DEFAULT_MMAP_THRESHOLD_MAX on 64-bit, and twice it): what they were after
#: any scoring before :func:`reused_memory`.
_ADJUSTED_THRESHOLDS = (32 * 2**20, 64 * 2**20)


def release_freed_memory() -> bool:
    """Collect garbage, then return the free pages of glibc's heaps to the operating system.

    Returns:
        True when glibc's ``malloc_trim`` ran (Linux with glibc), False elsewhere (nothing
        done but the garbage collection).
    """
    gc.collect()
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


@contextlib.contextmanager
def reused_memory(*, held: int = 1 << 30) -> Iterator[bool]:
    """Within: glibc serves blocks of up to ``held`` bytes from its heaps and keeps up to
    ``held`` freed bytes at their top (``mallopt`` ``M_MMAP_THRESHOLD`` and
    ``M_TRIM_THRESHOLD``), so a block freed and allocated again reuses pages already
    faulted in. On leaving, the thresholds are set where glibc's own adjustment leaves them
    after large blocks were freed (32 MB and 64 MB; once set they no longer adjust
    themselves, and no call restores that) and the free pages are handed back
    (:func:`release_freed_memory`). Not reentrant; the setting is the process's, so other
    threads share it while it lasts.

    Args:
        held: Bytes; blocks above it are still mapped and unmapped on their own.

    Yields:
        True where glibc's ``mallopt`` took the setting (Linux with glibc), False elsewhere
        (nothing changed).
    """
    libc = _glibc()
    if libc is None:
        yield False
        return
    done = libc.mallopt(_M_MMAP_THRESHOLD, held) == 1 and libc.mallopt(_M_TRIM_THRESHOLD, held) == 1
    try:
        yield done
    finally:
        libc.mallopt(_M_MMAP_THRESHOLD, _ADJUSTED_THRESHOLDS[0])
        libc.mallopt(_M_TRIM_THRESHOLD, _ADJUSTED_THRESHOLDS[1])
        release_freed_memory()


def _glibc() -> ctypes.CDLL | None:
    """glibc with ``malloc_trim`` and ``mallopt`` typed, or None (not Linux, or a C library
    without them, such as musl)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        trim, option = libc.malloc_trim, libc.mallopt
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    option.argtypes, option.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return libc
