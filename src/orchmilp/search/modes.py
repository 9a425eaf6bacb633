"""Model choice: the minimum makespan over every choice of modes that keeps within the budgets
and the deadline (the multi-mode RCPSP with non-renewable resources; models/modes.md).

1. **Bound and feasibility**: a small MILP over the mode choice (:func:`mode_relaxation`):
   binaries ``y[j, m]``, start times ``S_j`` and the makespan ``T``, with the dependencies
   in the chosen durations, every resource's energy ``C_r T >= sum u d y`` (also after dual
   feasible functions, of the writers of one file, and after and before each agent), the
   budgets and the deadline. Every plan satisfies it, so its optimum is a lower bound on every plan;
   "infeasible" proves that no choice of modes keeps within the budgets and the deadline.
2. **Choices to plan**: the relaxation's own choice, the fastest modes repaired greedily
   into the budgets, the choices an annealing search scored by the serial scheme finds
   better than both (:mod:`orchmilp.search.mode_choice`), then rounds of local moves from
   the best plan's choice: an agent of its critical path in a faster mode (paid for by a
   cheaper mode of an agent off it when a budget binds), then any agent in any other mode,
   while a round finds a shorter plan.
3. Each choice is planned by the single-mode search with part of the time, and with the
   best plan so far as its cutoff: it stops once it shows that this choice has no shorter
   plan (its bound is then the cutoff, not its own optimum). The best plan wins. The
   single-mode search's own bound holds only for its choice of modes.
4. **Clause learning over modes and times** (:mod:`orchmilp.exact.mode_sat`), where every
   amount is a small whole number on the durations' grid (PSPLIB-like workflows): "is there a
   plan of makespan at most T?", first just below the best plan, then halfway between the
   bound and the shortest length still open (a "yes" is a shorter plan with its choice of
   modes, a "no" raises the bound on every plan); up to 70% of the time left.
4a. Where the grid is too fine for 4 (durations in seconds), **logic-based Benders with a
   coarse clause-learning master** (:func:`_coarse_benders`): the encoding of 4 on durations
   floored to a coarse grid names the choices that may beat the best plan; each is planned by
   the single-mode engine and blocked once proven no shorter; "no choice left" proves the
   best plan optimal; up to 80% of the time left.
5. **logic-based Benders** with the rest: the relaxation again, now below the best plan's
   makespan and with a no-good cut for every choice already planned whose own proven bound is
   no shorter; its choice is planned next (the single-mode engine proves that choice's
   optimum), until the relaxation is infeasible (the best plan is ``optimal``: every other
   choice is settled or cannot be shorter even relaxed) or time runs out (its bound then holds
   for every plan, and so does every bound of 1 and 4).

The single-mode search is the engine's; only the mode choice is searched here.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from ..bounds.critical_path import critical_path_bound
from ..compile.grid import exact_step
from ..compile.model import LinearModel, Rows
from ..errors import NoPlanFits
from ..exact.mode_sat import ModeSatProver
from ..io.modes import ModeTable
from ..model.problem import Problem
from ..options import SolveOptions
from ..result import Result
from ..solvers import backend as solver_backend
from ..solvers.base import SolverStatus, integral_bound
from ..statuses import SolveStatus
from .mode_choice import ChoiceScorer, anneal_choices, cheapen_choice

__all__ = ["solve_modes", "solve_min_spend", "mode_relaxation", "Relaxation", "energy_lp", "EnergyLP"]

#: Share of the time limit for the relaxation MILP; each choice planned gets at least
#: MIN_PLAN_SECONDS (the single-mode search's first plan)
RELAXATION_SHARE = 0.15
MIN_PLAN_SECONDS = 0.3
#: Choices one or two switches from the best plan's that each round plans
MOVES_PER_ROUND = 8
#: The annealing over choices scored by the serial scheme (2): its share of the time left
#: and how many of its best choices the engine plans
ANNEAL_SHARE = 0.1
ANNEALED_PLANNED = 2
#: scoring a choice grows faster than the square of the agents (0.2 s at 2,000, 8.5 s at 8,000):
#: above this many agents there is no annealing
ANNEAL_MAX_AGENTS = 2000
#: The clause-learning phase (4): at most this many agent-mode-grid-steps; its encoding is
#: built within SAT_BUILD_SHARE of the time left; the first probe (just below the best plan)
#: gets SAT_DOWN_SHARE of its time, each later one (halfway) SAT_SPLIT_SHARE
SAT_MAX_CELLS = 400_000
#: ... and at most this many grid steps: on a finer grid (LLM workflows timed to the second,
#: 760 steps) every probe ran out of time, and Glucose answered an interrupt up to 4 s late
SAT_MAX_STEPS = 300
SAT_BUILD_SHARE = 0.3
SAT_DOWN_SHARE = 0.25
SAT_SPLIT_SHARE = 0.34
#: of the time left after the candidates, the share of the clause learning (the rest: 2 and 5)
SAT_SHARE = 0.7
SAT_SOURCE = "sat over modes (clause learning)"
#: Logic-based Benders over a coarse grid (4a of the module docstring): durations floored to
#: about COARSE_STEPS steps of the best plan's length; the share of the time left it gets, the
#: share of that for building its encoding, each probe's share of what is left, and each
#: choice's first plan's
COARSE_STEPS = 150
#: ... and on workflows up to this many agents it comes before the local moves (beyond, its
#: first question took 6 s on 40 agents and the moves found the shorter plans in 20 s:
#: bench/modes.py)
COARSE_EARLY_AGENTS = 30
#: ... and with at least this time limit: with less, the first two choices' short plans and
#: the master's first choices left worse plans than the local moves (llm-modes-20-* at 8 and
#: 12 s: 613 -> 676, 761 -> 819), where at 20 s it proves two of three
COARSE_EARLY_SECONDS = 20.0
COARSE_SHARE = 0.8
COARSE_BUILD_SHARE = 0.2
COARSE_PROBE_SHARE = 0.5
#: ... except the first question, which gets this share and is not asked again (on
#: llm-modes-20-0 it was not answered in 80 s; on 20-1 and 20-2 it took 0.2-1.8 s, and with
#: 0.15 the 20-2 proof was lost in 2 of 2 solves)
COARSE_FIRST_SHARE = 0.25
COARSE_PLAN_SHARE = 0.25
COARSE_SOURCE = "mode benders (coarse sat)"
#: Where the relaxation did not finish, the energy LP's bound and choice (:func:`energy_lp`),
#: with this share of the time limit (2.4 s at 20,000 agents)
ENERGY_SOURCE = "mode energy lp"
ENERGY_SHARE = 0.1
#: ... and at least this many seconds: without its choice, 20,000 agents at a 10 s limit were
#: planned in the fastest modes within the budgets, 567,285 s against 323,111 (the LP's bound
#: 302,938), and the limit does not hold at that size anyway (a plan takes about 20 s)
ENERGY_MIN_SECONDS = 3.0
#: The share of the time limit kept, after the least spend's search, for the shortest plan
#: within the budgets (a plan by the deadline when that search found none)
SPEND_FALLBACK_SHARE = 0.25
#: ... and of that time, the share left after the shortest plan for making its choice cheaper
#: (cheapen_choice: greedy switches to cheaper modes, each scored by the serial scheme)
CHEAPEN_SHARE = 0.2
#: The share of the time left that strengthening one settled choice's cut may take (_core)
CORE_SHARE = 0.05
#: Beyond this many agents the relaxation is not tried (20,000 agents: 9.7 s and no bound)
RELAXATION_MAX_AGENTS = 5000
#: The relaxation's energy rows: the dual feasible functions u^(1..DFF_LEVELS) of each
#: capacity's shares, and per agent the energy after it ends and before it starts up to this
#: many agents (n x n rows' entries beyond)
DFF_LEVELS = 3
MAX_HEAD_TAIL_AGENTS = 100
#: the fastest choice within budgets switches one agent per this many at a time
SWITCH_BATCH_AGENTS = 2000
_EPS = 1e-9


class Planner(Protocol):
    """Plans the single-mode problem of a choice within ``seconds``; with a ``cutoff``, it may
    stop once it shows that no plan is shorter than the cutoff (its bound is then at least that)."""

    def __call__(self, problem: Problem, seconds: float, cutoff: float = math.inf) -> Result: ...


@dataclass(frozen=True)
class Relaxation:
    """The relaxation's lower bound on every plan and its choice of modes (None: no choice fits)."""

    bound: float
    choice: tuple[int, ...] | None
    proven: bool  # the MILP was solved to optimality (else ``bound`` is its dual bound)


