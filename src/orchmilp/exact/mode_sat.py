"""Refutation by SAT with clause learning for model choice: is there a choice of modes and a
schedule of makespan at most ``T`` within the budgets? (models/modes.md, part 3)

The order encoding of :mod:`orchmilp.exact.sat`, with a literal per mode:

* ``M[j, m]``: agent ``j`` runs in mode ``m`` (exactly one per agent);
* ``y[j, t]``: ``j`` starts at or before grid step ``t`` (``y[j, t] -> y[j, t + 1]``), in
  whatever mode; ``M[j, m] -> y[j, LS_jm]`` keeps each mode's latest start;
* a dependency ``i -> j``: ``y[j, t] and M[i, m] -> y[i, t - p_im]``;
* ``r[j, m, t]`` is implied by ``y[j, t] and not y[j, t - p_jm] and M[j, m]`` ("runs at t in
  m"); every renewable capacity (a mode's ``uses``, the file locks) is a pseudo-Boolean
  constraint per step over these;
* every budget is one pseudo-Boolean constraint over the mode literals, with each agent's
  cheapest mode taken off first (so its weights are what a dearer mode costs more).

``makespan <= T`` is asked with an assumption literal per ``T`` (``a_T and M[j, m] ->
y[j, T - tail_j - p_jm]``, ``tail_j`` the shortest time from ``j``'s finish to the end), so
what the solver learnt stays for the next, smaller ``T``. Amounts must be whole numbers once
scaled by a small common denominator, and weights small (:func:`encodable`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from ..io.modes import ModeTable
from ..model.problem import Problem
from .probe import FEASIBLE, INFEASIBLE, UNKNOWN, Probe
from .sat import CHUNKED_SOLVER, MAX_WEIGHT, BuildTimeout, solve_in_chunks

__all__ = ["ModeSatProver", "encodable", "MAX_BUDGET_WEIGHT"]

#: a budget's weights (scaled to whole numbers, divided by their gcd) up to this are encoded
MAX_BUDGET_WEIGHT = 4096
_EPS = 1e-9


def _integers(values: list[float], capacity: float, cap: int) -> tuple[list[int], int] | None:
    """``values`` as whole numbers divided by their gcd, and ``capacity`` in the same unit
    rounded down; None when that needs a denominator above 1000 or a weight above ``cap``."""
    fracs = [Fraction(repr(float(v))).limit_denominator(10**6) for v in values]
    if any(abs(float(f) - v) > 1e-9 * max(1.0, abs(v)) for f, v in zip(fracs, values)):
        return None
    den = 1
    for f in fracs:
        den = math.lcm(den, f.denominator)
        if den > 1000:
            return None
    ints = [int(f * den) for f in fracs]
    g = 0
    for v in ints:
        g = math.gcd(g, v)
    g = max(g, 1)
    scaled = [v // g for v in ints]
    if max(scaled, default=0) > cap:
        return None
    room = capacity * den / g
    return scaled, math.floor(room + 1e-9 * max(1.0, abs(room)))


def _floored(values: list[float], capacity: float, cap: int) -> tuple[list[int], int]:
    """``values`` in units of ``max(values) / cap``, rounded down, and ``capacity`` in the same
    unit rounded down: whatever kept within ``capacity`` keeps within it after (a relaxation:
    it may admit more)."""
    unit = max(values, default=1.0) / cap
    if unit <= 0:
        return [0] * len(values), 0
    return [math.floor(v / unit) for v in values], math.floor(capacity / unit + 1e-9)


def _capacities(table: ModeTable, problem: Problem, modes: list[list[tuple[int, int]]]):
    """(label, {(j, m): usage}, capacity) of each renewable capacity and file lock that can bind."""
    n = len(table.ids)
    capacity = problem.capacity_by_name
    out = []
    for name, cap in capacity.items():
        usage = {
            (j, m): table.modes[j][m].uses[name]
            for j in range(n)
            for p, m in modes[j]
            if p > 0 and table.modes[j][m].uses.get(name, 0.0) > 0
        }
        if sum(max((usage.get((j, m), 0.0) for _p, m in modes[j]), default=0.0) for j in range(n)) > cap + _EPS:
            out.append((name, usage, cap))
    for lock in problem.locks:
        column = lock.usage(n)
        usage = {(j, m): float(column[j]) for j in (*lock.writers, *lock.others) for p, m in modes[j] if p > 0}
        if sum(max((usage.get((j, m), 0.0) for _p, m in modes[j]), default=0.0) for j in range(n)) > lock.capacity:
            out.append((f"file:{lock.path}", usage, float(lock.capacity)))
    return out


def grid_modes(table: ModeTable, problem: Problem, step: float) -> list[list[tuple[int, int]]]:
    """Each agent's (grid duration, mode index) of the modes whose uses fit the capacities,
    without the dominated ones (no shorter than another that uses and consumes no less of
    anything: the other one does at least as well in every plan; of equal modes the first)
    and without those that overrun a budget even with every other agent at its cheapest."""
    capacity = problem.capacity_by_name
    out: list[list[int]] = []
    for modes in table.modes:
        fits = [
            m
            for m, mode in enumerate(modes)
            if all(v <= capacity.get(r, math.inf) + _EPS for r, v in mode.uses.items())
        ]
        out.append([m for m in fits if not any(_dominates(modes[k], modes[m], k < m) for k in fits if k != m)])
    changed = True
    while changed:  # a mode that overruns a budget even with every other agent at its cheapest
        changed = False
        for key, cap in table.budgets.items():
            least = [
                min((table.modes[j][m].consumes.get(key, 0.0) for m in ms), default=0.0) for j, ms in enumerate(out)
            ]
            total = sum(least)
            for j, ms in enumerate(out):
                keep = [
                    m
                    for m in ms
                    if total - least[j] + table.modes[j][m].consumes.get(key, 0.0) <= cap + _EPS * max(1.0, cap)
                ]
                if keep and len(keep) < len(ms):
                    out[j], changed = keep, True
    return [[(round(table.modes[j][m].duration / step), m) for m in ms] for j, ms in enumerate(out)]


def _dominates(a, b, earlier: bool) -> bool:
    """Mode ``a`` is as good as ``b`` in every respect, and better in one or comes first."""
    keys_u, keys_c = set(a.uses) | set(b.uses), set(a.consumes) | set(b.consumes)
    as_good = (
        a.duration <= b.duration
        and all(a.uses.get(k, 0.0) <= b.uses.get(k, 0.0) for k in keys_u)
        and all(a.consumes.get(k, 0.0) <= b.consumes.get(k, 0.0) for k in keys_c)
    )
    if not as_good:
        return False
    equal = (
        a.duration == b.duration
        and all(a.uses.get(k, 0.0) == b.uses.get(k, 0.0) for k in keys_u)
        and all(a.consumes.get(k, 0.0) == b.consumes.get(k, 0.0) for k in keys_c)
    )
    return earlier or not equal


def encodable(
    table: ModeTable,
    problem: Problem,
    step: float,
    relax_budgets: bool = False,
    modes: list[list[tuple[int, int]]] | None = None,
) -> bool:
    """Whether every binding capacity and budget (with ``relax_budgets``: every binding
    capacity) has small whole-number weights; ``modes``: :func:`grid_modes`, if known."""
    if modes is None:
        modes = grid_modes(table, problem, step)
    for _label, usage, cap in _capacities(table, problem, modes):
        if _integers(list(usage.values()), cap, MAX_WEIGHT) is None:
            return False
    if relax_budgets:
        return True
    for key, cap in table.budgets.items():
        extra = [
            table.modes[j][m].consumes.get(key, 0.0) - min(table.modes[j][k].consumes.get(key, 0.0) for _p, k in ms)
            for j, ms in enumerate(modes)
            for _p, m in ms
        ]
        if _integers([e for e in extra if e > _EPS], cap, MAX_BUDGET_WEIGHT) is None:
            return False
    return True


class ModeSatProver:
    """The encoding of ``table`` (with ``problem``'s dependencies and file locks) on a grid of
    ``step`` for makespans up to ``horizon`` grid steps; ``modes``: each agent's (grid
    duration, mode) instead of :func:`grid_modes`; with ``relax_budgets``, a budget whose
    weights are too large for the encoding is relaxed (:func:`_floored`: a "yes" may overrun it)."""

    def __init__(
        self,
        table: ModeTable,
        problem: Problem,
        step: float,
        horizon: int,
        deadline: float = math.inf,
        modes: list[list[tuple[int, int]]] | None = None,
        relax_budgets: bool = False,
    ):
        from pysat.formula import IDPool
        from pysat.pb import EncType, PBEnc
        from pysat.solvers import Solver

        n, H = len(table.ids), int(horizon)
        self.table, self.step, self.horizon, self.n = table, step, H, n
        if modes is None:  # (grid duration, mode) of each agent, dominated modes left out
            modes = grid_modes(table, problem, step)
        self.modes = modes
        shortest = [min((p for p, _m in ms), default=0) for ms in modes]
        succs: list[list[int]] = [[] for _ in range(n)]
        preds: list[list[int]] = [[] for _ in range(n)]
        for i, j in problem.edges.tolist():
            succs[i].append(j)
            preds[j].append(i)
        order = problem.topological_order.tolist()
        es = [0] * n
        for j in order:
            for i in preds[j]:
                es[j] = max(es[j], es[i] + shortest[i])
        tail = [0] * n
        for j in reversed(order):
            for s in succs[j]:
                tail[j] = max(tail[j], shortest[s] + tail[s])
        self.es, self.tail = es, tail
        ls = [{m: H - tail[j] - p for p, m in ms} for j, ms in enumerate(modes)]
        last = [max(ls[j].values(), default=-1) for j in range(n)]
        self.last = last
        pool = IDPool()
        self.pool = pool
        TRUE = pool.id("true")
        self.TRUE = TRUE
        clauses: list[list[int]] = [[TRUE]]

        def y(j: int, t: int) -> int:
            if t < es[j]:
                return -TRUE
            if t >= last[j]:
                return TRUE
            return pool.id(("y", j, t))

        def mode(j: int, m: int) -> int:
            return TRUE if len(modes[j]) == 1 else pool.id(("m", j, m))

        self.y, self.mode = y, mode
        for j, ms in enumerate(modes):
            if not ms or last[j] < es[j]:
                clauses.append([-TRUE])  # no mode fits the capacities or the horizon
                continue
            lits = [mode(j, m) for _p, m in ms]
            clauses.append(lits)
            for a in range(len(lits)):
                for b in range(a + 1, len(lits)):
                    clauses.append([-lits[a], -lits[b]])
            for t in range(es[j], last[j] - 1):
                clauses.append([-y(j, t), y(j, t + 1)])
            for _p, m in ms:
                if ls[j][m] < es[j]:
                    clauses.append([-mode(j, m)])
                elif ls[j][m] < last[j]:
                    clauses.append([-mode(j, m), y(j, ls[j][m])])
        for i, j in problem.edges.tolist():
            for t in range(es[j], last[j] + 1):
                for p, m in modes[i]:
                    before = y(i, t - p)
                    if before != TRUE:
                        clauses.append([-y(j, t), -mode(i, m), before])
        for _label, usage, cap in _capacities(table, problem, modes):
            ints = _integers(list(usage.values()), cap, MAX_WEIGHT)
            if ints is None:
                raise ValueError("weights too large for the encoding (see encodable)")
            weight = dict(zip(usage, ints[0]))
            bound_all = ints[1]
            for t in range(H):
                if time.perf_counter() > deadline:
                    raise BuildTimeout(f"the encoding took more than its time (step {t} of {H})")
                lits, weights, fixed = [], [], 0
                for (j, m), w in weight.items():
                    p = next(p for p, mm in modes[j] if mm == m)
                    on, off, chosen = y(j, t), y(j, t - p), mode(j, m)
                    if on == -TRUE or off == TRUE or ls[j][m] < es[j]:
                        continue  # cannot run at t in this mode
                    if on == TRUE and off == -TRUE and chosen == TRUE:
                        fixed += w  # runs at t in every schedule
                        continue
                    r = pool.id(("r", j, m, t))
                    clauses.append([-on, off, -chosen, r])
                    lits.append(r)
                    weights.append(w)
                bound = bound_all - fixed
                if bound < 0:
                    clauses.append([-TRUE])
                elif sum(weights) > bound:
                    clauses.extend(
                        PBEnc.atmost(lits=lits, weights=weights, bound=bound, vpool=pool, encoding=EncType.best).clauses
                    )
        for key, cap in table.budgets.items():
            lits, extra, base = [], [], 0.0
            for j, ms in enumerate(modes):
                cheapest = min((table.modes[j][m].consumes.get(key, 0.0) for _p, m in ms), default=0.0)
                base += cheapest
                for _p, m in ms:
                    e = table.modes[j][m].consumes.get(key, 0.0) - cheapest
                    if e > _EPS:
                        lits.append(mode(j, m))
                        extra.append(e)
            room = cap - base
            if room < -1e-9 * max(1.0, cap):
                clauses.append([-TRUE])
                continue
            ints = _integers(extra, max(room, 0.0), MAX_BUDGET_WEIGHT)
            if ints is None and relax_budgets:
                ints = _floored(extra, max(room, 0.0), MAX_BUDGET_WEIGHT)
            if ints is None:
                raise ValueError("budget weights too large for the encoding (see encodable)")
            weights, bound = ints
            if sum(weights) > bound:
                clauses.extend(
                    PBEnc.atmost(lits=lits, weights=weights, bound=bound, vpool=pool, encoding=EncType.best).clauses
                )
        self.solver = Solver(name=CHUNKED_SOLVER, bootstrap_with=clauses)
        self.variables, self.clauses = pool.top, len(clauses)
        self._asked: dict[int, int] = {}

    def _within(self, makespan: int) -> int | None:
        """The assumption literal of ``makespan <= T`` (None: the windows already refute it)."""
        if makespan in self._asked:
            return self._asked[makespan]
        a = self.pool.id(("a", makespan))
        for j, ms in enumerate(self.modes):
            usable = 0
            for p, m in ms:
                latest = makespan - self.tail[j] - p
                if latest < self.es[j]:
                    self.solver.add_clause([-a, -self.mode(j, m)])
                else:
                    usable += 1
                    lit = self.y(j, latest)
                    if lit != self.TRUE:
                        self.solver.add_clause([-a, -self.mode(j, m), lit])
            if usable == 0:
                return None
        self._asked[makespan] = a
        return a

    def block(self, cut: Sequence[tuple[int, int]]) -> None:
        """Leave every choice that takes all the (agent, mode) pairs of ``cut`` out of the
        probes that ask ``without_blocked`` (a clause behind one switch literal, so that probes
        without it still see every choice). A cut with a mode the encoding left out blocks
        none of its choices: nothing to add."""
        if any(m not in {k for _p, k in self.modes[j]} for j, m in cut):
            return
        self.solver.add_clause(
            [-self.pool.id("blocked")] + [-self.mode(j, m) for j, m in cut if len(self.modes[j]) > 1]
        )

    def probe(
        self, makespan: int, seconds: float, without_blocked: bool = False
    ) -> tuple[Probe, tuple[int, ...] | None]:
        """INFEASIBLE (a proof), FEASIBLE with grid start steps and the choice of modes, or
        UNKNOWN when the time ran out; with ``without_blocked``, over the choices not
        :meth:`block`-ed."""
        if makespan > self.horizon:
            raise ValueError("the encoding was built for makespans up to its horizon")
        a = self._within(makespan)
        if a is None:
            return Probe(makespan, INFEASIBLE, None, 0), None
        assumptions = [a, self.pool.id("blocked")] if without_blocked else [a]
        answer, model = solve_in_chunks(self.solver, assumptions, seconds)
        if answer is None:
            return Probe(makespan, UNKNOWN, None, 0), None
        if answer is False:
            return Probe(makespan, INFEASIBLE, None, 0), None
        true = lambda lit: lit == self.TRUE or lit in model  # noqa: E731
        choice, start = [], np.empty(self.n, np.int64)
        for j, ms in enumerate(self.modes):
            choice.append(next(m for _p, m in ms if true(self.mode(j, m))))
            t = self.es[j]
            while t < self.last[j] and not true(self.y(j, t)):
                t += 1
            start[j] = t
        return Probe(makespan, FEASIBLE, start, 0), tuple(choice)

    def close(self) -> None:
        self.solver.delete()
