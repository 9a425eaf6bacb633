"""The search for a plan and its proof.

:func:`run_search` walks the time plan of :mod:`.budget` and runs the
phases of :mod:`.phases` on one :class:`~.state.SearchState`:

    simple bounds -> priority rules -> genetic algorithm -> propagation
    -> branch and bound -> tree search -> MILP (with work beside it on two threads)
    -> MILP bound (rounded grids) -> branch and bound -> genetic algorithm -> tree search

It stops as soon as bound and incumbent meet, and always by the deadline.
"""

from __future__ import annotations

import itertools
import time

import numpy as np

from ..model.problem import Problem
from ..options import SolveOptions
from ..result import Result
from ..solvers import backend as solver_backend
from . import phases
from .budget import BESIDE_PATTERN, BESIDE_SLICE_SECONDS, PLAN, Step, milp_share, seconds_for
from .state import Progress, SearchState

__all__ = ["run_search", "SearchState", "Progress"]

#: The phases that take only ``(state, seconds)`` (the MILP is run by :func:`_milp` below).
_SIMPLE = {
    "simple bounds": phases.simple_bounds,
    "propagation": phases.propagation,
    "antichain lp": phases.antichain_lp,
    "branch and bound": phases.branch_and_bound,
    "tree search": phases.tree_search,
    "sat": phases.sat_refutation,
}


def _warm_start(state: SearchState, start: np.ndarray) -> None:
    """Offer a given schedule as the first incumbent when it is feasible."""
    if phases.feasible_schedule(state.problem, start):
        state.offer_schedule(start)
        state.report("warm start")


def run_search(
    problem: Problem,
    options: SolveOptions | None = None,
    on_progress: Progress | None = None,
    started: float | None = None,
) -> Result:
    """The phases of :func:`orchmilp.solve` on a validated problem, without the final check
    (what-if analyses use it on problems whose conflicts no longer follow from their paths).
    The time limit counts from ``started`` (a ``perf_counter`` time; default: now)."""
    options = options or SolveOptions()
    state = SearchState(problem, options.time_limit, on_progress, started)
    solver = solver_backend(options.backend) if options.use_milp else None
    state.beside_milp = options.threads >= 2
    state.use_sat = options.use_sat
    if options.initial_start is not None:
        _warm_start(state, np.asarray(options.initial_start, float))
    try:
        _walk_plan(state, options, solver)
    finally:
        phases.close_sat(state)
    return state.result()


def _walk_plan(state: SearchState, options: SolveOptions, solver) -> None:
    """The phases of :data:`PLAN` in turn, each with its time, until the plan is proven."""
    for step in PLAN:
        if state.proven and state.incumbents:
            break
        if not step.first and not options.use_milp:
            break
        if step.phase == "milp":
            _milp(state, options, solver)
            continue
        seconds = seconds_for(step, state)
        if step.phase == "priority rules":
            phases.priority_rules(state, seconds, seed=options.seed)
        elif step.phase == "genetic algorithm":
            phases.genetic_algorithm(
                state,
                seconds,
                seed=options.seed + (0 if step.first else 1),
                schedules=options.ga_schedules if step.first else 10**9,
            )
        elif step.phase == "milp bound":
            phases.milp_bound(state, seconds, options, solver)
        else:
            _SIMPLE[step.phase](state, seconds)


def _milp(state: SearchState, options: SolveOptions, solver) -> None:
    """Choose the grid, start the MILP, work beside it on the other core (two threads) while
    it runs, report its progress, take its outcome."""
    if state.proven or state.remaining() <= 0 or state.problem.n > phases.MAX_MILP_AGENTS:
        return
    grid = phases.grid_for_milp(state, options)
    start = phases.grid_schedule(state, grid, 0.1 * state.remaining())
    ub = int(np.max(start + grid.up)) if state.problem.n else 0
    seconds = seconds_for(Step("milp", milp_share), state)
    threads = options.threads - 1 if state.beside_milp else options.threads
    job = phases.start_milp(
        state.problem,
        grid.up,
        ub,
        grid.to_steps(state.lower_bound),
        seconds,
        solver,
        threads=threads,
        seed=options.seed,
        options=options.highs_options,
        statistics=state.statistics,
    )
    if job.run is not None:
        try:
            _while_milp_runs(state, job, time.perf_counter() + seconds, options.seed)
        except BaseException:  # an error or Ctrl-C in the work beside it: leave no solver running
            job.run.stop()
            raise
    phases.finish_milp(state, job)


def _while_milp_runs(state: SearchState, job: phases.MilpJob, until: float, seed: int) -> None:
    """Poll the MILP; report its progress; on two threads, run slices of other searches."""
    pattern = itertools.cycle(BESIDE_PATTERN)
    beside = state.beside_milp
    seen = (None, None)
    slices = itertools.count(1)
    while not job.run.poll(0.0 if beside else 0.25):
        objective, bound = job.run.best()
        if (objective, bound) != seen:
            seen = (objective, bound)
            step = state.grid.step
            state.report(
                "milp",
                makespan=min(state.best_makespan, objective * step) if objective is not None else None,
                bound=max(state.lower_bound, bound * step) if state.grid.exact else None,
            )
        if state.proven:
            job.run.stop()
            return
        left = min(BESIDE_SLICE_SECONDS, until - time.perf_counter())
        if not beside or left <= 0.05:
            beside = False
            continue
        t = time.perf_counter()
        name = next(pattern)
        if name == "sat" and not state.sat_gave_up and state.exact_searchable:
            phases.sat_refutation(state, left)
        elif (
            name == "branch and bound"
            and state.branch_and_bound is not None
            and not state.branch_and_bound_gave_up
            and state.exact_searchable
        ):
            phases.branch_and_bound(state, left)
        else:
            phases.genetic_algorithm(state, left, schedules=10**9, seed=seed + 100 + next(slices), population=60)
        state.statistics.beside_milp_seconds = round(state.statistics.beside_milp_seconds + time.perf_counter() - t, 3)