def _columns(table: ModeTable) -> list[tuple[int, int]]:
    return [(j, m) for j, modes in enumerate(table.modes) for m in range(len(modes))]


def mode_relaxation(
    table: ModeTable,
    first: Problem,
    seconds: float,
    options: SolveOptions,
    below: float | None = None,
    excluded: Sequence[Sequence[tuple[int, int]]] = (),
    spend: str | None = None,
) -> Relaxation:
    """Solve the mode-choice MILP of the module docstring within ``seconds``; with ``below``,
    only makespans up to it, and no choice that takes every (agent, mode) of one of the
    ``excluded`` (cuts: a whole choice, or the core of one, :func:`_core`); with
    ``spend`` (a consumes key), minimise that instead of the makespan. ``first`` (the workflow
    in any choice of modes) gives the dependencies, capacities and file locks. Building the
    model counts in the ``seconds``."""
    began = time.perf_counter()
    if any(not cut for cut in excluded):  # an empty cut: no choice at all is left
        return Relaxation(math.inf, None, True)
    edges, capacity = first.edges, first.capacity_by_name
    locks = [lock.writers for lock in first.locks]
    cols = _columns(table)
    n, ny = len(table.ids), len(cols)
    s0, t_col = ny, ny + n  # S_j, then T
    rows = Rows()
    row = rows.add

    by_agent: list[list[int]] = [[] for _ in range(n)]
    for c, (j, _m) in enumerate(cols):
        by_agent[j].append(c)
    duration = np.array([table.modes[j][m].duration for j, m in cols])
    col_upper = np.ones(ny + n + 1)
    col_upper[ny:] = np.inf
    for c, (j, m) in enumerate(cols):  # a mode that can never run
        uses = table.modes[j][m].uses
        if any(v > capacity.get(r, math.inf) + _EPS for r, v in uses.items()):
            col_upper[c] = 0.0
    for j in range(n):
        row([(c, 1.0) for c in by_agent[j]], 1.0, 1.0)
        row([(t_col, 1.0), (s0 + j, -1.0)] + [(c, -duration[c]) for c in by_agent[j]], 0.0, math.inf)
    for i, j in edges:
        row([(s0 + int(j), 1.0), (s0 + int(i), -1.0)] + [(c, -duration[c]) for c in by_agent[int(i)]], 0.0, math.inf)
    later = first.precedence_matrix if n <= MAX_HEAD_TAIL_AGENTS else None
    for positive, weight in _energy_weights(table, capacity, cols, by_agent, locks):
        energy = list(zip(positive.tolist(), (-weight * duration[positive]).tolist()))
        if not energy:
            continue
        row([(t_col, 1.0)] + energy, 0.0, math.inf)  # the whole plan holds this energy
        if later is None:
            continue
        for j in range(n):  # ... and its part after an agent ends, or before it starts
            after = [(c, v) for c, v in energy if later[j, cols[c][0]]]
            if after:
                own = [(c, -duration[c]) for c in by_agent[j]]
                row([(t_col, 1.0), (s0 + j, -1.0)] + own + after, 0.0, math.inf)
            before = [(c, v) for c, v in energy if later[cols[c][0], j]]
            if before:
                row([(s0 + j, 1.0)] + before, 0.0, math.inf)
    for key, cap in table.budgets.items():
        amounts = [(c, table.modes[j][m].consumes.get(key, 0.0)) for c, (j, m) in enumerate(cols)]
        row([(c, v) for c, v in amounts if v > 0], -math.inf, cap + 1e-9 * max(1.0, cap))
    for cut in excluded:
        row([(by_agent[j][m], 1.0) for j, m in cut], -math.inf, len(cut) - 1.0)
    limits = [v for v in (table.deadline, below) if v is not None]
    if limits:
        col_upper[t_col] = min(limits)
    cost = np.zeros(ny + n + 1)
    if spend is None:
        cost[t_col] = 1.0
    else:
        for c, (j, m) in enumerate(cols):
            cost[c] = table.modes[j][m].consumes.get(spend, 0.0)
    model = LinearModel(
        cost=cost,
        offset=0.0,
        matrix=rows.matrix(ny + n + 1),
        row_lower=rows.lower,
        row_upper=rows.upper,
        col_lower=np.zeros(ny + n + 1),
        col_upper=col_upper,
        integral=np.concatenate([np.ones(ny, bool), np.zeros(n + 1, bool)]),
    )
    out = (
        solver_backend(options.backend)
        .start(
            model,
            time_limit=max(seconds - (time.perf_counter() - began), 0.1),
            threads=1,
            seed=options.seed,
            # a spend is not a whole number: close the gap exactly
            options={"mip_abs_gap": 1e-9} if spend is not None and options.backend == "highs" else None,
        )
        .result()
    )
    if out.status is SolverStatus.INFEASIBLE:
        return Relaxation(math.inf, None, True)
    choice = None
    if out.x is not None:
        chosen = np.asarray(out.x[:ny]).round()
        choice = tuple(next(cols[c][1] for c in by_agent[j] if chosen[c] > 0.5) for j in range(n))
    bound = max(out.bound if math.isfinite(out.bound) else 0.0, 0.0)
    step = table.step
    if step and spend is None:  # every makespan is a sum of durations: a whole multiple of the step
        bound = integral_bound(bound / step) * step
    return Relaxation(bound, choice, out.status is SolverStatus.OPTIMAL)


