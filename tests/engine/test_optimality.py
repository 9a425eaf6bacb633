"""The MILP optimum equals a brute-force optimum on random small workflows."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

import orchmilp
from tests.helpers import assert_valid_plan
from tests.reference import reference_optimum
from tests.strategies import workflows


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows())
def test_milp_matches_enumeration_of_all_orders(workflow):
    result = orchmilp.solve(workflow, time_limit=60)
    optimum = reference_optimum(workflow)
    plan = result.to_dict()
    assert_valid_plan(workflow, plan, optimum=optimum)
    assert result.status.value == "optimal"
    assert result.makespan == optimum


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_heuristic_only_gives_a_valid_plan_and_a_valid_bound(workflow):
    result = orchmilp.solve(workflow, use_milp=False)
    optimum = reference_optimum(workflow)
    assert_valid_plan(workflow, result.to_dict(), optimum=optimum)
    assert result.lower_bound <= optimum <= result.makespan
