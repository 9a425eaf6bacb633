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

__all__ = ["PeerResult", "solve_cpsat", "solve_cpsat_modes"]


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
    start = [model.new_int_var(0, horizon, f"s{j}") for j in range(problem.n)]
    intervals = [model.new_interval_var(start[j], int(d[j]), start[j] + int(d[j]), f"i{j}") for j in range(problem.n)]
    for i, j in problem.edges.tolist():
        model.add(start[j] >= start[i] + int(d[i]))
    cum = problem.cumulative
    for k in range(cum.usage.shape[1]):
        users = [j for j in range(problem.n) if cum.usage[j, k] > 0 and d[j] > 0]
        scale = 1
        while (
            any(abs(cum.usage[j, k] * scale - round(cum.usage[j, k] * scale)) > 1e-9 for j in users) and scale < 10**6
        ):
            scale *= 10
        model.add_cumulative(
            [intervals[j] for j in users],
            [int(round(cum.usage[j, k] * scale)) for j in users],
            int(round(cum.capacity[k] * scale)),
        )
    makespan = model.new_int_var(0, horizon, "makespan")
    for j in range(problem.n):
        model.add(makespan >= start[j] + int(d[j]))
    model.minimize(makespan)
    return _solved(cp_model, model, start, step, time_limit, workers, seed, t0)


def _solved(cp_model, model, start, step: float, time_limit: float, workers: int, seed: int, t0: float) -> PeerResult:
    """Run CP-SAT on ``model`` (minimising the makespan in steps of ``step``): the peer's result."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    status = solver.solve(model)
    seconds = time.perf_counter() - t0
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        starts = np.asarray([solver.value(s) for s in start], float) * step
        found = SolveStatus.OPTIMAL if status == cp_model.OPTIMAL else SolveStatus.FEASIBLE
        return PeerResult(solver.objective_value * step, solver.best_objective_bound * step, found, seconds, starts)
    if status == cp_model.INFEASIBLE:
        return PeerResult(None, float("inf"), SolveStatus.UNKNOWN, seconds, None)
    return PeerResult(None, solver.best_objective_bound * step, SolveStatus.UNKNOWN, seconds, None)


def _scale(values) -> int:
    """The smallest power of ten that makes every value whole (up to 10**6)."""
    scale = 1
    while any(abs(v * scale - round(v * scale)) > 1e-9 for v in values) and scale < 10**6:
        scale *= 10
    return scale


def solve_cpsat_modes(table, problem: Problem, time_limit: float = 30.0, workers: int = 1, seed: int = 0) -> PeerResult:
    """Model choice in CP-SAT, the textbook way: one optional interval per agent and mode (one
    present), each mode's uses in the cumulative of every declared resource, every file lock
    over all of an agent's intervals, budgets as sums over the presence literals, a makespan
    variable. ``table``: :class:`orchmilp.io.modes.ModeTable`; ``problem``: the workflow in
    any choice of modes (its dependencies and locks)."""
    try:
        from ortools.sat.python import cp_model
    except ImportError:
        raise SolverError("the CP-SAT peer needs OR-Tools: pip install 'orchmilp[bench]'") from None
    t0 = time.perf_counter()
    durations = [m.duration for modes in table.modes for m in modes]
    step = exact_step(np.asarray(durations)) or 1.0
    p = [[int(round(m.duration / step)) for m in modes] for modes in table.modes]
    horizon = sum(max(ps) for ps in p)
    model = cp_model.CpModel()
    start = [model.new_int_var(0, horizon, f"s{j}") for j in range(problem.n)]
    end = [model.new_int_var(0, horizon, f"e{j}") for j in range(problem.n)]
    present, intervals = [], []
    for j, modes in enumerate(table.modes):
        lits, ivs = [], []
        for m in range(len(modes)):
            lit = model.new_bool_var(f"y{j}_{m}")
            ivs.append(model.new_optional_interval_var(start[j], p[j][m], end[j], lit, f"i{j}_{m}"))
            lits.append(lit)
        model.add_exactly_one(lits)
        present.append(lits)
        intervals.append(ivs)
    for i, j in problem.edges.tolist():
        model.add(start[j] >= end[i])
    for r, cap in zip(problem.resource_names, problem.capacities):
        users = [
            (j, m) for j, modes in enumerate(table.modes) for m, mode in enumerate(modes) if mode.uses.get(r, 0) > 0
        ]
        scale = _scale([table.modes[j][m].uses[r] for j, m in users] + [float(cap)])
        for j, m in users:
            if table.modes[j][m].uses[r] > cap + 1e-9:
                model.add(present[j][m] == 0)
        model.add_cumulative(
            [intervals[j][m] for j, m in users],
            [int(round(table.modes[j][m].uses[r] * scale)) for j, m in users],
            int(round(float(cap) * scale)),
        )
    for lock in problem.locks:
        members = [(j, lock.capacity) for j in lock.writers] + [(j, 1) for j in lock.others]
        model.add_cumulative(
            [iv for j, _ in members for iv in intervals[j]],
            [int(u) for j, u in members for _ in intervals[j]],
            int(lock.capacity),
        )
    for key, cap in table.budgets.items():
        spend = [
            (present[j][m], mode.consumes.get(key, 0.0))
            for j, modes in enumerate(table.modes)
            for m, mode in enumerate(modes)
        ]
        scale = _scale([c for _, c in spend] + [cap])
        model.add(sum(int(round(c * scale)) * lit for lit, c in spend if c) <= int(round(cap * scale + 1e-6)))
    makespan = model.new_int_var(0, horizon, "makespan")
    for j in range(problem.n):
        model.add(makespan >= end[j])
    if table.deadline is not None:
        model.add(makespan * 1 <= int(table.deadline / step + 1e-9))
    model.minimize(makespan)
    return _solved(cp_model, model, start, step, time_limit, workers, seed, t0)
