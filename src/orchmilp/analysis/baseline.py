"""The baseline a plan is compared with: the user's current stages, or running everything in sequence."""

from __future__ import annotations

import dataclasses

import numpy as np

from ..heuristics.sgs import serial_sgs
from ..model.problem import Problem

__all__ = ["baseline"]


def baseline(problem: Problem) -> tuple[float, str, np.ndarray]:
    """(makespan, description, start times) of the current plan.

    With ``stages``, each stage starts when the whole previous stage has
    finished and its agents start as early as dependencies, resources and
    files allow, in the listed order. Without, agents run one after another.

    >>> from orchmilp.api import load
    >>> p = load({"agents": [{"id": "a", "duration": 2}, {"id": "b", "duration": 3}, {"id": "c", "duration": 1}],
    ...           "stages": [["a", "b"], ["c"]]})
    >>> baseline(p)[:2]
    (4.0, 'current stages (2)')
    """
    d = problem.durations
    if problem.stages is None:
        order = problem.topological_order
        start = np.concatenate(([0.0], np.cumsum(d[order])[:-1])) if problem.n else np.zeros(0)
        out = np.zeros(problem.n)
        out[order] = start
        return float(d.sum()), "sequential", out
    barrier = [(i, j) for s in range(1, len(problem.stages)) for i in problem.stages[s - 1] for j in problem.stages[s]]
    edges = np.unique(np.vstack([problem.edges, np.asarray(barrier, np.int64).reshape(-1, 2)]), axis=0)
    staged = dataclasses.replace(problem, edges=edges)
    order = staged.topological_order
    cum = staged.cumulative
    start = serial_sgs(order, d, staged.pred_ptr, staged.pred_idx, cum.usage, cum.capacity)
    return float(np.max(start + d)) if problem.n else 0.0, f"current stages ({len(problem.stages)})", start
