"""Cliques of agents that can never run at the same time.

Two agents (both with positive duration) are *incompatible* when they
conflict on a file, when together they need more of some resource than its
capacity, or when one (transitively) depends on the other. In a clique of
this graph the agents run one after another: that gives one-machine lower
bounds and the MILP rows ``sum_{j in K} running_j(t) <= 1``.

Cliques are grown greedily from every agent (longest first), preferring
long agents, then deduplicated and filtered to keep only maximal ones that
contain at least one pair not ordered by dependencies (chains alone add
nothing the dependencies do not already say).
"""

from __future__ import annotations

import math
import time

import numpy as np

__all__ = ["incompatibility", "greedy_cliques"]


def incompatibility(problem) -> np.ndarray:
    """The n x n boolean matrix of agents (of positive duration) that can never run together,
    dependencies included; built in place (one matrix, no n x n temporaries)."""
    before = problem.precedence_matrix
    incompatible = before.copy()
    incompatible |= before.T
    incompatible |= problem.incompatible_pairs
    idle = problem.durations <= 0
    incompatible[idle] = False
    incompatible[:, idle] = False
    np.fill_diagonal(incompatible, False)
    return incompatible


def greedy_cliques(problem, deadline: float = math.inf) -> list[tuple[int, ...]]:
    """Maximal cliques of the incompatibility graph that hold at least one unordered pair.

    >>> from orchmilp.api import load
    >>> p = load({"agents": [{"id": "a", "duration": 2, "writes": ["f"]},
    ...                      {"id": "b", "duration": 3, "writes": ["f"]},
    ...                      {"id": "c", "duration": 1, "reads": ["f"]}]})
    >>> greedy_cliques(p)
    [(0, 1, 2)]
    """
    n = problem.n
    if n == 0:
        return []
    if not problem.incompatible_pairs.any():  # only dependencies: chains, which add nothing
        return []
    incompatible = incompatibility(problem)
    before = problem.precedence_matrix
    d = problem.durations
    found: set[tuple[int, ...]] = set()
    for v in np.argsort(-d, kind="stable"):
        if time.perf_counter() > deadline:  # fewer cliques: weaker bounds, never wrong ones
            break
        if d[v] <= 0 or not incompatible[v].any():
            continue
        members = [int(v)]
        candidates = incompatible[v].copy()
        while candidates.any():
            pick = int(np.flatnonzero(candidates)[np.argmax(d[candidates])])
            members.append(pick)
            candidates &= incompatible[pick]
        clique = tuple(sorted(members))
        sub = np.ix_(clique, clique)
        unordered = incompatible[sub] & ~(before[sub] | before[sub].T)
        if unordered.any():
            found.add(clique)
    cliques = sorted(found, key=lambda c: (-d[list(c)].sum(), c))
    containing: dict[int, set[int]] = {}  # agent -> indices of the cliques holding it
    for k, c in enumerate(cliques):
        for j in c:
            containing.setdefault(j, set()).add(k)
    maximal = []
    for c in cliques:
        holders = set.intersection(*(containing[j] for j in c))  # cliques that contain all of c
        if not any(len(cliques[o]) > len(c) for o in holders):
            maximal.append(c)
    return maximal
