"""The library call: orchmilp.load and orchmilp.solve on every kind of source."""

from __future__ import annotations

import csv

import pytest

import orchmilp
from orchmilp.io.workflow import instance_from_dict, problem_to_workflow
from tests.helpers import ROOT, assert_valid_plan, example_params, read_json
from tests.reference import reference_optimum

PSPLIB = ROOT / "instances" / "psplib"
OPTIMA = {
    r["instance"]: float(r["ub"]) for r in csv.DictReader(open(PSPLIB / "best_known.csv")) if r["optimal"] == "true"
}


@pytest.mark.parametrize("example", example_params())
def test_examples_are_proven_optimal(example):
    workflow = read_json(example)
    result = orchmilp.solve(example, time_limit=120)
    assert result.status is orchmilp.Status.OPTIMAL
    assert result.lower_bound == result.makespan and result.gap == 0
    assert_valid_plan(workflow, result.to_dict(), samples=50)


def test_code_review_optimum_matches_brute_force():
    workflow = read_json(ROOT / "instances" / "examples" / "code-review.json")
    assert orchmilp.solve(workflow).makespan == reference_optimum(workflow)


def test_every_source_kind_gives_the_same_plan(two_on_one_slot, tmp_path):
    path = tmp_path / "w.json"
    path.write_text(__import__("json").dumps(two_on_one_slot))
    sources = [two_on_one_slot, path, str(path), instance_from_dict(two_on_one_slot), orchmilp.load(two_on_one_slot)]
    plans = [orchmilp.solve(s).to_dict() for s in sources]
    for plan in plans:
        assert_valid_plan(two_on_one_slot, plan)
        assert plan["makespan"] == 5 and plan["status"] == "optimal"


def test_result_fields_and_plan_format(two_on_one_slot):
    result = orchmilp.solve(two_on_one_slot)
    plan = result.to_dict()
    assert plan["status"] == "optimal" and plan["gap"] == 0.0
    assert [e["id"] for e in plan["schedule"]] == ["a", "b"]
    assert plan["groups"][0]["start"] == 0
    assert len(result.critical_path) == 2
    assert result.summary().startswith("optimal: makespan 5 s")
    assert "critical path: " in str(result)
    assert isinstance(plan["makespan"], int)


def test_time_limit_gives_a_feasible_plan_with_an_honest_gap():
    """j30 13_1 is hard for the MILP: one second is not enough to prove it."""
    path = PSPLIB / "j30" / "j3013_1.sm"
    result = orchmilp.solve(path, time_limit=1.0)
    optimum = OPTIMA["j3013_1"]
    assert result.status is orchmilp.Status.FEASIBLE
    assert 0 < result.gap < 1
    assert_valid_plan(problem_to_workflow(result.problem), result.to_dict(), optimum=optimum)


@pytest.mark.parametrize("name", ["j301_1", "j3033_1", "j3017_1"])
def test_psplib_instances_reach_the_known_optimum(name):
    result = orchmilp.solve(PSPLIB / "j30" / f"{name}.sm", time_limit=60)
    assert result.status is orchmilp.Status.OPTIMAL
    assert result.makespan == OPTIMA[name]
    assert_valid_plan(problem_to_workflow(result.problem), result.to_dict(), optimum=OPTIMA[name])


@pytest.mark.parametrize("name", ["j3014_2", "j3041_5"])
def test_tightly_constrained_instances_are_proven_before_the_milp(name):
    """Instances where HiGHS stays at its root for the whole limit (issue 3): the searches
    before it (clause learning, branch and bound, propagation) prove them."""
    result = orchmilp.solve(PSPLIB / "j30" / f"{name}.sm", time_limit=60, use_milp=False)
    assert result.status is orchmilp.Status.OPTIMAL and result.makespan == OPTIMA[name]
    assert result.bound_source in ("sat (clause learning)", "branch and bound", "propagation")
    assert_valid_plan(problem_to_workflow(result.problem), result.to_dict(), optimum=OPTIMA[name])


def test_patterson_file_loads_and_solves():
    result = orchmilp.solve(PSPLIB / "patterson" / "pat1.rcp", time_limit=60)
    optimum = {r["problem"]: float(r["optimum"]) for r in csv.DictReader(open(PSPLIB / "patterson" / "optimum.csv"))}[
        "pat1.rcp"
    ]
    assert result.makespan == optimum and result.status is orchmilp.Status.OPTIMAL
    assert_valid_plan(problem_to_workflow(result.problem), result.to_dict(), optimum=optimum)
