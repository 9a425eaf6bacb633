"""Time windows of the start variables on the grid.

With grid durations ``p`` and horizon ``H`` every agent starts in
``[head_j, H - tail_j - p_j]``: no earlier than its dependencies allow, no
later than leaves room for the work that must follow it.
"""

from __future__ import annotations

import numpy as np

from ..bounds.critical_path import heads, tails
from ..errors import HorizonInfeasible
from ..model.problem import Problem

__all__ = ["time_windows"]


def time_windows(problem: Problem, p: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest grid start of every agent for makespan at most ``horizon``
    (:class:`HorizonInfeasible` when the dependencies alone exceed it)."""
    p = np.asarray(p, np.int64)
    es = heads(problem, p).astype(np.int64)
    ls = (horizon - tails(problem, p) - p).astype(np.int64)
    if np.any(ls < es):
        raise HorizonInfeasible("horizon below the critical path")
    return es, ls
