"""Longest paths through the dependencies: heads, tails and the critical-path bound.

``heads[j]`` is the earliest start of ``j`` when only dependencies count;
``tails[j]`` is the longest chain of work that must follow ``j``'s finish.
Every schedule has makespan ``>= max(heads + durations)``.
"""

from __future__ import annotations

import numpy as np

from ..model.problem import Problem

__all__ = ["heads", "tails", "critical_path_bound"]


def heads(problem: Problem, durations: np.ndarray | None = None) -> np.ndarray:
    """Earliest start of each agent from the dependencies alone.

    >>> from orchmilp.api import load
    >>> p = load({"agents": [{"id": "a", "duration": 2}, {"id": "b", "duration": 3, "depends_on": ["a"]}]})
    >>> heads(p).tolist()
    [0.0, 2.0]
    """
    d = problem.durations if durations is None else durations
    out = np.zeros(problem.n, dtype=np.asarray(d).dtype)
    for j in problem.topological_order:
        preds = problem.preds(j)
        if len(preds):
            out[j] = np.max(out[preds] + d[preds])
    return out


def tails(problem: Problem, durations: np.ndarray | None = None) -> np.ndarray:
    """Length of the longest dependency chain that must run after each agent finishes."""
    d = problem.durations if durations is None else durations
    out = np.zeros(problem.n, dtype=np.asarray(d).dtype)
    for j in problem.topological_order[::-1]:
        succs = problem.succs(j)
        if len(succs):
            out[j] = np.max(out[succs] + d[succs])
    return out


def critical_path_bound(problem: Problem, durations: np.ndarray | None = None) -> float:
    """The longest dependency chain: a lower bound on every makespan."""
    d = problem.durations if durations is None else durations
    if problem.n == 0:
        return 0.0
    return float(np.max(heads(problem, d) + d))
