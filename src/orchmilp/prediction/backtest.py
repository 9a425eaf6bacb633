"""Leave one run out: is the prediction honest on runs it did not learn from?

For each run of the history: learn from the other runs, plan the run's
workflow with the learned medians, predict the plan's makespan, and compare
with the makespan the run's actual run times give through the same plan
(the event-driven policy replayed with the measured durations). The model is
compared with the simple baseline of :mod:`.model` on the same runs.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidHistory, OrchmilpWarning
from ..history import History
from . import history_medians, predict_plan
from .calibration import past_scores
from .simulate import makespans

__all__ = ["Case", "BacktestRow", "HeldOut", "hold_out", "backtest", "summarize_backtest", "LEVELS"]

LEVELS = (0.9, 0.95)
#: the other runs each held-out run is calibrated on, at most (the latest; engine.CALIBRATION_RUNS)
CALIBRATION_RUNS = 20


@dataclass(frozen=True)
class Case:
    """One run to hold out: its id and its workflow (structure, features; durations are replaced)."""

    run: str
    workflow: dict[str, Any]


@dataclass(frozen=True)
class BacktestRow:
    run: str
    method: str  # model or baseline
    agents: int
    actual: float  # the makespan the run's real durations give through the plan
    planned: float  # the deterministic plan's makespan (history medians)
    p50: float
    intervals: dict[float, tuple[float, float]]

    def covered(self, level: float) -> bool:
        lo, hi = self.intervals[level]
        return lo <= self.actual <= hi

    def width(self, level: float) -> float:
        """The interval's width relative to the actual makespan."""
        lo, hi = self.intervals[level]
        return (hi - lo) / self.actual

    def as_dict(self) -> dict[str, Any]:
        row = {
            "run": self.run,
            "method": self.method,
            "agents": self.agents,
            "actual": round(self.actual, 3),
            "planned": round(self.planned, 3),
            "p50": round(self.p50, 3),
        }
        for level in LEVELS:
            lo, hi = self.intervals[level]
            row[f"low_{level:g}"], row[f"high_{level:g}"] = round(lo, 3), round(hi, 3)
            row[f"covered_{level:g}"] = self.covered(level)
        return row


@dataclass(frozen=True)
class HeldOut:
    """One run held out: the history without it, the plan of its workflow made with the
    medians learnt from that history, and the run's own (actual) durations in the plan's order."""

    run: str
    train: History
    result: Any  # the SolveResult of the plan
    durations: np.ndarray  # (n,) the run's measured durations, agent order of result.problem

    @property
    def actual(self) -> float:
        """The makespan the run's real durations give through the plan."""
        return float(makespans(self.result.waits_for, self.durations[None])[0])


def hold_out(history: History, case: Case, *, time_limit: float = 5.0, seed: int = 0) -> HeldOut | None:
    """Leave ``case``'s run out and plan its workflow from the others (None, with a warning,
    when it has a kind that no other run has: it cannot be predicted fairly)."""
    from ..engine import load, solve
    from ..io.workflow import with_durations

    run_history = history.only_run(case.run).ok()
    actual_of = dict(zip(run_history.agent, run_history.duration.tolist()))
    train = history.without_run(case.run)
    problem = load(case.workflow)
    missing = [a for a in problem.ids if a not in actual_of]
    if missing:  # a run with a failed, cancelled or skipped agent has no makespan to compare with
        ended = dict(zip(history.only_run(case.run).agent, history.only_run(case.run).status))
        warnings.warn(
            f"backtest: run '{case.run}' left out: agent '{missing[0]}' did not end ok "
            f"({ended.get(missing[0], 'not run')})",
            OrchmilpWarning,
            stacklevel=3,
        )
        return None
    # the held-out workflow's durations are that run's answers: no prior from them
    medians = history_medians(problem, train, shrink=False)
    unseen = [a for a in problem.ids if a not in medians]
    if unseen:
        warnings.warn(
            f"backtest: run '{case.run}' skipped: agent '{unseen[0]}' has a kind no other run has",
            OrchmilpWarning,
            stacklevel=3,
        )
        return None
    result = solve(with_durations(case.workflow, medians), time_limit=time_limit, seed=seed)
    durations = np.asarray([actual_of[a] for a in result.problem.ids], float)
    return HeldOut(case.run, train, result, durations)


