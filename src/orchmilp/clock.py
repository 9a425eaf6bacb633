"""Wall-clock deadlines that numba kernels can read.

Deadlines are absolute :func:`time.perf_counter` values (``math.inf``: none).
Kernels compiled with numba cannot call the ``time`` module directly; they
call :func:`now` (a short trip to the interpreter) every few hundred nodes,
so that a search stops on the clock and not only on a node count.
"""

from __future__ import annotations

import math
import time

from numba import njit, objmode

__all__ = ["NO_DEADLINE", "now", "deadline_in"]

NO_DEADLINE = math.inf


@njit(cache=True)
def now() -> float:
    """``time.perf_counter()``, callable from numba kernels."""
    with objmode(t="float64"):
        t = time.perf_counter()
    return t


def deadline_in(seconds: float) -> float:
    """The deadline ``seconds`` from now."""
    return time.perf_counter() + seconds
