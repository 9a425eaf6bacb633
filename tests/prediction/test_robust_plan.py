"""The p90-robust plan choice (prediction/robust.py), tested directly."""

from __future__ import annotations

import numpy as np

import orchmilp
from orchmilp.prediction import forecasts_for
from orchmilp.prediction.robust import robust_plan, robust_result
from orchmilp.prediction.simulate import makespans, sample_durations
from tests.helpers import assert_valid_plan

# two agents share one slot; "risky" is short but may take five times as long. Any order is
# optimal for the planned durations; the robust choice runs the risky one first.
WORKFLOW = {
    "resources": {"slot": 1},
    "agents": [
        {"id": "steady", "duration": 10, "duration_range": [9, 11], "uses": {"slot": 1}},
        {"id": "risky", "duration": 10, "duration_range": [5, 50], "uses": {"slot": 1}},
        {"id": "after-steady", "duration": 10, "depends_on": ["steady"], "duration_range": [9, 11]},
    ],
}


def test_the_robust_plan_is_no_worse_at_the_p90_and_within_the_slack():
    result = orchmilp.solve(WORKFLOW, time_limit=5)
    forecasts = forecasts_for(result.problem, None)[0]
    choice = robust_plan(result, forecasts, candidates=60, seed=0)
    assert choice.p90 <= choice.optimum_p90 + 1e-9
    assert choice.makespan <= result.makespan * 1.05 + 1e-9
    robust = robust_result(result, choice)
    assert_valid_plan(WORKFLOW, robust.to_dict())
    # the p90 it claims is the p90 of its own policy, on fresh draws
    draws = sample_durations(forecasts, 4000, np.random.default_rng(7))
    p90 = float(np.quantile(makespans(robust.waits_for, draws), 0.9))
    assert abs(p90 - choice.p90) < 0.05 * choice.p90


def test_the_optimum_is_kept_when_no_other_plan_is_better():
    chain = {"agents": [{"id": "a", "duration": 2}, {"id": "b", "duration": 3, "depends_on": ["a"]}]}
    result = orchmilp.solve(chain)
    choice = robust_plan(result, forecasts_for(result.problem, None)[0])
    assert robust_result(result, choice) is result and choice.candidates == 1
