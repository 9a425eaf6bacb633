"""Priority rules for schedule generation (Kolisch 1996): higher value = scheduled first.

Each rule is a plain function ``rule(problem, durations) -> priorities``.
"""

from __future__ import annotations

import numpy as np

from ..bounds.critical_path import heads, tails
from ..model.problem import Problem

__all__ = ["RULES", "lft", "lst", "mts", "grpw", "mtsd", "total_successors"]


def lft(problem: Problem, durations: np.ndarray) -> np.ndarray:
    """Latest finish time first: the longer the work that must follow, the earlier."""
    return tails(problem, durations)


def lst(problem: Problem, durations: np.ndarray) -> np.ndarray:
    """Latest start time first."""
    return tails(problem, durations) + durations


def total_successors(problem: Problem) -> np.ndarray:
    """Number of agents that (transitively) depend on each agent."""
    return problem.precedence_matrix.sum(axis=1).astype(float)


def mts(problem: Problem, durations: np.ndarray) -> np.ndarray:
    """Most total successors."""
    return total_successors(problem)


def grpw(problem: Problem, durations: np.ndarray) -> np.ndarray:
    """Greatest rank positional weight: own duration plus that of the direct successors."""
    out = durations.astype(float).copy()
    for j in range(problem.n):
        out[j] += durations[problem.succs(j)].sum()
    return out


def mtsd(problem: Problem, durations: np.ndarray) -> np.ndarray:
    """Least slack first (latest start minus earliest start), ties by LST."""
    h, q = heads(problem, durations), tails(problem, durations)
    bound = float(np.max(h + durations)) if problem.n else 0.0
    slack = bound - q - durations - h
    return -slack + 1e-6 * (q + durations)


RULES = {"lft": lft, "lst": lst, "mts": mts, "grpw": grpw, "slack": mtsd}
