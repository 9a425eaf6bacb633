"""The plan service: read once, plan (with the history's medians, for the makespan or the p90),
predict, and write the reports asked for, within one deadline."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..deadline import Deadline
from ..engine import Inputs, Source, calibration_seconds, read_inputs, self_check, solve
from ..errors import InvalidOptions
from ..options import SolveOptions
from ..prediction import Prediction
from ..result import Result
from ..search import Progress
from .report import ReportOutcome, Reports, report, report_reservations

__all__ = ["PlanRequest", "PlanOutcome", "plan", "SOLVE_SHARE_WITH_WHAT_IFS"]

#: Share of the time left that the solve gets when reports with what-if re-solves are asked for.
SOLVE_SHARE_WITH_WHAT_IFS = 0.7
#: Share of the solve's time a wave plan's event-driven comparison gets
EVENT_SHARE_WITH_WAVES = 0.25
#: What the event-driven search needs per agent at least (its bounds and first rules, measured:
#: 6 s at 20,000 agents on 2 cores); with less, the comparison is the wave plan left-shifted
#: against the event-driven lower bound
EVENT_SECONDS_PER_AGENT = 3e-4


@dataclass(frozen=True)
class PlanRequest:
    """What to plan and how.

    ``time_limit`` covers the whole request (reading, solving, predicting, reports), unless a
    :class:`Deadline` is given to :func:`plan`. ``history``: paths or a History; the plan is then
    made with its median run times and predicted. ``objective`` ``"p90"``: among the optimal and
    near-optimal plans (within 5%), the one with the best predicted 90th percentile.
    ``solve``: the search's options (its ``time_limit`` is set from the deadline).
    ``answer_seconds``: seconds the caller keeps, for a workflow of that many agents, to
    show the answer after the plan (printing, writing, exiting)."""

    workflow: Source
    time_limit: float = 30.0
    solve: SolveOptions = field(default_factory=SolveOptions)
    history: Any = None
    objective: Literal["makespan", "p90"] = "makespan"
    samples: int = 10_000
    level: float = 0.95
    reports: Reports | None = None
    on_progress: Progress | None = None
    answer_seconds: Callable[[int], float] | None = None


@dataclass(frozen=True)
class PlanOutcome:
    """The plan (``result``, with its prediction), its JSON object, and the reports written."""

    result: Result
    plan: dict[str, Any]
    prediction: Prediction | None = None
    objective_note: str | None = None
    reports: ReportOutcome | None = None
    #: a wave plan beside the event-driven plan and the workflow's stages (``dispatch_cost``)
    dispatch_note: str | None = None


def plan(request: PlanRequest, deadline: Deadline | None = None) -> PlanOutcome:
    """Plan ``request.workflow``; see :class:`PlanRequest`."""
    deadline = deadline or Deadline(request.time_limit)
    inputs = read_inputs(request.workflow, request.history)
    if request.answer_seconds is not None:
        deadline.reserve("answer", request.answer_seconds(inputs.problem.n))
    reports = request.reports
    if reports is not None:
        report_reservations(reports, inputs.problem.n, deadline)
    share = SOLVE_SHARE_WITH_WHAT_IFS if reports is not None and reports.what_ifs else 1.0
    waves = request.solve.dispatch == "waves"
    if waves and request.objective == "p90":
        raise InvalidOptions("the p90 objective chooses among event-driven plans: not with waves")
    events: tuple[float, float] | None = None
    if waves:  # the event-driven plan first, to say what the waves cost
        seconds = deadline.share(share * EVENT_SHARE_WITH_WAVES, least=0.1)
        if seconds >= EVENT_SECONDS_PER_AGENT * inputs.problem.n:
            found = solve(inputs.planned, dataclasses.replace(request.solve, dispatch="events", time_limit=seconds))
            events = (found.makespan, found.lower_bound)
    calibrating = 0.0
    if inputs.history is not None:  # the interval calibrated on the past runs: its time kept first
        calibrating = deadline.reserve(
            "calibration", calibration_seconds(inputs.history, inputs.problem, deadline.remaining())
        )
    options = dataclasses.replace(request.solve, time_limit=deadline.share(share, least=0.1))
    result = solve(inputs.planned, options, on_progress=request.on_progress)
    note = None
    if request.objective == "p90":
        result, note = _robust(result, inputs)
    dispatch_note = None
    if waves:
        cost, dispatch_note = _dispatch_cost(result, events or _left_shifted(result))
        result = dataclasses.replace(result, dispatch_cost=cost)
    plan_object = result.to_dict()
    if note:
        plan_object["objective"] = {"name": "p90", "note": note}
    prediction = None
    if inputs.history is not None:
        deadline.release("calibration")
        prediction = inputs.predict(
            result, samples=request.samples, level=request.level, calibration_seconds=calibrating
        )
        plan_object["prediction"] = prediction.to_dict()
        result = dataclasses.replace(result, prediction=prediction)
    written = None
    if reports is not None:
        written = report(result, reports, deadline, undeclared_in(inputs.history, result.problem.ids))
    return PlanOutcome(result, plan_object, prediction, note, written, dispatch_note)


def undeclared_in(history, ids) -> dict[str, list[str]]:
    """Agent -> the files the history saw it write without declaring them (its agents only)."""
    if history is None:
        return {}
    known = set(ids)
    seen: dict[str, set[str]] = {}
    for agent, files in zip(history.agent, history.files):
        if agent in known and files.get("undeclared"):
            seen.setdefault(agent, set()).update(files["undeclared"])
    return {a: sorted(f) for a, f in sorted(seen.items())}


def _left_shifted(waves: Result) -> tuple[float, float]:
    """The event-driven makespan of the wave plan with every agent started as early as its
    dependencies and the capacities allow (in wave order), and the event-driven lower bound."""
    import numpy as np

    from ..bounds.critical_path import critical_path_bound
    from ..bounds.resource import clique_bound, energy_bound
    from ..heuristics.sgs import serial_sgs

    p = waves.problem
    order = np.argsort(waves.start, kind="stable").astype(np.int64)
    g, cum = p.graph, p.cumulative
    start = serial_sgs(order, p.durations.astype(float), g.pred_ptr, g.pred_idx, cum.usage, cum.capacity)
    makespan = float((start + p.durations).max(initial=0.0))
    return makespan, max(critical_path_bound(p), energy_bound(p), clique_bound(p))  # cliques grown by the wave search


def _dispatch_cost(waves: Result, events: tuple[float, float]) -> tuple[dict[str, Any], str]:
    """The wave plan beside the event-driven plan (its makespan and lower bound) and the
    workflow's own stages."""
    from ..analysis.baseline import baseline
    from ..io.numbers import plain_number

    # a wave plan is also an event-driven schedule (each agent starting with its wave), so the
    # event-driven figure is the shorter of the two when the short event-driven solve fell behind
    best = min(events[0], waves.makespan)
    status = "optimal" if events[1] >= best - 1e-9 else "feasible"
    cost: dict[str, Any] = {
        "waves": plain_number(waves.makespan),
        "events": plain_number(best),
        "events_status": status,
    }
    unit = waves.problem.time_unit
    text = (
        f"waves: {plain_number(waves.makespan)} {unit} in {len(waves.waves or ())} waves; the event-driven plan: "
        f"{plain_number(best)} {unit} ({status})"
    )
    if waves.problem.stages is not None:
        stages = baseline(waves.problem)[0]
        cost["stages"] = plain_number(stages)
        text += f"; the workflow's stages: {plain_number(stages)} {unit}"
    return cost, text


def _robust(result: Result, inputs: Inputs) -> tuple[Result, str]:
    """The plan with the best predicted p90 among the near-optimal ones, and what was chosen."""
    from ..prediction import forecasts_for
    from ..prediction.robust import robust_plan, robust_result

    forecasts = forecasts_for(result.problem, inputs.history, prior=inputs.problem)[0]
    choice = robust_plan(result, forecasts)
    robust = self_check(robust_result(result, choice), result.workflow)
    compared = (
        f"{choice.candidates} plans compared"
        if choice.candidates > 1
        else "no other plan found within 5% of the optimum's makespan"
    )
    note = (
        f"objective p90: chosen plan p90 {choice.p90:.6g}, the optimum's p90 {choice.optimum_p90:.6g} "
        f"({compared}); its makespan {choice.makespan:.6g} against the optimum's {result.makespan:.6g}"
    )
    return robust, note
