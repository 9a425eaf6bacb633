"""The state of one solve that every phase shares: clock, incumbents, proven bound, the
MILP's grid and the windows' slack, statistics.

Phases (:mod:`.phases`) read and improve it; only :meth:`SearchState.offer_schedule`
and :meth:`SearchState.offer_bound` change the incumbent and the bound. What a phase keeps
between its rounds (a prover and what it learnt, a memory of failed nodes) is the phase
object's own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..bounds.propagation import Propagator
from ..compile.grid import Grid, exact_step
from ..errors import SolverError
from ..model.problem import Problem
from ..result import Result, Status
from ..schedule.build import Plan, build_plan
from ..solve_statistics import Statistics
from .budget import MAX_PROPAGATION_STEPS, MAX_TREE_AGENTS

__all__ = ["Incumbent", "SearchState", "Progress"]

#: ``on_progress(phase, seconds, makespan, lower_bound)``
Progress = Callable[[str, float, float, float], None]


@dataclass(frozen=True)
class Incumbent:
    """A schedule found by some phase: its makespan and the durations it is feasible for
    (the planned ones, or durations rounded up to a grid)."""

    makespan: float
    start: np.ndarray
    feasible_for: np.ndarray


def plan_reserve(n: int, time_limit: float) -> float:
    """Seconds kept at the end for building the plan of ``n`` agents and checking it
    (measured: 0.25 s at 1,000 agents, 4.5 s at 5,000; it grows like n^2), at most half the limit."""
    return min(min(0.5, 0.05 * time_limit) + 2.2e-7 * n * n, 0.5 * time_limit)


class SearchState:
    """Incumbents, proven bound, clock and statistics of one solve."""

    def __init__(
        self,
        problem: Problem,
        time_limit: float,
        on_progress: Progress | None = None,
        started: float | None = None,
        cutoff: float = math.inf,
    ):
        self.problem = problem
        self.t0 = time.perf_counter() if started is None else started  # reading the workflow counts too
        self.deadline = self.t0 + time_limit
        self.reserve = plan_reserve(problem.n, time_limit)
        self.on_progress = on_progress
        self.step = exact_step(problem.durations)
        # the caller wants only plans shorter than this, or a proof that none is (on the exact
        # grid: the next multiple of the step, so that every search's horizon is one step below)
        self.cutoff = self.round_up(cutoff) if math.isfinite(cutoff) else math.inf
        self.lower_bound = 0.0
        self.bound_source = "trivial"
        self.incumbents: list[Incumbent] = []  # each better than the one before
        self.trajectory: list[tuple[float, float, float]] = []
        self.statistics = Statistics(agents=problem.n)
        self.grid: Grid | None = None  # the MILP's time grid, once chosen (the result's resolution)
        self.slack: np.ndarray | None = None  # window widths after propagation (time units)

    @property
    def exact(self) -> float:
        """The exact time step (where :attr:`exact_searchable` holds, there is one)."""
        if self.step is None:
            raise SolverError("internal error: no exact time step")
        return self.step

    @cached_property
    def steps(self) -> np.ndarray:
        """Durations in steps of the exact grid (only when there is one)."""
        return np.round(self.problem.durations / self.step).astype(np.int64)

    @cached_property
    def propagator(self) -> Propagator:
        """Propagation on the exact grid, shared by the searches below the incumbent."""
        return Propagator(self.problem, self.steps)

    # -- clock -----------------------------------------------------------
    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def remaining(self) -> float:
        """Seconds left for the phases (the reserve for the plan excluded)."""
        return self.deadline - self.reserve - time.perf_counter()

    # -- incumbent and bound ----------------------------------------------
    @property
    def best_makespan(self) -> float:
        return self.incumbents[-1].makespan if self.incumbents else math.inf

    @property
    def upper(self) -> float:
        """What the exact searches must beat: the incumbent, or the cutoff when that is shorter."""
        return min(self.best_makespan, self.cutoff)

    @property
    def best_start(self) -> np.ndarray:
        return self.incumbents[-1].start

    def round_up(self, value: float) -> float:
        """Optima are sums of durations: round a bound up to the exact step."""
        if self.step is None:
            return value
        return math.ceil(value / self.step - 1e-9) * self.step

    def offer_bound(self, value: float, source: str) -> None:
        value = self.round_up(value)
        if value > self.lower_bound + 1e-9 * max(1.0, self.lower_bound):
            self.lower_bound, self.bound_source = value, source
            self.statistics.bounds[source] = value

    def offer_schedule(self, start: np.ndarray, feasible_for: np.ndarray | None = None) -> None:
        """A schedule feasible for durations ``feasible_for`` (default: the planned ones)."""
        d = self.problem.durations if feasible_for is None else feasible_for
        makespan = float(np.max(start + d)) if self.problem.n else 0.0
        if makespan < self.best_makespan - 1e-9:
            self.incumbents.append(Incumbent(makespan, np.asarray(start, float), np.asarray(d, float)))

    @property
    def proven(self) -> bool:
        return self.best_makespan <= self.lower_bound + 1e-9 * max(1.0, self.lower_bound)

    @property
    def settled(self) -> bool:
        """Nothing left to search: the incumbent is proven, or no plan beats the cutoff."""
        return self.upper <= self.lower_bound + 1e-9 * max(1.0, self.lower_bound)

    @property
    def exact_searchable(self) -> bool:
        """Whether the exact searches (branch and bound, tree search) apply: an exact grid,
        not too many agents for the tree search's memory, a horizon propagation can handle."""
        return (
            self.step is not None
            and not self.settled
            and self.problem.n <= MAX_TREE_AGENTS
            and self.upper / self.step <= MAX_PROPAGATION_STEPS
        )

    def report(self, phase: str, makespan: float | None = None, bound: float | None = None) -> None:
        """Record the end of a phase (or progress inside one) and tell the caller."""
        point = (
            self.elapsed(),
            self.best_makespan if makespan is None else makespan,
            self.lower_bound if bound is None else bound,
        )
        self.trajectory.append(point)
        if makespan is None and bound is None:
            self.statistics.phases.append((phase, round(point[0], 3)))
        if self.on_progress is not None:
            self.on_progress(phase, *point)

    # -- result -------------------------------------------------------------
    def result(self) -> Result:
        """The best plan (re-timed through its partial order) with its status."""
        d = self.problem.durations
        best: Plan | None = None
        exact_ones = [c for c in self.incumbents if np.array_equal(c.feasible_for, d)]
        rounded = [c for c in self.incumbents if not np.array_equal(c.feasible_for, d)]
        for incumbent in exact_ones[-1:] + rounded[-2:]:
            plan = build_plan(self.problem, incumbent.start, incumbent.feasible_for)
            if best is None or plan.makespan(d) < best.makespan(d) - 1e-9:
                best = plan
        if best is None:
            raise SolverError("no schedule was found")
        makespan = best.makespan(d)
        if self.lower_bound > makespan + 1e-6 * max(1.0, makespan):
            raise SolverError(f"internal error: lower bound {self.lower_bound} exceeds makespan {makespan}")
        status = Status.OPTIMAL if makespan <= self.lower_bound + 1e-9 * max(1.0, makespan) else Status.FEASIBLE
        return Result(
            problem=self.problem,
            status=status,
            makespan=makespan,
            lower_bound=makespan if status is Status.OPTIMAL else self.lower_bound,
            start=best.start,
            waits_for=best.waits_for,
            critical_path_index=best.critical_path,
            solve_seconds=self.elapsed(),
            bound_source=self.bound_source,
            resolution=None if self.grid is None else self.grid.step,
            exact_grid=True if self.grid is None else self.grid.exact,
            trajectory=tuple(self.trajectory),
            statistics=self.statistics,
            orderings=best.orderings,
        )
