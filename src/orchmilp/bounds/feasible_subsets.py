"""The feasible-subset LP with time windows, solved by column generation: a
destructive lower bound (Brucker and Knust 2000, after Mingozzi et al. 1998).

For a trial makespan ``T`` propagation gives every agent a window
``[es_j, lf_j)``. The window ends cut the time line into intervals; in interval
``k`` only agents whose window covers it can run. At every instant of a
schedule the running agents form a *feasible subset*: no two of them ordered by
a dependency or incompatible, and together within every capacity. Let
``x[X, k]`` be the time subset ``X`` runs in interval ``k``; preemption allowed,
a schedule of makespan ``T`` gives a solution of

    sum over (X, k) with j in X of x[X, k] >= p_j      for every agent j
    sum over X of x[X, k] <= length of interval k      for every interval k

If this LP has no solution, no schedule meets ``T``. Its columns are too many
to write out: :func:`refutes` starts from a few and adds, for every interval,
the subset of the highest dual price (a small exact branch and bound,
:func:`_best_subset`; past its node limit, the best subset it found and a
fractional-knapsack bound on the best price) until none prices out. The LP is
solved in phase-one form (minimise the overflow of the intervals). A refutation
never rests on the LP's last iterate: the duals, scaled by the best prices (or
their bounds), are a feasible dual solution whose value (Farley's bound) must
be positive.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

from ..model.problem import Problem
from .propagation import Windows

__all__ = ["refutes", "refuting_prices", "feasible_subset_bound"]

#: Positive overflow below this is read as zero (the data are whole grid steps).
_TOLERANCE = 1e-6
#: Branch-and-bound nodes per pricing problem; more and the test gives no answer.
_PRICING_NODES = 200_000


@njit(cache=True)
def _best_subset(cand, weight, usage, capacity, clash, node_limit, floor=0.0):
    """The subset of ``cand`` (sorted by weight, heaviest first) of the largest total
    weight whose members fit together (``usage`` within ``capacity``, no ``clash``), when it
    weighs more than ``floor`` (a subset already known). Returns (weight, members as a boolean
    mask over ``cand``, empty when none beats ``floor``; finished within the node limit)."""
    m = cand.shape[0]
    n_res = capacity.shape[0]
    load = np.zeros(n_res)
    blocked = np.zeros(m, np.int64)  # how many taken candidates clash with each one
    taken = np.zeros(m, np.bool_)
    stack = np.zeros(m, np.int64)  # the taken candidates, in the order taken
    depth = 0
    start = 0  # candidates before it are decided
    best = floor
    best_in = np.zeros(m, np.bool_)
    cur = 0.0
    nodes = 0
    while True:
        nodes += 1
        if nodes > node_limit:
            return best, best_in, False
        if cur > best + 1e-12:
            best = cur
            best_in[:] = taken
        # the candidates left that still fit one by one bound what this node can reach
        room = 0.0
        first = -1
        for q in range(start, m):
            if blocked[q] == 0:
                ok = True
                for r in range(n_res):
                    if load[r] + usage[cand[q], r] > capacity[r] + 1e-9:
                        ok = False
                        break
                if ok:
                    room += weight[cand[q]]
                    if first < 0:
                        first = q
        if first >= 0 and cur + room > best + 1e-12:  # take the next one that fits
            j = cand[first]
            taken[first] = True
            stack[depth] = first
            depth += 1
            cur += weight[j]
            for r in range(n_res):
                load[r] += usage[j, r]
            for q in range(m):
                if clash[j, cand[q]]:
                    blocked[q] += 1
            start = first + 1
            continue
        if depth == 0:
            return best, best_in, True
        depth -= 1  # leave the last one taken out, go on after it
        last = stack[depth]
        j = cand[last]
        taken[last] = False
        cur -= weight[j]
        for r in range(n_res):
            load[r] -= usage[j, r]
        for q in range(m):
            if clash[j, cand[q]]:
                blocked[q] -= 1
        start = last + 1


def _fractional_bound(cand: np.ndarray, weight: np.ndarray, usage: np.ndarray, capacity: np.ndarray) -> float:
    """An upper bound on the best subset's weight: for each resource the fractional knapsack
    (agents that do not use it come whole), the least of these."""
    w = weight[cand]
    bound = float(w.sum())
    for r in range(len(capacity)):
        u = usage[cand, r]
        free = u <= 0
        total = float(w[free].sum())
        left = capacity[r]
        for q in np.flatnonzero(~free)[np.argsort(-(w[~free] / u[~free]), kind="stable")]:
            take = min(1.0, left / u[q])
            total += take * w[q]
            left -= take * u[q]
            if left <= 0:
                break
        bound = min(bound, total)
    return bound


class _Subsets:
    """The fixed data of one trial makespan: intervals, who may run in each, who clashes."""

    def __init__(self, problem: Problem, p: np.ndarray, windows: Windows):
        self.p = np.asarray(p, np.int64)
        active = np.flatnonzero(self.p > 0)
        self.active = active
        es, lf = windows.es[active], windows.lf[active]
        self.points = np.unique(np.concatenate([es, lf]))
        starts, ends = self.points[:-1], self.points[1:]
        # may[k, a]: active agent a may run in interval k
        self.may = (es[None, :] <= starts[:, None]) & (lf[None, :] >= ends[:, None])
        self.lengths = (ends - starts).astype(float)
        keep = self.may.any(axis=1)
        self.may, self.lengths = self.may[keep], self.lengths[keep]
        before = problem.precedence_matrix[np.ix_(active, active)]
        self.clash = np.ascontiguousarray(before | before.T | problem.incompatible_pairs[np.ix_(active, active)])
        cum = problem.cumulative
        self.usage = np.ascontiguousarray(cum.usage[active])
        self.capacity = np.ascontiguousarray(cum.capacity, dtype=float)

    def greedy(self, k: int, order: np.ndarray, members: np.ndarray | None = None) -> np.ndarray:
        """Extend ``members`` (boolean over the active agents) by agents of interval ``k`` in ``order``
        while they fit: larger subsets serve the LP better at no cost in the price."""
        chosen = np.zeros(len(self.active), bool) if members is None else members.copy()
        load = self.usage[chosen].sum(axis=0)
        for a in order:
            if chosen[a] or not self.may[k, a] or self.clash[a, chosen].any():
                continue
            if np.all(load + self.usage[a] <= self.capacity + 1e-9):
                chosen[a] = True
                load = load + self.usage[a]
        return chosen


def refutes(problem: Problem, p: np.ndarray, windows: Windows, deadline: float = math.inf) -> bool | None:
    """True when the feasible-subset LP proves that no schedule has makespan at most ``windows.horizon``
    (``windows`` must come from propagation at that horizon); False when the LP has a solution;
    None when the ``deadline`` (a ``perf_counter`` time) or a pricing limit came first."""
    return _farley(problem, p, windows, deadline)[0]


def refuting_prices(problem: Problem, p: np.ndarray, windows: Windows, deadline: float = math.inf) -> np.ndarray | None:
    """The agents' prices (dual values, one per agent, zero for agents without a duration) of a
    Farley inequality that refutes ``windows``, when the LP refutes them; None otherwise (or when
    the windows are infeasible by themselves). A certificate's refutation
    (:mod:`orchmilp.lp_certificate`)."""
    answer, prices = _farley(problem, p, windows, deadline)
    return prices if answer else None


def _farley(
    problem: Problem, p: np.ndarray, windows: Windows, deadline: float
) -> tuple[bool | None, np.ndarray | None]:
    """:func:`refutes`, and the prices of the refuting inequality when there is one."""
    from ..solvers.highs_api import new_highs

    if not windows.feasible:
        return True, None
    sub = _Subsets(problem, p, windows)
    n_act, n_int = len(sub.active), len(sub.lengths)
    if n_act == 0:
        return False, None
    dur = sub.p[sub.active].astype(float)
    h = new_highs()
    inf = math.inf
    # rows: agents 0..n_act-1 (>= p), intervals n_act.. (<= length)
    none_i, none_v = np.zeros(0, np.int32), np.zeros(0)
    h.addRows(n_act, dur, np.full(n_act, inf), 0, none_i, none_i, none_v)
    h.addRows(n_int, np.full(n_int, -inf), sub.lengths, 0, none_i, none_i, none_v)
    for k in range(n_int):  # overflow of interval k, the phase-one cost
        h.addCol(1.0, 0.0, inf, 1, np.array([n_act + k], np.int32), np.array([-1.0]))
    seen: set[tuple[int, bytes]] = set()

    def add(k: int, members: np.ndarray) -> bool:
        key = (k, np.packbits(members).tobytes())
        if key in seen:
            return False
        seen.add(key)
        rows = np.concatenate([np.flatnonzero(members), [n_act + k]]).astype(np.int32)
        h.addCol(0.0, 0.0, inf, len(rows), rows, np.ones(len(rows)))
        return True

    longest_first = np.argsort(-dur, kind="stable")
    for a in range(n_act):  # every agent alone in its first interval: each row can be met
        single = np.zeros(n_act, bool)
        single[a] = True
        first = int(np.argmax(sub.may[:, a]))
        add(first, sub.greedy(first, longest_first, single))
    for k in range(n_int):
        add(k, sub.greedy(k, longest_first))

    while time.perf_counter() < deadline:
        h.run()
        if h.getModelStatus() != h.getModelStatus().kOptimal:
            return None, None
        if h.getInfo().objective_function_value <= _TOLERANCE:
            return False, None
        duals = np.asarray(h.getSolution().row_dual)
        price = np.maximum(duals[:n_act], 0.0)
        room = np.maximum(-duals[n_act:], 0.0)  # what a column of interval k may price at most
        best = np.zeros(n_int)  # the best price of each interval, or a bound on it
        added, exact = 0, True
        for k in range(n_int):
            cand = np.flatnonzero(sub.may[k] & (price > 1e-12))
            if len(cand) == 0:
                continue
            cand = cand[np.argsort(-price[cand], kind="stable")].astype(np.int64)
            # only a subset above the room prices out: the search looks for one above it
            value, mask, done = _best_subset(
                cand, price, sub.usage, sub.capacity, sub.clash, _PRICING_NODES, room[k] + 1e-9
            )
            exact = exact and done
            best[k] = value if done else max(value, _fractional_bound(cand, price, sub.usage, sub.capacity))
            if mask.any():
                members = np.zeros(n_act, bool)
                members[cand[mask]] = True
                order = np.flatnonzero(sub.may[k])
                added += add(k, sub.greedy(k, order[np.argsort(-price[order], kind="stable")], members))
            if time.perf_counter() >= deadline:
                return None, None
        theta = max(1.0, float(best.max()))
        farley = (float(price @ dur) - float(best @ sub.lengths)) / theta
        if farley > _TOLERANCE:
            prices = np.zeros(problem.n)
            prices[sub.active] = price
            return True, prices
        if added == 0:
            return (False if exact else None), None
    return None, None


def feasible_subset_bound(
    problem: Problem, p: np.ndarray, propagator, lower: int, upper: int, deadline: float = math.inf
) -> tuple[int, int]:
    """``(bound, settled)``: every makespan below ``bound`` is refuted (by propagation or the LP),
    and ``settled`` is the smallest makespan tested and not refuted (``upper + 1`` if none);
    ``bound == settled`` when the search finished, ``bound < settled`` when the deadline (or the
    pricing limit) cut it short: a later call may go on over ``[bound, settled - 1]``.

    The tests climb from ``lower`` in doubling steps (1, 2, 4, ... above the last refuted
    makespan) and bisect once one is not refuted: each refutation raises the bound at once,
    which pays when the deadline cuts the search short."""
    lo, hi = lower, upper + 1  # every makespan below lo is refuted; hi is not (or is upper + 1)
    step = 1  # 0 once a test failed: bisect
    while lo < hi and time.perf_counter() < deadline:
        trial = min(lo + step - 1, hi - 1) if step else (lo + hi) // 2
        answer = refutes(problem, p, propagator(trial), deadline)
        if answer is None:  # cut short: no answer
            break
        if answer:
            lo = trial + 1
            step *= 2
        else:
            hi, step = trial, 0
    return lo, hi
