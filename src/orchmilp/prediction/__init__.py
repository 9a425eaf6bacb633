"""Prediction: how long a plan will really take, and how sure that is (docs/spec/run-format.md).

history -> per-kind models (:mod:`.model`) -> each agent's predictive
distribution -> Monte Carlo of the plan's event-driven policy
(:mod:`.simulate`) -> :class:`Prediction`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InvalidOptions, InvalidPlan
from ..history import History
from ..io.numbers import plain_number
from ..model.problem import Problem
from .model import AgentForecast, KindModel, fit_kinds, forecast
from .simulate import central, simulate

if TYPE_CHECKING:
    from ..result import Result

__all__ = [
    "warn_history_fit",
    "Prediction",
    "predict_plan",
    "predict_policy",
    "forecasts_for",
    "history_medians",
    "waits_for_of_plan",
]


def _round(x: float) -> float:
    return plain_number(float(f"{x:.6g}"))


@dataclass(frozen=True, eq=False)
class Prediction:
    """The makespan distribution of a plan's policy and each agent's share in it."""

    level: float
    samples: int
    p50: float
    p90: float
    interval: tuple[float, float]
    mean: float
    planned: float
    agents: tuple[dict[str, Any], ...]
    makespans: np.ndarray = field(repr=False)
    #: with model choice: each budget key's predicted total (prediction/spend.py)
    spend: dict[str, dict[str, Any]] | None = None
    #: calibrated on past runs (calibration.py): runs, method, leave-one-out coverage, and the
    #: Monte Carlo interval it replaced (``interval`` is then the calibrated one)
    calibration: dict[str, Any] | None = None

    @property
    def half_width(self) -> float:
        """Half the interval's width: the "± X" of the report."""
        return (self.interval[1] - self.interval[0]) / 2

    def to_dict(self) -> dict[str, Any]:
        """The prediction object of docs/spec/run-format.md (agents also carry ``p10`` and ``kind``)."""
        return {
            "level": self.level,
            "samples": self.samples,
            "p50": _round(self.p50),
            "p90": _round(self.p90),
            "interval": [_round(self.interval[0]), _round(self.interval[1])],
            "mean": _round(self.mean),
            "planned": _round(self.planned),
            "agents": [dict(a) for a in self.agents],
            **({"spend": self.spend} if self.spend is not None else {}),
            **({"calibration": self.calibration} if self.calibration is not None else {}),
        }

    def calibrated(self, calibration: Any) -> Prediction:
        """This prediction with the interval ``calibration`` gives around its p50 (itself when
        there are too few runs to calibrate on)."""
        found = calibration.interval(self.p50, self.level)
        if found is None:
            return self
        inside, tried = calibration.loo_coverage(self.level)
        return dataclasses.replace(
            self,
            interval=(float(found[0]), float(found[1])),
            calibration={
                "runs": calibration.runs,
                "method": calibration.method(self.level),
                "loo_inside": inside,
                "loo_runs": tried,
                "model_interval": [_round(self.interval[0]), _round(self.interval[1])],
            },
        )

    def summary(self, unit: str = "s") -> str:
        lo, hi = self.interval
        return (
            f"predicted makespan: p50 {_round(self.p50)} {unit}, p90 {_round(self.p90)} {unit}, "
            f"{100 * self.level:g}% interval [{_round(lo)}, {_round(hi)}] {unit} "
            f"(planned {_round(self.planned)} {unit}, {self.samples} samples)"
        ) + "".join(
            f"\npredicted {key}: p50 {s['p50']:g}, p90 {s['p90']:g}, {100 * self.level:g}% interval "
            f"[{s['interval'][0]:g}, {s['interval'][1]:g}] (declared {s['declared']:g}; "
            f"{s['learnt_agents']} agents learnt from history)"
            for key, s in (self.spend or {}).items()
        )


def forecasts_for(
    problem: Problem,
    history: History | None,
    baseline: bool = False,
    prior: Problem | None = None,
    work: Mapping[str, float] | None = None,
    shrink: bool = True,
) -> tuple[list[AgentForecast], dict[str, KindModel]]:
    """Each agent's predictive run-time distribution, and the kind models behind them
    (``prior``: whose figures shrink the location, default ``problem``'s; ``shrink=False``:
    none; ``work``: multipliers of the history's prediction per agent id; see
    :func:`.model.forecast`)."""
    models = fit_kinds(history, baseline=baseline) if history is not None and len(history) else {}
    return forecast(problem, models, baseline=baseline, prior=prior, work=work, shrink=shrink), models


