"""The rule portfolio: priority rules (LFT, LST, MTS, GRPW, slack) with
the serial and the parallel generation scheme, the worst-case-slack rule
(parallel), random and LFT-biased random sampling, each followed by
forward-backward improvement; the best schedule wins.

It seeds the genetic algorithm; on easy workflows it is already optimal and
the solver stops there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..bounds.critical_path import tails
from ..model.problem import Problem
from .improve import forward_backward
from .rules import RULES
from .sgs import parallel_sgs, priority_list, serial_sgs

__all__ = ["HeuristicResult", "rule_portfolio"]

#: The parallel scheme looks at every eligible agent at every decision time; it is stopped
#: after the looks this many per second of the time left would take (measured: 7 million a
#: second on 20,000 LLM agents waiting on rate buckets, where one schedule takes 10^9 looks)
PARALLEL_VISITS_PER_SECOND = 5_000_000


@dataclass(frozen=True)
class HeuristicResult:
    """Best schedule of a heuristic, its makespan, the schedules generated, the seconds
    spent and the rule (or method) that found it."""

    start: np.ndarray
    makespan: float
    schedules: int
    seconds: float = 0.0
    rule: str = ""


def rule_portfolio(
    problem: Problem,
    durations: np.ndarray | None = None,
    *,
    samples: int = 0,
    improve: bool = True,
    seed: int = 0,
    stop_at: float | None = None,
    time_limit: float | None = None,
) -> HeuristicResult:
    """Best schedule over the priority rules (serial and parallel scheme) and ``samples`` randomised lists.

    Stops early when the makespan reaches ``stop_at`` (a known lower bound)
    or after ``time_limit`` seconds.
    """
    d = problem.durations if durations is None else np.asarray(durations, float)
    t0 = time.perf_counter()
    if problem.n == 0:
        return HeuristicResult(np.zeros(0), 0.0, 0, 0.0, "empty")
    deadline = t0 + time_limit if time_limit is not None else np.inf
    cum = problem.cumulative
    args = (problem.pred_ptr, problem.pred_idx, problem.succ_ptr, problem.succ_idx)
    best: HeuristicResult | None = None
    count = 0
    rng = np.random.default_rng(seed)
    priorities = {name: rule(problem, d) for name, rule in RULES.items()}
    latest_start = float(np.sum(d)) - tails(problem, d) - d  # for the worst-case-slack rule
    jobs: list[tuple[str, np.ndarray | None]] = [(f"{name}/serial", prio) for name, prio in priorities.items()]
    jobs += [(f"{name}/parallel", prio) for name, prio in priorities.items()]
    jobs.append(("wcs/parallel", None))
    base = priorities["lft"]
    scale = float(np.max(base) - np.min(base)) or 1.0
    for s in range(samples):
        if s % 4 == 3:
            jobs.append((f"random-{s}/serial", rng.uniform(0, 1, problem.n)))
        else:
            jobs.append((f"sample-{s}/serial", base + rng.uniform(0, 0.5 * scale, problem.n)))
    parallel_stopped = False
    for name, prio in jobs:
        if name.endswith("/parallel"):
            if parallel_stopped:
                continue
            left = deadline - time.perf_counter()
            start = parallel_sgs(
                np.zeros(problem.n) if prio is None else prio,
                d,
                *args,
                cum.usage,
                cum.capacity,
                latest_start,
                prio is None,
                -1 if left == np.inf else int(max(left, 0.0) * PARALLEL_VISITS_PER_SECOND),
            )
            if np.any(start < 0):  # stopped at the deadline: the scheme's other rules would be too
                parallel_stopped = True
                continue
        else:
            order = priority_list(prio, *args)
            start = serial_sgs(order, d, problem.pred_ptr, problem.pred_idx, cum.usage, cum.capacity)
        count += 1
        if improve:
            start = forward_backward(problem, d, start, deadline=deadline)
            count += 2
        ms = float(np.max(start + d))
        if best is None or ms < best.makespan - 1e-9:
            best = HeuristicResult(start, ms, count, 0.0, name)
        if (stop_at is not None and best.makespan <= stop_at + 1e-9) or time.perf_counter() > deadline:
            break
    assert best is not None  # the rules always run
    return HeuristicResult(best.start, best.makespan, count, time.perf_counter() - t0, best.rule)
