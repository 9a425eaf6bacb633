"""The phases of a solve. Each is an object with ``run(state, seconds)``: it improves the
incumbent or the bound of :class:`~.state.SearchState` within ``seconds``, stops as soon as
they meet, and calls no other phase (the order and the seconds are :mod:`.budget`'s, the
running is :func:`orchmilp.search.run_search`'s). What a phase keeps between its rounds (the
SAT prover and what it learnt, the branch and bound's memory, how far the feasible-subset LP
got) is its own; :meth:`Phase.close` frees it.

The MILP is split in three so that the caller can work beside HiGHS:
:func:`start_milp` builds the model and starts the back-end, the caller
polls the run, :meth:`Milp.finish` takes the outcome.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..bounds.critical_path import critical_path_bound
from ..bounds.feasible_subsets import feasible_subset_bound
from ..bounds.propagation import Propagator, destructive_bound
from ..bounds.resource import clique_bound, disjunctive_bound, energy_bound
from ..clock import deadline_in
from ..compile.grid import Grid, choose_grid
from ..compile.time_indexed import TimeIndexed
from ..errors import HorizonInfeasible, SolverError
from ..exact.branch_and_bound import BranchAndBound
from ..exact.probe import FEASIBLE, INFEASIBLE
from ..exact.set_times import probe
from ..heuristics import ga
from ..heuristics.portfolio import rule_portfolio
from ..model.problem import Problem
from ..options import SolveOptions
from ..solve_statistics import Statistics
from ..solvers import backend as solver_backend
from ..solvers.base import Backend, MipRun, SolverStatus, integral_bound
from .budget import BESIDE_PATTERN, BESIDE_SLICE_SECONDS, MAX_PROPAGATION_STEPS, default_schedules
from .state import SearchState

if TYPE_CHECKING:
    from ..exact.sat import SatProver

__all__ = [
    "Phase",
    "SimpleBounds",
    "PriorityRules",
    "GeneticAlgorithm",
    "Propagation",
    "FeasibleSubsetLp",
    "SatRefutation",
    "BranchAndBoundSearch",
    "TreeSearch",
    "Milp",
    "MilpBound",
    "MilpJob",
    "start_milp",
    "improve_or_prove",
    "feasible_schedule",
]


class Phase:
    """One method of the search, with what it keeps between its rounds."""

    def run(self, state: SearchState, seconds: float) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Free what the phase holds (a solver's memory)."""


class SimpleBounds(Phase):
    def run(self, state: SearchState, seconds: float) -> None:
        """Critical path, energy with heads and tails, one-machine (Jackson) bounds, cliques."""
        simple_bounds(state, seconds)


def simple_bounds(state: SearchState, seconds: float) -> None:
    """Critical path, energy with heads and tails, one-machine (Jackson) bounds, cliques."""
    p = state.problem
    deadline = deadline_in(seconds)
    state.offer_bound(critical_path_bound(p), "critical path")
    state.offer_bound(energy_bound(p), "resource energy")
    state.offer_bound(disjunctive_bound(p), "one-machine")
    p.find_cliques(deadline)  # the cliques are grown until the deadline, then kept for the solve
    state.offer_bound(clique_bound(p), "incompatible cliques")
    state.report("bounds")


