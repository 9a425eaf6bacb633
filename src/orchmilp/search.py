"""The search for a plan and its proof: state and phases.

:class:`Search` keeps the incumbent schedules, the best proven lower bound
(with where it came from), the clock and the trajectory. The phases are
plain functions that improve one or the other:

1. :func:`simple_bounds`     critical path, energy, one-machine bounds;
2. :func:`heuristics`        priority rules, then the genetic algorithm;
3. :func:`propagation`       destructive bound on the exact time grid;
4. :func:`branch_and_bound`  delaying alternatives with cutset memory below the incumbent;
5. :func:`tree_search`       set-times search with propagation: schedules and a bisected bound;
6. :func:`milp`              the time-indexed MILP (see models/time-indexed.md);
7. :func:`intensify`         time left: more genetic search, branch and bound, tree search.

Each phase stops as soon as bound and incumbent meet.
"""

from __future__ import annotations

import math
import time
from functools import cached_property
from typing import Any, Callable

import numpy as np

from .bounds.critical_path import critical_path_bound
from .bounds.delaying import DelayingSearch
from .bounds.propagation import Propagator, Windows, destructive_bound
from .bounds.resource import clique_bound, disjunctive_bound, energy_bound
from .bounds.settimes import FEASIBLE, INFEASIBLE, probe
from .compile.grid import Grid, choose_grid, exact_step
from .compile.time_indexed import TimeIndexed
from .errors import SolverError
from .heuristics.ga import genetic_algorithm
from .heuristics.search import heuristic_schedule
from .model.problem import Problem
from .plan.build import Plan, build_plan
from .result import Result, Status
from .solvers import backend as solve_backend
from .solvers.highs import integral_bound, solve_mip

__all__ = ["Search", "simple_bounds", "heuristics", "propagation", "branch_and_bound", "tree_search", "milp",
           "intensify"]

Progress = Callable[[str, float, float, float], None]

#: Largest exact grid (in steps) on which propagation runs.
MAX_PROPAGATION_STEPS = 200_000

#: Largest workflow for the set-times tree search (its memory grows like n^2).
MAX_TREE_AGENTS = 300

#: The first branch and bound stops after this many seconds: where it cannot prove
#: quickly (many interchangeable agents) the MILP often can; it resumes after the MILP.
FIRST_BRANCH_AND_BOUND_SECONDS = 5.0


