"""Read a workflow once, solve it, check the plan: the engine's own entry points.

Everything above the search (the services, the executor, the analyses, the benchmark)
reaches the engine here: :func:`load` and :func:`load_as_written` read and validate,
:func:`read_inputs` adds what a history says (the one place where "plan with the history's
medians, predict with the user's figures as the prior" is decided), :func:`solve` runs the
search of :mod:`orchmilp.search` and refuses a plan that the independent checker rejects
(:func:`self_check`, the one place that check is made).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from .compile.grid import DEFAULT_MAX_BINARIES
from .errors import InvalidOptions, InvalidPlan, InvalidWorkflow, OrchmilpWarning, SolverError
from .io.disk_paths import resolve_declared_paths
from .io.modes import has_model_choice
from .io.workflow import instance_from_dict, problem_to_workflow, read_json_file, with_durations
from .model.instance import Instance
from .model.problem import Problem
from .model.validate import validate
from .options import SolveOptions
from .result import Result
from .search import Progress, run_search

if TYPE_CHECKING:
    from .history import History
    from .prediction import Prediction

__all__ = [
    "Loaded",
    "Source",
    "Inputs",
    "load",
    "load_as_written",
    "read_inputs",
    "read_history_source",
    "solve",
    "solve_options",
    "self_check",
    "checked_plan",
    "compile_model",
]


class Loaded(NamedTuple):
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
        raw = resolve_declared_paths(read_json_file(path), path.parent)  # one file, one path
        return validate(instance_from_dict(raw, str(path))), raw
    raise InvalidWorkflow(f"cannot read a workflow from {type(source).__name__}")


def load_as_written(source: Source) -> Loaded:
    """:func:`load`, and the workflow as written, read once (for the independent checker);
    PSPLIB files and objects, which have no JSON of their own, in the workflow format."""
    problem, raw = _read(source)
    return Loaded(problem, raw if raw is not None else problem_to_workflow(problem))


def read_history_source(history: Any) -> History | None:
    """A :class:`~orchmilp.history.History` from paths (or one as is; None stays None)."""
    from .history import History, read_history

    if history is None or isinstance(history, History):
        return history
    if isinstance(history, (str, Path)):
        history = [history]
    if not history:
        return None
    return read_history(list(history))


@dataclasses.dataclass(frozen=True)
class Inputs:
    """A workflow read once, with what its history says.

    ``written`` is the workflow as the user wrote it: the prior of the prediction (its figures
    shrink the history's estimates; planning with the history's medians and shrinking towards
    them again would count the history twice). ``planned`` is what to plan and check with: the
    history's predicted medians as the durations of the agents whose kind has history (the same
    as ``written`` without history). ``work``: agent id -> multiplier of the history's median
    (a what-if's split or scale)."""

    written: Loaded
    planned: Loaded
    history: History | None = None
    work: Mapping[str, float] | None = None

    @property
    def problem(self) -> Problem:
        """The workflow as written."""
        return self.written.problem

    def predict(
        self,
        result: Result,
        *,
        samples: int = 10_000,
        level: float = 0.95,
        seed: int = 0,
        calibration_seconds: float = 0.0,
    ) -> Prediction:
        """The prediction of ``result``'s plan (made from :attr:`planned`); with
        ``calibration_seconds``, its interval calibrated on the history's past runs of this
        workflow when there are enough (:func:`calibrated`)."""
        from .prediction import predict_plan

        # with model choice the user's figures are those of the modes the plan chose, and each
        # agent's run times are learnt from its kind's attempts in the mode it runs in
        prior = result.problem if result.consumes is not None else self.written.problem
        history, planned = self.history, result
        if result.modes and history is not None:
            history, planned = per_mode(history, result)
        prediction = predict_plan(
            planned, history, samples=samples, level=level, seed=seed, prior=prior, work=self.work
        )
        if self.work is None and calibration_seconds > 0:  # a what-if's work is not what past runs did
            prediction = calibrated(prediction, self.written, self.history, calibration_seconds, seed)
        if result.consumes is None:
            return prediction
        from .io.modes import mode_table
        from .prediction.spend import predict_spend

        kinds = list(result.problem.kinds) if result.problem.kinds else list(result.problem.ids)
        spend = predict_spend(
            mode_table(self.written.workflow),
            kinds,
            dict(result.modes or {}),
            self.history,
            samples=samples,
            level=level,
            seed=seed,
        )
        return dataclasses.replace(prediction, spend=spend)


def per_mode(history: History, result: Result) -> tuple[History, Result]:
    """The history and the plan with each kind split by mode (``kind@mode``): an agent in a
    chosen mode learns only from its kind's attempts in that mode."""
    kinds = result.problem.kinds or result.problem.ids
    modes = dict(result.modes or {})
    relabelled = tuple(f"{kind}@{mode}" if mode is not None else kind for kind, mode in zip(history.kind, history.mode))
    problem = dataclasses.replace(
        result.problem,
        kinds=tuple(
            f"{kind}@{modes[agent]}" if agent in modes else kind for kind, agent in zip(kinds, result.problem.ids)
        ),
    )
    return dataclasses.replace(history, kind=relabelled), dataclasses.replace(result, problem=problem)


#: the past runs a prediction is calibrated on at most (the latest); the seconds it takes at
#: most (the workflow is planned and predicted once per run, that run left out), and at least
#: per run (with less, fewer runs)
CALIBRATION_RUNS = 20
CALIBRATION_SECONDS = 10.0
CALIBRATION_SECONDS_PER_RUN = 0.15
#: and per run and agent at least: a plan needs 3e-4 s per agent before its first schedule
#: (20,000 agents: 6 s, services.plan.EVENT_SECONDS_PER_AGENT), its prediction about as much
CALIBRATION_SECONDS_PER_AGENT = 6e-4


def calibration_seconds(history: History | None, problem: Problem, remaining: float, share: float = 0.3) -> float:
    """Seconds to keep for calibrating a prediction of ``problem`` on ``history``: none with
    fewer than three complete runs, else at most ``share`` of ``remaining`` and 1 s per run."""
    from .prediction.calibration import MIN_RUNS

    runs = len(complete_runs(history, problem)) if history is not None else 0
    if runs < MIN_RUNS:
        return 0.0
    return min(CALIBRATION_SECONDS, share * remaining, 1.0 * min(runs, CALIBRATION_RUNS))


def calibrated(prediction: Prediction, written: Loaded, history: History | None, seconds: float, seed: int = 0):
    """``prediction`` with its interval calibrated on ``history``'s complete runs of the
    workflow ``written`` (each planned and predicted from the others: prediction/calibration.py),
    as many of the latest as ``seconds`` allow; unchanged with fewer than three."""
    from .prediction.backtest import Case
    from .prediction.calibration import MIN_RUNS, calibrate

    if history is None:
        return prediction
    runs = complete_runs(history, written.problem)
    per_run = max(CALIBRATION_SECONDS_PER_RUN, CALIBRATION_SECONDS_PER_AGENT * written.problem.n)
    take = min(CALIBRATION_RUNS, int(seconds / per_run))
    runs = runs[len(runs) - take :] if take > 0 else []  # the latest (runs[-0:] would be all)
    if len(runs) < MIN_RUNS:
        return prediction
    cases = [Case(run, written.workflow) for run in runs]
    each = 0.5 * seconds / len(cases)  # the plan's share; predicting and loading take the rest
    return prediction.calibrated(calibrate(history, cases, time_limit=each, samples=1000, seed=seed))


def complete_runs(history: History, problem: Problem) -> list[str]:
    """The runs of ``history`` in which every agent of ``problem`` ended ``ok`` (oldest first)."""
    needed = set(problem.ids)
    ok: dict[str, set[str]] = {}
    for run, agent, status in zip(history.run, history.agent, history.status):
        if status == "ok" and agent in needed:
            ok.setdefault(run, set()).add(agent)
    return [run for run in history.runs if ok.get(run) == needed]


def read_inputs(source: Source, history: Any = None, work: Mapping[str, float] | None = None) -> Inputs:
    """Read ``source`` once and, with a history, the durations to plan with (:class:`Inputs`)."""
    written = load_as_written(source)
    history = read_history_source(history)
    if history is None:
        return Inputs(written, written, None, work)
    from .prediction import history_medians, warn_history_fit

    warn_history_fit(written.problem, history)
    medians = history_medians(written.problem, history, work=work)
    # agents with modes: one median per kind and mode (one for every model would erase the choice)
    modal = {a.get("id") for a in written.workflow.get("agents", ()) if isinstance(a, dict) and "modes" in a}
    medians = {a: v for a, v in medians.items() if a not in modal}
    planned = with_durations({"name": written.problem.name, **written.workflow}, medians)
    if modal:
        planned = with_mode_medians(planned, history)
    with warnings.catch_warnings():  # the workflow's warnings were given when it was read
        warnings.simplefilter("ignore", OrchmilpWarning)
        return Inputs(written, load_as_written(planned), history, work)


#: ok attempts of a kind in a mode needed before their median replaces the mode's duration
MIN_MODE_ATTEMPTS = 3


def with_mode_medians(workflow: dict[str, Any], history: History) -> dict[str, Any]:
    """A copy of ``workflow`` in which each mode of an agent with ``modes`` takes the median run
    time of the history's ok attempts of the agent's kind in that mode (where there are at least
    :data:`MIN_MODE_ATTEMPTS`; the others keep their declared durations)."""
    import copy

    import numpy as np

    times: dict[tuple[str, str], list[float]] = {}
    for kind, mode, status, took in zip(history.kind, history.mode, history.status, history.duration.tolist()):
        if status == "ok" and mode is not None:
            times.setdefault((kind, mode), []).append(took)
    out = copy.deepcopy(workflow)
    for agent in out["agents"]:
        for mode in agent.get("modes", ()):
            seen = times.get((agent.get("kind") or agent["id"], mode["name"]), [])
            if len(seen) >= MIN_MODE_ATTEMPTS:
                mode["duration"] = round(float(np.median(seen)), 6)
                mode.pop("duration_range", None)
    return out


def solve_options(options: SolveOptions | None = None, **fields: Any) -> SolveOptions:
    """``options`` with ``fields`` replaced (unknown fields are one-line errors)."""
    known = {f.name for f in dataclasses.fields(SolveOptions)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise InvalidOptions(f"unknown solve option {unknown[0]!r} (options: {', '.join(sorted(known))})")
    if options is None:
        return SolveOptions(**fields)
    return dataclasses.replace(options, **fields) if fields else options


def solve(
    source: Source, options: SolveOptions | None = None, *, on_progress: Progress | None = None, **option_fields: Any
) -> Result:
    """Find a minimum-makespan plan and prove how good it is (see :func:`orchmilp.solve`).

    The time limit counts from this call: reading the workflow, the search, and building and
    checking the plan all fit in it. The plan is checked by the independent checker against
    the workflow as written before it is returned.
    """
    started = time.perf_counter()
    options = solve_options(options, **option_fields)
    loaded = load_as_written(source)
    if options.spend is not None and not has_model_choice(loaded.workflow):
        raise InvalidOptions(f"--objective {options.spend}: the workflow has no modes or consumes to spend")
    with _compiling() as compiled:
        if has_model_choice(loaded.workflow):
            found = _solve_modes(loaded, options, on_progress, started)
        elif options.dispatch == "waves":
            from .search.waves import solve_waves

            found = solve_waves(loaded.problem, options, started)
        else:
            found = run_search(loaded.problem, options, on_progress, started)
    result = dataclasses.replace(found, workflow=loaded.workflow, compile_seconds=sum(compiled))
    self_check(result)
    return result


@contextlib.contextmanager
def _compiling() -> Iterator[list[float]]:
    """The seconds numba spends compiling kernels in the block (the first solves after an
    install: the kernels are cached on disk afterwards), which no time limit can hold."""
    from numba.core import event

    seconds: list[float] = []
    with event.install_timer("numba:compile", seconds.append):
        yield seconds


def _solve_modes(loaded: Loaded, options: SolveOptions, on_progress: Progress | None, started: float) -> Result:
    """Model choice (:mod:`orchmilp.search.modes`): each choice of modes tried is planned by the
    single-mode search on the workflow in those modes."""
    from .io.modes import mode_table
    from .search.modes import solve_min_spend, solve_modes

    table = mode_table(loaded.workflow)

    def build(choice: tuple[int, ...]) -> Problem:
        with warnings.catch_warnings():  # the workflow's warnings were given when it was read
            warnings.simplefilter("ignore", OrchmilpWarning)
            return validate(instance_from_dict(table.apply(loaded.workflow, choice)))

    def plan(problem: Problem, seconds: float, cutoff: float = math.inf) -> Result:
        single = dataclasses.replace(options, time_limit=seconds)
        if options.dispatch == "waves":
            from .search.waves import solve_waves

            return solve_waves(problem, single)
        return run_search(problem, single, on_progress, cutoff=cutoff)

    objective = None
    if options.spend is not None:
        if options.spend not in {k for modes in table.modes for m in modes for k in m.consumes}:
            raise InvalidOptions(f"--objective {options.spend}: no agent consumes '{options.spend}'")
        result, choice, least = solve_min_spend(table, loaded.problem, build, plan, options, started, options.spend)
        spent = table.consumption(choice).get(options.spend, 0.0)
        proven = spent <= least + 1e-9 * max(1.0, spent)
        objective = {
            "name": options.spend,
            "value": round(spent, 6),
            "lower_bound": round(spent if proven else least, 6),
            "status": "optimal" if proven else "feasible",
            "deadline": table.deadline,
        }
    else:
        result, choice = solve_modes(table, loaded.problem, build, plan, options, started)
    return dataclasses.replace(
        result,
        modes=table.named(choice),
        consumes=table.consumption(choice),
        budgets=table.budgets or None,
        objective=objective,
    )


def self_check(
    result: Result, workflow: dict[str, Any] | None = None, *, allow_together: Sequence[tuple[str, str]] = ()
) -> Result:
    """``result``, after the independent checker has accepted its plan against ``workflow``
    (default: the workflow it was solved from); a rejected plan is a :class:`SolverError`."""
    from .check import check_plan

    against = workflow if workflow is not None else result.workflow
    if against is None:
        against = problem_to_workflow(result.problem)
    problems = check_plan(against, result.to_dict(), samples=0, allow_together=tuple(allow_together))
    if problems:
        raise SolverError("internal error, the plan fails its check: " + problems[0])
    return result


def checked_plan(problem: Problem, workflow: dict[str, Any], plan: str | Path | dict):
    """A plan (file or dict) checked against the workflow as written, and its ``waits_for`` as
    agent indices. The plan may have been made with other durations (``solve --history``), so
    it is checked with the durations it scheduled (finish - start)."""
    from .check import check_plan
    from .io.plan import read_plan
    from .prediction import waits_for_of_plan

    plan_dict = read_plan(plan)
    planned: dict[str, float] = {}
    for entry in plan_dict.get("schedule", ()):
        if isinstance(entry, dict) and all(isinstance(entry.get(k), (int, float)) for k in ("start", "finish")):
            planned[str(entry.get("id"))] = entry["finish"] - entry["start"]
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
