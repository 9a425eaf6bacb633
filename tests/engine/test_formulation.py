"""The time-indexed formulation on its own: solved from a trivial horizon, it
finds the brute-force optimum, and its plan passes the checker."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings

import orchmilp
from orchmilp.compile.time_indexed import TimeIndexed
from orchmilp.result import Result, Status
from orchmilp.schedule.build import build_plan
from orchmilp.solvers.base import integral_bound
from orchmilp.solvers.highs import solve_mip
from tests.helpers import assert_valid_plan
from tests.reference import reference_optimum
from tests.strategies import workflows


def _solve_from_scratch(workflow):
    problem = orchmilp.load(workflow)
    p = problem.durations.astype(np.int64)
    model = TimeIndexed(problem, p, int(p.sum()))
    out = solve_mip(model.build(), time_limit=60)
    assert out.x is not None
    start, makespan = model.decode(out.x)
    plan = build_plan(problem, start.astype(float))
    result = Result(
        problem=problem,
        status=Status.OPTIMAL,
        makespan=plan.makespan(problem.durations),
        lower_bound=integral_bound(out.bound),
        start=plan.start,
        waits_for=plan.waits_for,
        critical_path_index=plan.critical_path,
        solve_seconds=out.seconds,
    )
    return result, makespan


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows())
def test_time_indexed_model_reaches_the_brute_force_optimum(workflow):
    result, makespan = _solve_from_scratch(workflow)
    optimum = reference_optimum(workflow)
    assert makespan == optimum
    assert result.lower_bound == optimum
    assert_valid_plan(workflow, result.to_dict(), optimum=optimum)


def test_encode_decode_round_trip():
    problem = orchmilp.load(
        {
            "resources": {"cpu": 2},
            "agents": [
                {"id": "a", "duration": 3, "uses": {"cpu": 1}},
                {"id": "b", "duration": 2, "uses": {"cpu": 2}, "depends_on": ["a"]},
                {"id": "c", "duration": 4, "uses": {"cpu": 1}},
            ],
        }
    )
    model = TimeIndexed(problem, np.array([3, 2, 4]), 9)
    start = np.array([0, 4, 0])
    x = model.encode(start)
    decoded, makespan = model.decode(x)
    assert decoded.tolist() == start.tolist()
    assert makespan == 6
    built = model.build()
    assert np.all(built.matrix @ x <= built.row_upper + 1e-9)