class Search:
    """Incumbent, proven bound and clock of one solve."""

    def __init__(self, problem: Problem, time_limit: float, on_progress: Progress | None = None):
        self.problem = problem
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + time_limit
        self.reserve = min(0.5, 0.05 * time_limit)  # kept for decoding and checking the plan
        self.on_progress = on_progress
        self.step = exact_step(problem.durations)
        self.lower_bound = 0.0
        self.bound_source = "trivial"
        self.best_makespan = math.inf
        self.candidates: list[tuple[float, np.ndarray, np.ndarray]] = []
        self.trajectory: list[tuple[float, float, float]] = []
        self.stats: dict[str, Any] = {"agents": problem.n}
        self.grid: Grid | None = None
        self.slack: np.ndarray | None = None  # window widths after propagation (time units)
        self.delaying: DelayingSearch | bool | None = None  # the branch and bound with its memory; False: it gave up

    @cached_property
    def steps(self) -> np.ndarray:
        """Durations in steps of the exact grid (only when there is one)."""
        return np.round(self.problem.durations / self.step).astype(np.int64)

    @cached_property
    def propagator(self) -> Propagator:
        """Propagation on the exact grid, shared by the searches below the incumbent."""
        return Propagator(self.problem, self.steps)

    # -- clock -----------------------------------------------------------
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def remaining(self) -> float:
        return self.deadline - self.reserve - time.perf_counter()

    # -- bookkeeping -------------------------------------------------------
    def round_up(self, value: float) -> float:
        """Optima are sums of durations: round a bound up to the exact step."""
        if self.step is None:
            return value
        return math.ceil(value / self.step - 1e-9) * self.step

    def offer_bound(self, value: float, source: str) -> None:
        value = self.round_up(value)
        if value > self.lower_bound + 1e-9 * max(1.0, self.lower_bound):
            self.lower_bound, self.bound_source = value, source
            self.stats.setdefault("bounds", {})[source] = value

    def offer_schedule(self, start: np.ndarray, feasible_for: np.ndarray | None = None) -> None:
        """A schedule feasible for durations ``feasible_for`` (default: the planned ones)."""
        d = self.problem.durations if feasible_for is None else feasible_for
        makespan = float(np.max(start + d)) if self.problem.n else 0.0
        if makespan < self.best_makespan - 1e-9:
            self.best_makespan = makespan
            self.candidates.append((makespan, np.asarray(start, float), np.asarray(d, float)))

    @property
    def proven(self) -> bool:
        return self.best_makespan <= self.lower_bound + 1e-9 * max(1.0, self.lower_bound)

    def report(self, phase: str) -> None:
        point = (self.elapsed(), self.best_makespan, self.lower_bound)
        self.trajectory.append(point)
        self.stats.setdefault("phases", []).append((phase, round(point[0], 3)))
        if self.on_progress is not None:
            self.on_progress(phase, *point)

    # -- result -------------------------------------------------------------
    def result(self) -> Result:
        """The best plan (re-timed through its partial order) with its status."""
        d = self.problem.durations
        best: Plan | None = None
        exact_ones = [c for c in self.candidates if np.array_equal(c[2], d)]
        rounded = [c for c in self.candidates if not np.array_equal(c[2], d)]
        for _, start, feasible_for in exact_ones[-1:] + rounded[-2:]:
            plan = build_plan(self.problem, start, feasible_for)
            if best is None or plan.makespan(d) < best.makespan(d) - 1e-9:
                best = plan
        if best is None:
            raise SolverError("no schedule was found")
        makespan = best.makespan(d)
        if self.lower_bound > makespan + 1e-6 * max(1.0, makespan):
            raise SolverError(f"internal error: lower bound {self.lower_bound} exceeds makespan {makespan}")
        status = Status.OPTIMAL if makespan <= self.lower_bound + 1e-9 * max(1.0, makespan) else Status.FEASIBLE
        return Result(
            problem=self.problem,
            status=status,
            makespan=makespan,
            lower_bound=makespan if status is Status.OPTIMAL else self.lower_bound,
            start=best.start,
            waits_for=best.waits_for,
            critical_path_index=best.critical_path,
            solve_seconds=self.elapsed(),
            bound_source=self.bound_source,
            resolution=None if self.grid is None else self.grid.step,
            exact_grid=True if self.grid is None else self.grid.exact,
            trajectory=tuple(self.trajectory),
            stats=self.stats,
            orderings=best.orderings,
        )


def simple_bounds(search: Search) -> None:
    """Critical path, energy with heads and tails, one-machine (Jackson) bounds."""
    p = search.problem
    search.offer_bound(critical_path_bound(p), "critical path")
    search.offer_bound(energy_bound(p), "resource energy")
    search.offer_bound(disjunctive_bound(p), "one-machine")
    search.offer_bound(clique_bound(p), "incompatible cliques")
    search.report("bounds")


def default_schedules(n: int) -> int:
    """Schedule budget of the first genetic search: 500 per agent, 5,000 to 50,000.

    50,000 schedules take 2-3 s on j120 and bring the plan within 2% of the
    best known; the MILP rarely improves plans of that size afterwards.
    """
    return int(np.clip(500 * n, 5_000, 50_000))


