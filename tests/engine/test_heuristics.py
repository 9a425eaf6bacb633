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
from tests.reference import parallel_scheme, reference_optimum
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
            parallel_sgs(prio, d, *_graph(problem), cum.usage, cum.capacity, latest, False),
            optimum,
        )
    check_schedule(
        workflow,
        problem,
        parallel_sgs(np.zeros(problem.n), d, *_graph(problem), cum.usage, cum.capacity, latest, True),
        optimum,
    )
    ga = genetic_algorithm(problem, schedules=300, population=10)
    check_schedule(workflow, problem, ga.start, optimum)
    assert ga.makespan == float(np.max(ga.start + d, initial=0))


def _graph(problem):
    """The dependencies and the dependants as CSR, as the kernels take them."""
    return problem.pred_ptr, problem.pred_idx, problem.succ_ptr, problem.succ_idx


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


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(contended=True, max_agents=8), st.integers(0, 2**31))
def test_the_parallel_scheme_is_the_plainly_written_one(workflow, seed):
    """The compiled scheme (a heap of finishes, the eligible agents kept between times, only
    the columns an agent uses) starts every agent when the plain one does, on every rule."""
    problem = orchmilp.load(workflow)
    d = problem.durations.astype(float)
    cum = problem.cumulative
    latest = d.sum() - tails(problem, d) - d
    preds = [problem.preds(j).tolist() for j in range(problem.n)]
    usage, capacity = cum.usage.tolist(), cum.capacity.tolist()
    prio = np.random.default_rng(seed).permutation(problem.n).astype(float)  # distinct: no ties in the rule
    for wcs in (False, True):
        start = parallel_sgs(prio, d, *_graph(problem), cum.usage, cum.capacity, latest, wcs)
        assert start.tolist() == parallel_scheme(prio, d.tolist(), preds, usage, capacity, latest.tolist(), wcs)


def test_the_parallel_scheme_stops_after_its_looks():
    problem = orchmilp.load(
        {
            "agents": [
                {"id": f"a{k}", "duration": 1 + k % 3, "depends_on": [f"a{k - 1}"] if k else []} for k in range(20)
            ]
        }
    )
    d, cum = problem.durations.astype(float), problem.cumulative
    args = (
        np.zeros(problem.n),
        d,
        *_graph(problem),
        cum.usage,
        cum.capacity,
        np.zeros(problem.n),
        False,
    )
    assert (parallel_sgs(*args) >= 0).all()
    stopped = parallel_sgs(*args, 5)  # a chain: one look per time
    assert (stopped >= 0).sum() == 5 and (stopped < 0).sum() == 15


def test_the_worst_case_slack_of_the_largest_user_looks_at_the_others_only():
    """``a`` takes 3 of 4 slots; beside ``b`` or ``c`` (1 each) it fits, so its worst case is
    now and ``b`` and ``c`` (less slack) go first; ``a`` then waits. Counting ``a`` against
    itself would start it first and keep ``c`` waiting."""
    problem = orchmilp.load(
        {
            "resources": {"slots": 4},
            "agents": [
                {"id": "a", "duration": 5, "uses": {"slots": 3}},
                {"id": "b", "duration": 1, "uses": {"slots": 1}},
                {"id": "c", "duration": 1, "uses": {"slots": 1}},
            ],
        }
    )
    d, cum = problem.durations.astype(float), problem.cumulative
    latest = np.array([10.0, 7.0, 8.0])
    start = parallel_sgs(np.zeros(3), d, *_graph(problem), cum.usage, cum.capacity, latest, True)
    assert start.tolist() == [1.0, 0.0, 0.0]
    preds = [[], [], []]
    assert parallel_scheme(
        [0.0] * 3, d.tolist(), preds, cum.usage.tolist(), cum.capacity.tolist(), latest.tolist(), True
    ) == [1, 0, 0]
