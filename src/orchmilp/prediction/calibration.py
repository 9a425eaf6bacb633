"""Makespan intervals calibrated on the past runs themselves.

The Monte Carlo of :mod:`.simulate` gives the shape of the makespan distribution, each
agent's figures and criticality; its interval is only as honest as the per-kind models
behind it, and on real traces it is often far too wide. Calibration measures how wrong the
prediction was on each past run when that run was left out: the score of a past run is
``log(actual / predicted p50)``, its p50 predicted from the other runs (as
:func:`.backtest.hold_out` does). A new prediction's interval is then its p50 times the
spread of those scores:

- with enough runs for the level (``k >= 2 / (1 - level) - 1``: 19 at 90%), split
  conformal: the order statistics ``floor((k + 1) a / 2)`` and ``ceil((k + 1)(1 - a / 2))``
  of the scores, valid whatever their distribution;
- with 3 to 18 runs, the prediction interval of a normal sample of the scores (log-normal
  errors): ``mean +- t(k - 1) * sd * sqrt(1 + 1 / k)``;
- with fewer than 3, none: the Monte Carlo interval stays.

``loo_coverage`` checks the calibration itself: each score against the interval the other
scores give.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..errors import OrchmilpWarning

__all__ = ["Calibration", "calibrate", "past_scores", "MIN_RUNS"]

#: past runs needed before the interval is calibrated
MIN_RUNS = 3


@dataclass(frozen=True)
class Calibration:
    """The scores ``log(actual / predicted)`` of past runs, each predicted without it."""

    scores: np.ndarray

    @property
    def runs(self) -> int:
        return len(self.scores)

    def method(self, level: float) -> str | None:
        k, a = self.runs, 1 - level
        if k >= math.ceil(2 / a - 1 - 1e-9):
            return "conformal"
        return "t" if k >= MIN_RUNS else None

    def factors(self, level: float, scores: np.ndarray | None = None) -> tuple[float, float] | None:
        """The interval as factors of the prediction, from ``scores`` (default: all)."""
        s = np.sort(self.scores if scores is None else scores)
        k, a = len(s), 1 - level
        if k >= math.ceil(2 / a - 1 - 1e-9):
            lo_rank = max(1, math.floor((k + 1) * a / 2))
            hi_rank = min(k, math.ceil((k + 1) * (1 - a / 2)))
            return math.exp(s[lo_rank - 1]), math.exp(s[hi_rank - 1])
        if k < MIN_RUNS:
            return None
        mean, sd = float(s.mean()), float(s.std(ddof=1))
        half = float(stats.t.ppf(1 - a / 2, k - 1)) * sd * math.sqrt(1 + 1 / k)
        return math.exp(mean - half), math.exp(mean + half)

    def interval(self, center: float, level: float) -> tuple[float, float] | None:
        f = self.factors(level)
        return None if f is None else (center * f[0], center * f[1])

    def loo_coverage(self, level: float) -> tuple[int, int]:
        """(inside, tried): each score against the interval the other scores give."""
        inside = tried = 0
        for i in range(self.runs):
            f = self.factors(level, np.delete(self.scores, i))
            if f is None:
                continue
            tried += 1
            inside += int(math.log(f[0]) <= self.scores[i] <= math.log(f[1]))
        return inside, tried


def past_scores(history, cases: Sequence, *, samples: int = 1000, time_limit: float = 1.0, seed: int = 0):
    """For each case (a past run and its workflow): hold it out, plan and predict it from the
    others; returns the calibrations against the model's p50 and against the plan's makespan."""
    from . import predict_plan
    from .backtest import hold_out

    model, plan = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OrchmilpWarning)  # a run that cannot be held out is left out
        for case in cases:
            held = hold_out(history, case, time_limit=time_limit, seed=seed)
            if held is None or held.actual <= 0:
                continue
            p50 = predict_plan(held.result, held.train, samples=samples, seed=seed, shrink=False).p50
            if p50 <= 0 or held.result.makespan <= 0:
                continue
            model.append(math.log(held.actual / p50))
            plan.append(math.log(held.actual / held.result.makespan))
    return Calibration(np.asarray(model)), Calibration(np.asarray(plan))


def calibrate(history, cases: Sequence, **options) -> Calibration:
    """The calibration against the model's p50 (see :func:`past_scores`)."""
    return past_scores(history, cases, **options)[0]
