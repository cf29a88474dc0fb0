"""Where Dask work runs: an existing distributed scheduler (:func:`connect`, with one clear
error when it is not there: the ``--scheduler ADDRESS`` of ``ingest`` and ``map``), or local
threads of a pool of our own (:func:`local_threads`), so that a failed write can wait for the
tasks still in flight before it cleans up after itself.

``distributed`` is imported only when a scheduler is asked for, so the commands start fast.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from seisflow.errors import ConfigError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["CONNECT_TIMEOUT_S", "connect", "local_threads"]

#: Seconds to wait for a scheduler before giving up (distributed retries until then).
CONNECT_TIMEOUT_S = 5.0


def connect(
    address: str, *, timeout: float = CONNECT_TIMEOUT_S, option: str = "--scheduler"
) -> Client:
    """A :class:`distributed.Client` connected to the scheduler at ``address``.

    Use it as a context manager (``with connect(address) as client:``) so that it is closed.

    Args:
        address: The scheduler's address, e.g. ``tcp://host:8786``.
        timeout: Seconds to keep trying before giving up.
        option: The command-line option that gave the address, named in the error.

    Raises:
        ConfigError: When no scheduler answers at ``address`` within ``timeout`` seconds, or
            the address is malformed; one line naming the address and what to do.
    """
    from distributed import Client

    try:  # not the default client: a failed one would stay dask's global scheduler
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, ValueError, TypeError) as exc:  # TimeoutError is an OSError
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ConfigError(
            f"cannot reach the Dask scheduler at {address}: {reason}; start it or leave "
            f"{option} out"
        ) from None


@contextlib.contextmanager
def local_threads(workers: int | None = None) -> Iterator[dict[str, Any]]:
    """Keyword arguments of ``dask.compute`` for the threaded scheduler on a pool of its own.

    When the block ends, also because a task failed, tasks not started are dropped and the
    ones running are waited for: a write that failed (a full disk) can then remove what it
    staged without a task still writing recreating it.

    Args:
        workers: Threads (default: the number of CPUs).
    """
    pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    try:
        yield {"scheduler": "threads", "pool": pool}
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
