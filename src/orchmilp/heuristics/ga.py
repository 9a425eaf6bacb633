"""A genetic algorithm on activity lists with forward-backward improvement.

Individuals are activity lists (every agent after its dependencies), decoded
by the serial schedule generation scheme and improved by double
justification (right- then left-justify); the improved schedule's order is
written back into the individual. Two-point crossover keeps lists
precedence-feasible (Hartmann 1998); mutation swaps neighbours that are not
ordered by a dependency; the best ``population`` of parents and children
survive. The whole generation loop is compiled with numba; it looks at the
clock before each pair of children, Python checks the schedule budget between batches.

Every call of the generation scheme counts as one schedule, as in the
literature's benchmark protocol (Kolisch and Hartmann 2006).
"""

from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np
from numba import njit

from ..clock import NO_DEADLINE, kernel_section, now
from ..model.arrays import Resources
from ..model.problem import Problem
from .portfolio import HeuristicResult
from .rules import RULES
from .sgs import priority_list, serial_sgs

__all__ = ["genetic_algorithm"]


@njit(cache=True)
def _justify(order, d, pred_ptr, pred_idx, succ_ptr, succ_idx, usage, capacity, rank):
    """Double justification of the schedule of ``order``: returns (start, forward order)."""
    n = order.shape[0]
    start = serial_sgs(order, d, pred_ptr, pred_idx, usage, capacity)
    # right-justify: latest finish first (ties: later in topological order first)
    by_rank = np.argsort(-rank)
    keys = np.empty(n)
    for q in range(n):
        j = by_rank[q]
        keys[q] = -(start[j] + d[j])
    back_order = by_rank[np.argsort(keys, kind="mergesort")]
    rev = serial_sgs(back_order, d, succ_ptr, succ_idx, usage, capacity)
    end = 0.0
    for j in range(n):
        if rev[j] + d[j] > end:
            end = rev[j] + d[j]
    # left-justify in the order of the right-justified starts
    by_rank = np.argsort(rank)
    for q in range(n):
        j = by_rank[q]
        keys[q] = end - rev[j] - d[j]
    fwd_order = by_rank[np.argsort(keys, kind="mergesort")]
    fwd = serial_sgs(fwd_order, d, pred_ptr, pred_idx, usage, capacity)
    ms_start = 0.0
    ms_fwd = 0.0
    for j in range(n):
        if start[j] + d[j] > ms_start:
            ms_start = start[j] + d[j]
        if fwd[j] + d[j] > ms_fwd:
            ms_fwd = fwd[j] + d[j]
    if ms_fwd <= ms_start:
        by_rank2 = np.argsort(rank)
        for q in range(n):
            keys[q] = fwd[by_rank2[q]]
        return fwd, by_rank2[np.argsort(keys, kind="mergesort")], ms_fwd
    return start, order.copy(), ms_start


@njit(cache=True)
def _crossover(mother, father, q1, q2, n):
    child = np.empty(n, np.int64)
    taken = np.zeros(n, np.bool_)
    pos = 0
    for q in range(q1):
        child[pos] = mother[q]
        taken[mother[q]] = True
        pos += 1
    for q in range(n):
        if pos >= q2:
            break
        j = father[q]
        if not taken[j]:
            child[pos] = j
            taken[j] = True
            pos += 1
    for q in range(n):
        j = mother[q]
        if not taken[j]:
            child[pos] = j
            taken[j] = True
            pos += 1
    return child


@njit(cache=True)
def _mutate(child, rate, before):
    """Swap neighbours that no dependency orders; ``before[i, j]`` is True when i must precede j."""
    n = child.shape[0]
    for q in range(n - 1):
        if np.random.random() < rate:
            a = child[q]
            b = child[q + 1]
            if not before[a, b]:
                child[q] = b
                child[q + 1] = a


class Population(NamedTuple):
    """The genetic algorithm's state, changed in place: activity lists (int64, one row per
    individual), their makespans, and the best schedule seen."""

    pop: np.ndarray
    fitness: np.ndarray
    best_start: np.ndarray


