"""The pareto service: the front of makespan against spend for a workflow with model choice.

Epsilon-constraint, from the fastest plan to the cheapest: each point is the shortest plan
within a budget (its makespan proven or with its gap), made non-dominated by the least spend
that ends by that makespan (its spend proven or with its gap); the next point's budget is just
below this point's spend. It ends when no choice of modes fits a smaller budget (the cheapest
point), at ``points``, or when the time is up."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..deadline import Deadline
from ..engine import Source, load_as_written, solve
from ..errors import InvalidOptions, NoPlanFits
from ..io.modes import has_model_choice, mode_table
from ..options import SolveOptions

__all__ = ["ParetoRequest", "ParetoOutcome", "pareto"]

#: the next point's budget is this much (relative) below the last point's spend
STEP_BELOW = 1e-6


@dataclass(frozen=True)
class ParetoRequest:
    """``key``: the spend (a ``consumes`` key) against the makespan; at most ``points`` points,
    ``seconds_each`` per solve at most; ``plot``: a PNG or SVG of the front."""

    workflow: Source
    key: str = "usd"
    points: int = 10
    seconds_each: float = 10.0
    plot: str | Path | None = None


@dataclass(frozen=True)
class ParetoOutcome:
    key: str
    unit: str
    points: list[dict[str, Any]]
    complete: bool  # the cheapest point was reached (no smaller budget fits)


def pareto(request: ParetoRequest, deadline: Deadline | None = None) -> ParetoOutcome:
    """The front of ``request``; see the module docstring."""
    deadline = deadline or Deadline.none()
    written = load_as_written(request.workflow).workflow
    if not has_model_choice(written):
        raise InvalidOptions("pareto: the workflow has no modes or consumes to trade against time")
    table = mode_table(written)
    if request.key not in {k for modes in table.modes for m in modes for k in m.consumes}:
        raise InvalidOptions(f"pareto --y {request.key}: no agent consumes '{request.key}'")
    base = {"name": written.get("name", "workflow"), **copy.deepcopy(written)}
    budget = base.get("budgets", {}).get(request.key)
    points: list[dict[str, Any]] = []
    complete = False
    turns = deadline.split(2 * request.points, most=request.seconds_each)
    while len(points) < request.points:
        workflow = copy.deepcopy(base)
        if budget is not None:
            workflow.setdefault("budgets", {})[request.key] = budget
        try:
            fastest = solve(workflow, SolveOptions(time_limit=max(next(turns), 0.2)))
        except NoPlanFits:  # no choice of modes fits this budget: the last point was the cheapest
            complete = True
            break
        workflow["deadline"] = fastest.makespan
        try:
            cheapest = solve(workflow, SolveOptions(time_limit=max(next(turns), 0.2), spend=request.key))
            objective = cheapest.objective or {}
        except NoPlanFits:  # no plan by that makespan found in this turn: the fastest plan is the point
            cheapest = fastest
            spent = fastest.to_dict().get("consumes", {}).get(request.key, 0.0)
            objective = {"value": spent, "lower_bound": 0.0, "status": "feasible"}
        points.append(
            {
                "makespan": fastest.makespan,
                "makespan_bound": fastest.lower_bound,
                "makespan_status": fastest.status.value,
                request.key: objective.get("value"),
                f"{request.key}_bound": objective.get("lower_bound"),
                f"{request.key}_status": objective.get("status"),
                "modes": cheapest.modes,
                "plan": cheapest.to_dict(),
            }
        )
        spent = float(objective.get("value", 0.0))
        budget = spent - STEP_BELOW * max(1.0, spent)
        if budget < 0 or deadline.remaining() <= 0.2:
            break
    if request.plot and points:
        from ..report.gantt import save_front

        save_front(points, request.key, written.get("time_unit", "s"), request.plot)
    return ParetoOutcome(request.key, written.get("time_unit", "s"), points, complete)
