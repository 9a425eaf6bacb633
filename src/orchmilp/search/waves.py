"""Wave plans: the agents in batches. All agents of a wave start together; the next wave starts
when the last of them has ended. This is how a coding agent launches subagents (several
in one message, then it waits for all of them).

A wave plan is feasible when every dependency goes from an earlier wave to a later one and
the agents of each wave fit every cumulative limit when all run at once (the resources and
the file locks: two agents that conflict on a file are never in one wave). Its length is the
sum of the wave lengths, each the longest agent in it.

The search: lower bounds (the event-driven ones hold for waves too; and a batching bound per
limit, below), a greedy assignment in topological order from several priority orders,
improved by moving single agents between waves, then an exact best-first search over the sets
of agents done (wave_prefix.py) that finds the shortest wave plan or, when time runs out, a
proven bound; if it runs out of memory first, a MILP over agent-to-wave assignment gets the
rest of the time (models/waves.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..bounds.critical_path import critical_path_bound, tails
from ..bounds.resource import clique_bound, energy_bound
from ..bounds.wave_lp import wave_lp_bound
from ..compile.grid import exact_step
from ..compile.model import LinearModel, Rows
from ..heuristics.sgs import priority_list
from ..model.problem import Problem
from ..options import SolveOptions
from ..result import Result
from ..solvers import backend as solver_backend
from ..solvers.base import SolverStatus, integral_bound
from ..statuses import SolveStatus
from .state import plan_reserve
from .wave_prefix import prefix_search, wave_bound

__all__ = [
    "WavePlan",
    "solve_waves",
    "greedy_waves",
    "reoptimize_windows",
    "ruin_and_recreate",
    "MAX_EXACT_WAVE_AGENTS",
    "batching_milp",
]

#: Largest workflow given the exact search and the wave MILP (beyond, the search's branching and
#: the MILP's 2 n x waves binaries leave the greedy orders the better use of the time:
#: bench/waves.py)
MAX_EXACT_WAVE_AGENTS = 120
#: The greedy assignment from new priority orders stops after this share of the time limit, or
#: after this many orders without a better plan; the exact search gets the rest
HEURISTIC_SHARE = 0.2
STALL_ORDERS = 30
#: Share of the time limit for growing the cliques of agents that never run together
CLIQUE_SHARE = 0.1
#: Share of the time left that the exact search gets; then the MILP, up to
#: :data:`MAX_MILP_WAVE_AGENTS` (beyond, more greedy orders find shorter plans: bench/waves.py)
SEARCH_SHARE = 0.5
MAX_MILP_WAVE_AGENTS = 30
#: Share of the time left for the set-covering LP bound: after the exact search where it may
#: finish (up to MAX_MILP_WAVE_AGENTS), before it beyond (at 60 agents the LP takes 1-14 s)
LP_SHARE = 0.3
LP_SHARE_FIRST = 0.6
#: Beyond MAX_MILP_WAVE_AGENTS, the share of the time left for the batching MILP's bound
#: (:func:`batching_milp`), after the covering LP, and then the exact search's share (together
#: about the half the exact search had alone: it raised the bound of one of ten random
#: workflows of 40 and 60 agents, the batching MILP of six); the MILP is left out above this
#: many rows
BATCHING_SHARE = 0.35
SEARCH_SHARE_AFTER_BATCHING = 0.25
MAX_BATCHING_ROWS = 200_000
#: Windows of the large-neighbourhood search beyond that size: this many consecutive waves of
#: at most this many agents, each given this share of the time left
WINDOW_WAVES = 3
WINDOW_AGENTS = 24
WINDOW_SHARE = 0.1
#: ... and at the end, after ruin and recreate, the windows get this share of the time left
WINDOW_FINISH = 0.2
#: Ruin and recreate: on workflows of up to this many agents (beyond, the greedy orders get
#: all the time: they did better on 300), n / 8 agents (at least 4) taken out at once, each
#: put back with a priority of its duration plus noise up to this share of the longest one
RUIN_MAX_AGENTS = MAX_EXACT_WAVE_AGENTS
RUIN_NOISE = 0.3
#: a plan up to this share longer than the shortest found is kept to go on from, the share
#: falling to 0 at the end (threshold accepting; 40 agents at 20 s: 0 -> 3,941 in all, 0.01 ->
#: 3,933, 0.03 -> 3,924, 0.05 -> 3,923; 60 agents: 0 -> 4,601, 0.03 -> 4,570)
RUIN_SLACK = 0.03
_EPS = 1e-9


@dataclass(frozen=True)
class WavePlan:
    """Agent indices per wave, in order."""

    waves: tuple[tuple[int, ...], ...]

    def lengths(self, d: np.ndarray) -> list[float]:
        return [float(max((d[j] for j in w), default=0.0)) for w in self.waves]

    def total(self, d: np.ndarray) -> float:
        return float(sum(self.lengths(d)))


def wave_of(plan: WavePlan, n: int) -> np.ndarray:
    out = np.full(n, -1, np.int64)
    for k, wave in enumerate(plan.waves):
        out[list(wave)] = k
    return out


def feasible(problem: Problem, plan: WavePlan) -> bool:
    """Every agent once, dependencies forward, every wave within every cumulative limit."""
    where = wave_of(plan, problem.n)
    if np.any(where < 0) or sum(len(w) for w in plan.waves) != problem.n:
        return False
    e = problem.edges
    if len(e) and np.any(where[e[:, 0]] >= where[e[:, 1]]):
        return False
    cum = problem.cumulative
    return all(np.all(cum.usage[list(w)].sum(axis=0) <= cum.capacity + _EPS) for w in plan.waves)


def greedy_waves(problem: Problem, order: np.ndarray) -> WavePlan:
    """Each agent of ``order`` (a topological order) into the wave where it adds least to the
    total: an existing wave after all its dependencies' waves where it fits, or a new one there."""
    n = problem.n
    waves: list[list[int]] = []
    load = np.zeros((0, len(problem.cumulative.capacity)))
    length = np.zeros(0)
    where = np.full(n, -1, np.int64)
    for j in order:
        preds = problem.preds(j)
        first = int(where[preds].max()) + 1 if len(preds) else 0
        load, length = _place(problem, int(j), first, len(waves), waves, load, length, where)
    return WavePlan(tuple(tuple(w) for w in waves if w))