def heuristics(search: Search, schedules: int | None = None, share: float = 0.25, seed: int = 0) -> None:
    """Priority rules with forward-backward improvement, then the genetic algorithm."""
    problem, d = search.problem, search.problem.durations
    if not search.candidates:
        quick = heuristic_schedule(problem, d, samples=8, stop_at=search.lower_bound, seed=seed)
        search.offer_schedule(quick.start)
        search.stats["rules_makespan"] = quick.makespan
        search.report("priority rules")
    schedules = default_schedules(problem.n) if schedules is None else schedules
    if search.proven or schedules <= 0 or search.remaining() <= 0:
        return
    ga = genetic_algorithm(
        problem, d, schedules=schedules, time_limit=max(0.05, share * search.remaining()),
        seed=seed, stop_at=search.lower_bound, initial=[search.candidates[-1][1]],
        population=int(np.clip(schedules // 60, 40, 150)),
    )
    search.offer_schedule(ga.start)
    search.stats["ga_schedules"] = search.stats.get("ga_schedules", 0) + ga.schedules
    search.stats.update(ga_makespan=min(ga.makespan, search.stats.get("ga_makespan", np.inf)))
    search.report("genetic algorithm")


def intensify(search: Search, seed: int = 0) -> None:
    """Spend the time left: more branch and bound (resuming with its memory), more genetic
    search from the incumbent, then a longer tree search."""
    if search.proven or search.remaining() <= 0.05:
        return
    if search.delaying:  # resume it where it stopped
        branch_and_bound(search, share=0.6)
    heuristics(search, schedules=10**9, share=0.5 if _searchable(search) else 1.0, seed=seed + 1)
    tree_search(search, share=1.0)


def propagation(search: Search) -> None:
    """Destructive lower bound on the exact grid: refute makespans below the incumbent."""
    if search.step is None or search.proven:
        return
    ub = int(round(search.best_makespan / search.step))
    if ub > MAX_PROPAGATION_STEPS:
        return
    p = search.steps
    lower = int(round(search.lower_bound / search.step))
    t = time.perf_counter()
    bound, windows = destructive_bound(search.problem, p, lower, ub - 1)
    search.stats["propagation_seconds"] = round(time.perf_counter() - t, 3)
    search.offer_bound(min(bound, ub) * search.step, "propagation")
    if windows is not None:
        search.slack = (windows.lf - windows.es - p) * search.step
    search.report("propagation")


class _Budget:
    """Node limits for probes that must end within a share of the time left, at the rate seen so far."""

    def __init__(self, seconds: float):
        self.t0 = time.perf_counter()
        self.seconds = seconds
        self.nodes = 0
        self.probing = 0.0

    def affordable(self, wanted: int) -> int:
        rate = max(self.nodes, 1) / max(self.probing, 1e-6)
        return int(min(wanted, (self.seconds - (time.perf_counter() - self.t0)) * rate))

    def count(self, nodes: int, since: float) -> None:
        self.nodes += nodes
        self.probing += time.perf_counter() - since


def _searchable(search: Search) -> bool:
    return (search.step is not None and not search.proven and search.problem.n <= MAX_TREE_AGENTS
            and search.best_makespan / search.step <= MAX_PROPAGATION_STEPS)


def branch_and_bound(search: Search, share: float = 0.25, most: float = math.inf) -> None:
    """Branch and bound over delaying alternatives below the incumbent (see
    :mod:`.bounds.delaying`): each probe finds a better schedule, proves that
    none exists, or runs out of nodes; its memory of failed nodes is kept in
    ``search`` so that a later call resumes where this one stopped. It runs for
    ``share`` of the time left, ``most`` seconds at most."""
    if not _searchable(search):
        return
    if search.delaying is False:  # gave up earlier
        return
    if search.delaying is None:
        search.delaying = DelayingSearch(search.problem, search.steps)
    dh, prop, step = search.delaying, search.propagator, search.step
    budget = _Budget(min(most, share * search.remaining()))
    limit, windows = 1000, None
    while not search.proven:
        horizon = int(round(search.best_makespan / step)) - 1
        if windows is None or windows.horizon != horizon:
            windows = prop(horizon)
        if not windows.feasible:
            search.offer_bound((horizon + 1) * step, "propagation")
            break
        wanted = budget.affordable(limit)
        if wanted < min(limit, 1000):
            break
        t = time.perf_counter()
        out = dh.probe(horizon, windows.lf, node_limit=wanted)
        budget.count(out.nodes, t)
        if out.status == FEASIBLE:
            search.offer_schedule(out.start * step)
        elif out.status == INFEASIBLE:
            search.offer_bound((horizon + 1) * step, "branch and bound")
        elif out.nodes < wanted:  # too many agents at once for this search
            search.delaying = False
            break
        else:
            limit *= 4
    search.stats.update(bb_nodes=search.stats.get("bb_nodes", 0) + budget.nodes,
                        bb_seconds=round(search.stats.get("bb_seconds", 0) + time.perf_counter() - budget.t0, 3))
    search.report("branch and bound")


def tree_search(search: Search, share: float = 0.1) -> None:
    """Set-times search below the incumbent: each probe either finds a better
    schedule, proves there is none, or runs out of nodes (the limit grows
    while the time share allows). Unfinished, it bisects for a better bound."""
    if not _searchable(search):
        return
    budget = _Budget(share * search.remaining())
    prop = search.propagator

    def run(horizon: int, node_limit: int):
        t = time.perf_counter()
        result = probe(prop, horizon, node_limit=node_limit)
        budget.count(result.nodes, t)
        if result.status == FEASIBLE:
            search.offer_schedule(result.start * search.step)
        elif result.status == INFEASIBLE:
            search.offer_bound((horizon + 1) * search.step, "tree search")
        return result

    limit = 1000
    run(int(round(search.best_makespan / search.step)) - 1, 100)  # a short first probe measures the rate
    while not search.proven and budget.affordable(limit) >= limit:
        if run(int(round(search.best_makespan / search.step)) - 1, limit).status not in (FEASIBLE, INFEASIBLE):
            limit *= 4
    # raise the bound: bisect between it and the incumbent with short probes
    lo = int(round(search.lower_bound / search.step))
    hi = int(round(search.best_makespan / search.step)) - 1
    while lo < hi and budget.affordable(max(1000, limit // 4)) >= 100:
        mid = (lo + hi) // 2
        result = run(mid, budget.affordable(max(1000, limit // 4)))
        if result.status == INFEASIBLE:
            lo = mid + 1
        elif result.status == FEASIBLE:
            hi = int(round(search.best_makespan / search.step)) - 1
        else:  # not refuted in time: look for a refutation lower down
            hi = mid - 1
    search.stats.update(tree_nodes=budget.nodes, tree_seconds=round(time.perf_counter() - budget.t0, 3))
    search.report("tree search")


def milp(
    search: Search,
    *,
    resolution: float | None,
    max_binaries: int,
    threads: int,
    seed: int,
    options: dict | None,
    backend: str = "highs",
) -> None:
    """Time-indexed MILP below the incumbent; a rounded-down model for the bound on rounded grids."""
    if search.proven or search.remaining() <= 0:
        return
    problem = search.problem
    grid = choose_grid(problem, search.best_makespan, resolution, max_binaries, search.slack)
    search.grid = grid
    search.stats["grid_step"] = grid.step
    # plans: durations rounded up (exact when the grid is exact)
    start = _grid_schedule(search, grid)
    ub = int(np.max(start + grid.up)) if problem.n else 0
    run = solve_backend(backend)
    beside = None
    if threads >= 2 and backend == "highs":  # one core for HiGHS, one for the searches beside it
        beside = _search_beside(search, seed)
        threads -= 1
    # on the exact grid and one core, keep time for the branch and bound to resume (see intensify)
    resumes = beside is None and search.delaying and _searchable(search)
    share = (0.5 if resumes else 1.0) if grid.exact else 0.5
    found, bound = improve_or_prove(
        problem, grid.up, ub, grid.to_steps(search.lower_bound), search.remaining() * share,
        threads, seed, search.stats, options, run, beside,
    )
    if found is not None:
        search.offer_schedule(found * grid.step, grid.up * grid.step)
    if grid.exact:
        search.offer_bound(bound * grid.step, "milp")
    search.report("milp")
    if grid.exact or search.proven or search.remaining() <= 0:
        return
    if bound * grid.step <= search.lower_bound:
        # durations rounded down only weaken the relaxation: that run would not raise the bound either
        search.stats["milp_bound"] = "skipped: the rounded-up model did not pass the known bound"
        return
    # bound: durations rounded down; step * (grid optimum) <= real optimum
    horizon = int(math.floor(search.best_makespan / grid.step + 1e-9))
    _, down = improve_or_prove(
        problem, grid.down, horizon + 1, 0, 0.6 * search.remaining(), threads, seed, {}, options, run
    )
    search.offer_bound(down * grid.step, "milp (rounded-down grid)")
    search.report("milp bound")


def _search_beside(search: Search, seed: int) -> Callable[[float], bool | str]:
    """Slices of other work while HiGHS runs in its own process: two of every three
    resume the branch and bound (while it can run), the others run the genetic search."""
    state = {"seed": seed + 100, "slice": 0}

    def work(seconds: float) -> bool | str:
        if search.proven:
            return "stop"
        if seconds <= 0.05:
            return True
        state["slice"] += 1
        if search.delaying and _searchable(search) and state["slice"] % 3:
            t = time.perf_counter()
            branch_and_bound(search, share=1.0, most=seconds)
            search.stats["beside_seconds"] = round(search.stats.get("beside_seconds", 0) + time.perf_counter() - t, 3)
            return "stop" if search.proven else True
        state["seed"] += 1
        ga = genetic_algorithm(search.problem, search.problem.durations, schedules=10**9, time_limit=seconds,
                               seed=state["seed"], stop_at=search.lower_bound, initial=[search.candidates[-1][1]],
                               population=60)
        search.offer_schedule(ga.start)
        search.stats["ga_schedules"] = search.stats.get("ga_schedules", 0) + ga.schedules
        search.stats["beside_seconds"] = round(search.stats.get("beside_seconds", 0) + ga.seconds, 3)
        return "stop" if search.proven else True

    return work


def _grid_schedule(search: Search, grid: Grid) -> np.ndarray:
    """A schedule of the incumbent's quality that is feasible on the grid with rounded-up durations."""
    problem = search.problem
    start = search.candidates[-1][1]
    if grid.exact:
        return np.round(start / grid.step).astype(np.int64)
    up = grid.up.astype(float)
    quick = heuristic_schedule(problem, up, samples=8)
    ga = genetic_algorithm(problem, up, schedules=2000, time_limit=max(0.05, 0.05 * search.remaining()),
                           initial=[quick.start, start / grid.step])
    return np.round(ga.start).astype(np.int64)


def improve_or_prove(problem, p, ub, lower, seconds, threads, seed, stats, options=None, run=solve_mip, beside=None):
    """Search grid schedules with makespan below ``ub`` (the best known).

    Returns the best grid schedule found (or None) and a proven lower bound on
    the grid optimum: ``ub`` itself when no better schedule exists. Windows
    come from propagation at horizon ``ub - 1``; if propagation refutes it,
    no MILP is needed. Cutting the horizon at ``ub - 1`` both shrinks the
    model and replaces a warm start (HiGHS 1.16 misreports some warm starts
    after presolve, see models/time-indexed.md).
    """
    if lower >= ub:
        return None, ub
    t = time.perf_counter()
    prop = Propagator(problem, p)
    windows: Windows = prop(ub - 1)
    stats["propagation_seconds"] = stats.get("propagation_seconds", 0) + round(time.perf_counter() - t, 3)
    if not windows.feasible:
        stats["milp_status"] = "refuted by propagation"
        return None, ub
    try:
        model = TimeIndexed(problem, p, ub - 1, lower, windows=windows)
    except ValueError:  # no room below ub: ub is optimal
        return None, ub
    built = model.build()
    stats.update(binaries=built.num_cols, rows=built.num_rows, nonzeros=built.num_nonzeros)
    extra = {"beside": beside} if beside is not None else {}
    out = run(built, time_limit=max(seconds, 0.05), threads=threads, seed=seed, options=options, **extra)
    stats.update(milp_seconds=round(out.seconds, 3), milp_status=out.solver_status, milp_nodes=out.nodes)
    proven = max(lower, integral_bound(out.bound)) if math.isfinite(out.bound) else lower
    if out.x is not None:
        start, makespan = model.decode(out.x)
        return start, min(proven, makespan)
    if out.solver_status == "Infeasible":
        return None, ub
    return None, min(proven, ub)
