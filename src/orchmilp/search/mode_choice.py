"""A fast search over choices of modes: each choice scored by the serial schedule generation
scheme (a few activity lists, milliseconds each) instead of the exact single-mode engine
(seconds), so that thousands of choices are compared where the engine plans a dozen.

Simulated annealing over choices: switch one agent to another mode; when that overruns a
budget, switch agents chosen at random to modes that lessen the budgets' total overrun until
every budget fits (or give the move up). A choice's score is the shortest of :data:`ORDERS` serial schedules: the
latest-finish rule and that rule with noise, the same noise for every choice, so equal
choices score alike. The best few distinct choices go to the exact engine
(:func:`orchmilp.search.modes.solve_modes`); a score is a plan's makespan, never a bound.
"""

from __future__ import annotations

import math
import time

import numpy as np
from numba import njit

from ..exact.mode_sat import grid_modes
from ..heuristics.sgs import priority_list, serial_sgs
from ..io.modes import ModeTable
from ..model.problem import Problem

__all__ = ["ChoiceScorer", "anneal_choices"]

#: Activity lists per choice: the latest-finish rule, then with noise up to NOISE of it
ORDERS = 4
NOISE = 0.3
#: The annealing ends when this many moves in a row (at least, or per agent) found no better
#: score
STALL = 2000
STALL_PER_AGENT = 100
#: Runs in a row without a better score after which the annealing stops before its time
RESTARTS_WITHOUT_GAIN = 2
#: Starting temperature, as a share of the first score; it falls geometrically to a
#: hundredth of that by the end
TEMPERATURE = 0.02
_EPS = 1e-9


@njit(cache=True)
def _justified(start, d, topo, pred_ptr, pred_idx, succ_ptr, succ_idx, usage, capacity):
    """Forward-backward improvement (Valls et al. 2005): the schedule right-justified (the
    serial scheme on the reversed dependencies, latest finish first), then left-justified
    again (earliest start of that first); never longer than ``start``'s."""
    n = d.shape[0]
    backwards = topo[::-1].copy()  # a stable sort keeps ties in an order valid for the pass
    finish = np.empty(n)
    for pos in range(n):
        finish[pos] = -(start[backwards[pos]] + d[backwards[pos]])
    back = serial_sgs(backwards[np.argsort(finish, kind="mergesort")], d, succ_ptr, succ_idx, usage, capacity)
    for pos in range(n):
        finish[pos] = -(back[topo[pos]] + d[topo[pos]])
    return serial_sgs(topo[np.argsort(finish, kind="mergesort")], d, pred_ptr, pred_idx, usage, capacity)


@njit(cache=True)
def _makespan(start, d):
    longest = 0.0
    for j in range(d.shape[0]):
        if start[j] + d[j] > longest:
            longest = start[j] + d[j]
    return longest


@njit(cache=True)
def _best_schedule(d, usage, capacity, topo, pred_ptr, pred_idx, succ_ptr, succ_idx, orders, noise):
    """The start times of the shortest schedule of the serial scheme over ``orders`` activity lists from the
    latest-finish priority (its tail: the longest path from the agent's start to the end),
    the first as it is and the others with multiplicative noise from a fixed seed, each
    schedule justified (:func:`_justified`)."""
    n = d.shape[0]
    tail = np.zeros(n)
    for pos in range(n - 1, -1, -1):
        j = topo[pos]
        longest = 0.0
        for p in range(succ_ptr[j], succ_ptr[j + 1]):
            if tail[succ_idx[p]] > longest:
                longest = tail[succ_idx[p]]
        tail[j] = d[j] + longest
    np.random.seed(7)
    best, best_start = np.inf, np.zeros(n)
    for r in range(orders):
        priority = tail.copy()
        if r > 0:
            for j in range(n):
                priority[j] *= 1.0 + noise * np.random.random()
        order = priority_list(priority, pred_ptr, pred_idx, succ_ptr, succ_idx)
        start = serial_sgs(order, d, pred_ptr, pred_idx, usage, capacity)
        start = _justified(start, d, topo, pred_ptr, pred_idx, succ_ptr, succ_idx, usage, capacity)
        if _makespan(start, d) < best:
            best, best_start = _makespan(start, d), start
    return best_start


