"""The predict service: how long a plan really takes, from history or the user's ranges."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..deadline import Deadline
from ..engine import (
    Source,
    calibrated,
    calibration_seconds,
    checked_plan,
    load_as_written,
    read_history_source,
    read_inputs,
    solve,
)
from ..prediction import Prediction, predict_plan, predict_policy
from ..result import Result

__all__ = ["PredictRequest", "predict"]


@dataclass(frozen=True)
class PredictRequest:
    """``plan``: a plan file, object or :class:`Result` (default: solve the workflow first, with
    the history's medians, within ``time_limit``)."""

    workflow: Source
    plan: str | Path | dict | Result | None = None
    history: Any = None
    samples: int = 10_000
    level: float = 0.95
    seed: int = 0
    time_limit: float = 10.0


def predict(request: PredictRequest, deadline: Deadline | None = None) -> Prediction:
    """The makespan distribution of the plan's policy; see :class:`PredictRequest`."""
    deadline = deadline or Deadline(request.time_limit)
    samples, level, seed = request.samples, request.level, request.seed
    if request.plan is None:
        inputs = read_inputs(request.workflow, request.history)
        keep = deadline.reserve(
            "calibration", calibration_seconds(inputs.history, inputs.problem, deadline.remaining())
        )
        result = solve(inputs.planned, time_limit=deadline.share(1.0, least=0.1))
        deadline.release("calibration")
        return inputs.predict(result, samples=samples, level=level, seed=seed, calibration_seconds=keep)
    history = read_history_source(request.history)
    if isinstance(request.plan, Result):
        return predict_plan(request.plan, history, samples=samples, level=level, seed=seed)
    loaded = load_as_written(request.workflow)
    plan_object, waits_for = checked_plan(loaded.problem, loaded.workflow, request.plan)
    planned = float(plan_object.get("makespan", 0.0))
    prediction = predict_policy(loaded.problem, waits_for, planned, history, samples=samples, level=level, seed=seed)
    keep = calibration_seconds(history, loaded.problem, deadline.remaining(), share=1.0)
    return calibrated(prediction, loaded, history, keep, seed) if keep else prediction
