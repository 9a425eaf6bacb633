"""From a schedule to ``waits_for``: a partial-order schedule robust to durations.

Besides its dependencies, an agent waits for

* the agents it takes resource units from: for each resource, units flow
  from the agents that finished before it started (or from the free pool)
  to it, as in the resource-flow networks of Artigues, Michelon and Reusser
  (2003). With flow conservation, agents that run together in *any*
  schedule respecting these arcs form an antichain of the flow network and
  so never hold more than the capacity;
* every conflicting agent (shared file) that the schedule ran before it: per file
  lock, a writer waits for the lock's last writer before it and the agents that
  came after that writer, any other agent for the last writer only (linear in
  the lock's members; the other pairs follow by transitivity).

Flow is taken first from agents that already precede it (no new arc), then
from the free pool, then from the donors with most units left. Arcs implied
by others are dropped at the end (transitive reduction, :func:`reduce_arcs`).
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from ..model.paths import display_path
from ..model.problem import Problem

__all__ = ["partial_order", "earliest_starts", "reduce_arcs"]

_EPS = 1e-9


def partial_order(
    problem: Problem, start: np.ndarray, durations: np.ndarray, reasons: dict | None = None
) -> list[list[int]]:
    """``waits_for`` of each agent (transitively reduced) for a feasible schedule.

    ``durations`` are those for which ``start`` is feasible. If a dict is given
    as ``reasons``, every ordering the schedule added (before the reduction) is
    recorded in it as ``(i, j) -> "resource <name>"`` or ``"file <path>"``.
    """
    n = problem.n
    start = np.asarray(start, float)
    d = np.asarray(durations, float)
    finish = start + d
    rank = np.empty(n, np.int64)
    rank[problem.topological_order] = np.arange(n)
    order = np.lexsort((rank, finish, start))

    arcs: list[set[int]] = [set(map(int, problem.preds(j))) for j in range(n)]
    ancestors = [0] * n

    usage = problem.usage * (problem.durations[:, None] > 0)
    resources = [r for r in range(len(problem.resource_names)) if usage[:, r].sum() > problem.capacities[r] + _EPS]
    pools = {r: _Pool(float(problem.capacities[r])) for r in resources}

    # per file lock: its last writer so far and the other agents that came after that writer
    active = problem.durations > 0
    lock_roles: list[list[tuple[int, bool]]] = [[] for _ in range(n)]
    for k, lock in enumerate(problem.locks):
        for i in lock.writers:
            if active[i]:
                lock_roles[i].append((k, True))
        for i in lock.others:
            if active[i]:
                lock_roles[i].append((k, False))
    last_writer = [-1] * len(problem.locks)
    since_writer: list[list[int]] = [[] for _ in problem.locks]

    def add(i: int, j: int, why: str) -> None:
        arcs[j].add(i)
        ancestors[j] |= ancestors[i] | (1 << i)
        if reasons is not None:
            reasons[(i, j)] = why

    for j in map(int, order):
        anc = 0
        for i in arcs[j]:
            anc |= ancestors[i] | (1 << i)
        ancestors[j] = anc
        for r in resources:
            need = usage[j, r]
            if need <= 0:
                continue
            pool = pools[r]
            for q in pool.donors(start[j], _bits(ancestors[j], n)):
                if need <= _EPS:
                    break
                take = min(need, pool.units[q])
                pool.units[q] -= take
                need -= take
                donor = int(pool.agent[q])
                if donor >= 0 and not (ancestors[j] >> donor) & 1:
                    add(donor, j, f"resource {problem.resource_names[r]}")
            if need > 1e-6:
                raise ValueError(f"schedule exceeds the capacity of {problem.resource_names[r]!r}")
            pool.settle(j, float(usage[j, r]), float(finish[j]))
        for k, writes in lock_roles[j]:
            # a writer comes after everyone of the lock before it; the others only after the
            # last writer (arcs to the previous writer's followers imply the rest)
            for i in [last_writer[k], *since_writer[k]] if writes else [last_writer[k]]:
                if i < 0:
                    continue
                if finish[i] > start[j] + _EPS:
                    raise ValueError(f"schedule overlaps conflicting agents {problem.ids[i]!r} and {problem.ids[j]!r}")
                if not (ancestors[j] >> i) & 1:
                    add(i, j, f"file {display_path(problem.locks[k].path)}")
            if writes:
                last_writer[k] = j
                since_writer[k] = []
            else:
                since_writer[k].append(j)

    return [sorted(kept, key=lambda i: (start[i], i)) for kept in reduce_arcs(arcs, ancestors)]


def _bits(value: int, n: int) -> np.ndarray:
    """A bit set (a Python int) as n booleans."""
    raw = np.frombuffer(value.to_bytes((n + 7) // 8 + 1, "little"), np.uint8)
    return np.unpackbits(raw, bitorder="little")[:n].astype(bool)


class _Pool:
    """One resource's donors as arrays: the agent (-1 for the free pool), its units left and
    when they are free (20,000 agents sharing tokens-per-minute buckets leave thousands of
    partial donors: sorting them as lists took 50 s)."""

    def __init__(self, capacity: float) -> None:
        self.agent = np.array([-1], np.int64)
        self.units = np.array([capacity])
        self.finish = np.array([-np.inf])

    def donors(self, at: float, ancestor: np.ndarray) -> np.ndarray:
        """The donors with units free by ``at``, in the order they are taken: the agents that
        already precede (``ancestor``, by agent), the free pool, then the most units left;
        the pool's order on ties."""
        free = np.flatnonzero((self.units > _EPS) & (self.finish <= at + _EPS))
        agent = self.agent[free]
        kind = np.where(agent < 0, 1, np.where(ancestor[np.maximum(agent, 0)], 0, 2))
        return free[np.lexsort((-self.units[free], kind))]

    def settle(self, j: int, units: float, finish: float) -> None:
        """Drop the donors with nothing left; add ``j``, whose units are free at ``finish``."""
        keep = self.units > _EPS
        self.agent = np.append(self.agent[keep], j)
        self.units = np.append(self.units[keep], units)
        self.finish = np.append(self.finish[keep], finish)


