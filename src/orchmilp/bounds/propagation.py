"""Constraint propagation on time windows, and the destructive lower bound it gives.

For a trial makespan ``T`` (in whole grid steps) every agent has a window:
earliest start ``es_j`` and latest finish ``lf_j``. These rules shrink the
windows until nothing changes (all are standard in constraint-based
scheduling, see Baptiste, Le Pape and Nuijten 2001):

* precedence: ``es_j >= es_i + p_i`` and ``lf_i <= lf_j - p_j`` for ``i -> j``;
* disjunctive pairs: two agents that can never overlap (a file conflict, or
  together above some capacity) run in one order or the other; an order
  that cannot fit in the windows is excluded and the other one enforced;
* time-tabling: the compulsory parts ``[lf_j - p_j, es_j + p_j)`` load every
  resource; an agent cannot start where it would not fit beside them;
* edge finding on cliques of agents that run one at a time: a set of them
  cannot be squeezed into less time than its total duration, and an agent
  that cannot go before (after) such a set goes after (before) all of it.

A window that empties, a resource overloaded by compulsory parts, or an
interval that needs more energy than it holds (energetic reasoning) proves
that no schedule meets ``T``. Since the rules only get stronger as ``T``
shrinks, the smallest ``T`` they cannot refute is a lower bound
(a destructive lower bound, Klein and Scholl 1999). The surviving windows are
valid for every schedule with makespan at most ``T``: they narrow the MILP.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..model.arrays import Disjunctions, Resources
from ..model.problem import Problem

__all__ = ["Windows", "propagate", "destructive_bound", "disjunctive_pairs"]


@njit(cache=True)
def _precedence(es, lf, p, topo, pred_ptr, pred_idx, succ_ptr, succ_idx):
    changed = False
    for q in range(topo.shape[0]):
        j = topo[q]
        for r in range(pred_ptr[j], pred_ptr[j + 1]):
            i = pred_idx[r]
            if es[i] + p[i] > es[j]:
                es[j] = es[i] + p[i]
                changed = True
    for q in range(topo.shape[0] - 1, -1, -1):
        i = topo[q]
        for r in range(succ_ptr[i], succ_ptr[i + 1]):
            j = succ_idx[r]
            if lf[j] - p[j] < lf[i]:
                lf[i] = lf[j] - p[j]
                changed = True
    return changed


@njit(cache=True)
def _pairs(es, lf, p, pair_a, pair_b):
    """Returns (changed, failed)."""
    changed = False
    for q in range(pair_a.shape[0]):
        i = pair_a[q]
        j = pair_b[q]
        i_first = es[i] + p[i] + p[j] <= lf[j]
        j_first = es[j] + p[j] + p[i] <= lf[i]
        if not i_first and not j_first:
            return changed, True
        if not i_first:  # j runs before i
            if es[j] + p[j] > es[i]:
                es[i] = es[j] + p[j]
                changed = True
            if lf[i] - p[i] < lf[j]:
                lf[j] = lf[i] - p[i]
                changed = True
        elif not j_first:  # i runs before j
            if es[i] + p[i] > es[j]:
                es[j] = es[i] + p[i]
                changed = True
            if lf[j] - p[j] < lf[i]:
                lf[i] = lf[j] - p[j]
                changed = True
    return changed, False


@njit(cache=True)
def _timetable(es, lf, p, usage, capacity, horizon):
    """Returns (changed, failed)."""
    n = p.shape[0]
    changed = False
    prof = np.zeros(horizon + 1)
    for k in range(capacity.shape[0]):
        prof[:] = 0.0
        for j in range(n):
            if usage[j, k] > 0 and p[j] > 0:
                for t in range(lf[j] - p[j], es[j] + p[j]):
                    prof[t] += usage[j, k]
        for t in range(horizon):
            if prof[t] > capacity[k] + 1e-9:
                return changed, True
        for j in range(n):
            u = usage[j, k]
            if u <= 0 or p[j] <= 0:
                continue
            cs = lf[j] - p[j]  # own compulsory part [cs, ce)
            ce = es[j] + p[j]
            # earliest start: slide right past every step that cannot take j
            t = es[j]
            tau = t
            while tau < t + p[j]:
                own = u if (tau >= cs and tau < ce) else 0.0
                if prof[tau] - own + u > capacity[k] + 1e-9:
                    t = tau + 1
                    if t + p[j] > lf[j]:
                        return changed, True
                tau += 1
                if tau < t:
                    tau = t
            if t > es[j]:
                es[j] = t
                changed = True
            # latest finish: slide left
            f = lf[j]
            tau = f - 1
            while tau >= f - p[j]:
                own = u if (tau >= cs and tau < ce) else 0.0
                if prof[tau] - own + u > capacity[k] + 1e-9:
                    f = tau
                    if f - p[j] < es[j]:
                        return changed, True
                tau -= 1
                if tau > f - 1:
                    tau = f - 1
            if f < lf[j]:
                lf[j] = f
                changed = True
    return changed, False


@njit(cache=True)
def _energy_in(es, lf, p, j, a, b):
    """Least part of j's run inside [a, b) over all starts in its window."""
    left = es[j] + p[j] - a  # pushed as far left as possible
    right = b - (lf[j] - p[j])  # pushed as far right as possible
    m = b - a
    if p[j] < m:
        m = p[j]
    if left < m:
        m = left
    if right < m:
        m = right
    return m if m > 0 else 0


