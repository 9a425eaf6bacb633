"""Robust plans (``--objective p90``): among the optimal plan and near-optimal
alternatives, the one whose predicted 90th percentile is lowest.

Candidates are the deterministic optimum and schedules of the serial
generation scheme from noisy latest-finish priorities, within ``slack`` of the
optimum's makespan, each turned into a partial-order plan. All are scored on
one common set of sampled run times (common random numbers), so the optimum
is among the candidates and the choice can never have a worse sampled p90
than the optimum's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..heuristics.rules import lft
from ..heuristics.sgs import priority_list, serial_sgs
from ..schedule.build import build_plan
from .model import AgentForecast
from .simulate import makespans, sample_durations

__all__ = ["RobustChoice", "robust_plan", "robust_result"]


@dataclass(frozen=True)
class RobustChoice:
    start: np.ndarray
    waits_for: tuple[tuple[int, ...], ...]
    makespan: float  # deterministic, with the planning durations
    p90: float
    optimum_p90: float
    candidates: int
    critical_path: tuple[int, ...] = ()
    orderings: tuple = ()


def robust_plan(
    result, forecasts: list[AgentForecast], *, candidates: int = 60, slack: float = 0.05, samples: int = 4000, seed=0
) -> RobustChoice:
    """The candidate plan with the lowest sampled p90 (the optimum's own plan included)."""
    problem = result.problem
    rng = np.random.default_rng(seed)
    durations = sample_durations(forecasts, samples, rng)
    best_p90 = float(np.quantile(makespans(result.waits_for, durations), 0.9))
    best = RobustChoice(result.start, result.waits_for, result.makespan, best_p90, best_p90, 1)
    d = problem.durations
    cum = problem.cumulative
    base = lft(problem, d)
    seen = {tuple(np.round(result.start, 6))}
    tried = 1
    for _ in range(candidates):
        noisy = base * rng.uniform(0.7, 1.3, size=problem.n)
        order = priority_list(noisy, problem.pred_ptr, problem.pred_idx, problem.succ_ptr, problem.succ_idx)
        start = serial_sgs(order, d, problem.pred_ptr, problem.pred_idx, cum.usage, cum.capacity)
        span = float(np.max(start + d)) if problem.n else 0.0
        key = tuple(np.round(start, 6))
        if span > result.makespan * (1 + slack) + 1e-9 or key in seen:
            continue
        seen.add(key)
        tried += 1
        plan = build_plan(problem, start)
        p90 = float(np.quantile(makespans(plan.waits_for, durations), 0.9))
        if p90 < best.p90 - 1e-9:
            best = RobustChoice(
                plan.start, plan.waits_for, plan.makespan(d), p90, best_p90, tried, plan.critical_path, plan.orderings
            )
    return RobustChoice(
        best.start, best.waits_for, best.makespan, best.p90, best_p90, tried, best.critical_path, best.orderings
    )


def robust_result(result, choice: RobustChoice):
    """The result with the robust plan in place of the optimum's (same proven bound)."""
    import dataclasses

    from ..result import Status

    if choice.waits_for is result.waits_for:
        return result
    status = Status.OPTIMAL if choice.makespan <= result.lower_bound + 1e-9 else Status.FEASIBLE
    return dataclasses.replace(
        result,
        start=choice.start,
        waits_for=choice.waits_for,
        makespan=choice.makespan,
        status=status,
        critical_path_index=choice.critical_path,
        orderings=choice.orderings,
    )
