"""Resource (energy) lower bounds, strengthened with heads and tails.

For a cumulative constraint ``k`` and any set ``S`` of agents, the work
``sum_{j in S} d_j u_jk`` cannot be done faster than at rate ``cap_k``; none
of ``S`` starts before ``min head`` and after the last of them finishes at
least ``min tail`` remains. Agents that pairwise exceed a capacity form a
one-machine problem, bounded by Jackson's preemptive schedule.
"""

from __future__ import annotations

import heapq

import numpy as np

from ..model.problem import Problem
from .critical_path import heads, tails

__all__ = ["energy_bound", "disjunctive_bound", "clique_bound"]


def energy_bound(problem: Problem, durations: np.ndarray | None = None) -> float:
    """Best ``min head + energy / capacity + min tail`` over head- and tail-suffix sets.

    >>> from orchmilp.api import load
    >>> p = load({"resources": {"slots": 1}, "agents": [
    ...     {"id": "a", "duration": 2, "uses": {"slots": 1}},
    ...     {"id": "b", "duration": 3, "uses": {"slots": 1}}]})
    >>> energy_bound(p)
    5.0
    """
    d = problem.durations if durations is None else np.asarray(durations, float)
    cum = problem.cumulative
    if problem.n == 0 or cum.usage.shape[1] == 0:
        return 0.0
    h, q = heads(problem, d), tails(problem, d)
    best = 0.0
    for k in range(cum.usage.shape[1]):
        cap = cum.capacity[k]
        members = np.flatnonzero((cum.usage[:, k] > 0) & (d > 0))
        if cap <= 0 or len(members) == 0:
            continue
        work = d[members] * cum.usage[members, k] / cap
        for first, last in ((h, q), (q, h)):
            order = members[np.argsort(-first[members], kind="stable")]
            w = d[order] * cum.usage[order, k] / cap
            suffix_work = np.cumsum(w)
            suffix_min_last = np.minimum.accumulate(last[order])
            best = max(best, float(np.max(first[order] + suffix_work + suffix_min_last)))
        best = max(best, float(work.sum()))
    return best


def _jackson(release: np.ndarray, proc: np.ndarray, tail: np.ndarray) -> float:
    """Optimal preemptive one-machine makespan with release dates and tails."""
    order = np.argsort(release, kind="stable")
    heap: list[tuple[float, int]] = []
    remaining = proc.astype(float).copy()
    t, i, best, n = 0.0, 0, 0.0, len(order)
    while i < n or heap:
        if not heap:
            t = max(t, release[order[i]])
        while i < n and release[order[i]] <= t:
            j = order[i]
            heapq.heappush(heap, (-tail[j], j))
            i += 1
        neg_tail, j = heap[0]
        next_release = release[order[i]] if i < n else np.inf
        run = min(remaining[j], next_release - t)
        t += run
        remaining[j] -= run
        if remaining[j] <= 1e-12:
            heapq.heappop(heap)
            best = max(best, t - neg_tail)
    return best


def _jackson_over(problem: Problem, d: np.ndarray, sets: list[np.ndarray]) -> float:
    """Best Jackson bound over sets of agents that run one at a time."""
    sets = [s for s in sets if len(s) >= 2]
    if not sets:
        return 0.0
    h, q = heads(problem, d), tails(problem, d)
    return max(_jackson(h[s], d[s], q[s]) for s in sets)


def disjunctive_bound(problem: Problem, durations: np.ndarray | None = None) -> float:
    """Jackson's preemptive bound on every set of agents that pairwise exceed a capacity."""
    d = problem.durations if durations is None else np.asarray(durations, float)
    cum = problem.cumulative
    sets = [
        np.flatnonzero((cum.usage[:, k] > cum.capacity[k] / 2 + 1e-12) & (d > 0)) for k in range(cum.usage.shape[1])
    ]
    return _jackson_over(problem, d, sets)


def clique_bound(problem: Problem, durations: np.ndarray | None = None) -> float:
    """Jackson's preemptive bound on every clique of agents that can never run together."""
    d = problem.durations if durations is None else np.asarray(durations, float)
    return _jackson_over(problem, d, [np.asarray(c, dtype=np.int64) for c in problem.cliques])
