"""The time grid of the time-indexed model.

The model counts time in steps of ``step`` time units. When every duration is
a whole number of steps the grid is *exact* and the model is the problem
itself. Otherwise two grid problems bracket the real one:

* ``up`` (durations rounded up): any grid schedule is feasible for the real
  durations, so it gives plans;
* ``down`` (durations rounded down): the real optimum, divided by ``step``,
  is at least the grid optimum (map each start ``s`` to ``floor(s/step)``),
  so its lower bound times ``step`` bounds the real optimum from below.

The automatic choice takes the finest multiple of the exact step whose model
stays within a budget of binary variables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..bounds.critical_path import heads, tails
from ..model.problem import Problem

__all__ = ["Grid", "exact_step", "choose_grid", "estimated_binaries", "window_slack", "DEFAULT_MAX_BINARIES"]

DEFAULT_MAX_BINARIES = 12_000


def exact_step(durations: np.ndarray, max_denominator: int = 10**6) -> float | None:
    """Largest step of which every duration is a whole multiple (None if none is reasonable).

    >>> exact_step(np.array([12.5, 30.0, 0.0])), exact_step(np.array([60.0, 90.0]))
    (2.5, 30.0)
    """
    fracs = [Fraction(repr(float(d))) for d in durations if d > 0]
    if not fracs:
        return None
    lcm_den = 1
    for f in fracs:
        lcm_den = math.lcm(lcm_den, f.denominator)
        if lcm_den > max_denominator:
            return None
    g = 0
    for f in fracs:
        g = math.gcd(g, f.numerator * (lcm_den // f.denominator))
    return float(Fraction(g, lcm_den))


@dataclass(frozen=True)
class Grid:
    """A time step and the durations rounded to it."""

    step: float
    exact_step: float | None
    up: np.ndarray  # int64, ceil(d / step)
    down: np.ndarray  # int64, floor(d / step)

    @property
    def exact(self) -> bool:
        return bool(np.array_equal(self.up, self.down))

    @classmethod
    def of(cls, durations: np.ndarray, step: float, exact: float | None) -> Grid:
        ratio = np.asarray(durations, float) / step
        up = np.ceil(ratio - 1e-9).astype(np.int64)
        down = np.floor(ratio + 1e-9).astype(np.int64)
        return cls(step, exact, np.maximum(up, 0), np.maximum(down, 0))

    def to_steps(self, value: float) -> int:
        """Whole steps needed to cover ``value`` time units."""
        return int(math.ceil(value / self.step - 1e-9))


def window_slack(problem: Problem, horizon: float) -> np.ndarray:
    """How far each agent can move for makespan ``horizon``, from the critical path alone."""
    d = problem.durations
    return np.maximum(horizon - (heads(problem, d) + d + tails(problem, d)), 0.0)


def estimated_binaries(problem: Problem, horizon: float, step: float, slack: np.ndarray | None = None) -> float:
    """Number of start variables at ``step`` for windows of width ``slack`` (default: critical path)."""
    slack = window_slack(problem, horizon) if slack is None else slack
    return float(np.sum(np.maximum(slack, 0.0) / step + 1.0))


def choose_grid(
    problem: Problem,
    horizon: float,
    resolution: float | None = None,
    max_binaries: int = DEFAULT_MAX_BINARIES,
    slack: np.ndarray | None = None,
) -> Grid:
    """The grid for a horizon: ``resolution`` when given, else the finest
    multiple of the exact step (or of ``horizon / 1000``) within ``max_binaries``.

    ``slack`` gives each agent's window width in time units when propagation
    has narrowed them (default: from the critical path and ``horizon``).
    """
    d = problem.durations
    exact = exact_step(d)
    if resolution is not None:
        return Grid.of(d, float(resolution), exact)
    slack = window_slack(problem, horizon) if slack is None else slack
    base = exact if exact is not None else max(horizon, 1e-9) / 1000.0
    # the fewest steps per base within max_binaries: the estimate falls as the step grows, to
    # one binary per agent once the step passes the widest window (where the search ends)
    widest = max(1, math.ceil(float(np.max(slack, initial=0.0)) / base) + 1)
    low, high = 1, widest
    while low < high:
        m = (low + high) // 2
        if estimated_binaries(problem, horizon, base * m, slack) <= max_binaries:
            high = m
        else:
            low = m + 1
    return Grid.of(d, base * low, exact)