def backtest(
    history: History,
    cases: Sequence[Case],
    *,
    samples: int = 4000,
    time_limit: float = 5.0,
    seed: int = 0,
    on_row: Callable[[BacktestRow], None] | None = None,
    calibrated: bool = True,
) -> list[BacktestRow]:
    """Leave each case's run out, predict it from the others with the model and the baseline;
    with ``calibrated``, also the model's p50 with the interval calibrated on the other runs
    (each of them left out in turn: :mod:`.calibration`), and the simple method (the plan's
    makespan with the interval its own errors on the other runs give)."""
    if len(history.runs) < 3:
        raise InvalidHistory(f"backtest needs at least 3 runs in the history, found {len(history.runs)}")
    rows = []
    for case in cases:
        held = hold_out(history, case, time_limit=time_limit, seed=seed)
        if held is None:
            continue
        result, actual = held.result, held.actual
        for method in ("model", "baseline"):
            pred = predict_plan(
                result,
                held.train,
                samples=samples,
                level=LEVELS[0],
                seed=seed,
                baseline=method == "baseline",
                shrink=False,
            )
            intervals = {}
            for level in LEVELS:
                tail = (1 - level) / 2
                lo, hi = np.quantile(pred.makespans, [tail, 1 - tail])
                intervals[level] = (float(lo), float(hi))
            row = BacktestRow(case.run, method, result.problem.n, actual, result.makespan, pred.p50, intervals)
            rows.append(row)
            if on_row:
                on_row(row)
            if method == "model":
                model_p50 = pred.p50
        if calibrated:
            others = [c for c in cases if c.run != case.run][-CALIBRATION_RUNS:]  # as a prediction would
            by_p50, by_plan = past_scores(held.train, others, time_limit=min(time_limit, 1.0), seed=seed)
            for method, calibration, center in (
                ("calibrated", by_p50, model_p50),
                ("simple", by_plan, result.makespan),
            ):
                found = {level: calibration.interval(center, level) for level in LEVELS}
                if any(v is None for v in found.values()):
                    continue  # too few other runs to calibrate on
                row = BacktestRow(case.run, method, result.problem.n, actual, result.makespan, center, found)
                rows.append(row)
                if on_row:
                    on_row(row)
    if not rows:
        raise InvalidHistory("backtest: no run can be held out: each has a kind that no other run has")
    return rows


def summarize_backtest(rows: Sequence[BacktestRow]) -> list[dict[str, Any]]:
    """Per method: runs, coverage of each level, median relative error of p50 and of the plan, widths."""
    out = []
    for method in dict.fromkeys(r.method for r in rows):
        mine = [r for r in rows if r.method == method]
        line: dict[str, Any] = {"method": method, "runs": len(mine)}
        for level in LEVELS:
            line[f"coverage {level:g}"] = float(np.mean([r.covered(level) for r in mine]))
            line[f"median width {level:g}"] = float(np.median([r.width(level) for r in mine]))
            line[f"mean width/p50 {level:g}"] = float(np.mean([r.width(level) * r.actual / r.p50 for r in mine]))
        line["p50 error"] = float(np.median([abs(r.p50 - r.actual) / r.actual for r in mine]))
        line["plan error"] = float(np.median([abs(r.planned - r.actual) / r.actual for r in mine]))
        out.append(line)
    return out


def cases_from(files, history: History, *, workflow=None, cores: float | None = None) -> list[Case]:
    """The runs to hold out: each WfCommons trace with its own workflow, or each run of
    JSONL history with the ``workflow`` given (a path or dict)."""
    from ..engine import load_as_written
    from ..io.wfcommons import read_trace, trace_to_workflow

    traces = [f for f in files if str(f).lower().endswith(".json")]
    if traces and workflow is None:
        cases = []
        for path in traces:
            trace = read_trace(path)
            cases.append(Case(trace.name, trace_to_workflow(trace, cores=cores)))
        return cases
    if workflow is None:
        raise InvalidHistory("backtest: JSONL history needs --workflow (the workflow its runs ran)")
    _, written = load_as_written(workflow)
    return [Case(run, written) for run in history.runs]