class ChoiceScorer:
    """Each agent's modes as arrays (the dominated ones and those that cannot fit left out,
    :func:`orchmilp.exact.mode_sat.grid_modes`), with the workflow's capacities and file
    locks as cumulative columns and its budgets."""

    def __init__(self, table: ModeTable, problem: Problem):
        self.table, self.n = table, problem.n
        self.allowed = [[m for _p, m in ms] for ms in grid_modes(table, problem, 1.0)]
        width = table.width
        capacity = problem.capacity_by_name
        names = list(capacity)
        locks = problem.locks
        self.capacity = np.array([capacity[r] for r in names] + [float(lock.capacity) for lock in locks])
        self.duration, self.cost = table.durations, table.budget_costs
        self.usage = np.zeros((self.n, width, len(self.capacity)))
        self.budget = np.array(list(table.budgets.values()), float)
        for j, modes in enumerate(table.modes):
            for m, mode in enumerate(modes):
                self.usage[j, m, : len(names)] = [mode.uses.get(r, 0.0) for r in names]
        for k, lock in enumerate(locks, start=len(names)):
            self.usage[:, :, k] = lock.usage(self.n)[:, None]
        self.mask = np.zeros((self.n, width), bool)  # the allowed (agent, mode) cells
        for j, allowed in enumerate(self.allowed):
            self.mask[j, allowed] = True
        self.graph = (problem.topological_order, problem.pred_ptr, problem.pred_idx, problem.succ_ptr, problem.succ_idx)
        self._rows = np.arange(self.n)

    def fits(self, choice: np.ndarray) -> bool:
        """Every mode of ``choice`` allowed and every budget kept."""
        if not self.mask[self._rows, choice].all():
            return False
        return bool(np.all(self.spent(choice) <= self.budget + _EPS * np.maximum(1.0, self.budget)))

    def spent(self, choice: np.ndarray) -> np.ndarray:
        return self.cost[self._rows, choice].sum(axis=0)

    def schedule(self, choice: np.ndarray) -> np.ndarray:
        """The start times of the shortest of :data:`ORDERS` serial schedules of ``choice``."""
        d = np.ascontiguousarray(self.duration[self._rows, choice])
        usage = np.ascontiguousarray(self.usage[self._rows, choice])
        return _best_schedule(d, usage, self.capacity, *self.graph, ORDERS, NOISE)

    def score(self, choice: np.ndarray) -> float:
        """The makespan of :meth:`schedule`."""
        return float(_makespan(self.schedule(choice), self.duration[self._rows, choice]))


def _repair(scorer: ChoiceScorer, choice: np.ndarray, rng: np.random.Generator, spent: np.ndarray) -> bool:
    """Switch agents chosen at random to modes that lessen the budgets' total overrun (each
    as a share of its budget) until every budget fits; False when no switch lessens it or
    after 2n switches."""
    budget = scorer.budget + _EPS * np.maximum(1.0, scorer.budget)
    scale = 1.0 / np.maximum(scorer.budget, _EPS)
    for _ in range(2 * scorer.n + 1):
        over = np.maximum(spent - budget, 0.0)
        if not over.any():
            return True
        # each (agent, mode)'s new overrun, all at once
        after = np.maximum(spent + scorer.cost - scorer.cost[np.arange(scorer.n), choice][:, None, :] - budget, 0.0)
        lessens = (after * scale).sum(axis=2) < (over * scale).sum() - _EPS
        lessens &= scorer.mask
        cells = np.flatnonzero(lessens)
        if not len(cells):
            return False
        j, m = divmod(int(cells[int(rng.integers(len(cells)))]), lessens.shape[1])
        spent += scorer.cost[j, m] - scorer.cost[j, choice[j]]
        choice[j] = m
    return False