@dataclass
class EnergyLP:
    """What :func:`energy_lp` found: a bound on every plan and a choice of modes within the
    budgets read from its mix (None when it has none)."""

    bound: float
    choice: tuple[int, ...] | None


def energy_lp(table: ModeTable, first: Problem, seconds: float, options: SolveOptions) -> EnergyLP:
    """A bound on every plan that needs no schedule, for where the relaxation does not finish
    (20,000 agents: 2.4 s): the larger of the critical path with each agent in its shortest
    mode that fits, and a linear program: each agent takes a mix of its modes, within the
    budgets, and each capacity and each file's writers hold their energy within the makespan
    ``T``; min ``T`` (solved within ``seconds``, else left out). The relaxation's optimum is
    never below it. Its choice: each agent's mode of the largest share, the few agents with a
    mix each in the mode of its mix that spends least (so the budgets still hold).

    >>> from orchmilp.io.modes import mode_table
    >>> from orchmilp.api import load
    >>> wf = {"resources": {"tpm": 10}, "budgets": {"usd": 3}, "agents": [
    ...     {"id": k, "modes": [{"name": "fast", "duration": 2, "uses": {"tpm": 10}, "consumes": {"usd": 2}},
    ...                         {"name": "slow", "duration": 6, "uses": {"tpm": 5}, "consumes": {"usd": 1}}]}
    ...     for k in ("a", "b")]}
    >>> table = mode_table(wf)
    >>> energy_lp(table, load(table.apply(wf, [0, 0])), 5.0, SolveOptions())  # LP 5, on the step 2: 6
    EnergyLP(bound=6.0, choice=(0, 1))
    """
    began = time.perf_counter()
    fits = table.runnable(first.capacity_by_name)
    fits[~fits.any(axis=1)] = True  # no mode fits: the relaxation says so; any mode bounds
    shortest = np.where(fits, table.durations, np.inf).min(axis=1)
    bound = critical_path_bound(first, shortest) if len(shortest) else 0.0
    mix = _energy_mix(table, first, fits, seconds - (time.perf_counter() - began), options)
    choice = None
    if mix is not None:
        bound = max(bound, mix[0])
        choice = _choice_of_mix(table, mix[1])
    step = table.step
    if step:  # every makespan is a sum of durations: a whole multiple of the step
        bound = integral_bound(bound / step) * step
    return EnergyLP(float(bound), choice)


