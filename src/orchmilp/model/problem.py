"""The validated problem as numpy arrays: what every algorithm works on.

A :class:`Problem` is built only by :func:`orchmilp.model.validate.validate`,
so its data always satisfy the workflow format: ids are unique, dependencies
form a DAG, every agent fits within every capacity, paths are normalised.
Agents are numbered ``0 .. n-1`` in input order.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from .arrays import Graph
from .paths import Conflict, FileLock, display_path, file_conflicts, overlaps

__all__ = ["Problem", "Cumulative"]


@dataclass(frozen=True, eq=False)
class Cumulative:
    """All cumulative constraints in one matrix: at every instant
    ``sum_j usage[j, k] * running_j <= capacity[k]`` for every column ``k``.

    Columns are the declared resources that can bind, then the file locks.
    """

    usage: np.ndarray  # (n, K) float64
    capacity: np.ndarray  # (K,) float64
    labels: tuple[str, ...]
    is_file: np.ndarray  # (K,) bool


#: seconds per pair of agents to build the n x n matrices the clique search needs
#: (precedence, incompatible pairs, incompatibility; measured 1.8e-8 at 5,000 agents,
#: 2.3e-8 at 20,000: 9 s there)
MATRIX_SECONDS_PER_PAIR = 2.5e-8


@dataclass(frozen=True, eq=False)
class Problem:
    """A workflow as arrays. Build it with :func:`orchmilp.load` or :func:`orchmilp.model.validate`."""

    name: str
    time_unit: str
    ids: tuple[str, ...]
    durations: np.ndarray  # (n,) float64
    edges: np.ndarray  # (m, 2) int64, predecessor -> successor, no duplicates
    resource_names: tuple[str, ...]
    capacities: np.ndarray  # (R,) float64
    usage: np.ndarray  # (n, R) float64
    reads: tuple[tuple[str, ...], ...]
    writes: tuple[tuple[str, ...], ...]
    locks: tuple[FileLock, ...]
    commands: tuple[str | None, ...]
    stages: tuple[tuple[int, ...], ...] | None = None
    # docs/spec/run-format.md: what prediction and execution need (one entry per agent)
    kinds: tuple[str, ...] = ()
    features: tuple[Mapping[str, float], ...] = ()
    duration_ranges: tuple[tuple[float, float] | None, ...] = ()
    timeouts: tuple[float | None, ...] = ()
    retries: tuple[int, ...] = ()
    run_if: tuple[Mapping[str, Any] | None, ...] = ()
    #: conflicting pairs a what-if lifted (the locks are rebuilt without them)
    lifted: frozenset[tuple[int, int]] = frozenset()

    @property
    def n(self) -> int:
        return len(self.ids)

    #: what depends only on the agents and their dependencies, kept by :meth:`changed`
    _GRAPH_CACHES = (
        "index",
        "pred_ptr",
        "pred_idx",
        "succ_ptr",
        "succ_idx",
        "graph",
        "topological_order",
        "precedence_matrix",
    )

    def changed(self, **fields: Any) -> Problem:
        """A copy with ``fields`` replaced (capacities, locks, lifted: a what-if), keeping the
        computed dependency structure (the transitive closure alone takes 3 s at 20,000 agents)."""
        if {"ids", "edges", "durations"} & fields.keys():
            raise ValueError("changed() keeps the dependency caches: use dataclasses.replace for new agents or edges")
        other = dataclasses.replace(self, **fields)
        for name in self._GRAPH_CACHES:
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    @cached_property
    def conflicts(self) -> tuple[Conflict, ...]:
        """Every pair of agents that conflict on a file, with the paths (sorted by agents).
        Computed when first asked: on crowded files they grow with the square of the agents,
        where :attr:`locks` grow linearly and are what planning uses."""
        pairs = file_conflicts(list(self.reads), list(self.writes))
        return tuple(c for c in pairs if (c.a, c.b) not in self.lifted)

    @property
    def capacity_by_name(self) -> dict[str, float]:
        """Each declared capacity by name."""
        return {name: float(c) for name, c in zip(self.resource_names, self.capacities)}

    @cached_property
    def index(self) -> dict[str, int]:
        return {a: i for i, a in enumerate(self.ids)}

    @cached_property
    def pred_ptr(self) -> np.ndarray:
        return self._csr(1, 0)[0]

    @cached_property
    def pred_idx(self) -> np.ndarray:
        return self._csr(1, 0)[1]

    @cached_property
    def succ_ptr(self) -> np.ndarray:
        return self._csr(0, 1)[0]

    @cached_property
    def succ_idx(self) -> np.ndarray:
        return self._csr(0, 1)[1]

    def _csr(self, key: int, val: int) -> tuple[np.ndarray, np.ndarray]:
        order = np.lexsort((self.edges[:, val], self.edges[:, key])) if len(self.edges) else np.zeros(0, np.int64)
        keys = self.edges[order, key] if len(self.edges) else np.zeros(0, np.int64)
        ptr = np.zeros(self.n + 1, np.int64)
        np.add.at(ptr, keys + 1, 1)
        return np.cumsum(ptr), (self.edges[order, val] if len(self.edges) else np.zeros(0, np.int64)).astype(np.int64)

    def preds(self, j: int) -> np.ndarray:
        return self.pred_idx[self.pred_ptr[j] : self.pred_ptr[j + 1]]

    def succs(self, j: int) -> np.ndarray:
        return self.succ_idx[self.succ_ptr[j] : self.succ_ptr[j + 1]]

    @cached_property
    def graph(self) -> Graph:
        """The dependencies as the numba kernels take them."""
        return Graph(self.topological_order, self.pred_ptr, self.pred_idx, self.succ_ptr, self.succ_idx)

    @cached_property
    def topological_order(self) -> np.ndarray:
        """Agents in an order where every dependency comes first (Kahn, smallest index first)."""
        indeg = np.diff(self.pred_ptr).copy()
        ready = list(np.flatnonzero(indeg == 0)[::-1])
        order = []
        while ready:
            j = ready.pop()
            order.append(j)
            for k in self.succs(j)[::-1]:
                indeg[k] -= 1
                if indeg[k] == 0:
                    ready.append(k)
        return np.asarray(order, dtype=np.int64)

    @cached_property
    def precedence_matrix(self) -> np.ndarray:
        """n x n booleans: True when agent i must finish before agent j starts (directly or not).
        The one transitive closure of the dependencies that every algorithm uses."""
        before = np.zeros((self.n, self.n), np.bool_)
        for j in self.topological_order[::-1]:
            for k in self.succs(j):
                before[j, k] = True
                before[j] |= before[k]
        return before

    def ordered(self, i: int, j: int) -> bool:
        """True when one of the two agents depends (transitively) on the other."""
        return bool(self.precedence_matrix[i, j] or self.precedence_matrix[j, i])

    @cached_property
    def cumulative(self) -> Cumulative:
        """Declared resources that can bind (total demand above capacity) plus file locks."""
        n = self.n
        cols, caps, labels, is_file = [], [], [], []
        for r, name in enumerate(self.resource_names):
            col = self.usage[:, r] * (self.durations > 0)
            if col.sum() > self.capacities[r] + 1e-9:
                cols.append(col)
                caps.append(self.capacities[r])
                labels.append(name)
                is_file.append(False)
        for lock in self.locks:
            col = lock.usage(n) * (self.durations > 0)
            if col.sum() > lock.capacity:
                cols.append(col)
                caps.append(float(lock.capacity))
                labels.append("file:" + display_path(lock.path))
                is_file.append(True)
        usage = np.column_stack(cols) if cols else np.zeros((n, 0))
        return Cumulative(usage, np.asarray(caps, float), tuple(labels), np.asarray(is_file, bool))

    @cached_property
    def cliques(self) -> tuple[tuple[int, ...], ...]:
        """Maximal sets of agents of which no two can run together (see :mod:`.cliques`);
        :meth:`find_cliques` grows them under a deadline first, if called."""
        from .cliques import greedy_cliques

        return tuple(greedy_cliques(self))

    def find_cliques(self, deadline: float) -> tuple[tuple[int, ...], ...]:
        """:attr:`cliques`, grown from as many agents as the ``deadline`` (a ``perf_counter``
        time) allows: fewer cliques on very large workflows, the same ones otherwise."""
        if "cliques" not in self.__dict__:
            from .cliques import greedy_cliques

            if time.perf_counter() + MATRIX_SECONDS_PER_PAIR * self.n * self.n > deadline:
                self.__dict__["cliques"] = ()  # no time for the n x n matrices: no cliques, weaker bounds
            else:
                self.__dict__["cliques"] = tuple(greedy_cliques(self, deadline))
        return self.cliques

    @cached_property
    def incompatible_pairs(self) -> np.ndarray:
        """n x n booleans: the two agents can never run together because of a file conflict or
        a capacity both together exceed (dependencies aside); agents of zero duration excluded."""
        n = self.n
        clash = np.zeros((n, n), bool)
        pairs = self.conflict_pairs
        clash[pairs[:, 0], pairs[:, 1]] = clash[pairs[:, 1], pairs[:, 0]] = True
        cum = self.cumulative
        for k in range(cum.usage.shape[1]):
            u = cum.usage[:, k]
            users = np.flatnonzero(u > 0)
            top = np.sort(u[users])[-2:]
            if len(top) < 2 or top.sum() <= cum.capacity[k] + 1e-9:  # no two users exceed it together
                continue
            for lo in range(0, len(users), 1024):  # in row blocks: no n x n float temporary
                rows = users[lo : lo + 1024]
                clash[np.ix_(rows, users)] |= u[rows, None] + u[None, users] > cum.capacity[k] + 1e-9
        active = self.durations > 0
        clash &= active[:, None] & active[None, :]
        np.fill_diagonal(clash, False)
        return clash

    @cached_property
    def cumulative_with_cliques(self) -> Cumulative:
        """:attr:`cumulative` plus one unit-capacity column per clique: the same
        feasible schedules, stronger propagation and LP relaxation."""
        base = self.cumulative
        if not self.cliques:
            return base
        cols = np.zeros((self.n, len(self.cliques)))
        for c, members in enumerate(self.cliques):
            cols[list(members), c] = 1.0
        return Cumulative(
            np.hstack([base.usage, cols]),
            np.concatenate([base.capacity, np.ones(len(self.cliques))]),
            base.labels + tuple(f"clique:{'+'.join(self.ids[j] for j in m)}" for m in self.cliques),
            np.concatenate([base.is_file, np.zeros(len(self.cliques), bool)]),
        )

    @cached_property
    def conflict_pairs(self) -> np.ndarray:
        """(c, 2) array of conflicting agent index pairs ``a < b``, sorted: the pairs of
        :attr:`conflicts`, computed from the locks without building them (0.3 s for 1.6
        million pairs where the list of :class:`Conflict` takes 7 s)."""
        n = max(self.n, 1)
        codes = [np.zeros(0, np.int64)]
        for lock in self.locks:  # a lock's writers clash with all its members
            writers = np.asarray(lock.writers, np.int64)
            members = np.concatenate([writers, np.asarray(lock.others, np.int64)])
            a, b = np.minimum.outer(writers, members).ravel(), np.maximum.outer(writers, members).ravel()
            keep = a < b
            codes.append(a[keep] * n + b[keep])
        code = np.unique(np.concatenate(codes))
        return np.column_stack([code // n, code % n]).astype(np.int64).reshape(-1, 2)

    @cached_property
    def conflict_partners(self) -> tuple[frozenset[int], ...]:
        """For each agent, the agents it conflicts with on a file (what the executor and the
        session keep apart at run time)."""
        partners: list[set[int]] = [set() for _ in range(self.n)]
        for a, b in self.conflict_pairs.tolist():
            partners[a].add(b)
            partners[b].add(a)
        return tuple(frozenset(s) for s in partners)

    def conflict(self, a: int, b: int) -> Conflict:
        """The conflict of agents ``a < b`` with the two paths that make it (they must conflict)."""
        for w in self.writes[a]:
            for q in self.reads[b] + self.writes[b]:
                if overlaps(w, q):
                    return Conflict(a, b, w, q)
        for w in self.writes[b]:
            for q in self.reads[a] + self.writes[a]:
                if overlaps(w, q):
                    return Conflict(a, b, q, w)
        raise ValueError(f"agents {self.ids[a]!r} and {self.ids[b]!r} do not conflict")
