"""Forward-backward improvement (justification, Valls et al. 2005).

Right-justify every agent in the order of decreasing finish times, then
left-justify in the order of increasing starts; repeat while the makespan
shrinks. Never makes a schedule worse.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..model.problem import Problem
from .sgs import serial_sgs

__all__ = ["forward_backward"]


def forward_backward(
    problem: Problem, durations: np.ndarray, start: np.ndarray, max_rounds: int = 10, deadline: float = math.inf
) -> np.ndarray:
    """Improve a feasible schedule by alternating right and left justification; no round
    starts after ``deadline`` (a ``perf_counter`` time: at 8,000 agents the rounds took 22 s)."""
    if problem.n == 0:
        return start
    cum = problem.cumulative
    rank = np.empty(problem.n, np.int64)
    rank[problem.topological_order] = np.arange(problem.n)
    best = start
    best_ms = float(np.max(start + durations))
    for _ in range(max_rounds):
        if time.perf_counter() > deadline:
            break
        finish = best + durations
        order = np.lexsort((-rank, -finish))
        rev = serial_sgs(order, durations, problem.succ_ptr, problem.succ_idx, cum.usage, cum.capacity)
        end = float(np.max(rev + durations))
        back = end - (rev + durations)
        order = np.lexsort((rank, back))
        fwd = serial_sgs(order, durations, problem.pred_ptr, problem.pred_idx, cum.usage, cum.capacity)
        ms = float(np.max(fwd + durations))
        if ms < best_ms - 1e-9:
            best, best_ms = fwd, ms
        else:
            break
    return best