def reduce_arcs(arcs: list[set[int]] | list[list[int]], ancestors: list[int] | None = None) -> list[list[int]]:
    """The transitive reduction of a DAG given as each node's predecessors: an arc ``i -> j``
    is dropped when ``i`` is an ancestor of another predecessor of ``j``. ``ancestors`` (bit
    sets as Python ints, a node's own bit excluded) are computed when not given. Linear in
    the arcs times n/64 words, where networkx's reduction searches from every node.

    >>> reduce_arcs([[], [0], [0, 1]])
    [[], [0], [1]]
    """
    n = len(arcs)
    if ancestors is None:
        ancestors = [0] * n
        indegree = [len(set(a)) for a in arcs]
        users: list[list[int]] = [[] for _ in range(n)]
        for j, preds in enumerate(arcs):
            for i in set(preds):
                users[i].append(j)
        ready = [j for j in range(n) if indegree[j] == 0]
        while ready:
            j = ready.pop()
            anc = 0
            for i in arcs[j]:
                anc |= ancestors[i] | (1 << i)
            ancestors[j] = anc
            for k in users[j]:
                indegree[k] -= 1
                if indegree[k] == 0:
                    ready.append(k)
    out = []
    for preds in arcs:
        implied = 0
        for i in preds:
            implied |= ancestors[i]
        out.append([i for i in dict.fromkeys(preds) if not (implied >> i) & 1])
    return out


def earliest_starts(problem: Problem, waits_for: list[list[int]], durations: np.ndarray) -> np.ndarray:
    """Start every agent as soon as all it waits for have finished."""
    n = problem.n
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((i, j) for j in range(n) for i in waits_for[j])
    start = np.zeros(n)
    for j in nx.topological_sort(graph):
        if waits_for[j]:
            start[j] = max(start[i] + durations[i] for i in waits_for[j])
    return start