def warn_history_fit(problem: Problem, history: History) -> None:
    """Say so when the history is of another workflow, or leaves agents without history."""
    import warnings

    from ..errors import OrchmilpWarning
    from ..io.names import printable

    names = sorted({w for w in history.workflow if w})
    if names and problem.name not in names:
        warnings.warn(
            f"history: its runs are of workflow {', '.join(repr(printable(n)) for n in names[:3])}, "
            f"not '{printable(problem.name)}'",
            OrchmilpWarning,
            stacklevel=3,
        )
    known = set(history.kind)
    kinds = problem.kinds or problem.ids
    without = [problem.ids[j] for j in range(problem.n) if kinds[j] not in known]
    if without:
        what = "none of the agents has" if len(without) == problem.n else f"{len(without)} of {problem.n} agents have"
        warnings.warn(
            f"history: {what} history for its kind (those keep their written durations), e.g. "
            + ", ".join(printable(a) for a in without[:3]),
            OrchmilpWarning,
            stacklevel=3,
        )


def history_medians(
    problem: Problem, history: History, shrink: bool = True, work: Mapping[str, float] | None = None
) -> dict[str, float]:
    """agent id -> predicted median run time, for the agents whose kind has history
    (``shrink=False``: not shrunk towards the workflow's own durations; ``work``: see
    :func:`.model.forecast`)."""
    forecasts, _ = forecasts_for(problem, history, shrink=shrink, work=work)
    return {problem.ids[j]: _round(f.median) for j, f in enumerate(forecasts) if f.source == "history"}


def waits_for_of_plan(problem: Problem, plan: dict[str, Any]) -> tuple[tuple[int, ...], ...]:
    """The ``waits_for`` lists of a plan object as agent indices of ``problem``."""
    index = problem.index
    out: list[tuple[int, ...] | None] = [None] * problem.n
    for entry in plan.get("schedule", ()):
        if not isinstance(entry, dict) or entry.get("id") not in index:
            raise InvalidPlan(f"plan: schedule entry {str(entry)[:60]} names no agent of the workflow")
        try:
            out[index[entry["id"]]] = tuple(index[w] for w in entry.get("waits_for", ()))
        except KeyError as err:
            raise InvalidPlan(f"plan: agent '{entry['id']}': waits_for names unknown agent {err}") from None
    missing = [problem.ids[j] for j in range(problem.n) if out[j] is None]
    if missing:
        raise InvalidPlan(f"plan: agent '{missing[0]}' of the workflow is not in the plan's schedule")
    return tuple(out)  # type: ignore[arg-type]


def predict_plan(result: Result, history: History | None = None, **options: Any) -> Prediction:
    """:func:`predict_policy` of a solved plan (its problem, ``waits_for`` and makespan)."""
    return predict_policy(result.problem, result.waits_for, result.makespan, history, **options)


def predict_policy(
    problem: Problem,
    waits_for: Sequence[Sequence[int]],
    planned: float,
    history: History | None = None,
    *,
    samples: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
    baseline: bool = False,
    prior: Problem | None = None,
    work: Mapping[str, float] | None = None,
    shrink: bool = True,
) -> Prediction:
    """Predict the makespan of a plan's policy (``waits_for``) from ``history``
    (or, without it, from the agents' ``duration_range`` or the assumed spread).

    ``prior``: the workflow as the user wrote it when ``problem`` was planned with the
    history's medians (see :func:`.model.forecast`); ``shrink=False`` in a backtest. ``work``: agent
    id -> multiplier of the history's prediction (a what-if's split or scale)."""
    if not 0 < level < 1:
        raise InvalidOptions(f"level = {level} must be between 0 and 1 (e.g. 0.95)")
    if samples < 100:
        raise InvalidOptions(f"samples = {samples} must be >= 100")
    forecasts, _ = forecasts_for(problem, history, baseline=baseline, prior=prior, work=work, shrink=shrink)
    sim = simulate(waits_for, forecasts, samples, seed)
    lo, hi = central(level)
    p50, p90, a, b = np.quantile(sim.makespan, [0.5, 0.9, lo, hi]) if problem.n else (0.0,) * 4
    agents = tuple(
        {
            "id": problem.ids[j],
            "kind": f.kind,
            "p10": _round(sim.quantiles[0, j]),
            "p50": _round(sim.quantiles[1, j]),
            "p90": _round(sim.quantiles[2, j]),
            "source": f.source,
            "runs": f.runs,
            "criticality": round(float(sim.critical[j]), 4),
        }
        for j, f in enumerate(forecasts)
    )
    return Prediction(
        level=level,
        samples=samples,
        p50=float(p50),
        p90=float(p90),
        interval=(float(a), float(b)),
        mean=float(sim.makespan.mean()) if problem.n else 0.0,
        planned=float(planned),
        agents=agents,
        makespans=sim.makespan,
    )