def _energy_mix(
    table: ModeTable, first: Problem, fits: np.ndarray, seconds: float, options: SolveOptions
) -> tuple[float, np.ndarray] | None:
    """The energy LP of :func:`energy_lp`: its optimum ``T`` and the mix (agent, mode), or
    None when it is not solved in ``seconds``."""
    capacity = first.capacity_by_name
    n, width = len(table.modes), table.width
    if n == 0 or seconds <= 0:
        return None
    d = table.durations
    t_col, cols = n * width, n * width + 1
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (rows, columns, values)
    lower: list[float] = []
    upper: list[float] = []

    def add(columns: np.ndarray, values: np.ndarray, low: float, high: float) -> None:
        entries.append((np.full(len(columns), len(lower)), columns, values))
        lower.append(low)
        upper.append(high)

    every = np.arange(n * width)
    entries.append((every // width, every, np.ones(n * width)))  # one mix per agent
    lower.extend([1.0] * n)
    upper.extend([1.0] * n)
    for r, cap in capacity.items():
        if cap <= 0:
            continue
        use = np.zeros((n, width))
        for j, modes in enumerate(table.modes):
            for m, mode in enumerate(modes):
                use[j, m] = mode.uses.get(r, 0.0)
        work = (d * use / cap).ravel()
        positive = np.flatnonzero(work > 0)
        if len(positive):
            add(np.append(positive, t_col), np.append(work[positive], -1.0), -math.inf, 0.0)
    for lock in first.locks:
        if len(lock.writers) > 1:
            writers = (np.asarray(sorted(lock.writers))[:, None] * width + np.arange(width)).ravel()
            add(np.append(writers, t_col), np.append(d.ravel()[writers], -1.0), -math.inf, 0.0)
    for k, cap in enumerate(table.budget_limits):
        spend = table.budget_costs[:, :, k].ravel()
        positive = np.flatnonzero(spend > 0)
        add(positive, spend[positive], -math.inf, float(cap))
    row_idx, col_idx, vals = (np.concatenate(parts) for parts in zip(*entries))
    cost = np.zeros(cols)
    cost[t_col] = 1.0
    model = LinearModel(
        cost=cost,
        offset=0.0,
        matrix=sp.csc_matrix((vals, (row_idx, col_idx)), shape=(len(lower), cols)),
        row_lower=np.asarray(lower),
        row_upper=np.asarray(upper),
        col_lower=np.zeros(cols),
        col_upper=np.append(fits.ravel().astype(float), np.inf),
        integral=np.zeros(cols, bool),
    )
    out = solver_backend(options.backend).start(model, time_limit=seconds, threads=1, seed=options.seed).result()
    if out.status is not SolverStatus.OPTIMAL or out.objective is None or out.x is None:
        return None  # infeasible: no choice within the budgets; the relaxation says why
    return float(out.objective), np.asarray(out.x[:t_col]).reshape(n, width)


def _choice_of_mix(table: ModeTable, mix: np.ndarray) -> tuple[int, ...] | None:
    """Each agent in its mode of the largest share; an agent with a mix in the mode of its mix
    that spends least of the budgets (each as a share of its limit), or of all its modes when
    that is not within the budgets. None when neither is."""
    choice = mix.argmax(axis=1)
    mixed = np.flatnonzero(mix.max(axis=1) < 1 - 1e-6)
    if len(mixed) == 0:
        return tuple(int(m) for m in choice)
    limits = np.maximum(table.budget_limits, 1e-12)
    spend = (table.budget_costs / limits).sum(axis=2) if len(limits) else np.zeros(mix.shape)
    real = np.arange(mix.shape[1])[None, :] < np.array([len(m) for m in table.modes])[:, None]
    for allowed in (mix > 1e-6, real):
        choice[mixed] = np.where(allowed[mixed], spend[mixed], np.inf).argmin(axis=1)
        if table.within_budgets(choice.tolist()):
            return tuple(int(m) for m in choice)
    return None


def _dual_feasible(x: np.ndarray, k: int) -> np.ndarray:
    """Fekete and Schepers' dual feasible function ``u^(k)`` of shares ``x`` in [0, 1]: any
    shares that fit together (sum at most 1) keep a sum at most 1 after it."""
    scaled = (k + 1) * x
    whole = np.abs(scaled - np.round(scaled)) <= 1e-9
    return np.where(whole, x, np.floor(scaled + 1e-9) / k)


def _energy_weights(
    table: ModeTable,
    capacity: dict[str, float],
    cols: list[tuple[int, int]],
    by_agent: list[list[int]],
    locks: Sequence[Sequence[int]],
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Per column (agent, mode), weights ``w`` with ``sum w`` at most 1 over any agents that
    can run at once, so that ``sum w d`` over a stretch of time is at most its length: each
    capacity's shares, the same after the dual feasible functions ``u^(1..DFF_LEVELS)``
    (they count agents that no others of their kind can join), and 1 for the writers of one
    file (they never overlap). Each as (columns, weights) over its columns of positive weight
    (20,000 agents write 1,665 files: dense rows took 20 s); ``by_agent`` lists each agent's
    columns."""
    seen: set[bytes] = set()
    for r, cap in capacity.items():
        if cap <= 0:
            continue
        share = np.minimum(np.array([table.modes[j][m].uses.get(r, 0.0) for j, m in cols]) / cap, 1.0)
        for k in range(DFF_LEVELS + 1):
            weight = share if k == 0 else _dual_feasible(share, k)
            key = np.round(weight, 12).tobytes()
            if weight.max(initial=0.0) > _EPS and key not in seen:
                seen.add(key)
                positive = np.flatnonzero(weight > _EPS)
                yield positive, weight[positive]
    for writers in locks:
        if len(writers) > 1:
            positive = np.array([c for j in sorted(writers) for c in by_agent[j]])
            yield positive, np.ones(len(positive))


def _fastest_within_budgets(table: ModeTable, capacity: dict[str, float]) -> tuple[int, ...] | None:
    """Each agent's fastest mode that can run; then, while a budget is overrun, the switch to a
    cheaper mode that costs least time per unit of overrun saved (the first such agent and mode
    on ties; every switch weighed at once, as arrays: 2,000 agents took 7 s one by one). Above
    :data:`SWITCH_BATCH_AGENTS` agents, the best switches of several agents at a time (one per
    that many agents): 20,000 agents took 10,700 rounds, 7.8 s, one switch at a time."""
    n, width = len(table.modes), table.width
    duration, cost, limit = table.durations, table.budget_costs, table.budget_limits
    runnable = table.runnable(capacity)
    if not runnable.any(axis=1).all():
        return None
    here = np.argmin(np.where(runnable, duration, math.inf), axis=1)  # the first fastest
    rows, caps = np.arange(n), np.array(list(table.budgets.values()), float)
    batch = max(1, n // SWITCH_BATCH_AGENTS)
    used = cost[rows, here].sum(axis=0)
    while np.any(used > limit):
        saved = np.zeros((n, width))
        for b in np.flatnonzero(used > limit):  # in the budgets' order, as a sum over them
            saved = saved + (cost[rows, here, b][:, None] - cost[:, :, b]) / (used[b] - caps[b])
        key = np.maximum(duration - duration[rows, here][:, None], 0.0) / np.where(saved > _EPS, saved, 1.0)
        key[(saved <= _EPS) | ~runnable] = math.inf
        key[rows, here] = math.inf
        best = key.min(axis=1)
        agents = np.argsort(best, kind="stable")[:batch]
        agents = agents[np.isfinite(best[agents])]
        if not len(agents):
            return None
        modes = key[agents].argmin(axis=1)
        used += (cost[agents, modes] - cost[agents, here[agents]]).sum(axis=0)
        here[agents] = modes
    choice = tuple(int(m) for m in here)
    return choice if table.within_budgets(choice) else None


def _no_choice_fits(table: ModeTable) -> str:
    """Why the relaxation is infeasible, in one line."""
    for key, cap in table.budgets.items():
        least = sum(min(m.consumes.get(key, 0.0) for m in modes) for modes in table.modes)
        if least > cap + 1e-9 * max(1.0, cap):
            return f"budgets.{key} = {cap:g}: the cheapest modes consume {least:g}"
    if table.deadline is not None:
        return f"deadline = {table.deadline:g}: no choice of modes within the budgets can end by then"
    return "no choice of modes keeps within all the budgets together"


def solve_modes(
    table: ModeTable,
    first: Problem,
    build: Callable[[tuple[int, ...]], Problem],
    plan: Planner,
    options: SolveOptions,
    started: float,
) -> tuple[Result, tuple[int, ...]]:
    """The best plan over the choices of modes tried within ``options.time_limit`` (counted
    from ``started``), with the relaxation's bound; ``first`` is the problem in every agent's
    first mode that fits (its dependencies, resources and locks), ``build`` makes the
    single-mode problem of a choice and ``plan`` plans it within some seconds."""
    deadline = started + options.time_limit
    capacity = first.capacity_by_name
    relaxation = Relaxation(0.0, None, False)  # beyond RELAXATION_MAX_AGENTS it would not finish
    if first.n <= RELAXATION_MAX_AGENTS:
        relaxation = mode_relaxation(table, first, RELAXATION_SHARE * options.time_limit, options)
    if relaxation.choice is None and relaxation.proven:
        raise NoPlanFits(_no_choice_fits(table))
    energy = EnergyLP(0.0, None)
    if not relaxation.proven:  # a bound and a choice when the relaxation did not finish
        energy = energy_lp(table, first, max(ENERGY_SHARE * options.time_limit, ENERGY_MIN_SECONDS), options)
    candidates = [
        c for c in (relaxation.choice, energy.choice, _fastest_within_budgets(table, capacity)) if c is not None
    ]
    if not candidates:
        raise NoPlanFits("no choice of modes within the budgets was found in the time limit")
    tried: dict[tuple[int, ...], Result] = {}
    best: tuple[Result, tuple[int, ...]] | None = None
    overrun = 0.0  # the most a plan took past its seconds (building the result of 2,000 agents: 0.3 s)
    quickest = 0.0  # the shortest time a plan took (at 20,000 agents about 20 s, whatever it was given)

    def left() -> float:
        """The seconds left, less what the next plan may take past its own."""
        return deadline - time.perf_counter() - overrun

    def attempt(choice: tuple[int, ...], share: float) -> None:
        nonlocal best, overrun, quickest
        if choice in tried or not table.within_budgets(choice):
            return
        if best is not None and deadline - time.perf_counter() < quickest:
            return  # no plan has taken less than is left
        seconds = max(MIN_PLAN_SECONDS, share * left())
        began = time.perf_counter()
        # only a plan shorter than the best (and by the deadline) matters: the search may stop
        # once it shows there is none, where proving this choice's own optimum can take far longer
        cutoff = math.inf if best is None else best[0].makespan
        if table.deadline is not None:
            cutoff = min(cutoff, _deadline_cutoff(table, table.deadline))
        result = plan(build(choice), seconds, cutoff)
        took = time.perf_counter() - began
        overrun, quickest = max(overrun, took - seconds), (min(quickest, took) if tried else took)
        tried[choice] = result
        if table.deadline is not None and result.makespan > table.deadline + _EPS:
            return
        if best is None or result.makespan < best[0].makespan - _EPS:
            best = (result, choice)

    step = table.step
    sat_step = _sat_step(table, first, options, relaxation.bound, step)
    coarse = sat_step is None and step is not None and options.use_sat and options.dispatch == "events"
    # 4a before the local moves, not after, on small workflows given the time to prove
    early = coarse and first.n <= COARSE_EARLY_AGENTS and options.time_limit >= COARSE_EARLY_SECONDS

    def coarse_benders() -> bool:
        """Phase 4a with its share of the time left: True when it proved the best plan optimal."""
        if best is None or step is None or best[0].makespan <= relaxation.bound + _EPS:
            return False
        until = time.perf_counter() + COARSE_SHARE * (deadline - time.perf_counter())
        return _coarse_benders(table, first, step, build, tried, attempt, incumbent, until)

    def incumbent() -> tuple[Result, tuple[int, ...]]:
        assert best is not None  # 4a runs only once a choice was planned
        return best

    # 2: the relaxation's choice, the fastest within the budgets, and the choices the serial
    # scheme scores better than both (when the time left allows: scoring 2,000 agents takes 0.4 s)
    chosen = list(candidates)
    if first.n <= ANNEAL_MAX_AGENTS and deadline - time.perf_counter() > 2 * MIN_PLAN_SECONDS:
        until = time.perf_counter() + ANNEAL_SHARE * (deadline - time.perf_counter())
        scorer = ChoiceScorer(table, first)
        starts = {c: scorer.score(np.array(c)) for c in candidates}
        beaten = min(starts.values())
        chosen += [c for score, c in anneal_choices(scorer, starts, until, ANNEALED_PLANNED) if score < beaten - _EPS]
    chosen = list(dict.fromkeys(chosen))
    for k, choice in enumerate(chosen):
        if best is not None and left() < MIN_PLAN_SECONDS:
            break
        attempt(choice, (0.1 if sat_step is not None or early else 0.5) / (len(chosen) - k))
    sat_lower = 0.0  # the clause-learning phase's bound (4)
    if early and coarse_benders() and best is not None:
        return _finished(best, best[0].makespan, COARSE_SOURCE, started)
    prover = _mode_prover(table, first, sat_step, best[0].makespan, deadline) if best and sat_step else None
    if prover is not None and best is not None and sat_step is not None:
        try:
            until = time.perf_counter() + SAT_SHARE * (deadline - time.perf_counter())
            found = _refute(prover, sat_step, best[0].makespan, relaxation.bound, build, until, started)
        finally:
            prover.close()
        best = found.plan or best
        sat_lower = found.lower
        if sat_lower >= best[0].makespan - _EPS:
            return _finished(best, best[0].makespan, SAT_SOURCE, started)
    while best is not None and left() > MIN_PLAN_SECONDS and best[0].makespan > relaxation.bound + _EPS:
        moves = list(
            itertools.islice((c for c in _moves(table, best[0], best[1], capacity) if c not in tried), MOVES_PER_ROUND)
        )
        if not moves:
            break
        before = best[0].makespan
        for choice in moves:
            if left() < MIN_PLAN_SECONDS:
                break
            attempt(choice, 0.1)
        if best[0].makespan >= before - _EPS:
            break
    if best is None:
        raise NoPlanFits(
            _no_choice_fits(table) if table.deadline is None else "no plan ends by the deadline within the time limit"
        )
    lower, source = max(relaxation.bound, sat_lower, 0.0), "mode relaxation"
    if sat_lower > relaxation.bound:
        source = SAT_SOURCE
    if energy.bound > lower + _EPS:
        lower, source = energy.bound, ENERGY_SOURCE
    if coarse and not early and coarse_benders():
        return _finished(best, best[0].makespan, COARSE_SOURCE, started)
    while best[0].makespan > lower + _EPS and left() > 2 * MIN_PLAN_SECONDS:
        # logic-based Benders: the relaxation, below the best plan and without the choices
        # whose own optimum is no shorter, names the next choice to plan, or proves none is left
        shortest = best[0].makespan
        settled = [c for c, r in tried.items() if r.lower_bound >= shortest - _EPS or _past(table, r.lower_bound)]
        below = shortest - (step if step else 1e-6 * max(1.0, shortest))
        master = mode_relaxation(
            table, first, 0.5 * (deadline - time.perf_counter()), options, below, [tuple(enumerate(c)) for c in settled]
        )
        if master.choice is None and master.proven:
            lower, source = shortest, "mode benders"
            break
        if master.bound > lower + _EPS:
            lower, source = min(master.bound, shortest), "mode benders"
        if master.choice is None:
            break
        named_before = tried.pop(master.choice, None) is not None  # planned before without a proof
        attempt(master.choice, 1.0)
        outcome = tried.get(master.choice)
        if named_before and (outcome is None or outcome.lower_bound < best[0].makespan - _EPS):
            break  # unsettled twice: the master would only name it again
    return _finished(best, lower, source, started)


def _finished(
    best: tuple[Result, tuple[int, ...]], lower: float, source: str, started: float
) -> tuple[Result, tuple[int, ...]]:
    """The best plan with the bound on every plan and the status they give."""
    result, choice = best
    lower = min(lower, result.makespan)
    status = (
        SolveStatus.OPTIMAL if result.makespan <= lower + 1e-9 * max(1.0, result.makespan) else SolveStatus.FEASIBLE
    )
    return (
        dataclasses.replace(
            result,
            lower_bound=result.makespan if status is SolveStatus.OPTIMAL else lower,
            status=status,
            bound_source=source,
            solve_seconds=time.perf_counter() - started,
        ),
        choice,
    )


@dataclass
class _Refuted:
    lower: float  # a bound on every plan
    plan: tuple[Result, tuple[int, ...]] | None  # a shorter plan than the one asked below, if found


def _sat_step(
    table: ModeTable, first: Problem, options: SolveOptions, lower: float, step: float | None
) -> float | None:
    """The grid step of the clause-learning phase (4 of the module docstring), when it
    applies: SAT wanted and installed, event-driven plans, every amount a small whole number,
    and a bound ``lower`` within :data:`SAT_MAX_STEPS` steps of the durations' ``step``."""
    from ..exact import mode_sat, sat

    if not options.use_sat or options.dispatch != "events" or not sat.available():
        return None
    lower = max(lower, max((min(m.duration for m in modes) for modes in table.modes), default=0.0))
    if not step or lower / step > SAT_MAX_STEPS:
        return None
    if lower / step * sum(len(modes) for modes in table.modes) > SAT_MAX_CELLS:
        return None  # too large for _mode_prover's encoding (checking encodable took 30 s at 20,000 agents)
    if not mode_sat.encodable(table, first, step):
        return None
    return step


def _mode_prover(
    table: ModeTable, first: Problem, step: float, shortest: float, deadline: float
) -> ModeSatProver | None:
    """The encoding for plans shorter than ``shortest``, if it has at most
    :data:`SAT_MAX_CELLS` agent-mode-steps and is built within its share of the time."""
    from ..exact.sat import BuildTimeout

    horizon = int(round(shortest / step)) - 1
    if not 0 <= horizon <= SAT_MAX_STEPS or horizon * sum(len(modes) for modes in table.modes) > SAT_MAX_CELLS:
        return None
    try:
        return ModeSatProver(
            table,
            first,
            step,
            horizon,
            deadline=time.perf_counter() + SAT_BUILD_SHARE * (deadline - time.perf_counter()),
        )
    except BuildTimeout:
        return None


def result_of_schedule(problem: Problem, start: np.ndarray, started: float) -> Result:
    """A feasible plan of ``problem`` from start times (its ``waits_for`` and critical path)."""
    from ..schedule.build import build_plan

    made = build_plan(problem, np.asarray(start, float))
    return Result(
        problem=problem,
        status=SolveStatus.FEASIBLE,
        makespan=made.makespan(problem.durations),
        lower_bound=0.0,
        start=made.start,
        waits_for=made.waits_for,
        critical_path_index=made.critical_path,
        solve_seconds=time.perf_counter() - started,
        orderings=made.orderings,
    )


def _refute(
    sat: ModeSatProver,
    step: float,
    shortest: float,
    lower: float,
    build: Callable[[tuple[int, ...]], Problem],
    deadline: float,
    started: float,
) -> _Refuted:
    """Ask for plans shorter than ``shortest`` (4): first just below it, then halfway between
    the bound and the shortest plan length still open; a "no" raises the bound, a "yes" is a
    shorter plan, a probe out of time closes the lengths from it up to further questions;
    when no length is left to ask, the lengths closed that way are asked once more (halfway),
    each question with all the time left: the solver keeps what it learnt."""
    from ..exact.probe import FEASIBLE, INFEASIBLE

    high = int(round(shortest / step))  # the best plan, in steps
    low = max(int(math.ceil(lower / step - 1e-9)), 0)  # every plan is at least this long
    ceiling = min(high - 1, sat.horizon)  # the longest makespan still worth asking about
    plan: tuple[Result, tuple[int, ...]] | None = None
    first, patient = True, False
    while time.perf_counter() < deadline - 0.05:
        if low > ceiling:  # the lengths left open were asked out of time: again, with all of it
            ceiling = min(high - 1, sat.horizon)
            if low > ceiling or patient:
                break
            patient = True
        left = deadline - 0.05 - time.perf_counter()
        if first:
            asked, seconds = ceiling, SAT_DOWN_SHARE * left
        else:
            asked = (low + ceiling) // 2
            seconds = left if asked == low or patient else SAT_SPLIT_SHARE * left
        first = False
        answer, choice = sat.probe(asked, seconds)
        if answer.status == INFEASIBLE:
            low = asked + 1
        elif answer.status == FEASIBLE and choice is not None and answer.start is not None:
            plan = (result_of_schedule(build(choice), answer.start * step, started), choice)
            high = min(asked, int(round(plan[0].makespan / step)))
            ceiling = min(ceiling, high - 1)
        else:
            ceiling = asked - 1
    return _Refuted(low * step, plan)


def _coarse_benders(
    table: ModeTable,
    first: Problem,
    step: float,
    build: Callable[[tuple[int, ...]], Problem],
    tried: dict[tuple[int, ...], Result],
    attempt: Callable[[tuple[int, ...], float], None],
    incumbent: Callable[[], tuple[Result, tuple[int, ...]]],
    until: float,
) -> bool:
    """True when the incumbent is proven optimal by logic-based Benders with a coarse
    clause-learning master (models/modes.md, part 4a).

    Flooring every duration to a grid of ``g`` steps keeps every plan a plan: starts floored
    to the grid keep each agent after what it waits for and every set of agents running at
    a grid point ran together in the plan. So a choice of modes whose optimum is shorter
    than the incumbent has a coarse plan of at most ``(incumbent - 1) // g`` coarse steps.
    The master (the clause-learning encoding of :mod:`orchmilp.exact.mode_sat` on the
    coarse durations, every mode kept that the fine grid keeps) names such a choice; the
    single-mode engine plans it, and a choice whose own bound is no shorter than the
    incumbent is blocked. When the master has no choice left, the incumbent is optimal."""
    from ..exact import mode_sat, sat
    from ..exact.probe import FEASIBLE, INFEASIBLE
    from ..exact.sat import BuildTimeout

    cells = COARSE_STEPS * sum(len(modes) for modes in table.modes)
    if until - time.perf_counter() < MIN_PLAN_SECONDS or cells > SAT_MAX_CELLS:
        return False  # reading the modes for the encoding alone took 2.9 s at 2,000 agents
    shortest = incumbent()[0].makespan
    g = math.ceil(round(shortest / step) / COARSE_STEPS)
    if g < 2 or not sat.available():
        return False
    fine = mode_sat.grid_modes(table, first, step)
    if not mode_sat.encodable(table, first, step, relax_budgets=True, modes=fine):
        return False
    coarse = [[(p // g, m) for p, m in ms] for ms in fine]

    def threshold() -> int:
        """The longest coarse plan of a choice that may beat the incumbent (or the deadline)."""
        limit = round(incumbent()[0].makespan / step) - 1
        if table.deadline is not None:
            limit = min(limit, math.floor(table.deadline / step + 1e-9))
        return limit // g

    def settled(result: Result) -> bool:
        return result.lower_bound >= incumbent()[0].makespan - _EPS or _past(table, result.lower_bound)

    def block(choice: tuple[int, ...]) -> None:
        """Leave this settled choice out of the master (the whole choice: cuts from cores,
        :func:`_core`, changed which choices the master named and lost llm-modes-20-1's proof
        in 2 of 4 solves, against 0 of 5 with whole choices)."""
        prover.block(tuple(enumerate(choice)))

    now = time.perf_counter()
    try:
        prover = ModeSatProver(
            table,
            first,
            step * g,
            threshold(),
            deadline=now + COARSE_BUILD_SHARE * (until - now),
            modes=coarse,
            relax_budgets=True,
        )
    except BuildTimeout:
        return False
    try:
        for planned, result in list(tried.items()):
            if settled(result):
                block(planned)
        retried: set[tuple[int, ...]] = set()
        # a question out of its time is asked again with all the time left, once, but not the
        # first (COARSE_FIRST_SHARE): the Benders loop of 5 has the time instead (on
        # llm-modes-20-0 it raised the bound from 579 to 582 in 2 s)
        answered = patient = False
        while time.perf_counter() < until:
            share = 1.0 if patient else COARSE_PROBE_SHARE if answered else COARSE_FIRST_SHARE
            answer, choice = prover.probe(threshold(), share * (until - time.perf_counter()), without_blocked=True)
            if answer.status == INFEASIBLE:
                return True
            if answer.status != FEASIBLE or choice is None:
                if patient or not answered:
                    return False
                patient = True
                continue
            answered = True
            if not table.within_budgets(choice):  # a budget the encoding relaxed
                block(choice)
                continue
            if choice not in tried and _cannot_beat(build(choice), incumbent()[0].makespan, until):
                block(choice)
                continue
            if choice in tried:  # planned before without a proof: once more, with more time
                if choice in retried:
                    return False
                retried.add(choice)
                del tried[choice]
            attempt(choice, 2 * COARSE_PLAN_SHARE if choice in retried else COARSE_PLAN_SHARE)
            outcome = tried.get(choice)
            if outcome is None:
                return False
            if settled(outcome):
                block(choice)
        return False
    finally:
        prover.close()


def _core(
    table: ModeTable,
    build: Callable[[tuple[int, ...]], Problem],
    choice: tuple[int, ...],
    shortest: float,
    until: float,
) -> tuple[tuple[int, int], ...]:
    """A cut for a choice whose plans are none shorter than ``shortest``: the (agent, mode)
    pairs of a subset of its agents such that, with every other agent relaxed to the least of
    its modes (the shortest duration, and of each capacity the least use), the quick bounds of
    :func:`_cannot_beat` still allow no plan shorter. Every choice that takes these pairs
    then has no shorter plan either, so the master may leave out all of them at once instead
    of this choice alone (logic-based Benders' strengthened cut). Agents are relaxed one at a
    time and kept relaxed while the bounds hold; until ``until``. The whole choice when the
    quick bounds do not show it at all (its own bound came from the search)."""
    whole = tuple(enumerate(choice))
    problem = build(choice)
    if time.perf_counter() >= until or not _cannot_beat(problem, shortest, until):
        return whole
    names = problem.resource_names
    least_duration = problem.durations.copy()
    least_use = problem.usage.copy()
    capacity = problem.capacity_by_name
    for j, modes in enumerate(table.modes):
        runnable = [m for m in modes if all(v <= capacity.get(r, math.inf) + _EPS for r, v in m.uses.items())]
        least_duration[j] = min(m.duration for m in runnable or modes)
        least_use[j] = [min(m.uses.get(r, 0.0) for m in runnable or modes) for r in names]
    durations, usage = problem.durations.copy(), problem.usage.copy()
    kept = []
    for j in np.argsort(least_duration - problem.durations, kind="stable"):  # the most to lose first
        if durations[j] == least_duration[j] and np.array_equal(usage[j], least_use[j]):
            continue  # relaxed already: its mode is the least in everything
        before = durations[j], usage[j].copy()
        durations[j], usage[j] = least_duration[j], least_use[j]
        if time.perf_counter() >= until or not _cannot_beat(
            dataclasses.replace(problem, durations=durations.copy(), usage=usage.copy()), shortest, until
        ):
            durations[j], usage[j] = before
            kept.append(int(j))
    return tuple((j, choice[j]) for j in sorted(kept))


def _cannot_beat(problem: Problem, shortest: float, until: float) -> bool:
    """True when no plan of ``problem`` is shorter than ``shortest``, by its quick bounds: the
    critical path, the energy, and propagation with the feasible-subset LP at the next
    shorter makespan (within a tenth of the time to ``until``)."""
    from ..bounds.critical_path import critical_path_bound
    from ..bounds.feasible_subsets import refutes
    from ..bounds.propagation import propagate
    from ..bounds.resource import energy_bound
    from .phases import MAX_ANTICHAIN_AGENTS

    if max(critical_path_bound(problem), energy_bound(problem)) > shortest - _EPS:
        return True
    step = exact_step(problem.durations)
    if step is None or problem.n > MAX_ANTICHAIN_AGENTS:
        return False
    p = np.round(problem.durations / step).astype(np.int64)
    windows = propagate(problem, p, math.ceil(shortest / step - 1e-9) - 1)  # its own grid's longest shorter plan
    if not windows.feasible:
        return True
    deadline = time.perf_counter() + 0.1 * max(until - time.perf_counter(), 0.0)
    return refutes(problem, p, windows, deadline) is True


def _deadline_cutoff(table: ModeTable, deadline: float) -> float:
    """Half a grid step past ``deadline``: a plan shorter than this ends by it, and a choice
    with no plan shorter has none by it."""
    return deadline + 0.5 * (table.step or 1e-6 * max(1.0, deadline))


def _past(table: ModeTable, bound: float) -> bool:
    """True when a choice whose plans are at least ``bound`` long cannot meet the deadline."""
    return table.deadline is not None and bound > table.deadline + _EPS


def _moves(
    table: ModeTable, result: Result, choice: tuple[int, ...], capacity: dict[str, float]
) -> Iterator[tuple[int, ...]]:
    """Choices one or two switches away, most promising first: a critical agent in a faster
    mode (where that breaks a budget, with an agent off the critical path in a cheaper mode
    that its slack absorbs, most slack first); then any agent in any other mode (a slower
    mode can free a rate bucket that another agent waits for). Budgets are kept on arrays
    (one check per switch over 2,000 agents took 2.3 s), and each choice is made when asked
    for (all of them at 20,000 agents: 22 s)."""
    critical = set(result.critical_path_index)
    slack = result.makespan - (result.start + result.problem.durations)
    duration, cost, limit = table.durations, table.budget_costs, table.budget_limits
    runnable = table.runnable(capacity)
    here = np.asarray(choice)
    used = cost[np.arange(len(choice)), here].sum(axis=0)
    delta = cost - cost[np.arange(len(choice)), here][:, None, :]  # (agent, mode) -> change in spend
    fits = np.all(used + delta <= limit, axis=2)  # the single switches within the budgets
    off_path: list[int] | None = None

    rest: list[tuple[int, int]] = []
    for j in sorted(range(len(choice)), key=lambda j: (j not in critical, -result.problem.durations[j])):
        for m in range(len(table.modes[j])):
            if m == choice[j] or not runnable[j, m]:
                continue
            faster = j in critical and duration[j, m] < duration[j, choice[j]] - _EPS
            if not faster:
                if fits[j, m]:
                    rest.append((j, m))
                continue
            switched = choice[:j] + (m,) + choice[j + 1 :]
            if fits[j, m]:
                yield switched
                continue
            if off_path is None:
                off_path = sorted((i for i in range(len(choice)) if i not in critical), key=lambda i: -slack[i])
            for i in off_path:
                cheaper = [
                    k
                    for k in range(len(table.modes[i]))
                    if k != choice[i]
                    and runnable[i, k]
                    and duration[i, k] - duration[i, choice[i]] <= slack[i] + _EPS
                    and np.all(used + delta[j, m] + delta[i, k] <= limit)
                ]
                if cheaper:
                    yield switched[:i] + (cheaper[0],) + switched[i + 1 :]
                    break
    for j, m in rest:
        yield choice[:j] + (m,) + choice[j + 1 :]


def solve_min_spend(
    table: ModeTable,
    first: Problem,
    build: Callable[[tuple[int, ...]], Problem],
    plan: Planner,
    options: SolveOptions,
    started: float,
    key: str,
) -> tuple[Result, tuple[int, ...], float]:
    """The plan of least ``key`` spend that ends by the deadline (logic-based Benders: the
    relaxation minimising the spend names a choice; the single-mode engine plans it; a choice
    proven unable to meet the deadline gets a cut, :func:`_core`), and a lower bound on that
    spend. When the loop has found no plan by the deadline, :func:`solve_modes` looks for the
    shortest plan within the budgets with the time left (:data:`SPEND_FALLBACK_SHARE` of the
    limit at least): the answer if it meets the deadline."""
    if table.deadline is None:
        raise NoPlanFits(f"the objective {key} needs a deadline (the workflow's 'deadline' or --deadline)")
    deadline = started + options.time_limit
    settled: list[tuple[tuple[int, int], ...]] = []
    tried: dict[tuple[int, ...], Result] = {}
    best: tuple[Result, tuple[int, ...]] | None = None
    lower = 0.0
    past = _deadline_cutoff(table, table.deadline)
    until = deadline - SPEND_FALLBACK_SHARE * options.time_limit
    while until - time.perf_counter() > MIN_PLAN_SECONDS:
        master = mode_relaxation(
            table, first, 0.3 * (until - time.perf_counter()), options, excluded=settled, spend=key
        )
        if master.choice is None:
            if master.proven:
                raise NoPlanFits(_no_choice_fits(table))
            break
        lower = max(lower, master.bound)
        choice = master.choice
        if choice not in tried:
            result = plan(build(choice), max(MIN_PLAN_SECONDS, 0.5 * (until - time.perf_counter())), past)
        else:  # planned before without a proof: all the time left
            result = plan(build(choice), max(MIN_PLAN_SECONDS, until - time.perf_counter()), past)
        tried[choice] = result
        if result.makespan <= table.deadline + _EPS:
            best = (result, choice)  # the least spend the relaxation allows, and it meets the deadline
            break
        if result.lower_bound > table.deadline + _EPS:  # proven: this choice cannot end by the deadline
            cut_until = time.perf_counter() + CORE_SHARE * (until - time.perf_counter())
            settled.append(_core(table, build, choice, past, cut_until))
    if best is None:  # the shortest plan within the budgets, if it meets the deadline, made cheaper
        rest = dataclasses.replace(
            options, time_limit=max((1 - CHEAPEN_SHARE) * (deadline - time.perf_counter()), MIN_PLAN_SECONDS)
        )
        try:
            best = solve_modes(table, first, build, plan, rest, time.perf_counter())
        except NoPlanFits:
            pass
        if best is not None and best[0].makespan <= table.deadline + _EPS and first.n <= ANNEAL_MAX_AGENTS:
            scorer = ChoiceScorer(table, first)
            cheaper = cheapen_choice(scorer, best[1], table.consumed(key), table.deadline, deadline - MIN_PLAN_SECONDS)
            if cheaper is not None:
                choice, start = cheaper
                best = (result_of_schedule(build(choice), start, started), choice)
    if best is None or best[0].makespan > table.deadline + _EPS:
        raise NoPlanFits(f"no plan that ends by the deadline {table.deadline:g} was found within the time limit")
    result, choice = best
    makespan_bound = mode_relaxation(table, first, 0.5, options).bound
    status = SolveStatus.OPTIMAL if result.makespan <= makespan_bound + 1e-9 else SolveStatus.FEASIBLE
    return (
        dataclasses.replace(
            result,
            lower_bound=result.makespan if status is SolveStatus.OPTIMAL else min(makespan_bound, result.makespan),
            status=status,
            bound_source="mode relaxation",
            solve_seconds=time.perf_counter() - started,
        ),
        choice,
        min(lower, table.consumption(choice).get(key, 0.0)),
    )