@dataclass
class GeneticAlgorithm(Phase):
    """The genetic algorithm from the incumbent, for ``schedules`` schedules (default:
    :func:`.budget.default_schedules`; later rounds: none but the clock) or ``seconds``,
    whichever ends first. ``seconds_per_schedule``: what one schedule costs (measured by the
    rule portfolio), so that a round too short for one generation is skipped."""

    seed: int = 0
    schedules: int | None = None
    seconds_per_schedule: float = 0.0
    rounds: int = 0  # rounds of the plan run so far (the first has a schedule budget)

    def run(self, state: SearchState, seconds: float) -> None:
        first = self.rounds == 0
        self.rounds += 1
        schedules = self.schedules if first else 10**9
        self.search(state, seconds, schedules=schedules, seed=self.seed + (0 if first else 1))

    def search(
        self, state: SearchState, seconds: float, *, schedules: int | None, seed: int, population: int | None = None
    ) -> None:
        """One run of the genetic algorithm (``schedules`` None: :func:`.budget.default_schedules`)."""
        problem = state.problem
        schedules = default_schedules(problem.n) if schedules is None else schedules
        if state.settled or schedules <= 0 or seconds < 3 * self.seconds_per_schedule:
            return  # not even one individual (three schedules) fits: it would overrun
        population = int(np.clip(schedules // 60, 40, 150)) if population is None else population
        found = ga.genetic_algorithm(
            problem,
            problem.durations,
            schedules=schedules,
            time_limit=max(0.05, seconds),
            seed=seed,
            stop_at=state.lower_bound,
            initial=[state.best_start],
            population=population,
        )
        state.offer_schedule(found.start)
        stats = state.statistics
        stats.ga_schedules += found.schedules
        stats.ga_makespan = found.makespan if stats.ga_makespan is None else min(stats.ga_makespan, found.makespan)
        state.report("genetic algorithm")


@dataclass
class PriorityRules(Phase):
    """The rule portfolio with forward-backward improvement: the first plan. It tells the
    genetic algorithm what one schedule costs."""

    genetic_algorithm: GeneticAlgorithm
    seed: int = 0

    def run(self, state: SearchState, seconds: float) -> None:
        quick = rule_portfolio(state.problem, samples=8, stop_at=state.lower_bound, seed=self.seed, time_limit=seconds)
        state.offer_schedule(quick.start)
        state.statistics.rules_makespan = quick.makespan
        self.genetic_algorithm.seconds_per_schedule = quick.seconds / max(quick.schedules, 1)
        state.report("priority rules")


class Propagation(Phase):
    def run(self, state: SearchState, seconds: float) -> None:
        """Destructive lower bound on the exact grid: refute makespans below the incumbent."""
        if state.step is None or state.settled or seconds <= 0:
            return
        step = state.step
        ub = int(round(state.upper / step))
        if ub > MAX_PROPAGATION_STEPS:
            return
        t = time.perf_counter()
        lower = int(round(state.lower_bound / step))
        bound, windows = destructive_bound(state.problem, state.steps, lower, ub - 1, deadline=t + seconds)
        state.statistics.propagation_seconds += round(time.perf_counter() - t, 3)
        state.offer_bound(min(bound, ub) * step, "propagation")
        if windows is not None:
            state.slack = (windows.lf - windows.es - state.steps) * step
        state.report("propagation")


#: Largest workflow for the feasible-subset LP (its pricing problems grow with the agents
#: that may run at once; measured: 0.3-1 s a test on PSPLIB j60 and j90, 5-10 s on j120)
MAX_ANTICHAIN_AGENTS = 150
#: above this many agents the time-indexed MILP is not built: at 10,000 crowded agents building
#: it took 76 s and 9.7 GB past a 30 s limit (model building does not look at the clock); the
#: bounds, heuristics and propagation still run
MAX_MILP_AGENTS = 5000
#: the MILP is not built when its windows hold more than this many times ``max_binaries``
#: (the grid is chosen on an estimate of the windows; at 2,000 agents the windows of the
#: destructive bound's horizon gave 12,000 and the incumbent's held 1.6 million)
MAX_COLUMNS_FACTOR = 4


@dataclass
class FeasibleSubsetLp(Phase):
    """Destructive bound by the feasible-subset LP (:mod:`orchmilp.bounds.feasible_subsets`) between
    the bound and the incumbent: stronger than propagation where capacities bind tightly.
    A round the clock cut short is resumed by the next, below ``settled`` (the smallest
    makespan it found feasible)."""

    settled: int | None = None

    def run(self, state: SearchState, seconds: float) -> None:
        if not state.exact_searchable or state.problem.n > MAX_ANTICHAIN_AGENTS or seconds <= 0:
            return
        step = state.exact
        lower = int(round(state.lower_bound / step))
        upper = int(round(state.upper / step)) - 1
        if self.settled is not None:
            upper = min(upper, self.settled - 1)
        if lower > upper:
            return
        t = time.perf_counter()
        bound, self.settled = feasible_subset_bound(
            state.problem, state.steps, state.propagator, lower, upper, deadline=t + seconds
        )
        state.statistics.feasible_subset_seconds = round(
            state.statistics.feasible_subset_seconds + time.perf_counter() - t, 3
        )
        state.offer_bound(bound * step, "feasible-subset lp")
        state.report("feasible-subset lp")


#: Largest encoding the SAT refutation builds: summed window widths (start-time variables)
MAX_SAT_WINDOWS = 250_000
#: Above this many clauses per agent the first SAT round is cut to 30% of its time (measured:
#: PSPLIB j60 1,300-3,000, where SAT proves in seconds; the map-reduce example with token
#: rates 7,800, where the MILP proves and SAT does not within 20 s)
HEAVY_SAT_CLAUSES_PER_AGENT = 5_000


@dataclass
class SatRefutation(Phase):
    """Clause learning below the incumbent (:mod:`orchmilp.exact.sat`): each answer is a
    better schedule or a proof that none exists. The prover (and what it learnt) is kept for
    the next round; ``gave_up``: not available, not wanted (``enabled`` False), or the
    encoding would be too large."""

    enabled: bool = True
    prover: SatProver | None = None
    gave_up: bool = False

    def applies(self, state: SearchState) -> bool:
        return not self.gave_up and state.exact_searchable

    def run(self, state: SearchState, seconds: float) -> None:
        if not self.applies(state) or seconds <= 0:
            return
        t0 = time.perf_counter()
        deadline = t0 + seconds
        step = state.exact
        if self.prover is None:
            self.prover = self._build(state, seconds)
            if self.prover is None:
                return
            if self.prover.clauses > HEAVY_SAT_CLAUSES_PER_AGENT * max(state.problem.n, 1):
                # large capacities and demands (token rates) make the capacity clauses many and weak;
                # the MILP is the better prover there: a short first try, the rest after it
                deadline = min(deadline, t0 + 0.3 * seconds)
        while not state.settled and time.perf_counter() < deadline:
            horizon = int(round(state.upper / step)) - 1
            result = self.prover.probe(horizon, deadline - time.perf_counter())
            if result.status == FEASIBLE and feasible_schedule(state.problem, found(result) * step):
                state.offer_schedule(found(result) * step)
            elif result.status == INFEASIBLE:
                state.offer_bound((horizon + 1) * step, "sat (clause learning)")
            else:
                break
        state.statistics.sat_seconds = round(state.statistics.sat_seconds + time.perf_counter() - t0, 3)
        state.report("sat")

    def _build(self, state: SearchState, seconds: float) -> SatProver | None:
        """The prover for the windows below the incumbent (None, and ``gave_up``, when it does
        not apply; None when propagation refutes the incumbent's horizon at once)."""
        from ..exact import sat

        t0 = time.perf_counter()
        if not self.enabled or not sat.available() or not sat.small_weights(state.problem):
            self.gave_up = True
            return None
        step, p = state.exact, state.steps
        top = int(round(state.upper / step)) - 1
        windows = state.propagator(top)
        if not windows.feasible:
            state.offer_bound((top + 1) * step, "propagation")
            return None
        if int(np.sum(windows.lf - p - windows.es)) > MAX_SAT_WINDOWS:
            self.gave_up = True
            return None
        prop = state.propagator
        pairs = np.stack([prop.pair_a, prop.pair_b], axis=1)
        try:
            return sat.SatProver(
                state.problem, p, windows.es, windows.lf, top, pairs=pairs, deadline=t0 + 0.5 * seconds
            )
        except sat.BuildTimeout:
            self.gave_up = True
            return None

    def close(self) -> None:
        if self.prover is not None:
            self.prover.close()
            self.prover = None


def found(result) -> np.ndarray:
    """The start times (grid steps) of a probe that answered ``FEASIBLE``."""
    if result.start is None:
        raise SolverError("internal error: a feasible probe without a schedule")
    return np.asarray(result.start)


def feasible_schedule(problem, start: np.ndarray) -> bool:
    """Dependencies and every cumulative limit (resources, file locks) hold for ``start``."""
    d = problem.durations
    if start.shape != (problem.n,) or not np.all(np.isfinite(start)) or np.any(start < -1e-9):
        return False
    e = problem.edges
    if len(e) and np.any(start[e[:, 1]] < start[e[:, 0]] + d[e[:, 0]] - 1e-9):
        return False
    cum = problem.cumulative
    for t in np.unique(start):
        running = (start <= t + 1e-9) & (start + d > t + 1e-9)
        if np.any(cum.usage[running].sum(axis=0) > cum.capacity + 1e-9):
            return False
    return True


class _NodeBudget:
    """Node limits for probes that should end within ``seconds``, at the rate seen so far
    (the probes also stop on the clock; the limit keeps each one short)."""

    def __init__(self, seconds: float):
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + seconds
        self.seconds = seconds
        self.nodes = 0
        self.probing = 0.0

    def affordable(self, wanted: int) -> int:
        rate = max(self.nodes, 1) / max(self.probing, 1e-6)
        return int(min(wanted, (self.seconds - (time.perf_counter() - self.t0)) * rate))

    def count(self, nodes: int, since: float) -> None:
        self.nodes += nodes
        self.probing += time.perf_counter() - since


@dataclass
class BranchAndBoundSearch(Phase):
    """Branch and bound over delaying alternatives below the incumbent (see
    :mod:`orchmilp.exact.branch_and_bound`): each probe finds a better schedule, proves that
    none exists, or runs out of nodes; its memory of failed nodes (``search``) is kept so that
    a later round resumes where this one stopped. ``gave_up``: too many agents at once."""

    search: BranchAndBound | None = None
    gave_up: bool = False

    def applies(self, state: SearchState) -> bool:
        return not self.gave_up and state.exact_searchable

    def resumes(self, state: SearchState) -> bool:
        """It has run and a later round would continue it."""
        return self.search is not None and self.applies(state)

    def run(self, state: SearchState, seconds: float) -> None:
        if not self.applies(state) or seconds <= 0:
            return
        if self.search is None:
            self.search = BranchAndBound(state.problem, state.steps)
        self.gave_up = _branch_and_bound(state, self.search, seconds)


def _branch_and_bound(state: SearchState, search: BranchAndBound, seconds: float) -> bool:
    """Probes below the incumbent for ``seconds``; True when the method does not apply."""
    prop, step = state.propagator, state.exact
    gave_up = False
    budget = _NodeBudget(seconds)
    limit, windows = 1000, None
    while not state.settled:
        horizon = int(round(state.upper / step)) - 1
        if windows is None or windows.horizon != horizon:
            windows = prop(horizon)
        if not windows.feasible:
            state.offer_bound((horizon + 1) * step, "propagation")
            break
        wanted = budget.affordable(limit)
        if wanted < min(limit, 1000):
            break
        t = time.perf_counter()
        out = search.probe(horizon, windows.lf, node_limit=wanted, deadline=budget.deadline)
        budget.count(out.nodes, t)
        if out.status == FEASIBLE:
            state.offer_schedule(found(out) * step)
        elif out.status == INFEASIBLE:
            state.offer_bound((horizon + 1) * step, "branch and bound")
        elif out.nodes < wanted:  # too many agents at once for this search
            gave_up = True
            break
        else:
            limit *= 4
    stats = state.statistics
    stats.branch_and_bound_nodes += budget.nodes
    stats.branch_and_bound_seconds = round(stats.branch_and_bound_seconds + time.perf_counter() - budget.t0, 3)
    state.report("branch and bound")
    return gave_up


class TreeSearch(Phase):
    def run(self, state: SearchState, seconds: float) -> None:
        """Set-times search below the incumbent (see :func:`tree_search`)."""
        tree_search(state, seconds)


def tree_search(state: SearchState, seconds: float) -> None:
    """Set-times search below the incumbent: each probe either finds a better
    schedule, proves there is none, or runs out of nodes (the limit grows
    while the time allows). Unfinished, it bisects for a better bound."""
    if not state.exact_searchable or seconds <= 0:
        return
    budget = _NodeBudget(seconds)
    prop, step = state.propagator, state.exact

    def run(horizon: int, node_limit: int):
        t = time.perf_counter()
        result = probe(prop, horizon, node_limit=node_limit, deadline=budget.deadline)
        budget.count(result.nodes, t)
        if result.status == FEASIBLE:
            state.offer_schedule(found(result) * step)
        elif result.status == INFEASIBLE:
            state.offer_bound((horizon + 1) * step, "tree search")
        return result

    limit = 1000
    run(int(round(state.upper / step)) - 1, 100)  # a short first probe measures the rate
    while not state.settled and budget.affordable(limit) >= limit:
        if run(int(round(state.upper / step)) - 1, limit).status not in (FEASIBLE, INFEASIBLE):
            limit *= 4
    # raise the bound: bisect between it and the incumbent with short probes
    lo = int(round(state.lower_bound / step))
    hi = int(round(state.upper / step)) - 1
    while lo < hi and budget.affordable(max(1000, limit // 4)) >= 100:
        mid = (lo + hi) // 2
        result = run(mid, budget.affordable(max(1000, limit // 4)))
        if result.status == INFEASIBLE:
            lo = mid + 1
        elif result.status == FEASIBLE:
            hi = int(round(state.upper / step)) - 1
        else:  # not refuted in time: look for a refutation lower down
            hi = mid - 1
    state.statistics.tree_search_nodes += budget.nodes
    state.statistics.tree_search_seconds = round(
        state.statistics.tree_search_seconds + time.perf_counter() - budget.t0, 3
    )
    state.report("tree search")


# -- the MILP ------------------------------------------------------------------------------------


def grid_for_milp(state: SearchState, options: SolveOptions) -> Grid:
    """Choose the MILP's time grid for the incumbent's horizon (kept in ``state.grid``)."""
    grid = choose_grid(state.problem, state.best_makespan, options.resolution, options.max_binaries, state.slack)
    state.grid = grid
    state.statistics.grid_step = grid.step
    return grid


@dataclass
class MilpJob:
    """A MILP below the incumbent ``ub`` (grid steps): either settled before any solver ran
    (``run`` None: no better grid schedule exists, ``how`` says why), not built because its
    windows hold more binaries than allowed (``widths``: each agent's window, in steps), or
    running."""

    ub: int
    lower: int
    model: TimeIndexed | None = None
    run: MipRun | None = None
    how: str = ""
    widths: np.ndarray | None = None

    @property
    def too_large(self) -> bool:
        return self.widths is not None

    def outcome(self, statistics: Statistics | None = None) -> tuple[np.ndarray | None, int]:
        """Wait for the run; the best grid schedule found (or None) and a proven lower bound
        on the grid optimum (``ub`` itself when no better schedule exists). An error or
        Ctrl-C while waiting stops the solver before it propagates."""
        if self.run is None:
            return None, (self.lower if self.too_large else self.ub)
        try:
            out = self.run.result()
        except BaseException:
            self.run.stop()
            raise
        if statistics is not None:
            statistics.milp_seconds = round(statistics.milp_seconds + out.seconds, 3)
            statistics.milp_status = str(out.status)
            statistics.milp_nodes += out.nodes
        proven = max(self.lower, integral_bound(out.bound)) if math.isfinite(out.bound) else self.lower
        if out.x is not None and self.model is not None:
            start, makespan = self.model.decode(out.x)
            return start, min(proven, makespan)
        if out.status is SolverStatus.INFEASIBLE:
            return None, self.ub
        return None, min(proven, self.ub)


def start_milp(
    problem: Problem,
    p: np.ndarray,
    ub: int,
    lower: int,
    seconds: float,
    solver: Backend,
    *,
    threads: int = 1,
    seed: int = 0,
    options: dict | None = None,
    statistics: Statistics | None = None,
    max_columns: int | None = None,
) -> MilpJob:
    """Start looking for grid schedules (durations ``p``) of makespan below ``ub``; with
    ``max_columns``, only when the windows hold at most that many binaries (building the
    model does not look at the clock: 1.6 million binaries took 3.2 s).

    Windows come from propagation at horizon ``ub - 1``; if propagation
    refutes it, or the windows leave no room (:class:`HorizonInfeasible`, the
    only signal that may settle the question), no solver runs. Cutting the
    horizon at ``ub - 1`` both shrinks the model and replaces a warm start
    (HiGHS 1.16 misreports some warm starts after presolve, see
    models/time-indexed.md).
    """
    if lower >= ub:
        return MilpJob(ub, lower, how="bound meets the incumbent")
    t = time.perf_counter()
    windows = Propagator(problem, p)(ub - 1)
    if statistics is not None:
        statistics.propagation_seconds = round(statistics.propagation_seconds + time.perf_counter() - t, 3)
    if not windows.feasible:
        return MilpJob(ub, lower, how="refuted by propagation")
    try:
        model = TimeIndexed(problem, p, ub - 1, lower, windows=windows)
    except HorizonInfeasible as why:
        return MilpJob(ub, lower, how=f"no room below the incumbent: {why}")
    if max_columns is not None and model.num_cols > max_columns:
        how = f"not built: {model.num_cols} binaries, over {max_columns}"
        return MilpJob(ub, lower, how=how, widths=(model.ls - model.es)[: problem.n])
    built = model.build()
    if statistics is not None:
        statistics.milp_binaries, statistics.milp_rows = built.num_cols, built.num_rows
        statistics.milp_nonzeros = built.num_nonzeros
    run = solver.start(
        built, time_limit=max(seconds - (time.perf_counter() - t), 0.05), threads=threads, seed=seed, options=options
    )
    return MilpJob(ub, lower, model=model, run=run)


def improve_or_prove(
    problem: Problem, p: np.ndarray, ub: int, lower: int, seconds: float, solver: Backend | str = "highs"
) -> tuple[np.ndarray | None, int]:
    """:func:`start_milp` and wait (for benchmarks of the MILP alone): (best grid schedule or None,
    proven bound on the grid optimum)."""
    solver = solver_backend(solver) if isinstance(solver, str) else solver
    return start_milp(problem, p, ub, lower, seconds, solver).outcome()


def grid_schedule(state: SearchState, grid: Grid, seconds: float) -> np.ndarray:
    """A schedule of the incumbent's quality that is feasible on the grid (durations rounded up)."""
    problem = state.problem
    if grid.exact:
        return np.round(state.best_start / grid.step).astype(np.int64)
    up = grid.up.astype(float)
    quick = rule_portfolio(problem, up, samples=8, time_limit=seconds / 2)
    found = ga.genetic_algorithm(
        problem,
        up,
        schedules=2000,
        time_limit=max(0.05, seconds / 2),
        initial=[quick.start, state.best_start / grid.step],
    )
    return np.round(found.start).astype(np.int64)


@dataclass
class Milp(Phase):
    """The time-indexed MILP below the incumbent on a grid chosen for it. With two threads
    or more (``beside``), slices of other searches run beside HiGHS on the other core, in the
    pattern of :data:`.budget.BESIDE_PATTERN`. ``grid_bound``: its proven bound on its grid
    (steps), which tells :class:`MilpBound` whether a rounded-down run could help."""

    options: SolveOptions
    solver: Backend
    sat: SatRefutation
    branch_and_bound: BranchAndBoundSearch
    genetic_algorithm: GeneticAlgorithm
    grid_bound: int | None = None
    slices: int = 0

    @property
    def beside(self) -> bool:
        return self.options.threads >= 2

    def run(self, state: SearchState, seconds: float) -> None:
        """Choose the grid, start the MILP, work beside it while it runs, take its outcome."""
        if state.settled or state.remaining() <= 0 or state.problem.n > MAX_MILP_AGENTS:
            return
        share = seconds / state.remaining()  # of the time left, which the grid schedule uses some of
        grid, job = self._start(state, share)
        if job.too_large and job.widths is not None:
            # the grid was chosen on windows propagated for another horizon: choose it again
            # on the windows of this one
            state.slack = job.widths * grid.step
            grid, job = self._start(state, share)
        seconds = max(0.0, share * state.remaining())
        if job.run is not None:
            try:
                self._while_it_runs(state, job.run, grid, time.perf_counter() + seconds)
            except BaseException:  # an error or Ctrl-C in the work beside it: leave no solver running
                job.run.stop()
                raise
        self.finish(state, grid, job)

    def _start(self, state: SearchState, share: float) -> tuple[Grid, MilpJob]:
        """Choose the grid and start the MILP below a schedule on it, with ``share`` of the time left."""
        options = self.options
        grid = grid_for_milp(state, options)
        start = grid_schedule(state, grid, 0.1 * state.remaining())
        ub = int(np.max(start + grid.up)) if state.problem.n else 0
        job = start_milp(
            state.problem,
            grid.up,
            ub,
            grid.to_steps(state.lower_bound),
            max(0.0, share * state.remaining()),
            self.solver,
            threads=options.threads - 1 if self.beside else options.threads,
            seed=options.seed,
            options=options.highs_options,
            statistics=state.statistics,
            max_columns=MAX_COLUMNS_FACTOR * options.max_binaries,
        )
        return grid, job

    def _while_it_runs(self, state: SearchState, run: MipRun, grid: Grid, until: float) -> None:
        """Poll the MILP; report its progress; on two threads, run slices of other searches."""
        pattern = itertools.cycle(BESIDE_PATTERN)
        beside = self.beside
        seen: tuple[float | None, float | None] = (None, None)
        while not run.poll(0.0 if beside else 0.25):
            objective, bound = run.best()
            if (objective, bound) != seen:
                seen = (objective, bound)
                state.report(
                    "milp",
                    makespan=min(state.best_makespan, objective * grid.step) if objective is not None else None,
                    bound=max(state.lower_bound, bound * grid.step) if grid.exact and bound is not None else None,
                )
            if state.settled:
                run.stop()
                return
            left = min(BESIDE_SLICE_SECONDS, until - time.perf_counter())
            if not beside or left <= 0.05:
                beside = False
                continue
            t = time.perf_counter()
            name = next(pattern)
            if name == "sat" and self.sat.applies(state):
                self.sat.run(state, left)
            elif name == "branch and bound" and self.branch_and_bound.resumes(state):
                self.branch_and_bound.run(state, left)
            else:
                self.slices += 1
                seed = self.options.seed + 100 + self.slices
                self.genetic_algorithm.search(state, left, schedules=10**9, seed=seed, population=60)
            spent = state.statistics.beside_milp_seconds + time.perf_counter() - t
            state.statistics.beside_milp_seconds = round(spent, 3)

    def finish(self, state: SearchState, grid: Grid, job: MilpJob) -> None:
        """Take the MILP's schedule and bound into the state."""
        found, bound = job.outcome(state.statistics)
        if job.how:
            state.statistics.milp_status = job.how
        self.grid_bound = bound
        if found is not None:
            state.offer_schedule(found * grid.step, grid.up * grid.step)
        if grid.exact:
            state.offer_bound(bound * grid.step, "milp")
        state.report("milp")


@dataclass
class MilpBound(Phase):
    """On a rounded grid: the MILP with durations rounded down, whose optimum times the step
    bounds the real optimum from below."""

    milp: Milp

    def run(self, state: SearchState, seconds: float) -> None:
        grid = state.grid
        if grid is None or grid.exact or state.settled or seconds <= 0:
            return
        if self.milp.grid_bound is not None and self.milp.grid_bound * grid.step <= state.lower_bound:
            # durations rounded down only weaken the relaxation: that run would not raise the bound either
            state.statistics.milp_status += "; rounded-down bound skipped: the rounded-up model did not pass the bound"
            return
        options = self.milp.options
        horizon = int(math.floor(state.best_makespan / grid.step + 1e-9))
        _, down = start_milp(
            state.problem,
            grid.down,
            horizon + 1,
            0,
            seconds,
            self.milp.solver,
            threads=options.threads,
            seed=options.seed,
            options=options.highs_options,
            max_columns=MAX_COLUMNS_FACTOR * options.max_binaries,
        ).outcome()
        state.offer_bound(down * grid.step, "milp (rounded-down grid)")
        state.report("milp bound")
