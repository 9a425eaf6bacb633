"""The clause-learning encoding of model choice (exact/mode_sat.py) against brute force over
every choice of modes: "no" below the optimum (a refutation is a proof), "yes" at it, with a
choice of modes and start times that the independent checker accepts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import orchmilp
from orchmilp.check import check_plan
from orchmilp.compile.grid import exact_step
from orchmilp.exact import sat
from orchmilp.exact.mode_sat import ModeSatProver, encodable
from orchmilp.exact.probe import FEASIBLE, INFEASIBLE
from orchmilp.io.modes import mode_table
from orchmilp.search.modes import result_of_schedule
from orchmilp.statuses import SolveStatus
from tests.reference import mode_brute_force
from tests.strategies import mode_workflows

pytestmark = pytest.mark.skipif(not sat.available(), reason="needs python-sat")


def _plan(workflow: dict, table, choice: tuple[int, ...], start: np.ndarray, step: float) -> dict:
    """The plan format of a choice and its grid start times, to hand to the checker."""
    result = result_of_schedule(orchmilp.load(table.apply(workflow, choice)), start * step, 0.0)
    result = dataclasses.replace(
        result, lower_bound=result.makespan, status=SolveStatus.OPTIMAL, modes=table.named(choice)
    )
    return dataclasses.replace(result, consumes=table.consumption(choice), budgets=table.budgets).to_dict()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows(max_agents=6))
def test_the_encoding_refutes_below_the_optimum_and_finds_a_checked_plan_at_it(workflow):
    optimum = mode_brute_force(workflow)
    if optimum is None or optimum == 0:
        return
    table, problem = mode_table(workflow), orchmilp.load(workflow)
    step = exact_step(np.array([m.duration for modes in table.modes for m in modes]))
    assert step is not None and encodable(table, problem, step)
    horizon = int(round(sum(max(m.duration for m in modes) for modes in table.modes) / step))
    prover = ModeSatProver(table, problem, step, horizon)
    try:
        below, _ = prover.probe(int(round(optimum / step)) - 1, 30)
        assert below.status == INFEASIBLE
        at, choice = prover.probe(int(round(optimum / step)), 30)
        assert at.status == FEASIBLE and choice is not None
        plan = _plan(workflow, table, choice, at.start, step)
        assert plan["makespan"] <= optimum + 1e-9
        assert check_plan(workflow, plan, samples=0) == []  # the optimum: below is refuted
    finally:
        prover.close()


def test_a_solve_proves_its_model_choice_by_clause_learning():
    """A PSPLIB-like multi-mode workflow (whole-number durations and amounts) is proven by the
    clause-learning phase; without SAT the same plan length is not proven in the same time."""
    import json
    from pathlib import Path

    workflow = json.loads((Path(__file__).parents[2] / "instances" / "modes" / "mm-j20-1.json").read_text())
    result = orchmilp.solve(workflow, time_limit=10, threads=1)
    assert check_plan(workflow, result.to_dict(), samples=0) == []
    assert result.status.value == "optimal" and result.bound_source == "sat over modes (clause learning)"
    without = orchmilp.solve(workflow, time_limit=3, threads=1, use_sat=False)
    assert check_plan(workflow, without.to_dict(), samples=0) == []
    assert without.makespan >= result.makespan and without.lower_bound < result.makespan
