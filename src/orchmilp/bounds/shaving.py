"""LP shaving: a lower bound that comes with a certificate an outsider can check
(:mod:`orchmilp.lp_certificate`).

To refute every plan within a horizon, the feasible-subset LP (:mod:`.feasible_subsets`) is asked
with windows from the dependencies alone. When it cannot refute them, each agent's window is
shaved: the LP refutes "starts at its earliest start" (then the next steps, doubling) or "starts
at its latest start", and every refutation becomes a step of the certificate, a proven bound on
that agent's start that tightens the windows of everything after it. Rounds go on until the LP
refutes the windows, or a round shaves nothing, or the deadline passes (Brucker and Knust's
destructive bound with LP shaving, restricted to what the certificate's checker can follow:
dependencies, start bounds, and the LP).

Every refutation is checked by :class:`~orchmilp.lp_certificate.Checker` before it is kept: the
LP's floating-point duals are scaled to whole prices and the inequality is evaluated exactly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..lp_certificate import Checker
from ..model.problem import Problem
from .feasible_subsets import refuting_prices
from .propagation import Windows

__all__ = ["LPProof", "prove"]

#: the largest whole price (the LP's duals are scaled to it and rounded down)
SCALE = 10**9


@dataclass(frozen=True)
class LPProof:
    """The steps (proven start bounds) and the final prices of a refutation, by agent id."""

    steps: list[dict]
    prices: dict[str, int]
    lp_solves: int


def prove(
    problem: Problem, checker: Checker, deadline: float = math.inf, progress: Callable[[str], None] | None = None
) -> LPProof | None:
    """Refute every plan of ``problem`` within ``checker``'s horizon, with steps the checker
    accepts; None when a round shaves nothing or the ``deadline`` (``perf_counter``) passes."""
    q = checker.q
    n = len(q.ids)
    where = np.array([problem.index[a] for a in q.ids], dtype=np.int64)
    p = np.zeros(problem.n, np.int64)
    p[where] = q.p
    solves = 0

    def attempt(low: dict[int, int], high: dict[int, int]) -> dict[int, int] | None:
        """Whole prices refuting these start bounds ({} when a window closes), or None."""
        nonlocal solves
        bounds = checker.windows(low, high)
        if bounds is None:
            return {}
        es, lf = np.zeros(problem.n, np.int64), np.full(problem.n, q.horizon, np.int64)
        es[where], lf[where] = bounds
        solves += 1
        prices = refuting_prices(problem, p, Windows(q.horizon, True, es, lf), deadline)
        if prices is None:
            return None
        mine = prices[where]
        top = float(mine.max())
        if top <= 0:
            return None
        whole = {j: int(mine[j] / top * SCALE) for j in range(n) if mine[j] > 0 and q.p[j] > 0}
        return whole if checker.refutes(low, high, whole).ok else None

    def named(prices: dict[int, int]) -> dict[str, int]:
        return {q.ids[j]: y for j, y in sorted(prices.items()) if y > 0}

    low: dict[int, int] = {}
    high: dict[int, int] = {}
    steps: list[dict] = []
    rounds = 0
    while True:
        final = attempt(low, high)
        if final is not None:
            return LPProof(steps, named(final), solves)
        if time.perf_counter() >= deadline:
            return None
        rounds += 1
        before = len(steps)
        for j in sorted(range(n), key=lambda j: -q.p[j]):
            if q.p[j] == 0 or time.perf_counter() >= deadline:
                continue
            for side in ("start_at_least", "start_at_most"):
                bounds = checker.windows(low, high)
                if bounds is None:  # cannot happen: the windows were refuted above otherwise
                    break
                es, ls = bounds[0][j], bounds[1][j] - q.p[j]
                if es >= ls:
                    break
                best, gain = None, 1
                while gain <= ls - es and time.perf_counter() < deadline:
                    trial_low, trial_high = dict(low), dict(high)
                    if side == "start_at_least":  # refute "starts before es + gain"
                        trial_high[j], value = es + gain - 1, es + gain
                    else:  # refute "starts after ls - gain"
                        trial_low[j], value = ls - gain + 1, ls - gain
                    prices = attempt(trial_low, trial_high)
                    if prices is None:
                        break
                    best = (value, prices)
                    gain *= 2
                if best is not None:
                    value, prices = best
                    steps.append({"agent": q.ids[j], side: value, "prices": named(prices)})
                    if side == "start_at_least":
                        low[j] = value
                    else:
                        high[j] = value
        if progress is not None:
            progress(f"LP shaving round {rounds}: {len(steps) - before} windows shaved, {solves} LPs")
        if len(steps) == before:
            return None