def _tally(problem: Problem, waves: list[list[int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each agent's wave (-1: in none), and each wave's load of every cumulative limit and length."""
    d, usage = problem.durations, problem.cumulative.usage
    where = np.full(problem.n, -1, np.int64)
    load = np.zeros((len(waves), usage.shape[1]))
    for k, w in enumerate(waves):
        where[w] = k
        load[k] = usage[w].sum(axis=0)
    return where, load, np.array([d[w].max() for w in waves], float)


def _place(
    problem: Problem,
    j: int,
    lo: int,
    hi: int,
    waves: list[list[int]],
    load: np.ndarray,
    length: np.ndarray,
    where: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Put agent ``j`` into the wave among ``lo..hi-1`` where it fits and lengthens its wave
    least (the earliest of those; never worse than a new wave, which adds all of ``j``'s
    duration), else into a new wave at ``lo``; ``waves`` and ``where`` are updated in place,
    the loads and lengths per wave returned (a new wave makes new arrays)."""
    d, usage = problem.durations, problem.cumulative.usage
    fits = np.flatnonzero(np.all(load[lo:hi] + usage[j] <= problem.cumulative.capacity + _EPS, axis=1))
    if len(fits):
        k = lo + int(fits[np.argmin(np.maximum(0.0, d[j] - length[lo + fits]))])
    else:
        k = lo
        waves.insert(k, [])
        load = np.insert(load, k, 0.0, axis=0)
        length = np.insert(length, k, 0.0)
        where[where >= k] += 1
    waves[k].append(j)
    load[k] += usage[j]
    length[k] = max(length[k], float(d[j]))
    where[j] = k
    return load, length


def improve(problem: Problem, plan: WavePlan, until: float = math.inf) -> WavePlan:
    """Move single agents to another wave (between their dependencies' and dependants' waves,
    where they fit) while that shortens the total and the clock is before ``until``; drop
    emptied waves."""
    d, n = problem.durations, problem.n
    usage, capacity = problem.cumulative.usage, problem.cumulative.capacity + _EPS
    waves = [list(w) for w in plan.waves]
    by_length = sorted(range(n), key=lambda a: -d[a])
    changed = True
    while changed and time.perf_counter() < until:
        changed = False
        where, loads, length = _tally(problem, waves)
        for j in by_length:
            k0 = int(where[j])
            preds, succs = problem.preds(j), problem.succs(j)
            lo = int(where[preds].max()) + 1 if len(preds) else 0
            hi = int(where[succs].min()) if len(succs) else len(waves)
            rest = [a for a in waves[k0] if a != j]
            shorter = float(d[rest].max()) if rest else 0.0
            saved = length[k0] - shorter  # its wave shrinks by
            if saved <= _EPS or hi - lo < 2:
                continue
            added = np.maximum(0.0, d[j] - length[lo:hi])
            fits = np.all(loads[lo:hi] + usage[j] <= capacity, axis=1)
            fits[k0 - lo] = False
            better = np.flatnonzero(fits & (added < saved - _EPS))
            if len(better):
                k = lo + int(better[0])
                waves[k0].remove(j)
                waves[k].append(j)
                loads[k0] -= usage[j]
                loads[k] += usage[j]
                length[k0], length[k] = shorter, max(length[k], float(d[j]))
                where[j] = k
                changed = True
        if any(not w for w in waves):
            waves = [w for w in waves if w]
            changed = True
    return WavePlan(tuple(tuple(w) for w in waves if w))


def _sub_problem(problem: Problem, agents: list[int]) -> Problem:
    """The workflow of ``agents`` alone: their durations, uses, files and the dependencies
    among them (a conflict a what-if lifted holds again: the sub-problem is no looser)."""
    from ..io.workflow import instance_from_dict, problem_to_workflow
    from ..model.validate import validate

    workflow = problem_to_workflow(problem)
    keep = {problem.ids[j] for j in agents}
    chosen = []
    for agent in (workflow["agents"][j] for j in agents):
        agent = {k: v for k, v in agent.items() if k not in ("command", "stage")}
        deps = [a for a in agent.get("depends_on", []) if a in keep]
        agent.pop("depends_on", None)
        if deps:
            agent["depends_on"] = deps
        chosen.append(agent)
    workflow["agents"] = chosen
    workflow.pop("stages", None)
    return validate(instance_from_dict(workflow))


def reoptimize_windows(problem: Problem, plan: WavePlan, until: float) -> WavePlan:
    """Large-neighbourhood search: each run of :data:`WINDOW_WAVES` consecutive waves (of at
    most :data:`WINDOW_AGENTS` agents) re-planned by the exact search (its agents' dependencies
    on the waves before and after hold whatever order they take inside), kept when shorter;
    rounds until one improves nothing or the clock reaches ``until``."""
    d = problem.durations
    waves = [list(w) for w in plan.waves]
    improved = True
    while improved and time.perf_counter() < until:
        improved = False
        k = 0
        while k < len(waves) and time.perf_counter() < until:
            window = waves[k : k + WINDOW_WAVES]
            agents = sorted(j for w in window for j in w)
            current = float(sum(d[w].max() for w in window))
            if len(window) < 2 or len(agents) > WINDOW_AGENTS:
                k += 1
                continue
            sub = _sub_problem(problem, agents)
            seconds = WINDOW_SHARE * (until - time.perf_counter())
            found, _ = prefix_search(sub, current, time.perf_counter() + seconds)
            if found is not None and sum(float(sub.durations[w].max()) for w in found) < current - _EPS:
                waves[k : k + len(window)] = [[agents[i] for i in w] for w in found]
                improved = True
            k += 1
    better = WavePlan(tuple(tuple(w) for w in waves if w))
    return better if feasible(problem, better) and better.total(d) < plan.total(d) - _EPS else plan


def ruin_and_recreate(
    problem: Problem, plan: WavePlan, until: float, rng: np.random.Generator, lower: float = 0.0
) -> WavePlan:
    """Large-neighbourhood search: take some agents out of ``plan`` (at random; one wave's and
    some others; or the longest agent of several waves), put each back, longest first among
    those whose dependencies are placed, where it lengthens the total least (an existing
    wave between its placed dependencies' and dependants' waves where it fits, else a new
    wave right after its dependencies); go on from the result when it is at most
    :data:`RUIN_SLACK` longer (falling to none by ``until``); the shortest plan found, when
    the clock reaches ``until`` or a plan is as short as ``lower``. Workflows of up to
    :data:`RUIN_MAX_AGENTS` agents."""
    n, d = problem.n, problem.durations
    if n > RUIN_MAX_AGENTS or n < 2 or not plan.waves:
        return plan
    before = problem.precedence_matrix
    rank = np.empty(n, np.int64)
    rank[problem.topological_order] = np.arange(n)
    size = min(max(4, n // 8), n)
    waves = [list(w) for w in plan.waves]
    total = plan.total(d)
    best, shortest = waves, total
    began = time.perf_counter()
    while time.perf_counter() < until and shortest > lower + _EPS:
        removed = _ruin(waves, d, size, rng)
        kept = [[a for a in w if not removed[a]] for w in waves]
        kept = [w for w in kept if w]
        where, load, length = _tally(problem, kept)
        left = sorted(np.flatnonzero(removed).tolist(), key=lambda a: rank[a])
        priority = d + rng.uniform(0.0, RUIN_NOISE * float(d.max()), n)
        while left:
            j = max((a for a in left if np.all(where[before[:, a]] >= 0)), key=lambda a: priority[a])
            left.remove(j)
            above, below = where[before[:, j]], where[before[j]]
            below = below[below >= 0]
            lo = int(above.max()) + 1 if len(above) else 0
            hi = int(below.min()) if len(below) else len(kept)
            load, length = _place(problem, j, lo, hi, kept, load, length, where)
        now = time.perf_counter()
        threshold = RUIN_SLACK * shortest * max(0.0, (until - now) / max(until - began, 1e-9))
        if float(length.sum()) <= total + threshold + _EPS:  # threshold accepting
            waves, total = kept, float(length.sum())
            if total < shortest - _EPS:
                best, shortest = waves, total
    better = WavePlan(tuple(tuple(w) for w in best if w))
    return better if feasible(problem, better) and better.total(d) < plan.total(d) - _EPS else plan


def _ruin(waves: list[list[int]], d: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """The agents to take out (a mask): ``size`` at random, or one wave's and half as many at
    random, or the longest agent of ``size // 2`` waves and a third as many at random."""
    n = len(d)
    removed = np.zeros(n, bool)
    how = int(rng.integers(3))
    if how == 0:
        removed[rng.choice(n, size, replace=False)] = True
        return removed
    if how == 1:
        removed[waves[int(rng.integers(len(waves)))]] = True
        removed[rng.choice(n, max(1, size // 2), replace=False)] = True
        return removed
    for k in rng.choice(len(waves), min(len(waves), max(2, size // 2)), replace=False):
        removed[max(waves[k], key=lambda a: d[a])] = True
    removed[rng.choice(n, max(1, size // 3), replace=False)] = True
    return removed


def _orders(problem: Problem, rng: np.random.Generator, count: int):
    """Topological orders from several priorities: longest first, longest tail first, then noisy."""
    d = problem.durations
    tail = tails(problem) + d
    g = problem.graph
    yield priority_list(d.astype(float), g.pred_ptr, g.pred_idx, g.succ_ptr, g.succ_idx)
    yield priority_list(tail.astype(float), g.pred_ptr, g.pred_idx, g.succ_ptr, g.succ_idx)
    scale = float(tail.max()) if problem.n else 1.0
    for _ in range(count):
        noisy = tail + rng.uniform(0, 0.5 * scale, problem.n)
        yield priority_list(noisy, g.pred_ptr, g.pred_idx, g.succ_ptr, g.succ_idx)


def _levels(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Agents before each agent on its longest chain, and after it: the earliest wave it can
    be in, and how many waves must follow it."""
    n = problem.n
    before = np.zeros(n, np.int64)
    after = np.zeros(n, np.int64)
    order = problem.topological_order
    for j in order:
        for s in problem.succs(j):
            before[s] = max(before[s], before[j] + 1)
    for j in order[::-1]:
        for s in problem.succs(j):
            after[j] = max(after[j], after[s] + 1)
    return before, after


def wave_milp(problem: Problem, below: float, waves: int, lower: float = 0.0) -> LinearModel:
    """Agent-to-wave assignment with at most ``waves`` waves and total length in ``[lower,
    below]``: ``x[j, k]`` (agent j in wave k) and ``r[j, k]`` (j is the longest agent of wave
    k, ties by index); min sum of ``d[j] r[j, k]``. Each agent of a wave has a representative
    at least as long, a wave's limits hold only when it has a representative, and an agent's
    variables outside the waves its chains allow are fixed at 0 (models/waves.md)."""
    n, K, d = problem.n, waves, problem.durations
    cum = problem.cumulative
    nx = n * K
    rows = Rows()
    row = rows.add

    def x(j, k):
        return j * K + k

    def rep(j, k):
        return nx + j * K + k

    longer_first = sorted(range(n), key=lambda j: (-d[j], j))
    for j in range(n):  # each agent in one wave
        row([(x(j, k), 1.0) for k in range(K)], 1.0, 1.0)
    for k in range(K):
        row([(rep(j, k), 1.0) for j in range(n)], -math.inf, 1.0)  # one representative per wave
        for pos, j in enumerate(longer_first):  # a representative at least as long as each member
            row([(x(j, k), 1.0)] + [(rep(i, k), -1.0) for i in longer_first[: pos + 1]], -math.inf, 0.0)
            row([(rep(j, k), 1.0), (x(j, k), -1.0)], -math.inf, 0.0)
    for i, j in problem.edges:  # dependencies go forward
        row([(x(j, k), float(k)) for k in range(K)] + [(x(i, k), -float(k)) for k in range(K)], 1.0, math.inf)
    for r in range(cum.usage.shape[1]):
        users = np.flatnonzero(cum.usage[:, r] > _EPS)
        if cum.usage[users, r].sum() <= cum.capacity[r] + _EPS:
            continue  # never binds
        cap = float(cum.capacity[r])
        for k in range(K):
            entries = [(x(int(j), k), float(cum.usage[j, r])) for j in users]
            row(entries + [(rep(j, k), -cap) for j in range(n)], -math.inf, 0.0)
    for k in range(K - 1):  # symmetry: the used waves come first
        row([(rep(j, k), 1.0) for j in range(n)] + [(rep(j, k + 1), -1.0) for j in range(n)], 0.0, math.inf)
    row([(rep(j, k), float(d[j])) for j in range(n) for k in range(K)], lower, below)
    matrix = rows.matrix(2 * nx)
    upper_x = np.ones((n, K))
    before, after = _levels(problem)
    for j in range(n):
        upper_x[j, : before[j]] = 0
        if after[j]:
            upper_x[j, K - after[j] :] = 0
    return LinearModel(
        cost=np.concatenate([np.zeros(nx), np.repeat(d.astype(float), K)]),
        offset=0.0,
        matrix=matrix,
        row_lower=rows.lower,
        row_upper=rows.upper,
        col_lower=np.zeros(2 * nx),
        col_upper=np.concatenate([upper_x.ravel(), upper_x.ravel()]),
        integral=np.ones(2 * nx, bool),
    )


def batching_milp(problem: Problem) -> LinearModel | None:
    """The waves without their order, in whole numbers: ``x[i, j]`` (agent ``j`` in the batch
    led by ``i``, its longest agent, ties by index; ``x[i, i]``: ``i`` leads a batch), each agent
    in one batch, no two agents of a batch ordered by a dependency, every batch within every
    cumulative limit; min ``sum d[i] x[i, i]``. Every wave plan gives such batches, so its
    optimum bounds every wave plan: the set-covering LP of bounds/wave_lp.py solved in whole
    numbers (random 40 agents: 820 -> 829, the best plan 864). No row bounds the total: with
    one between the bound and the best plan HiGHS took 15.8 s instead of 8.1 on random-40-0.
    None when it would have more than :data:`MAX_BATCHING_ROWS` rows (models/waves.md)."""
    n, d = problem.n, problem.durations
    cum = problem.cumulative
    ordered = problem.precedence_matrix | problem.precedence_matrix.T
    rank = np.lexsort((np.arange(n), -d))
    position = np.empty(n, np.int64)
    position[rank] = np.arange(n)
    binding = [r for r in range(cum.usage.shape[1]) if cum.usage[:, r].sum() > cum.capacity[r] + _EPS]
    usage, capacity = cum.usage[:, binding], cum.capacity[binding]
    column: dict[tuple[int, int], int] = {}
    members: list[list[int]] = []
    for i in range(n):  # who may share i's batch: later in the ranking, unordered, fits beside i
        fits = np.all(usage[i] + usage <= capacity + _EPS, axis=1) if binding else np.ones(n, bool)
        allowed = np.flatnonzero((position > position[i]) & ~ordered[i] & fits)
        members.append(allowed.tolist())
        for j in sorted([i, *members[i]]):  # in this order HiGHS took 5.6 s on random-40-0, 8.5 s leaders first
            column[i, j] = len(column)
    pairs = sum(int(ordered[np.ix_(m, m)].sum()) // 2 for m in members if m)
    if pairs + len(column) + n > MAX_BATCHING_ROWS:
        return None
    rows = Rows()
    row = rows.add
    led_by: list[list[int]] = [[] for _ in range(n)]
    for (_, j), c in column.items():
        led_by[j].append(c)
    for j in range(n):
        row([(c, 1.0) for c in led_by[j]], 1.0, 1.0)  # each agent in one batch
    for i in range(n):
        lead, m = column[i, i], members[i]
        for j in m:  # only in a batch that i leads
            row([(column[i, j], 1.0), (lead, -1.0)], -math.inf, 0.0)
        for chain in _chains(ordered[np.ix_(m, m)]):  # at most one agent of a chain
            row([(column[i, m[a]], 1.0) for a in chain] + [(lead, -1.0)], -math.inf, 0.0)
        for r in range(len(binding)):
            users = [j for j in m if usage[j, r] > _EPS]
            if usage[users, r].sum() + usage[i, r] > capacity[r] + _EPS:
                entries = [(column[i, j], float(usage[j, r])) for j in users]
                row(entries + [(lead, float(usage[i, r] - capacity[r]))], -math.inf, 0.0)
    cost = np.zeros(len(column))
    cost[[column[i, i] for i in range(n)]] = d
    return LinearModel(
        cost=cost,
        offset=0.0,
        matrix=rows.matrix(len(column)),
        row_lower=rows.lower,
        row_upper=rows.upper,
        col_lower=np.zeros(len(column)),
        col_upper=np.ones(len(column)),
        integral=np.ones(len(column), bool),
    )


def _decode(x: np.ndarray, n: int, K: int) -> WavePlan:
    assign = x[: n * K].reshape(n, K).argmax(axis=1)
    return WavePlan(tuple(tuple(int(j) for j in np.flatnonzero(assign == k)) for k in range(K) if np.any(assign == k)))


def solve_waves(problem: Problem, options: SolveOptions, started: float | None = None) -> Result:
    """The shortest wave plan found within ``options.time_limit`` (counted from ``started``),
    with a proven lower bound on the shortest wave plan."""
    t0 = time.perf_counter() if started is None else started
    deadline = t0 + options.time_limit
    d = problem.durations
    problem.find_cliques(t0 + CLIQUE_SHARE * options.time_limit)  # none when there is no time for them
    bounds = {
        "critical path": critical_path_bound(problem),
        "resource energy": energy_bound(problem),
        "incompatible cliques": clique_bound(problem),
        "wave batching": wave_bound(problem),
    }
    source = max(bounds, key=lambda k: bounds[k])
    lower = bounds[source]
    exact = problem.n <= MAX_EXACT_WAVE_AGENTS and options.use_milp
    reserve = plan_reserve(problem.n, options.time_limit)  # building and checking the plan
    rng = np.random.default_rng(options.seed)
    orders = _orders(problem, rng, 10**9)
    if exact:
        best = _greedy(problem, orders, None, lower, t0 + HEURISTIC_SHARE * options.time_limit, STALL_ORDERS)
        if problem.n > MAX_MILP_WAVE_AGENTS:  # the exact search will not finish: local search first
            best = ruin_and_recreate(problem, best, t0 + 2 * HEURISTIC_SHARE * options.time_limit, rng, lower)
    else:  # without the exact searches the greedy orders get all the time (a reserve for the plan):
        # on 300 agents at 20 s they reached 1,194, a fifth of the time and ruin and recreate 1,199-1,246
        best = _greedy(problem, orders, None, lower, deadline - reserve, None)
    upper = best.total(d)
    step = exact_step(d)
    lp_first = problem.n > MAX_MILP_WAVE_AGENTS  # where the exact search will not finish

    def covering_lp(share: float) -> None:
        """The set-covering LP's bound (bounds/wave_lp.py) with ``share`` of the time left."""
        nonlocal lower, source
        if upper <= lower + _EPS or not exact:
            return
        now = time.perf_counter()
        covering = wave_lp_bound(problem, now + share * (deadline - reserve - now))
        if step is not None:
            covering = math.ceil(covering / step - 1e-9) * step
        if covering > lower + _EPS:
            lower, source = min(covering, upper), "wave lp"

    if lp_first:
        covering_lp(LP_SHARE_FIRST)
        if upper > lower + _EPS and exact:  # the batching MILP: the covering LP in whole numbers
            now = time.perf_counter()
            seconds = BATCHING_SHARE * (deadline - reserve - now)
            batching = _batching_bound(problem, upper, step, seconds, options)
            if batching > lower + _EPS:
                lower, source = min(batching, upper), "wave batching milp"
    if upper > lower + _EPS and exact:  # the exact search over done sets (wave_prefix.py)
        now = time.perf_counter()
        share = SEARCH_SHARE_AFTER_BATCHING if lp_first else SEARCH_SHARE
        found_waves, proven = prefix_search(problem, upper, now + share * (deadline - reserve - now), lower)
        if found_waves is not None:
            best = WavePlan(tuple(tuple(w) for w in found_waves))
            upper = proven = best.total(d)
        if proven > lower + _EPS:
            lower, source = min(proven, upper), "wave search"
    if not lp_first:
        covering_lp(LP_SHARE)
    if upper > lower + _EPS and exact and problem.n <= MAX_MILP_WAVE_AGENTS:
        seconds = deadline - time.perf_counter() - reserve
        found, proven = _milp(problem, lower, upper, step, seconds, options)
        if found is not None and found.total(d) < upper - _EPS:
            best, upper = found, found.total(d)
        if proven > lower + _EPS:
            lower, source = min(proven, upper), "wave milp"
    elif upper > lower + _EPS and exact:  # ruin and recreate, then windows re-planned exactly
        now = time.perf_counter()
        best = ruin_and_recreate(problem, best, now + (1 - WINDOW_FINISH) * (deadline - reserve - now), rng, lower)
        best = reoptimize_windows(problem, best, deadline - reserve)
        upper = best.total(d)
    if step is not None:
        lower = math.ceil(lower / step - 1e-9) * step
    lower = min(lower, upper)
    return _result(problem, best, lower, source, time.perf_counter() - t0)


def _greedy(problem: Problem, orders, best: WavePlan | None, lower: float, until: float, stall: int | None) -> WavePlan:
    """The best of ``best`` and the improved greedy plans of the next ``orders``: until ``until``
    (no order is begun that the last one's time says would end after it, and improving stops
    there; at least one order, three on workflows small enough for the exact search, where an
    order takes milliseconds), ``stall`` orders without a better plan, or a plan as short as
    ``lower``."""
    d = problem.durations
    since, tried, took = 0, 0, 0.0
    least = 3 if problem.n <= MAX_EXACT_WAVE_AGENTS else 1
    while tried < least or time.perf_counter() + took <= until:
        began = time.perf_counter()
        plan = greedy_waves(problem, next(orders))
        took = time.perf_counter() - began
        plan = improve(problem, plan, until)
        since, tried = since + 1, tried + 1
        if best is None or plan.total(d) < best.total(d) - _EPS:
            best, since = plan, 0
        if best.total(d) <= lower + _EPS or (stall is not None and since >= stall):
            break
    assert best is not None
    return best


def _milp(problem, lower: float, upper: float, step, seconds: float, options: SolveOptions):
    """A wave plan shorter than ``upper`` (or None), and a bound on the shortest wave plan."""
    d = problem.durations
    below = upper - (step if step else 1e-6 * max(upper, 1.0))
    # each wave is at least as long as a distinct agent (its longest): a plan of m waves is at
    # least as long as the m shortest agents together, so a shorter plan has at most this many
    waves = int(np.searchsorted(np.cumsum(np.sort(d)), below + _EPS, side="right"))
    if seconds <= 0.2 or waves < 1:
        return None, 0.0
    if waves < int(_levels(problem)[0].max(initial=0)) + 1:
        return None, upper  # a shorter plan would need fewer waves than the longest chain has agents
    model = wave_milp(problem, below, waves, lower)
    out = (
        solver_backend(options.backend)
        .start(model, time_limit=seconds, threads=options.threads, seed=options.seed)
        .result()
    )
    if out.status is SolverStatus.INFEASIBLE:
        return None, upper  # no wave plan below the incumbent: it is optimal
    bound = _solver_bound(out.bound, step)
    found = _decode(out.x, problem.n, waves) if out.x is not None else None
    if found is not None and not feasible(problem, found):
        found = None
    return found, min(bound, upper)


def _solver_bound(bound: float, step) -> float:
    """A MILP's dual bound on the shortest wave plan (0 when it has none), raised to the
    durations' step: every wave plan's length is a whole number of steps."""
    bound = bound if math.isfinite(bound) else 0.0
    return integral_bound(bound / step) * step if step else bound


def _chains(ordered: np.ndarray) -> list[list[int]]:
    """Chains (sets of pairwise ordered agents) that hold every ordered pair of ``ordered`` (a
    symmetric matrix of the dependencies' transitive closure): each grown from a pair not yet
    held by the agent ordered with all of the chain that holds most new pairs."""
    left = ordered.copy()  # pairs not yet in a chain
    out = []
    while left.any():
        a, b = (int(v) for v in np.argwhere(np.triu(left, 1))[0])
        chain = [a, b]
        while True:
            joins = np.flatnonzero(ordered[chain].all(axis=0))
            if not len(joins):
                break
            gain = left[np.ix_(joins, np.array(chain))].sum(axis=1)
            chain.append(int(joins[np.argmax(gain)]))
        for x in chain:
            left[x, chain] = False
        out.append(sorted(chain))
    return out


def _batching_bound(problem: Problem, upper: float, step, seconds: float, options: SolveOptions) -> float:
    """The batching MILP's bound on every wave plan (:func:`batching_milp`) within ``seconds``
    (at most ``upper``, the best plan; 0 when it has none)."""
    model = batching_milp(problem) if seconds > 0.2 else None
    if model is None:
        return 0.0
    out = (
        solver_backend(options.backend)
        .start(model, time_limit=seconds, threads=options.threads, seed=options.seed)
        .result()
    )
    return min(_solver_bound(out.bound, step), upper)


def _result(problem: Problem, plan: WavePlan, lower: float, source: str, seconds: float) -> Result:
    """The wave plan as a plan: each agent starts with its wave and waits for the whole wave before."""
    d = problem.durations
    start = np.zeros(problem.n)
    waits: list[tuple[int, ...]] = [()] * problem.n
    t, previous = 0.0, ()  # type: tuple[float, tuple[int, ...]]
    lengths = plan.lengths(d)
    for wave, length in zip(plan.waves, lengths):
        for j in wave:
            start[j] = t
            waits[j] = tuple(sorted(previous))
        t += length
        previous = wave
    makespan = t
    longest = [max(w, key=lambda j: d[j]) for w in plan.waves]
    status = SolveStatus.OPTIMAL if makespan <= lower + _EPS * max(1.0, makespan) else SolveStatus.FEASIBLE
    return Result(
        problem=problem,
        status=status,
        makespan=makespan,
        lower_bound=makespan if status is SolveStatus.OPTIMAL else lower,
        start=start,
        waits_for=tuple(waits),
        critical_path_index=tuple(longest),
        solve_seconds=seconds,
        bound_source=source,
        waves=plan.waves,
    )