def anneal_choices(
    scorer: ChoiceScorer,
    starts: dict[tuple[int, ...], float],
    until: float,
    keep: int = 3,
    seed: int = 0,
) -> list[tuple[float, tuple[int, ...]]]:
    """The ``keep`` best distinct choices (score, choice) found by simulated annealing from
    ``starts`` (choice -> :meth:`ChoiceScorer.score`; those outside the budgets are passed
    over) until ``until`` (a ``perf_counter`` time), best first. The first run starts from the
    best-scored start; a run that stalls (:data:`STALL` moves in a row found no better score)
    is followed by another with the next seed from the next start in turn. Runs end in
    different local optima (on mm-j30-5 the seeds 0-3 end at 31, 30, 32 and 32); the scores of
    every run are kept. It stops after :data:`RESTARTS_WITHOUT_GAIN` runs in a row found no
    better score."""
    seen = {start: score for start, score in starts.items() if scorer.fits(np.array(start))}
    if not seen:
        return []
    firsts = sorted(seen, key=seen.__getitem__)  # the starts within the budgets, best first
    switchable = [j for j in range(scorer.n) if len(scorer.allowed[j]) > 1]
    restart, idle = 0, 0  # runs, and runs in a row that found no better score
    while switchable and time.perf_counter() < until and idle < RESTARTS_WITHOUT_GAIN:
        best = min(seen.values())
        _anneal(
            scorer,
            np.array(firsts[restart % len(firsts)]),
            seen,
            switchable,
            until,
            np.random.default_rng(seed + restart),
        )
        restart, idle = restart + 1, (idle + 1 if min(seen.values()) >= best - _EPS else 0)
    return sorted(((s, c) for c, s in seen.items()), key=lambda sc: sc[0])[:keep]


def _anneal(
    scorer: ChoiceScorer,
    current: np.ndarray,
    seen: dict[tuple[int, ...], float],
    switchable: list[int],
    until: float,
    rng: np.random.Generator,
) -> None:
    """One run of the annealing from ``current`` until ``until`` or a stall, adding the score
    of every choice it visits to ``seen``."""
    value = seen[tuple(int(m) for m in current)]
    began, hot = time.perf_counter(), TEMPERATURE * value
    best, since = value, 0  # moves since the best score last fell
    while time.perf_counter() < until and since < max(STALL, STALL_PER_AGENT * scorer.n):
        progress = (time.perf_counter() - began) / max(until - began, 1e-9)
        temperature = hot * 0.01**progress
        for _ in range(50):  # the temperature is set every 50 moves, the clock read at each
            if time.perf_counter() >= until:
                break
            candidate = current.copy()
            j = switchable[int(rng.integers(len(switchable)))]
            others = [m for m in scorer.allowed[j] if m != candidate[j]]
            candidate[j] = others[int(rng.integers(len(others)))]
            if not _repair(scorer, candidate, rng, scorer.spent(candidate)):
                continue
            key = tuple(int(m) for m in candidate)
            score = seen.get(key)
            if score is None:
                score = seen[key] = scorer.score(candidate)
            since = 0 if score < best - _EPS else since + 1
            best = min(best, score)
            if score <= value + _EPS or rng.random() < math.exp(-(score - value) / max(temperature, _EPS)):
                current, value = candidate, score


def cheapen_choice(
    scorer: ChoiceScorer, choice: tuple[int, ...], cost: np.ndarray, deadline: float, until: float
) -> tuple[tuple[int, ...], np.ndarray] | None:
    """A choice within the budgets that spends less than ``choice`` by ``cost`` ((agent, mode)
    -> amount, :meth:`ModeTable.consumed`) and whose serial schedule still ends by
    ``deadline``, with that schedule's start times; None when no single switch finds one.
    Greedy descent: each round switches the one agent whose cheaper mode saves the most and
    keeps the schedule by the deadline, until no switch does or ``until`` (a ``perf_counter``
    time)."""
    current = np.array(choice)
    rows = np.arange(scorer.n)
    found: tuple[tuple[int, ...], np.ndarray] | None = None
    while time.perf_counter() < until:
        saving = cost[rows, current][:, None] - cost
        cells = np.flatnonzero((saving > _EPS) & scorer.mask)
        taken = False
        for cell in cells[np.argsort(-saving.ravel()[cells], kind="stable")]:
            if time.perf_counter() >= until:
                break
            j, m = divmod(int(cell), saving.shape[1])
            candidate = current.copy()
            candidate[j] = m
            if not scorer.fits(candidate):
                continue
            start = scorer.schedule(candidate)
            if _makespan(start, scorer.duration[rows, candidate]) <= deadline + _EPS:
                current, found, taken = candidate, (tuple(int(v) for v in candidate), start), True
                break
        if not taken:
            break
    return found
