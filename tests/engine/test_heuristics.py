"""Schedule generation schemes, priority rules and the genetic algorithm produce
feasible schedules (checked independently) and never beat the optimum."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orchmilp
from orchmilp.bounds.critical_path import tails
from orchmilp.heuristics.ga import genetic_algorithm
from orchmilp.heuristics.rules import RULES
from orchmilp.heuristics.sgs import _serial_dense, _serial_sparse, parallel_sgs, priority_list, serial_sgs
from orchmilp.result import Result, Status
from orchmilp.schedule.build import build_plan
from tests.helpers import assert_valid_plan
from tests.reference import reference_optimum
from tests.strategies import workflows


def check_schedule(workflow, problem, start, optimum):
    plan = build_plan(problem, np.asarray(start, float))
    result = Result(
        problem,
        Status.FEASIBLE,
        plan.makespan(problem.durations),
        0.0,
        plan.start,
        plan.waits_for,
        plan.critical_path,
        0.0,
    )
    assert_valid_plan(workflow, result.to_dict(), samples=5, optimum=optimum)
    assert float(np.max(np.asarray(start) + problem.durations, initial=0)) >= optimum - 1e-9


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(contended=True, integral=False, max_agents=7))
def test_every_rule_and_scheme_gives_a_feasible_schedule(workflow):
    problem = orchmilp.load(workflow)
    d = problem.durations
    cum = problem.cumulative
    optimum = (
        reference_optimum(
            {**workflow, "agents": [{**a, "duration": round(a["duration"] * 20)} for a in workflow["agents"]]}
        )
        / 20
    )
    latest = d.sum() - tails(problem, d) - d
    for rule in RULES.values():
        prio = rule(problem, d)
        order = priority_list(prio, problem.pred_ptr, problem.pred_idx, problem.succ_ptr, problem.succ_idx)
        check_schedule(
            workflow,
            problem,
            serial_sgs(order, d, problem.pred_ptr, problem.pred_idx, cum.usage, cum.capacity),
            optimum,
        )
        check_schedule(
            workflow,
            problem,
            parallel_sgs(prio, d, problem.pred_ptr, problem.pred_idx, cum.usage, cum.capacity, latest, False),
            optimum,
        )
    check_schedule(
        workflow,
        problem,
        parallel_sgs(np.zeros(problem.n), d, problem.pred_ptr, problem.pred_idx, cum.usage, cum.capacity, latest, True),
        optimum,
    )
    ga = genetic_algorithm(problem, schedules=300, population=10)
    check_schedule(workflow, problem, ga.start, optimum)
    assert ga.makespan == float(np.max(ga.start + d, initial=0))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(contended=True, integral=False, max_agents=7), st.integers(0, 2**31))
def test_the_serial_scheme_on_the_columns_each_agent_uses_is_the_same_schedule(workflow, seed):
    """From 32 columns on (many file locks) the serial scheme looks only at the columns an
    agent uses; on any workflow and activity list its schedule is the dense one's, and valid."""
    problem = orchmilp.load(workflow)
    d, cum = problem.durations, problem.cumulative
    optimum = (
        reference_optimum(
            {**workflow, "agents": [{**a, "duration": round(a["duration"] * 20)} for a in workflow["agents"]]}
        )
        / 20
    )
    rng = np.random.default_rng(seed)
    for _ in range(3):
        order = priority_list(
            rng.uniform(0, 1, problem.n), problem.pred_ptr, problem.pred_idx, problem.succ_ptr, problem.succ_idx
        )
        args = (order, d, problem.pred_ptr, problem.pred_idx, cum.usage, cum.capacity)
        sparse = _serial_sparse(*args)
        assert np.array_equal(sparse, _serial_dense(*args))
        check_schedule(workflow, problem, sparse, optimum)
