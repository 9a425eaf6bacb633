"""The library entry points: ``load`` a workflow and ``solve`` it.

``solve`` reads as the whole pipeline: validated problem -> lower bounds ->
heuristic schedule -> time grid -> time-indexed MILP on HiGHS (searching
below the heuristic's makespan, plus a bounding model when the grid is not
exact) -> plan -> check -> result.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .bounds.critical_path import critical_path_bound
from .bounds.resource import resource_bound
from .compile.grid import DEFAULT_MAX_BINARIES, Grid, choose_grid, exact_step
from .compile.time_indexed import TimeIndexed
from .errors import InvalidWorkflow, SolverError
from .heuristics.search import heuristic_schedule
from .io.workflow import instance_from_dict, read_workflow
from .model.instance import Instance
from .model.problem import Problem
from .model.validate import validate
from .plan.build import Plan, build_plan
from .result import Result, Status
from .solve.highs import integral_bound, solve_mip

__all__ = ["load", "solve"]

Progress = Callable[[str, float, float, float], None]


def load(source: str | Path | dict | Instance | Problem) -> Problem:
    """Read and validate a workflow: a path (JSON, PSPLIB ``.sm``, Patterson ``.rcp``), a dict,
    an :class:`Instance` or an already validated :class:`Problem`."""
    if isinstance(source, Problem):
        return source
    if isinstance(source, Instance):
        return validate(source)
    if isinstance(source, dict):
        return validate(instance_from_dict(source))
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.suffix.lower() in (".sm", ".rcp"):
            from .io.psplib import read_psplib

            return validate(read_psplib(path))
        return validate(read_workflow(path))
    raise InvalidWorkflow(f"cannot read a workflow from {type(source).__name__}")


def _round_up(value: float, step: float | None) -> float:
    """Round a lower bound up to the next multiple of the exact step (optima are such multiples)."""
    if step is None:
        return value
    return math.ceil(value / step - 1e-9) * step


def solve(
    source: str | Path | dict | Instance | Problem,
    *,
    time_limit: float = 30.0,
    threads: int = 1,
    resolution: float | None = None,
    max_binaries: int = DEFAULT_MAX_BINARIES,
    use_milp: bool = True,
    seed: int = 0,
    on_progress: Progress | None = None,
    highs_options: dict[str, Any] | None = None,
) -> Result:
    """Find a minimum-makespan plan and prove how good it is.

    Parameters
    ----------
    source
        Workflow path, dict, :class:`Instance` or :class:`Problem`.
    time_limit
        Wall-clock seconds for the whole solve.
    threads
        Threads HiGHS may use.
    resolution
        Time step of the MILP grid (default: chosen automatically).
    max_binaries
        Budget of start variables for the automatic grid.
    use_milp
        False stops after the heuristic and the bounds.
    on_progress
        Called as ``on_progress(phase, seconds, makespan, lower_bound)``.
    highs_options
        Extra HiGHS options (name -> value), for experiments.

    Examples
    --------
    >>> r = solve({"resources": {"slots": 1}, "agents": [
    ...     {"id": "a", "duration": 2, "uses": {"slots": 1}},
    ...     {"id": "b", "duration": 3, "uses": {"slots": 1}}]})
    >>> r.status.value, r.makespan, r.lower_bound
    ('optimal', 5.0, 5.0)
    """
    t0 = time.perf_counter()
    deadline = t0 + time_limit
    problem = load(source)
    d = problem.durations
    step_star = exact_step(d)
    stats: dict[str, Any] = {"agents": problem.n}

    reserve = min(0.5, 0.05 * time_limit)  # for decoding and checking the plan

    def remaining() -> float:
        return deadline - reserve - time.perf_counter()

    def report(phase: str) -> None:
        trajectory.append((time.perf_counter() - t0, best_ms, lb))
        if on_progress is not None:
            on_progress(phase, time.perf_counter() - t0, best_ms, lb)

    bounds = {"critical path": critical_path_bound(problem), "resource": resource_bound(problem)}
    bound_source = max(bounds, key=bounds.get)
    lb = _round_up(bounds[bound_source], step_star)

    heur = heuristic_schedule(problem, d, samples=32, stop_at=lb, time_limit=max(0.1, 0.1 * time_limit))
    stats["heuristic_rule"] = heur.rule
    stats["heuristic_makespan"] = heur.makespan
    candidates: list[tuple[np.ndarray, np.ndarray]] = [(heur.start, d)]
    best_ms = heur.makespan
    trajectory: list[tuple[float, float, float]] = []
    report("heuristic")

    grid: Grid | None = None
    if use_milp and best_ms > lb + 1e-9 * max(1.0, lb) and remaining() > 0:
        grid = choose_grid(problem, best_ms, resolution, max_binaries)
        stats["grid_step"] = grid.step
        # plans: durations rounded up, search for a makespan below the best known
        ub_grid = int(np.max(_grid_schedule(problem, grid, heur.start) + grid.up))
        share = 1.0 if grid.exact else 0.5
        found, grid_lb = _improve_or_prove(
            problem, grid.up, ub_grid, grid.to_steps(lb), remaining() * share, threads, seed, stats, highs_options
        )
        if found is not None:
            candidates.append((found * grid.step, grid.up * grid.step))
            best_ms = min(best_ms, float(np.max(found + grid.up)) * grid.step)
        if grid.exact:
            lb, bound_source = _raise(lb, bound_source, grid_lb * grid.step, "milp", step_star)
        report("milp")
        if not grid.exact and best_ms > lb and remaining() > 0:
            # bounds: durations rounded down, the real optimum is at least step * grid optimum
            horizon = int(math.floor(best_ms / grid.step + 1e-9))
            _, down_lb = _improve_or_prove(
                problem, grid.down, horizon + 1, 0, remaining(), threads, seed, {}, highs_options
            )
            lb, bound_source = _raise(lb, bound_source, down_lb * grid.step, "milp (rounded-down grid)", step_star)
            report("bound")

    plan = _best_plan(problem, candidates)
    makespan = plan.makespan(d)
    status = Status.OPTIMAL if makespan <= lb + 1e-9 * max(1.0, makespan) else Status.FEASIBLE
    if status is Status.OPTIMAL:
        lb = makespan
    result = Result(
        problem=problem,
        status=status,
        makespan=makespan,
        lower_bound=lb,
        start=plan.start,
        waits_for=plan.waits_for,
        critical_path_index=plan.critical_path,
        solve_seconds=time.perf_counter() - t0,
        bound_source=bound_source,
        resolution=None if grid is None else grid.step,
        exact_grid=True if grid is None else grid.exact,
        trajectory=tuple(trajectory),
        stats=stats,
    )
    _self_check(result)
    return result


def _grid_schedule(problem: Problem, grid: Grid, real_start: np.ndarray) -> np.ndarray:
    """A schedule feasible on the grid with rounded-up durations."""
    if grid.exact:
        return np.round(real_start / grid.step).astype(np.int64)
    heur = heuristic_schedule(problem, grid.up.astype(float), samples=8)
    return np.round(heur.start).astype(np.int64)


def _raise(lb: float, source: str, candidate: float, name: str, step: float | None) -> tuple[float, str]:
    candidate = _round_up(candidate, step)
    return (candidate, name) if candidate > lb + 1e-9 * max(1.0, lb) else (lb, source)


def _improve_or_prove(problem, p, ub, lower, seconds, threads, seed, stats, options=None):
    """Search grid schedules with makespan below ``ub`` (the best known).

    Returns the best grid schedule found (or None) and a proven lower bound on
    the grid optimum: ``ub`` itself when no better schedule exists. Cutting
    the horizon at ``ub - 1`` both shrinks the model and replaces a warm start
    (HiGHS 1.16 misreports some warm starts after presolve, see models/).
    """
    if lower >= ub:
        return None, ub
    try:
        model = TimeIndexed(problem, p, ub - 1, lower)
    except ValueError:  # ub - 1 is below the critical path: ub is optimal
        return None, ub
    built = model.build()
    stats.update(binaries=built.num_cols, rows=built.num_rows, nonzeros=built.num_nonzeros)
    out = solve_mip(built, time_limit=max(seconds, 0.05), threads=threads, seed=seed, options=options)
    stats.update(milp_seconds=out.seconds, milp_status=out.solver_status, milp_nodes=out.nodes)
    if out.x is not None:
        start, makespan = model.decode(out.x)
        return start, min(integral_bound(out.bound), makespan)
    if out.solver_status == "Infeasible":
        return None, ub
    return None, max(lower, min(integral_bound(out.bound), ub)) if math.isfinite(out.bound) else lower


def _best_plan(problem: Problem, candidates) -> Plan:
    best: Plan | None = None
    for start, feasible_for in candidates:
        plan = build_plan(problem, start, feasible_for)
        if best is None or plan.makespan(problem.durations) < best.makespan(problem.durations) - 1e-9:
            best = plan
    assert best is not None
    return best


def _self_check(result: Result) -> None:
    """Refuse to return a plan that the independent checker rejects."""
    from .check import check_plan
    from .io.workflow import problem_to_workflow

    problems = check_plan(problem_to_workflow(result.problem), result.to_dict(), samples=0)
    if problems:
        raise SolverError("internal error, the plan fails its check: " + problems[0])
