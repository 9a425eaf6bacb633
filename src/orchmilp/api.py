"""The library entry points: ``load`` a workflow and ``solve`` it.

``solve`` reads as the whole pipeline: validated problem -> the search of
:mod:`orchmilp.search` (bounds, heuristics, propagation, exact searches,
time-indexed MILP, within one time plan) -> plan -> independent check of the
plan against the workflow as written -> result.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .compile.grid import DEFAULT_MAX_BINARIES
from .errors import InvalidOptions, InvalidPlan, InvalidWorkflow, SolverError
from .io.workflow import instance_from_dict, problem_to_workflow, read_json_file
from .model.instance import Instance
from .model.problem import Problem
from .model.validate import validate
from .options import SolveOptions
from .result import Result
from .search import Progress, run_search

__all__ = [
    "load",
    "load_as_written",
    "load_with_history",
    "solve",
    "predict",
    "with_history_durations",
    "with_history_medians",
    "compile_model",
    "SolveOptions",
    "Loaded",
]


@dataclasses.dataclass(frozen=True)
class Loaded:
    """A workflow read and validated once: its problem and the workflow as written (for the
    checker). Passing it to :func:`solve` skips reading and validating again."""

    problem: Problem
    workflow: dict[str, Any]


Source = str | Path | dict | Instance | Problem | Loaded


def load(source: Source) -> Problem:
    """Read and validate a workflow: a path (JSON, PSPLIB ``.sm``, Patterson ``.rcp``), a dict,
    an :class:`Instance` or an already validated :class:`Problem`."""
    return _read(source)[0]


def _read(source: Source) -> tuple[Problem, dict[str, Any] | None]:
    """The validated problem and the workflow as written (None for PSPLIB files and objects)."""
    if isinstance(source, Loaded):
        return source.problem, source.workflow
    if isinstance(source, Problem):
        return source, None
    if isinstance(source, Instance):
        return validate(source), None
    if isinstance(source, dict):
        return validate(instance_from_dict(source)), source
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.suffix.lower() in (".sm", ".rcp"):
            from .io.psplib import read_psplib

            return validate(read_psplib(path)), None
        raw = read_json_file(path)
        return validate(instance_from_dict(raw, str(path))), raw
    raise InvalidWorkflow(f"cannot read a workflow from {type(source).__name__}")


def load_as_written(source: Source) -> tuple[Problem, dict[str, Any]]:
    """:func:`load`, and the workflow as written, read once (for the independent checker);
    PSPLIB files and objects, which have no JSON of their own, in the workflow format."""
    problem, raw = _read(source)
    return problem, raw if raw is not None else problem_to_workflow(problem)


def solve(
    source: Source, options: SolveOptions | None = None, *, on_progress: Progress | None = None, **option_fields: Any
) -> Result:
    """Find a minimum-makespan plan and prove how good it is.

    Parameters
    ----------
    source
        Workflow path, dict, :class:`Instance` or :class:`Problem`.
    options
        A :class:`SolveOptions`; or give its fields as keywords
        (``solve(path, time_limit=10, threads=2)``).
    on_progress
        Called as ``on_progress(phase, seconds, makespan, lower_bound)`` after
        each phase and while the MILP runs.

    The time limit counts from this call: reading the workflow, the search, and
    building and checking the plan all fit in it. The plan is checked by the
    independent checker against the workflow as written (the file or dict
    given) before it is returned.

    Examples
    --------
    >>> r = solve({"resources": {"slots": 1}, "agents": [
    ...     {"id": "a", "duration": 2, "uses": {"slots": 1}},
    ...     {"id": "b", "duration": 3, "uses": {"slots": 1}}]})
    >>> r.status.value, r.makespan, r.lower_bound
    ('optimal', 5.0, 5.0)
    """
    started = time.perf_counter()
    options = _options(options, option_fields)
    problem, workflow = load_as_written(source)
    result = dataclasses.replace(run_search(problem, options, on_progress, started), workflow=workflow)
    _self_check(result)
    return result


def _options(options: SolveOptions | None, fields: dict[str, Any]) -> SolveOptions:
    known = {f.name for f in dataclasses.fields(SolveOptions)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise InvalidOptions(f"unknown solve option {unknown[0]!r} (options: {', '.join(sorted(known))})")
    if options is None:
        return SolveOptions(**fields)
    return dataclasses.replace(options, **fields) if fields else options


def _self_check(result: Result) -> None:
    """Refuse to return a plan that the independent checker rejects."""
    from .check import check_plan

    problems = check_plan(result.workflow, result.to_dict(), samples=0)
    if problems:
        raise SolverError("internal error, the plan fails its check: " + problems[0])


def _history(history):
    from .history import History, read_history

    if history is None or isinstance(history, History):
        return history
    return read_history(history)


def with_history_durations(source: str | Path | dict, history) -> dict[str, Any]:
    """The workflow as written, each agent whose kind has history given the predicted median
    run time as its ``duration`` (its ``duration_range`` dropped: the history replaces it)."""
    return load_with_history(source, history)[1]


def load_with_history(
    source: str | Path | dict, history, work: Mapping[str, float] | None = None
) -> tuple[Problem, dict[str, Any]]:
    """The workflow as written (its figures are the prediction's prior) and, read once with
    it, :func:`with_history_durations` of it (what to plan with); with ``history`` None, the
    workflow as written again (:func:`load_as_written`). ``work``: agent id -> multiplier of
    the history's median (a what-if's split or scale)."""
    problem, workflow = load_as_written(source)
    if history is None:
        return problem, workflow
    return problem, with_history_medians(problem, workflow, history, work)


def with_history_medians(
    problem: Problem, workflow: dict[str, Any], history, work: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """``workflow`` (as written, already read into ``problem``) with the history's predicted
    median as the ``duration`` of each agent whose kind has history, without reading it again."""
    from .io.workflow import with_durations
    from .prediction import history_medians, warn_history_fit

    history = _history(history)
    warn_history_fit(problem, history)
    return with_durations(workflow, history_medians(problem, history, work=work))


def predict(
    source: Source,
    plan: str | Path | dict | Result | None = None,
    history=None,
    *,
    samples: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
    time_limit: float = 10.0,
):
    """Predict how long a plan of the workflow really takes: a :class:`~orchmilp.prediction.Prediction`.

    ``history``: JSONL files or WfCommons traces (paths or folders) or a
    :class:`~orchmilp.history.History`. Without ``plan`` the workflow is solved
    first (within ``time_limit``), with the history's medians as durations.
    A plan file or dict is checked against the workflow before it is used.

    >>> p = predict({"agents": [{"id": "a", "duration": 10, "duration_range": [8, 14]}]}, level=0.9)
    >>> [round(x) for x in p.interval]  # the user's 90% range, with no history
    [8, 14]
    """
    from .prediction import predict_plan

    history = _history(history)
    if plan is None:
        # the prior is the user's own figures, not the medians planned with
        written, target = load_with_history(source, history) if history is not None else (True, source)
        result = solve(target, time_limit=time_limit)
        return predict_plan(
            result.problem,
            result.waits_for,
            result.makespan,
            history,
            samples=samples,
            level=level,
            seed=seed,
            prior=written,
        )
    if isinstance(plan, Result):
        return predict_plan(
            plan.problem, plan.waits_for, plan.makespan, history, samples=samples, level=level, seed=seed
        )
    problem, workflow = load_as_written(source)
    plan_dict, waits_for = checked_plan(problem, workflow, plan)
    planned = float(plan_dict.get("makespan", 0.0))
    return predict_plan(problem, waits_for, planned, history, samples=samples, level=level, seed=seed)


def checked_plan(problem: Problem, workflow: dict[str, Any], plan: str | Path | dict):
    """A plan (file or dict) checked against the workflow as written, and its ``waits_for`` as
    agent indices. The plan may have been made with other durations (``solve --history``), so
    it is checked with the durations it scheduled (finish - start)."""
    from .check import check_plan
    from .io.plan import read_plan
    from .io.workflow import with_durations
    from .prediction import waits_for_of_plan

    plan_dict = read_plan(plan)
    planned = {}
    for entry in plan_dict.get("schedule", ()):
        if isinstance(entry, dict) and all(isinstance(entry.get(k), (int, float)) for k in ("start", "finish")):
            planned[entry.get("id")] = entry["finish"] - entry["start"]
    problems = check_plan(with_durations(workflow, planned), plan_dict, samples=20)
    if problems:
        raise InvalidPlan(f"the plan does not fit the workflow: {problems[0]}")
    return plan_dict, waits_for_of_plan(problem, plan_dict)


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
    from .heuristics.portfolio import rule_portfolio

    problem = load(source)
    heur = rule_portfolio(problem, samples=8)
    grid = choose_grid(problem, heur.makespan, resolution, max_binaries)
    ub = int(np.max(np.round(heur.start / grid.step) + grid.up)) if grid.exact else None
    if ub is None:
        ub = int(np.max(rule_portfolio(problem, grid.up.astype(float), samples=8).start + grid.up))
    windows = Propagator(problem, grid.up)(ub)
    model = TimeIndexed(problem, grid.up, ub, windows=windows if windows.feasible else None).build(names=True)
    kind = "exact" if grid.exact else "durations rounded up"
    info = (
        f"{problem.name}: {model.num_cols} binaries, {model.num_rows} rows, {model.num_nonzeros} nonzeros; "
        f"grid step {grid.step:g} {problem.time_unit} ({kind}), horizon {ub} steps"
    )
    return model, info
