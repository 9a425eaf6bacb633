"""Refutation by SAT with clause learning: is there a schedule of makespan at most ``T``?

The time-indexed order encoding of Horbach (2010) and Ansótegui et al.
(2011): ``y[j, t]`` means "agent j starts at or before step t" (so
``y[j, t] -> y[j, t + 1]``); a dependency ``i -> j`` is the binary clauses
``y[j, t] -> y[i, t - p_i]``; "agent j runs at step t" is implied by
``y[j, t] and not y[j, t - p_j]``; every capacity (resources and file locks)
is a pseudo-Boolean constraint per step over the agents that may run then,
encoded by pindakaas (through python-sat). Windows come from propagation at
the largest horizon asked, so the variables are few; pairs of agents that can
never run together get redundant clauses that propagate before the
pseudo-Boolean encodings do (measured: j6041_1 proven in 10.1 s instead of
12.3 s). A CDCL solver
then refutes ``makespan <= T`` the way CP-SAT's lazy clause generation does,
learning clauses instead of re-exploring dead ends (Glucose; CaDiCaL in calls of a conflict
budget on grids of more than :data:`LONG_GRID_STEPS` steps); a smaller ``T`` is asked with
assumptions, so what was learnt stays.

Optional: needs ``pip install 'orchmilp[sat]'`` (python-sat with pindakaas).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..model.problem import Problem
from ..signals import run_interruptible
from .probe import FEASIBLE, INFEASIBLE, UNKNOWN, Probe

__all__ = [
    "available",
    "SatProver",
    "SOLVER",
    "CHUNKED_SOLVER",
    "BuildTimeout",
    "small_weights",
    "solve_within",
    "solve_in_chunks",
]

#: a CDCL solver of python-sat that can be interrupted (CaDiCaL cannot)
SOLVER = "glucose42"
#: encodings of more grid steps ask the :data:`CHUNKED_SOLVER` (:func:`solve_in_chunks`):
#: Glucose looks at an interrupt only when it restarts, and on long grids that can be 20 s
#: late (models/sat-encoding.md); the clause learning gets more time there (search/budget.py)
LONG_GRID_STEPS = 300


#: a CDCL solver of python-sat that keeps to a conflict budget within milliseconds and keeps
#: what it learnt from one call to the next (CaDiCaL 1.9.5): :func:`solve_in_chunks`
CHUNKED_SOLVER = "cadical195"
#: seconds of search per call of :func:`solve_in_chunks`: mm-j30-1's refutation of 26 took
#: 7.4 s in one call, 7.8 s in calls of 0.5 s, 8.3 s of 0.2 s and 10.0 s of 0.05 s
CHUNK_SECONDS = 0.25
#: conflicts of the first call, before the solver's speed is known
FIRST_CHUNK_CONFLICTS = 200


def _nothing() -> None:
    """CaDiCaL cannot be interrupted through python-sat: its conflict budget ends each call."""


def solve_in_chunks(solver: Any, assumptions: list[int], seconds: float) -> tuple[bool | None, set[int]]:
    """What :func:`solve_within` answers, asked of a :data:`CHUNKED_SOLVER` in calls of a
    conflict budget each (about :data:`CHUNK_SECONDS`, the budget scaled to the conflicts per
    second of the call before, and the last one to the time left) until it answers or the time
    is up. Glucose looks at a budget, like its interrupt, only when it restarts (2,000
    conflicts took up to 1.3 s on a random 3-SAT formula); CaDiCaL keeps to it (0.04 s). So
    the question ends on time, what the solver learnt stays for the next one (unlike in a
    child process), and a stop signal is handled when the call it came in has ended.

    Each call runs in a helper thread (:func:`run_interruptible`, with nothing to interrupt:
    the budget ends it): in the main thread python-sat's CaDiCaL catches SIGINT itself, raises
    its own error and leaves the solver unusable (the next call aborted the process)."""
    until = time.monotonic() + max(seconds, 0.0)
    budget = FIRST_CHUNK_CONFLICTS
    while True:
        left = until - time.monotonic()
        if left <= 0:
            return None, set()
        solver.conf_budget(budget)
        began = time.monotonic()
        answer = run_interruptible(lambda: solver.solve_limited(assumptions=assumptions), _nothing, math.inf)
        if answer is not None:
            return answer, {v for v in solver.get_model() if v > 0} if answer else set()
        took = max(time.monotonic() - began, 1e-6)
        budget = max(int(budget / took * min(CHUNK_SECONDS, max(until - time.monotonic(), 0.0))), 1)


def solve_within(solver: Any, assumptions: list[int], seconds: float) -> tuple[bool | None, set[int]]:
    """The answer of ``solver`` under ``assumptions`` within ``seconds``: True with the set of
    true variables, False, or None when the time ran out. In a helper thread, so that Ctrl-C
    and SIGTERM are handled at once, not after the probe."""
    try:
        answer = run_interruptible(
            lambda: solver.solve_limited(assumptions=assumptions, expect_interrupt=True), solver.interrupt, seconds
        )
    finally:
        solver.clear_interrupt()
    return answer, {v for v in solver.get_model() if v > 0} if answer else set()


#: capacity constraints with larger weights (after dividing by their gcd) are not encoded: their
#: clauses grow with the weights, and the MILP proves such workflows better (token rates)
MAX_WEIGHT = 64


class BuildTimeout(Exception):
    """The encoding did not fit in the time given."""


def small_weights(problem: Problem) -> bool:
    """Whether every binding capacity has integer weights of at most :data:`MAX_WEIGHT`
    once divided by their greatest common divisor."""
    cum = problem.cumulative
    for k in range(cum.usage.shape[1]):
        col = cum.usage[:, k]
        values = np.concatenate([col[col > 0], [cum.capacity[k]]])
        if np.any(np.abs(values - np.round(values)) > 1e-9):
            return False
        ints = np.round(values).astype(np.int64)
        g = int(np.gcd.reduce(ints[ints > 0])) if np.any(ints > 0) else 1
        if np.max(ints[:-1]) // max(g, 1) > MAX_WEIGHT:
            return False
    return True


def available() -> bool:
    try:
        from pysat.pb import PBEnc  # noqa: F401
        from pysat.solvers import Solver  # noqa: F401
    except (ImportError, AssertionError):
        return False
    return True


def _gcd(column: np.ndarray, capacity: float) -> int:
    ints = np.round(np.concatenate([column[column > 0], [capacity]])).astype(np.int64)
    ints = ints[ints > 0]
    return int(np.gcd.reduce(ints)) if len(ints) else 1


class SatProver:
    """The encoding of one problem on an integer grid for makespans up to ``horizon``."""

    def __init__(
        self,
        problem: Problem,
        p: np.ndarray,
        es: np.ndarray,
        lf: np.ndarray,
        horizon: int,
        pairs: np.ndarray | None = None,
        deadline: float = float("inf"),
    ):
        from pysat.formula import IDPool
        from pysat.pb import EncType, PBEnc
        from pysat.solvers import Solver

        self.problem, self.horizon = problem, int(horizon)
        self.p = np.asarray(p, np.int64)
        n = problem.n
        self.es = np.asarray(es, np.int64)
        self.ls = np.asarray(lf, np.int64) - self.p
        pool = IDPool()
        self.pool = pool
        clauses: list[list[int]] = []
        TRUE = pool.id("true")
        clauses.append([TRUE])
        self.TRUE = TRUE

        def y(j: int, t: int) -> int:
            """'j starts at or before t' as a literal (constants for t outside the window)."""
            if t < self.es[j]:
                return -TRUE
            if t >= self.ls[j]:
                return TRUE
            return pool.id(("y", j, t))

        self.y = y
        for j in range(n):
            for t in range(int(self.es[j]), int(self.ls[j]) - 1):
                clauses.append([-y(j, t), y(j, t + 1)])
        for i, j in problem.edges.tolist():
            for t in range(int(self.es[j]), int(self.ls[j]) + 1):
                clauses.append([-y(j, t), y(i, t - int(self.p[i]))])
        for a, b in [] if pairs is None else pairs.tolist():  # never together: redundant, propagates early
            lo = max(int(self.es[a]), int(self.es[b]))
            hi = min(int(self.ls[a] + self.p[a]), int(self.ls[b] + self.p[b]))
            for t in range(lo, hi):
                clauses.append([-y(a, t), y(a, t - int(self.p[a])), -y(b, t), y(b, t - int(self.p[b]))])
        cum = problem.cumulative
        usage, capacity = cum.usage, cum.capacity
        active = [j for j in range(n) if self.p[j] > 0]
        for t in range(self.horizon):
            if time.perf_counter() > deadline:
                raise BuildTimeout(f"the encoding took more than its time (step {t} of {self.horizon})")
            may = [j for j in active if self.es[j] <= t < self.ls[j] + self.p[j]]
            if len(may) < 2:
                continue
            for k in range(usage.shape[1]):
                users = [j for j in may if usage[j, k] > 0]
                if sum(usage[j, k] for j in users) <= capacity[k] + 1e-9:
                    continue
                scale = _gcd(usage[:, k], capacity[k])
                lits, weights, fixed = [], [], 0.0
                for j in users:
                    if self.ls[j] <= t < self.es[j] + self.p[j]:
                        fixed += usage[j, k]  # compulsory part: runs at t in every schedule
                        continue
                    r = pool.id(("r", j, t))
                    clauses.append([-y(j, t), y(j, t - int(self.p[j])), r])
                    lits.append(r)
                    weights.append(int(round(usage[j, k])) // scale)
                bound = int(np.floor((capacity[k] - fixed) / scale + 1e-9))
                if bound < 0:
                    clauses.append([-TRUE])
                    continue
                if sum(weights) <= bound:
                    continue
                enc = PBEnc.atmost(lits=lits, weights=weights, bound=bound, vpool=pool, encoding=EncType.best)
                clauses.extend(enc.clauses)
        self.chunked = self.horizon > LONG_GRID_STEPS  # asked in calls of a conflict budget
        self.solver = Solver(name=CHUNKED_SOLVER if self.chunked else SOLVER, bootstrap_with=clauses)
        self.variables, self.clauses = pool.top, len(clauses)

    def _assumptions(self, makespan: int) -> list[int] | None:
        """Every agent finishes by ``makespan`` (None: some window already makes that impossible)."""
        out = []
        for j in range(self.problem.n):
            latest = makespan - int(self.p[j])
            if latest < self.es[j]:
                return None
            lit = self.y(j, latest)
            if lit != self.TRUE:
                out.append(lit)
        return out

    def probe(self, makespan: int, seconds: float) -> Probe:
        """INFEASIBLE (a proof), FEASIBLE with start steps, or UNKNOWN when the time ran out."""
        assumptions = self._assumptions(makespan)
        if assumptions is None:
            return Probe(makespan, INFEASIBLE, None, 0)
        if self.chunked:
            answer, model = solve_in_chunks(self.solver, assumptions, seconds)
        else:
            answer, model = solve_within(self.solver, assumptions, seconds)
        if answer is None:
            return Probe(makespan, UNKNOWN, None, 0)
        if answer is False:
            return Probe(makespan, INFEASIBLE, None, 0)
        start = np.empty(self.problem.n, np.int64)
        for j in range(self.problem.n):
            t = int(self.es[j])
            while t < self.ls[j] and self.y(j, t) not in model:
                t += 1
            start[j] = t
        return Probe(makespan, FEASIBLE, start, 0)

    def close(self) -> None:
        self.solver.delete()
