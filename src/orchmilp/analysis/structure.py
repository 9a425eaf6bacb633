"""Facts about a workflow that need no optimisation: ``orchmilp analyze``.

Dependency levels, redundant dependencies, the longest chain, the
resource-free critical path with every agent's slack, the dependency bound
against the capacity bounds (which one binds), file conflicts pair by pair,
resources that can never be saturated, and the parallelism of each level.
Everything is polynomial and fast, also for thousands of agents.
"""

from __future__ import annotations

import time
from typing import Any

import networkx as nx
import numpy as np

from ..bounds.critical_path import heads, tails
from ..bounds.resource import clique_bound, energy_bound
from ..io.numbers import plain_number
from ..model.paths import display_path
from ..model.problem import Problem
from ..schedule.partial_order import reduce_arcs

__all__ = ["analyze", "dependency_graph", "CLIQUE_SECONDS", "MAX_CONFLICT_PAIRS"]

#: file conflicts listed pair by pair at most (``file_conflicts_total`` counts them all: 20,000
#: agents sharing 40 files have over a million pairs, whose list alone took 14 s)
MAX_CONFLICT_PAIRS = 10_000
#: seconds analyze gives the clique search (it grows cliques from the longest agents first)
CLIQUE_SECONDS = 3.0


def dependency_graph(problem: Problem) -> nx.DiGraph:
    """The dependencies as a networkx graph on agent ids (edge dep -> dependent)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(problem.ids)
    graph.add_edges_from((problem.ids[i], problem.ids[j]) for i, j in problem.edges.tolist())
    return graph


def _redundant(problem: Problem) -> list[dict[str, Any]]:
    """Dependencies implied by a longer path, with that path."""
    preds = [problem.preds(j).tolist() for j in range(problem.n)]
    kept = reduce_arcs(preds)
    reduced = None
    out = []
    for j in range(problem.n):
        dropped = set(preds[j]) - set(kept[j])
        if not dropped:
            continue
        if reduced is None:  # the reduced graph still links them, through others
            reduced = nx.DiGraph()
            reduced.add_nodes_from(range(problem.n))
            reduced.add_edges_from((i, k) for k in range(problem.n) for i in kept[k])
        for i in sorted(dropped):
            path = [problem.ids[v] for v in nx.shortest_path(reduced, i, j)]
            out.append({"agent": problem.ids[j], "depends_on": problem.ids[i], "implied_by": path})
    return out


def analyze(problem: Problem) -> dict[str, Any]:
    """All structural facts of a workflow as a JSON-ready dict.

    >>> from orchmilp.api import load
    >>> facts = analyze(load({"agents": [{"id": "a", "duration": 2},
    ...     {"id": "b", "duration": 3, "depends_on": ["a"]},
    ...     {"id": "c", "duration": 1, "depends_on": ["a", "b"]}]}))
    >>> facts["levels"], facts["critical_path"], [r["depends_on"] for r in facts["redundant_dependencies"]]
    ([['a'], ['b'], ['c']], ['a', 'b', 'c'], ['a'])
    """
    ids, d = problem.ids, problem.durations
    graph = dependency_graph(problem)
    levels = [sorted(level, key=problem.index.__getitem__) for level in nx.topological_generations(graph)]
    h, q = heads(problem), tails(problem)
    cp = float(np.max(h + d)) if problem.n else 0.0
    latest = cp - q - d
    slack = latest - h

    # critical path: zero-slack agents linked by tight dependencies, longest first
    path: list[int] = []
    if problem.n:
        j = int(np.argmax(np.where(slack <= 1e-9, h + d, -1)))
        path = [j]
        while h[j] > 1e-9:
            tight = [i for i in problem.preds(j) if abs(h[i] + d[i] - h[j]) <= 1e-9 and slack[i] <= 1e-9]
            if not tight:
                break
            j = int(max(tight, key=lambda i: d[i]))
            path.append(j)
        path.reverse()

    energy = energy_bound(problem)
    problem.find_cliques(time.perf_counter() + CLIQUE_SECONDS)  # fewer cliques on huge workflows: a weaker bound
    cliques = clique_bound(problem)
    resource_lb = max(energy, cliques)
    binding = "dependencies" if cp >= resource_lb - 1e-9 else "capacity"

    pairs = problem.conflict_pairs[:MAX_CONFLICT_PAIRS]
    listed = [problem.conflict(a, b) for a, b in pairs.tolist()]
    before = problem.precedence_matrix
    ordered = (before[pairs[:, 0], pairs[:, 1]] | before[pairs[:, 1], pairs[:, 0]]).tolist() if len(pairs) else []
    conflicts = [
        {
            "agents": [ids[c.a], ids[c.b]],
            "paths": [display_path(c.path_a), display_path(c.path_b)],
            "ordered_by_dependencies": bool(o),
        }
        for c, o in zip(listed, ordered)
    ]

    resources = []
    for r, name in enumerate(problem.resource_names):
        cap = float(problem.capacities[r])
        use = problem.usage[:, r]
        users = np.flatnonzero(use > 0)
        resources.append(
            {
                "name": name,
                "capacity": plain_number(cap),
                "users": len(users),
                "total_demand": plain_number(float(use.sum())),
                "largest_single_demand": plain_number(float(use.max())) if problem.n else 0,
                "never_saturated": bool(use.sum() <= cap + 1e-9),
                "filled_by_one_agent": [ids[j] for j in users if use[j] >= cap - 1e-9],
                "energy_bound": plain_number(float(np.dot(use, d) / cap)) if cap > 0 else None,
            }
        )

    parallelism = []
    for k, level in enumerate(levels):
        members = [problem.index[a] for a in level]
        demand = {
            name: plain_number(float(problem.usage[members, r].sum())) for r, name in enumerate(problem.resource_names)
        }
        limit = len(members)
        for r in range(len(problem.resource_names)):
            use = np.sort(problem.usage[members, r])
            fits = int(np.searchsorted(np.cumsum(use), problem.capacities[r] + 1e-9, side="right"))
            limit = min(limit, fits)
        parallelism.append(
            {
                "level": k,
                "agents": len(members),
                "longest": plain_number(float(d[members].max())) if members else 0,
                "demand": demand,
                "at_most_in_parallel_by_capacity": limit,
            }
        )

    return {
        "name": problem.name,
        "time_unit": problem.time_unit,
        "agents": problem.n,
        "dependencies": int(len(problem.edges)),
        "levels": levels,
        "redundant_dependencies": _redundant(problem),
        # the most agents in a row (the longest in time is the critical path)
        "longest_chain": list(nx.dag_longest_path(graph)) if problem.n else [],
        "critical_path": [ids[j] for j in path],
        "critical_path_length": plain_number(cp),
        "slack": {
            ids[j]: {
                "earliest_start": plain_number(h[j]),
                "latest_start": plain_number(latest[j]),
                "slack": plain_number(slack[j]),
            }
            for j in range(problem.n)
        },
        "bounds": {
            "dependencies": plain_number(cp),
            # the capacity bounds count the work before and after (heads and tails) of the agents
            # they sequence: "capacity" binds when they exceed what the dependencies alone need
            "resources": plain_number(energy),
            "incompatible_cliques": plain_number(cliques),
            "binding": binding,
            "sequential": plain_number(float(d.sum())),
        },
        "file_conflicts": conflicts,
        "file_conflicts_total": len(problem.conflict_pairs),
        "resources": resources,
        "parallelism": parallelism,
    }
