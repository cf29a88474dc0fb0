"""Dask distributed: connecting to an existing scheduler, with one clear error when it is not
there (the ``--scheduler ADDRESS`` of ``ingest``; ``map`` can use the same helper).

``distributed`` is imported only when a scheduler is asked for, so the commands start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from seisflow.errors import ConfigError

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["CONNECT_TIMEOUT_S", "connect"]

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
