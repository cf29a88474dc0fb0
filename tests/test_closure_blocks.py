"""Lazy arrays whose blocks a closure works out (:mod:`seisflow.infer.closure_blocks`)."""

from __future__ import annotations

import dask.array as da
import numpy as np

from seisflow.infer.closure_blocks import closure_blocks


class Counted:
    """Data a block function holds that counts the times it is pickled (as hashing the
    function pickles it)."""

    pickled = 0

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def __reduce__(self) -> tuple:
        Counted.pickled += 1
        return Counted, (self.values,)


def test_a_closure_holding_data_is_never_pickled_and_gives_its_blocks():
    held = Counted(np.arange(5 * 7, dtype=np.float32).reshape(5, 7))

    def block(block_info=None):
        (a0, a1), (b0, b1) = block_info[None]["array-location"]
        return held.values[a0:a1, b0:b1] * 2

    da.map_blocks(block, chunks=((2, 3), (4, 3)), dtype=np.float32)
    assert Counted.pickled > 0  # dask's own naming pickles the function and its data
    Counted.pickled = 0
    lazy = closure_blocks(block, chunks=((2, 3), (4, 3)), dtype=np.float32, label="twice")
    again = closure_blocks(block, chunks=((2, 3), (4, 3)), dtype=np.float32, label="twice")
    assert lazy.name.startswith("twice-") and lazy.name != again.name  # unique keys
    assert lazy.dtype == np.float32 and lazy._meta.shape == (0, 0)
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), held.values * 2)
    np.testing.assert_array_equal((lazy + again).compute(), held.values * 4)
    assert Counted.pickled == 0