@njit(cache=True)
def _energetic_adjust(es, lf, p, usage, capacity):
    """Energetic reasoning with window adjustments (Baptiste, Le Pape and Nuijten 1999).

    For an interval [a, b) every agent needs at least its left- or
    right-shifted overlap; if the others leave room ``avail`` and agent i
    started as early as allowed would overlap more than ``avail / u_i``, it
    must start no earlier than ``b - avail / u_i`` (symmetrically, finish no
    later than ``a + avail / u_i``). Returns (changed, failed).
    """
    n = p.shape[0]
    changed = False
    starts = np.unique(es)
    ends = np.unique(np.concatenate((lf, es + p)))
    for k in range(capacity.shape[0]):
        users = np.zeros(n, np.int64)
        m = 0
        for j in range(n):
            if usage[j, k] > 0 and p[j] > 0:
                users[m] = j
                m += 1
        if m < 2:
            continue
        for a in starts:
            for b in ends:
                if b <= a:
                    continue
                room = capacity[k] * (b - a)
                need = 0.0
                for q in range(m):
                    j = users[q]
                    need += usage[j, k] * _energy_in(es, lf, p, j, a, b)
                if need > room + 1e-9:
                    return changed, True
                for q in range(m):
                    i = users[q]
                    u = usage[i, k]
                    avail = room - (need - u * _energy_in(es, lf, p, i, a, b))
                    allowed = int(np.floor(avail / u + 1e-9))
                    left = min(b, es[i] + p[i]) - max(a, es[i])  # overlap when started as early as possible
                    if left > allowed and es[i] < b - allowed:
                        es[i] = b - allowed
                        changed = True
                        if es[i] + p[i] > lf[i]:
                            return changed, True
                    right = min(b, lf[i]) - max(a, lf[i] - p[i])  # overlap when finished as late as possible
                    if right > allowed and lf[i] > a + allowed:
                        lf[i] = a + allowed
                        changed = True
                        if es[i] + p[i] > lf[i]:
                            return changed, True
    return changed, False