@njit(cache=True)
def _generations(population, generations, d, graph, resources, rank, before, mutation, seed, stop_at, deadline):
    """Run ``generations`` generations on ``population`` in place; returns (schedules generated,
    best makespan). At ``deadline`` it stops, inside a generation too (that generation's
    children are then dropped, but the best schedule among them is kept in ``best_start``)."""
    pop, fitness, best_start = population
    _, pred_ptr, pred_idx, succ_ptr, succ_idx = graph
    usage, capacity = resources
    np.random.seed(seed)
    size, n = pop.shape
    schedules = 0
    best = fitness.min()
    children = np.empty((size, n), np.int64)
    child_fit = np.empty(size)
    child_start = np.empty((size, n))
    for g in range(generations):
        perm = np.random.permutation(size)
        for c in range(0, size - 1, 2):
            mother = pop[perm[c]]
            father = pop[perm[c + 1]]
            q1 = np.random.randint(0, n + 1)
            q2 = np.random.randint(0, n + 1)
            if q1 > q2:
                q1, q2 = q2, q1
            if g > 0 or c > 0:
                if now() > deadline:  # out of time inside a generation: keep the best, skip selection
                    return schedules, best
            for which in range(2):
                child = _crossover(mother, father, q1, q2, n) if which == 0 else _crossover(father, mother, q1, q2, n)
                _mutate(child, mutation, before)
                start, order, ms = _justify(child, d, pred_ptr, pred_idx, succ_ptr, succ_idx, usage, capacity, rank)
                schedules += 3
                slot = c + which
                children[slot] = order
                child_fit[slot] = ms
                child_start[slot] = start
                if ms < best:
                    best = ms
                    best_start[:] = start
        # (mu + lambda): keep the best distinct lists of parents and children
        allfit = np.concatenate((fitness, child_fit[: size - size % 2]))
        ranked = np.argsort(allfit, kind="mergesort")
        newpop = np.empty_like(pop)
        newfit = np.empty(size)
        kept = 0
        spare = np.empty(ranked.shape[0], np.int64)
        n_spare = 0
        for idx in ranked:
            cand = pop[idx] if idx < size else children[idx - size]
            duplicate = False
            for q in range(kept - 1, -1, -1):
                if newfit[q] != allfit[idx]:
                    break
                same = True
                for r in range(n):
                    if newpop[q, r] != cand[r]:
                        same = False
                        break
                if same:
                    duplicate = True
                    break
            if duplicate:
                spare[n_spare] = idx
                n_spare += 1
                continue
            newpop[kept] = cand
            newfit[kept] = allfit[idx]
            kept += 1
            if kept == size:
                break
        q = 0
        while kept < size:  # too few distinct lists: refill with duplicates
            idx = spare[q]
            newpop[kept] = pop[idx] if idx < size else children[idx - size]
            newfit[kept] = allfit[idx]
            kept += 1
            q += 1
        pop[:] = newpop
        fitness[:] = newfit
        if best <= stop_at + 1e-9:
            break
    return schedules, best


def genetic_algorithm(
    problem: Problem,
    durations: np.ndarray | None = None,
    *,
    schedules: int = 5000,
    time_limit: float | None = None,
    population: int = 40,
    mutation: float = 0.5,
    seed: int = 0,
    stop_at: float | None = None,
    initial: list[np.ndarray] | None = None,
) -> HeuristicResult:
    """Best schedule found within ``schedules`` generated schedules (and ``time_limit`` seconds).

    ``initial`` start-time vectors seed the population (their start order is
    used as activity list). Stops early once the makespan reaches ``stop_at``.
    """
    t0 = time.perf_counter()
    d = problem.durations if durations is None else np.asarray(durations, float)
    n = problem.n
    if n == 0:
        return HeuristicResult(np.zeros(0), 0.0, 0, 0.0, "genetic algorithm")
    cum = problem.cumulative
    usage = np.ascontiguousarray(cum.usage)
    rank = np.empty(n, np.int64)
    rank[problem.topological_order] = np.arange(n)
    args = (problem.pred_ptr, problem.pred_idx, problem.succ_ptr, problem.succ_idx)
    rng = np.random.default_rng(seed)
    lists = []
    for s in initial or []:
        lists.append(np.lexsort((rank, np.asarray(s, float))).astype(np.int64))
    base = RULES["lft"](problem, d)
    scale = float(np.max(base) - np.min(base)) or 1.0
    for rule in RULES.values():
        if len(lists) < population:
            lists.append(priority_list(rule(problem, d), *args))
    while len(lists) < population:
        lists.append(priority_list(base + rng.uniform(0, 0.5 * scale, n), *args))
    pop = np.asarray(lists[:population], np.int64)
    fitness = np.empty(population)
    best_start = np.zeros(n)
    best = np.inf
    used = 0
    for q in range(population):
        start, order, ms = _justify(pop[q], d, *args, usage, cum.capacity, rank)
        used += 3
        pop[q] = order
        fitness[q] = ms
        if ms < best:
            best, best_start = ms, start.copy()
        if time_limit is not None:
            # keep the first evaluation within a fifth of the time: shrink the population if needed
            spent = time.perf_counter() - t0
            if spent >= time_limit or q + 1 < 2 and spent >= 0.5 * time_limit:  # no time for generations
                return HeuristicResult(best_start, float(np.max(best_start + d)), used, spent, "genetic algorithm")
            affordable = max(2, int(0.2 * time_limit / (spent / (q + 1))))
            if q >= 1 and affordable <= q + 1:
                population = q + 1 - (q + 1) % 2 if q + 1 >= 4 else q + 1
                pop, fitness = pop[:population].copy(), fitness[:population].copy()
                break
    before = problem.precedence_matrix
    target = -np.inf if stop_at is None else float(stop_at)
    batch = 1
    generation_seed = int(rng.integers(2**31))
    per_generation_seconds = None
    while used < schedules and best > target + 1e-9:
        left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
        if left is not None and left <= 0:
            break
        per_generation = 3 * (population - population % 2)
        gens = max(1, min(batch, (schedules - used) // max(per_generation, 1)))
        if left is not None and per_generation_seconds:
            gens = max(1, min(gens, int(left / per_generation_seconds)))
        t_batch = time.perf_counter()
        with kernel_section():  # a stop signal waits until the kernel returns
            spent, found = _generations(
                Population(pop, fitness, best_start),
                gens,
                d,
                problem.graph,
                Resources(usage, np.asarray(cum.capacity, np.float64)),
                rank,
                before,
                mutation,
                generation_seed,
                target,
                t0 + time_limit if time_limit is not None else NO_DEADLINE,
            )
        per_generation_seconds = (time.perf_counter() - t_batch) / gens
        generation_seed += 1
        used += spent
        best = min(best, found)
        batch = min(batch * 2, 64)
    ms = float(np.max(best_start + d))
    return HeuristicResult(best_start, ms, used, time.perf_counter() - t0, "genetic algorithm")
