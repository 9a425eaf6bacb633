"""The MILP optimum equals a brute-force optimum on random small workflows."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orchmilp
from orchmilp.io.workflow import problem_to_workflow
from orchmilp.options import SolveOptions
from orchmilp.search import run_search
from tests.helpers import assert_valid_plan
from tests.reference import reference_optimum
from tests.strategies import workflows

ROOT = Path(__file__).resolve().parents[2]


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


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6, contended=True), st.integers(-2, 2))
def test_a_search_with_a_cutoff_finds_a_shorter_plan_or_proves_there_is_none(workflow, offset):
    """Model choice settles a choice against another's plan with a cutoff: the search may stop
    once no plan is shorter than the cutoff, but its bound must stay valid, and below an
    optimum shorter than the cutoff it must still find that optimum."""
    optimum = reference_optimum(workflow)
    cutoff = optimum + offset
    result = run_search(orchmilp.load(workflow), SolveOptions(time_limit=10), cutoff=cutoff)
    assert_valid_plan(workflow, result.to_dict(), optimum=optimum)
    assert result.lower_bound <= optimum <= result.makespan
    if cutoff > optimum:
        assert result.makespan == optimum and result.status.value == "optimal"
    else:
        assert result.lower_bound >= cutoff


def test_a_cutoff_below_a_simple_bound_ends_the_search_after_the_first_plan():
    """Energy bound 611, shortest plan known 612: without a cutoff the search goes on; a
    cutoff of 500 is settled by the simple bounds, and only the first plan is made."""
    problem = orchmilp.load(ROOT / "instances" / "sat" / "llm-20-second-grid.json")
    result = run_search(problem, SolveOptions(time_limit=30), cutoff=500)
    assert [phase for phase, _ in result.statistics.phases] == ["bounds", "priority rules"]
    assert result.lower_bound >= 500
    workflow = problem_to_workflow(problem)
    assert_valid_plan(workflow, result.to_dict())
