"""Decoding a schedule into a plan: ``waits_for``, start times, groups, critical path."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.problem import Problem
from .partial_order import earliest_starts, partial_order

__all__ = ["Plan", "build_plan", "groups", "critical_path"]

_EPS = 1e-9
#: starts this close (relative) form one group: the independent checker's tolerance, so that
#: the groups it reads are distinct (floating-point sums along two paths differ by ~1e-8)
GROUP_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class Plan:
    """Start times reproduced by ``waits_for`` with the planned durations.

    ``orderings`` are the precedences the optimiser added to settle resource
    and file conflicts (before redundant ones were dropped), with the reason.
    """

    start: np.ndarray
    waits_for: tuple[tuple[int, ...], ...]
    critical_path: tuple[int, ...]
    orderings: tuple[tuple[int, int, str], ...] = ()

    def makespan(self, durations: np.ndarray) -> float:
        return float(np.max(self.start + durations)) if len(self.start) else 0.0


def groups(start: np.ndarray) -> list[tuple[float, list[int]]]:
    """Agents grouped by equal start time, in time order."""
    out: list[tuple[float, list[int]]] = []
    for j in np.lexsort((np.arange(len(start)), start)):
        if out and abs(start[j] - out[-1][0]) <= GROUP_TOL * max(1.0, abs(start[j])):
            out[-1][1].append(int(j))
        else:
            out.append((float(start[j]), [int(j)]))
    return out


def critical_path(start: np.ndarray, durations: np.ndarray, waits_for) -> tuple[int, ...]:
    """A chain through ``waits_for`` of tight finish-to-start links from time 0 to the makespan."""
    if len(start) == 0:
        return ()
    finish = start + durations
    # tolerances relative to each time (not to the makespan): 0.25 next to 1e14 is not 0
    # prefer the longest chain of positive-duration agents ending at the makespan
    j = int(np.lexsort((-durations, -finish))[0])
    chain = [j]
    while start[j] > _EPS:
        tol = _EPS * max(1.0, abs(float(start[j])))
        tight = [i for i in waits_for[j] if abs(finish[i] - start[j]) <= tol]
        if not tight:
            break
        j = max(tight, key=lambda i: (durations[i], -i))
        chain.append(j)
    return tuple(reversed(chain))


def build_plan(problem: Problem, start: np.ndarray, feasible_for: np.ndarray | None = None) -> Plan:
    """Plan from a schedule feasible for durations ``feasible_for`` (default: the planned ones).

    The plan starts every agent as early as its ``waits_for`` allow with the
    planned durations, which never delays anyone.
    """
    d = problem.durations
    reasons: dict[tuple[int, int], str] = {}
    waits = partial_order(problem, start, d if feasible_for is None else feasible_for, reasons)
    asap = earliest_starts(problem, waits, d)
    orderings = tuple(sorted(((i, j, why) for (i, j), why in reasons.items()), key=lambda o: (asap[o[1]], o)))
    return Plan(asap, tuple(tuple(w) for w in waits), critical_path(asap, d, waits), orderings)
