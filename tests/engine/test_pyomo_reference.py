"""The fast sparse builder agrees with the readable Pyomo model of models/:
same optimum and same LP relaxation value."""

from __future__ import annotations

import importlib.util

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, example, given, settings

import orchmilp
from orchmilp.compile.time_indexed import TimeIndexed
from orchmilp.solvers.highs import solve_mip
from tests.helpers import ROOT
from tests.strategies import workflows

_spec = importlib.util.spec_from_file_location("time_indexed_pyomo", ROOT / "models" / "time_indexed_pyomo.py")
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def _reference_solver():
    """HiGHS without presolve for the readable model: HiGHS 1.16.0's presolve returned a wrong
    optimum for it (9 where the schedule of makespan 6 is feasible, the example below), so the
    reference must not lean on it."""
    solver = pyo.SolverFactory("highs")
    solver.config.solver_options = {"presolve": "off"}
    return solver


def _compare(workflow, horizon=None):
    problem = orchmilp.load(workflow)
    p = problem.durations.astype(np.int64)
    horizon = int(p.sum()) + 3 if horizon is None else horizon
    fast = TimeIndexed(problem, p, horizon).build()
    readable = reference.build(problem, p, horizon)

    milp = solve_mip(fast, time_limit=60)
    _reference_solver().solve(readable)
    assert milp.objective == pytest.approx(pyo.value(readable.objective), abs=1e-6)

    lp = solve_mip(fast, time_limit=60, relax=True)
    pyo.TransformationFactory("core.relax_integer_vars").apply_to(readable)
    _reference_solver().solve(readable)
    assert lp.objective == pytest.approx(pyo.value(readable.objective), abs=1e-6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6, max_duration=4))
@example(
    {
        "name": "random",
        "resources": {"r0": 1},
        "agents": [
            {"id": "t0", "duration": 2, "writes": ["b/x.py"]},
            {"id": "t1", "duration": 1, "depends_on": ["t0"], "reads": ["b/"]},
            {"id": "t2", "duration": 1, "writes": ["b/x.py"]},
            {"id": "t3", "duration": 2, "depends_on": ["t0", "t1", "t2"]},
        ],
    }
)
def test_same_optimum_and_lp_value_on_random_workflows(workflow):
    _compare(workflow)


def test_same_optimum_and_lp_value_on_the_code_review_example():
    workflow = json_load(ROOT / "instances" / "examples" / "code-review.json")
    # a horizon a little above the optimum keeps the Pyomo model small
    _compare(workflow, horizon=int(orchmilp.solve(workflow).makespan) + 10)


def json_load(path):
    import json

    return json.loads(path.read_text())
