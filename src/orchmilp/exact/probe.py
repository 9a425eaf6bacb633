"""The outcome of one probe of a trial makespan, shared by the exact searches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Probe", "INFEASIBLE", "FEASIBLE", "UNKNOWN"]

#: Probe outcomes (plain ints: the numba kernels return them).
INFEASIBLE, FEASIBLE, UNKNOWN = 0, 1, 2


@dataclass(frozen=True)
class Probe:
    """Outcome of a search for a schedule of makespan at most ``horizon``: INFEASIBLE is a
    proof, FEASIBLE comes with ``start`` (grid steps), UNKNOWN means out of nodes or time."""

    horizon: int
    status: int
    start: np.ndarray | None
    nodes: int
