"""A lower bound on every wave plan: the set-covering LP of its waves, by column generation.

A wave plan is a set of *batches*: agents that may share a wave (no dependency chain between
any two, no file conflict, together within every capacity), each costing its longest agent.
Dropping the order of the waves, every wave plan is a solution of

    min  sum over batches B of c_B x_B
    s.t. sum over B containing j of x_B >= 1        for every agent j
         x >= 0

so the LP optimum bounds every wave plan from below. Its columns are too many to write out:
the LP starts from the agents alone and, for every distinct duration ``t``, adds the batch of
agents no longer than ``t`` of the highest dual price (the exact branch and bound of the
feasible-subset LP, :func:`orchmilp.bounds.feasible_subsets._best_subset`) while one prices
above ``t``. The bound never rests on the LP's last iterate: with ``theta`` the largest
ratio of a batch's price to its cost (exact, or a fractional-knapsack bound where the search
stopped at its node limit), ``sum(prices) / max(1, theta)`` is the value of a feasible dual
solution (Farley's bound), so a deadline leaves a valid bound. Agents of no duration are left
out (alone they make a wave of length 0). models/waves.md.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..model.problem import Problem
from .feasible_subsets import _PRICING_NODES, _best_subset, _fractional_bound

__all__ = ["wave_lp_bound"]

_EPS = 1e-9
#: When no column prices out but a pricing search stopped at its node limit (its bound then
#: weakens Farley's), the pricing is repeated with this many nodes
_FINAL_PRICING_NODES = 20_000_000


def wave_lp_bound(problem: Problem, deadline: float = math.inf) -> float:
    """The set-covering LP's bound on every wave plan of ``problem`` (Farley's bound of the
    best iterate when ``deadline``, a ``perf_counter`` time, comes first). Neither it nor the
    batching bound dominates: here each pair sharing a wave half the time costs 7, where the
    shortest plan ({a, b} then {c}) takes 8.

    >>> from orchmilp.api import load
    >>> round(wave_lp_bound(load({"resources": {"slot": 2}, "agents": [
    ...     {"id": k, "duration": d, "uses": {"slot": 1}} for k, d in (("a", 5), ("b", 4), ("c", 3))]})), 6)
    7.0
    """
    from ..solvers.highs_api import new_highs

    agents = np.flatnonzero(problem.durations > _EPS)
    if len(agents) == 0:
        return 0.0
    d = problem.durations[agents].astype(float)
    usage = np.ascontiguousarray(problem.cumulative.usage[agents], dtype=float)
    capacity = np.ascontiguousarray(problem.cumulative.capacity, dtype=float)
    sub = np.ix_(agents, agents)  # never in one wave: ordered, or never running together
    before = problem.precedence_matrix[sub]
    clash = np.ascontiguousarray(before | before.T | problem.incompatible_pairs[sub])
    n = len(agents)
    h = new_highs()
    none_i, none_v = np.zeros(0, np.int32), np.zeros(0)
    h.addRows(n, np.ones(n), np.full(n, math.inf), 0, none_i, none_i, none_v)
    seen: set[bytes] = set()

    def add(members: np.ndarray) -> bool:
        key = np.packbits(members).tobytes()
        if key in seen:
            return False
        seen.add(key)
        rows = np.flatnonzero(members).astype(np.int32)
        h.addCol(float(d[rows].max()), 0.0, math.inf, len(rows), rows, np.ones(len(rows)))
        return True

    for a in range(n):
        add(np.arange(n) == a)
    levels = sorted(set(d.tolist()))
    best_bound = 0.0
    nodes = _PRICING_NODES
    while time.perf_counter() < deadline:
        h.run()
        if h.getModelStatus() != h.getModelStatus().kOptimal:
            break
        price = np.maximum(np.asarray(h.getSolution().row_dual)[:n], 0.0)
        theta, added, exact = 1.0, 0, True
        for t in levels:
            cand = np.flatnonzero((d <= t + _EPS) & (price > 1e-12))
            if len(cand) == 0:
                continue
            cand = cand[np.argsort(-price[cand], kind="stable")].astype(np.int64)
            value, mask, done = _best_subset(cand, price, usage, capacity, clash, nodes, t + 1e-9)
            top = value if done else max(value, _fractional_bound(cand, price, usage, capacity))
            theta, exact = max(theta, top / t), exact and done
            if mask.any():
                members = np.zeros(n, bool)
                members[cand[mask]] = True
                added += add(members)
            if time.perf_counter() >= deadline:
                break
        best_bound = max(best_bound, float(price.sum()) / theta)
        if added == 0:
            if exact or nodes >= _FINAL_PRICING_NODES:
                break
            nodes = _FINAL_PRICING_NODES  # a pricing search stopped short: once more, searching longer
    return max(0.0, best_bound * (1 - 1e-9) - 1e-9)
