"""What every MILP back-end shares: the status enum, the outcome record and the run protocol.

A back-end :meth:`~Backend.start`\\ s a solve and returns a :class:`MipRun`
that the caller polls while it does other work on its own core, then asks
for the :meth:`~MipRun.result` or :meth:`~MipRun.stop`\\ s early. The solver's
own status is reported, never trusted for optimality: the search compares
bound and makespan itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import numpy as np

from ..compile.model import LinearModel

__all__ = ["SolverStatus", "MipOutcome", "MipRun", "Backend", "GRACE", "BOUND_TOL", "integral_bound"]

#: Seconds granted beyond the time limit before a solver process is killed.
GRACE = 0.3

#: Dual bounds are trusted up to this absolute error before rounding up.
BOUND_TOL = 1e-4


class SolverStatus(str, Enum):
    """How a MILP run ended."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time limit"
    KILLED = "killed at time limit"
    STOPPED = "stopped by the caller"
    EMPTY = "empty model"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


def integral_bound(bound: float) -> int:
    """The smallest integer objective value a dual bound allows.

    >>> integral_bound(266.001), integral_bound(266.00001)
    (267, 266)
    """
    return int(math.ceil(bound - BOUND_TOL))


@dataclass
class MipOutcome:
    """What a MILP solve returned: best solution (or None), its objective, the dual bound."""

    x: np.ndarray | None
    objective: float | None
    bound: float
    status: SolverStatus
    seconds: float
    nodes: int = 0


class MipRun(Protocol):
    """A solve in progress."""

    def poll(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True once the solve has ended."""

    def best(self) -> tuple[float | None, float]:
        """Best objective and dual bound reported so far (for progress)."""

    def result(self) -> MipOutcome:
        """Wait for the end (at most the time limit and :data:`GRACE`) and return the outcome."""

    def stop(self) -> MipOutcome:
        """End the solve now and return what it found so far."""


class Backend(Protocol):
    """A MILP solver: ``start`` returns a :class:`MipRun`."""

    name: str

    def start(
        self,
        model: LinearModel,
        *,
        time_limit: float,
        threads: int = 1,
        seed: int = 0,
        options: dict[str, Any] | None = None,
    ) -> MipRun: ...


def empty_outcome(model: LinearModel) -> MipOutcome | None:
    """The outcome of a model without columns (every start fixed by its window), else None."""
    if model.num_cols:
        return None
    if np.any(model.row_upper < -1e-9):
        return MipOutcome(None, None, math.inf, SolverStatus.INFEASIBLE, 0.0)
    return MipOutcome(np.zeros(0), model.offset, model.offset, SolverStatus.EMPTY, 0.0)


class FinishedRun:
    """A run that ended before :meth:`Backend.start` returned (in-process or empty models)."""

    def __init__(self, outcome: MipOutcome):
        self.outcome = outcome

    def poll(self, timeout: float) -> bool:
        return True

    def best(self) -> tuple[float | None, float]:
        return self.outcome.objective, self.outcome.bound

    def result(self) -> MipOutcome:
        return self.outcome

    def stop(self) -> MipOutcome:
        return self.outcome