@njit(cache=True)
def _edge_finding(es, lf, p, clique_ptr, clique_idx):
    """Task-interval reasoning on cliques (agents that run one at a time). Returns (changed, failed).

    For members k, l let O = {j : es_j >= es_k, lf_j <= lf_l} with total duration P.
    Overload: lf_l - es_k < P is impossible. Edge finding: a member i outside O
    that cannot fit before (or inside) O must come after all of it, so
    es_i >= es_k + P; symmetrically one that must come first gets lf_i <= lf_l - P.
    """
    changed = False
    inside = np.zeros(p.shape[0], np.bool_)
    for c in range(clique_ptr.shape[0] - 1):
        lo = clique_ptr[c]
        hi = clique_ptr[c + 1]
        for a in range(lo, hi):
            for b in range(lo, hi):
                ek = es[clique_idx[a]]  # the task interval [ek, ll) is fixed before any update below
                ll = lf[clique_idx[b]]
                if ll <= ek:
                    continue
                total = 0
                for q in range(lo, hi):
                    j = clique_idx[q]
                    inside[j] = es[j] >= ek and lf[j] <= ll
                    if inside[j]:
                        total += p[j]
                if total == 0:
                    continue
                if ll - ek < total:
                    return changed, True
                for q in range(lo, hi):
                    i = clique_idx[q]
                    if p[i] == 0 or inside[i]:
                        continue
                    if ll - min(ek, es[i]) < total + p[i] and es[i] < ek + total:
                        es[i] = ek + total  # i ends after every agent of the interval
                        changed = True
                        if es[i] + p[i] > lf[i]:
                            return changed, True
                    if max(ll, lf[i]) - ek < total + p[i] and lf[i] > ll - total:
                        lf[i] = ll - total  # i starts before every agent of the interval
                        changed = True
                        if es[i] + p[i] > lf[i]:
                            return changed, True
    return changed, False


@njit(cache=True)
def _propagate(es, lf, p, graph, resources, disjunctions, horizon):
    """Shrink the windows in place until nothing changes; False when they become infeasible."""
    topo, pred_ptr, pred_idx, succ_ptr, succ_idx = graph
    usage, capacity = resources
    pair_a, pair_b, clique_ptr, clique_idx = disjunctions
    n = p.shape[0]
    for _ in range(1000):
        changed = _precedence(es, lf, p, topo, pred_ptr, pred_idx, succ_ptr, succ_idx)
        for j in range(n):
            if es[j] + p[j] > lf[j]:
                return False
        c2, failed = _pairs(es, lf, p, pair_a, pair_b)
        if failed:
            return False
        c3, failed = _timetable(es, lf, p, usage, capacity, horizon)
        if failed:
            return False
        c4, failed = _edge_finding(es, lf, p, clique_ptr, clique_idx)
        if failed:
            return False
        if not (changed or c2 or c3 or c4):
            break
    for j in range(n):
        if es[j] + p[j] > lf[j]:
            return False
    return True


@njit(cache=True)
def _propagate_all(es, lf, p, graph, resources, disjunctions, horizon, energetic):
    """:func:`_propagate`, alternated with energetic adjustments until neither changes anything."""
    usage, capacity = resources
    for _ in range(100):
        if not _propagate(es, lf, p, graph, resources, disjunctions, horizon):
            return False
        if not energetic:
            return True
        changed, failed = _energetic_adjust(es, lf, p, usage, capacity)
        if failed:
            return False
        if not changed:
            return True
    return True


@njit(cache=True)
def _fixpoint(horizon, p, graph, resources, disjunctions, energetic):
    n = p.shape[0]
    es = np.zeros(n, np.int64)
    lf = np.full(n, horizon, np.int64)
    ok = _propagate_all(es, lf, p, graph, resources, disjunctions, horizon, energetic)
    return ok, es, lf


