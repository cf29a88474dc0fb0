"""Handing memory a step has freed back to the operating system.

glibc's ``malloc`` keeps freed memory in its heaps for reuse, and after large blocks have been
freed it serves blocks of up to that size from those heaps too (its mmap threshold rises), so a
process that has finished one step (the map's scoring: torch's activations, batch after batch)
can hold hundreds of megabytes it no longer uses while the next step (the map's layers)
allocates more. ``malloc_trim`` returns the free pages of every heap.

References:
    The GNU C Library manual, "Memory Allocation Tunables" and ``malloc_trim(3)``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys

__all__ = ["release_freed_memory"]


def release_freed_memory() -> bool:
    """Collect garbage, then return the free pages of glibc's heaps to the operating system.

    Returns:
        True when glibc's ``malloc_trim`` ran (Linux with glibc), False elsewhere (nothing
        done but the garbage collection).
    """
    gc.collect()
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return False
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    trim(0)
    return True
