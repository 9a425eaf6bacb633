"""The library entry points: ``load`` a workflow and ``solve`` it.

``solve`` reads as the whole pipeline: validated problem -> lower bounds ->
heuristic schedules -> propagation -> time-indexed MILP on HiGHS -> plan ->
check -> result (the phases live in :mod:`orchmilp.search`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .compile.grid import DEFAULT_MAX_BINARIES
from .errors import InvalidWorkflow, SolverError
from .io.workflow import instance_from_dict, read_workflow
from .model.instance import Instance
from .model.problem import Problem
from .model.validate import validate
from .result import Result
from .search import (FIRST_BRANCH_AND_BOUND_SECONDS, Progress, Search, branch_and_bound, heuristics, intensify, milp,
                     propagation, simple_bounds, tree_search)

__all__ = ["load", "solve", "compile_model"]

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
    ga_schedules: int | None = None,
    backend: str = "highs",
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
        False stops after the heuristics, the bounds and a short tree search.
    on_progress
        Called as ``on_progress(phase, seconds, makespan, lower_bound)``.
    highs_options
        Extra HiGHS options (name -> value), for experiments.
    backend
        MILP solver: ``"highs"`` (default) or ``"cbc"`` (needs pulp).
    ga_schedules
        Schedule budget of the first genetic search (default: 250 per agent,
        2,000 to 20,000; it also stops at a quarter of the time limit, or when
        it meets the lower bound). Time left at the end goes to more search.

    Examples
    --------
    >>> r = solve({"resources": {"slots": 1}, "agents": [
    ...     {"id": "a", "duration": 2, "uses": {"slots": 1}},
    ...     {"id": "b", "duration": 3, "uses": {"slots": 1}}]})
    >>> r.status.value, r.makespan, r.lower_bound
    ('optimal', 5.0, 5.0)
    """
    result = run_search(
        load(source), time_limit=time_limit, threads=threads, resolution=resolution, max_binaries=max_binaries,
        use_milp=use_milp, seed=seed, on_progress=on_progress, highs_options=highs_options,
        ga_schedules=ga_schedules, backend=backend,
    )
    _self_check(result)
    return result


def run_search(problem: Problem, *, time_limit: float = 30.0, threads: int = 1, resolution: float | None = None,
               max_binaries: int = DEFAULT_MAX_BINARIES, use_milp: bool = True, seed: int = 0,
               on_progress: Progress | None = None, highs_options: dict[str, Any] | None = None,
               ga_schedules: int | None = None, backend: str = "highs") -> Result:
    """The phases of :func:`solve` on a validated problem, without the final check
    (what-if analyses use it on problems whose conflicts no longer follow from their paths)."""
    search = Search(problem, time_limit, on_progress)
    simple_bounds(search)
    heuristics(search, schedules=ga_schedules, seed=seed)
    propagation(search)
    branch_and_bound(search, most=FIRST_BRANCH_AND_BOUND_SECONDS)
    tree_search(search)
    if use_milp:
        milp(search, resolution=resolution, max_binaries=max_binaries, threads=threads, seed=seed,
             options=highs_options, backend=backend)
        intensify(search, seed=seed)
    return search.result()


def _self_check(result: Result) -> None:
    """Refuse to return a plan that the independent checker rejects."""
    from .check import check_plan
    from .io.workflow import problem_to_workflow

    problems = check_plan(problem_to_workflow(result.problem), result.to_dict(), samples=0)
    if problems:
        raise SolverError("internal error, the plan fails its check: " + problems[0])


def compile_model(
    source: str | Path | dict | Instance | Problem,
    *,
    resolution: float | None = None,
    max_binaries: int = DEFAULT_MAX_BINARIES,
):
    """The time-indexed MILP of a workflow, with names, for export: horizon at the
    heuristic's makespan (so the model contains that plan and its optimum is the
    grid optimum), windows narrowed by propagation. Returns (model, description)."""
    import numpy as np

    from .bounds.propagation import Propagator
    from .compile.grid import choose_grid
    from .compile.time_indexed import TimeIndexed
    from .heuristics.search import heuristic_schedule

    problem = load(source)
    heur = heuristic_schedule(problem, samples=8)
    grid = choose_grid(problem, heur.makespan, resolution, max_binaries)
    ub = int(np.max(np.round(heur.start / grid.step) + grid.up)) if grid.exact else None
    if ub is None:
        ub = int(np.max(heuristic_schedule(problem, grid.up.astype(float), samples=8).start + grid.up))
    windows = Propagator(problem, grid.up)(ub)
    model = TimeIndexed(problem, grid.up, ub, windows=windows if windows.feasible else None).build(names=True)
    kind = "exact" if grid.exact else "durations rounded up"
    info = (f"{problem.name}: {model.num_cols} binaries, {model.num_rows} rows, {model.num_nonzeros} nonzeros; "
            f"grid step {grid.step:g} {problem.time_unit} ({kind}), horizon {ub} steps")
    return model, info