def disjunctive_pairs(problem: Problem, p: np.ndarray) -> np.ndarray:
    """Pairs ``(a, b)``, ``a < b``, of agents (both with positive grid duration) that can never run
    at the same time (:attr:`Problem.incompatible_pairs`), sorted. Built from the file conflicts
    and, per capacity, the users too large to run together, without an n x n matrix (at 20,000
    agents the matrix took 3.7 s and 400 MB)."""
    n = max(problem.n, 1)
    active = np.asarray(p) > 0
    codes = [problem.conflict_pairs[:, 0] * n + problem.conflict_pairs[:, 1]]
    cum = problem.cumulative
    for k in np.flatnonzero(~cum.is_file):
        u = cum.usage[:, k] * active
        users = np.flatnonzero(u > 0)
        users = users[np.argsort(u[users], kind="stable")]
        need = u[users]
        cap = cum.capacity[k] + 1e-9
        first = np.searchsorted(need, cap - need, side="right")  # partners of users[i]: users[first[i]:]
        for i in np.flatnonzero(first < len(users)).tolist():
            partners = users[max(first[i], i + 1) :]
            a = np.minimum(users[i], partners)
            b = np.maximum(users[i], partners)
            codes.append(a * n + b)
    code = np.unique(np.concatenate(codes).astype(np.int64))
    a, b = code // n, code % n
    keep = (a != b) & active[a] & active[b]
    return np.ascontiguousarray(np.column_stack([a[keep], b[keep]]), dtype=np.int64).reshape(-1, 2)


@dataclass(frozen=True)
class Windows:
    """Earliest starts and latest finishes (grid steps) for makespan at most ``horizon``."""

    horizon: int
    feasible: bool
    es: np.ndarray
    lf: np.ndarray


class Propagator:
    """Propagation for one problem and grid durations; call it with trial horizons."""

    def __init__(self, problem: Problem, p: np.ndarray, energetic: bool = True):
        self.problem = problem
        self.p = np.asarray(p, np.int64)
        pairs = disjunctive_pairs(problem, self.p)
        self.pair_a = np.ascontiguousarray(pairs[:, 0])
        self.pair_b = np.ascontiguousarray(pairs[:, 1])
        cum = problem.cumulative_with_cliques
        self.usage = np.ascontiguousarray(cum.usage * (self.p[:, None] > 0))
        self.capacity = cum.capacity
        self.energetic = energetic and problem.n <= 150
        members = [[j for j in c if self.p[j] > 0] for c in problem.cliques]
        members = [m for m in members if len(m) >= 2]
        self.clique_ptr = np.cumsum([0] + [len(m) for m in members]).astype(np.int64)
        self.clique_idx = np.asarray([j for m in members for j in m], dtype=np.int64)
        self.resources = Resources(self.usage, np.asarray(self.capacity, np.float64))
        self.disjunctions = Disjunctions(self.pair_a, self.pair_b, self.clique_ptr, self.clique_idx)

    def __call__(self, horizon: int) -> Windows:
        graph = self.problem.graph
        ok, es, lf = _fixpoint(int(horizon), self.p, graph, self.resources, self.disjunctions, self.energetic)
        return Windows(int(horizon), bool(ok), es, lf)


def propagate(problem: Problem, p: np.ndarray, horizon: int) -> Windows:
    """Windows after propagation for makespan at most ``horizon`` (``feasible`` False if refuted).

    >>> from orchmilp.api import load
    >>> prob = load({"agents": [{"id": "w", "duration": 3, "writes": ["f"]},
    ...                         {"id": "r", "duration": 2, "reads": ["f"]}]})
    >>> propagate(prob, np.array([3, 2]), 4).feasible, propagate(prob, np.array([3, 2]), 5).feasible
    (False, True)
    """
    return Propagator(problem, p)(horizon)


def destructive_bound(
    problem: Problem, p: np.ndarray, lower: int, upper: int, deadline: float = math.inf
) -> tuple[int, Windows | None]:
    """Smallest makespan in ``[lower, upper]`` that propagation cannot refute, by bisection
    (stopped at ``deadline``, a ``perf_counter`` time: every makespan below the value
    returned is refuted whenever it stops).

    Returns ``upper + 1`` (and no windows) when even ``upper`` is refuted, and
    the windows of ``upper`` otherwise (valid for every schedule of makespan
    at most ``upper``).
    """
    prop = Propagator(problem, p)
    top = prop(upper)
    if not top.feasible:
        return upper + 1, None
    lo, hi = lower, upper  # hi is not refuted
    while lo < hi and time.perf_counter() < deadline:
        mid = (lo + hi) // 2
        if prop(mid).feasible:
            hi = mid
        else:
            lo = mid + 1
    return lo, top
