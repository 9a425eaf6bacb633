"""OR-Tools CP-SAT as a benchmark peer (optional ``bench`` extra; never used by ``solve``).

The model is the textbook one: interval variables, cumulative constraints
for resources, file locks and nothing else, precedence inequalities, a
makespan variable. Durations must be whole numbers (or are scaled by the
exact time step).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .compile.grid import exact_step
from .errors import SolverError
from .model.problem import Problem
from .statuses import SolveStatus

__all__ = ["PeerResult", "solve_cpsat"]


@dataclass(frozen=True)
class PeerResult:
    makespan: float | None
    lower_bound: float
    status: SolveStatus
    seconds: float
    start: np.ndarray | None


def solve_cpsat(problem: Problem, time_limit: float = 30.0, workers: int = 1, seed: int = 0) -> PeerResult:
    """Solve with CP-SAT at the same time limit and number of workers."""
    try:
        from ortools.sat.python import cp_model
    except ImportError:
        raise SolverError("the CP-SAT peer needs OR-Tools: pip install 'orchmilp[bench]'") from None
    t0 = time.perf_counter()
    step = exact_step(problem.durations) or 1.0
    d = np.round(problem.durations / step).astype(int)
    horizon = int(d.sum())
    model = cp_model.CpModel()
    start = [model.NewIntVar(0, horizon, f"s{j}") for j in range(problem.n)]
    intervals = [model.NewIntervalVar(start[j], int(d[j]), start[j] + int(d[j]), f"i{j}") for j in range(problem.n)]
    for i, j in problem.edges.tolist():
        model.Add(start[j] >= start[i] + int(d[i]))
    cum = problem.cumulative
    for k in range(cum.usage.shape[1]):
        users = [j for j in range(problem.n) if cum.usage[j, k] > 0 and d[j] > 0]
        scale = 1
        while (
            any(abs(cum.usage[j, k] * scale - round(cum.usage[j, k] * scale)) > 1e-9 for j in users) and scale < 10**6
        ):
            scale *= 10
        model.AddCumulative(
            [intervals[j] for j in users],
            [int(round(cum.usage[j, k] * scale)) for j in users],
            int(round(cum.capacity[k] * scale)),
        )
    makespan = model.NewIntVar(0, horizon, "makespan")
    for j in range(problem.n):
        model.Add(makespan >= start[j] + int(d[j]))
    model.Minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    status = solver.Solve(model)
    seconds = time.perf_counter() - t0
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        value = solver.ObjectiveValue() * step
        bound = solver.BestObjectiveBound() * step
        starts = np.asarray([solver.Value(s) for s in start], float) * step
        return PeerResult(
            value, bound, SolveStatus.OPTIMAL if status == cp_model.OPTIMAL else SolveStatus.FEASIBLE, seconds, starts
        )
    return PeerResult(None, solver.BestObjectiveBound() * step, SolveStatus.UNKNOWN, seconds, None)
