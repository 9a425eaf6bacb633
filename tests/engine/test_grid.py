"""The time grid: exact steps for fractional durations, rounded grids that stay
feasible in the real durations with a lower bound that stays valid."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import orchmilp
from orchmilp.compile.grid import Grid, choose_grid, estimated_binaries, exact_step, window_slack
from orchmilp.compile.time_indexed import TimeIndexed
from orchmilp.result import Result, Status
from orchmilp.schedule.build import build_plan
from orchmilp.solvers.base import integral_bound
from orchmilp.solvers.highs import solve_mip
from tests.helpers import assert_valid_plan
from tests.reference import reference_optimum
from tests.strategies import workflows


def scaled(workflow, factor):
    out = copy.deepcopy(workflow)
    for agent in out["agents"]:
        agent["duration"] = round(agent["duration"] * factor)
    return out


def test_exact_step_of_fractions():
    assert exact_step(np.array([12.5, 30.0, 0.0])) == 2.5
    assert exact_step(np.array([0.1, 0.25])) == 0.05
    assert exact_step(np.array([0.0])) is None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=5, integral=False))
def test_fractional_durations_are_solved_exactly(workflow):
    result = orchmilp.solve(workflow, time_limit=60)
    optimum = reference_optimum(scaled(workflow, 20)) / 20
    assert_valid_plan(workflow, result.to_dict(), optimum=optimum)
    assert result.status.value == "optimal"
    assert result.makespan == pytest.approx(optimum)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6, max_duration=9))
def test_a_coarse_grid_keeps_plans_feasible_and_bounds_valid(workflow):
    result = orchmilp.solve(workflow, resolution=4, time_limit=60)
    optimum = reference_optimum(workflow)
    assert_valid_plan(workflow, result.to_dict(), optimum=optimum)
    assert result.lower_bound <= optimum <= result.makespan


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6, max_duration=9, contended=True))
def test_rounded_grids_bracket_the_real_optimum(workflow):
    """Rounded-up grid: its plans are feasible for the real durations. Rounded-down
    grid: its optimum times the step is a lower bound on the real optimum."""
    problem = orchmilp.load(workflow)
    grid = Grid.of(problem.durations, 4.0, exact_step(problem.durations))
    optimum = reference_optimum(workflow)

    up = TimeIndexed(problem, grid.up, int(grid.up.sum()))
    out = solve_mip(up.build(), time_limit=60)
    start, _ = up.decode(out.x)
    plan = build_plan(problem, start * grid.step, grid.up * grid.step)
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
    assert_valid_plan(workflow, result.to_dict(), optimum=optimum)

    down = TimeIndexed(problem, grid.down, int(grid.down.sum()))
    bound = integral_bound(solve_mip(down.build(), time_limit=60).bound) * grid.step
    assert bound <= optimum


def long_workflow(n=60, seed=1):
    """Second-level durations over a horizon of about 1,500 s."""
    rng = random.Random(seed)
    agents = []
    for j in range(n):
        deps = [f"a{i}" for i in range(max(0, j - 8), j) if rng.random() < 0.15]
        agents.append(
            {
                "id": f"a{j}",
                "duration": rng.randint(20, 180),
                "depends_on": deps,
                "uses": {"slots": 1, "memory_gb": rng.choice([1, 2, 4])},
            }
        )
    return {"resources": {"slots": 6, "memory_gb": 10}, "agents": agents}


def test_automatic_grid_respects_the_binary_budget():
    problem = orchmilp.load(long_workflow())
    grid = choose_grid(problem, horizon=1500.0, max_binaries=4000)
    assert estimated_binaries(problem, 1500.0, grid.step) <= 4000
    assert grid.step > 1


@pytest.mark.parametrize("max_binaries", [100, 300, 1000, 4000, 20000])
def test_automatic_grid_is_the_finest_within_the_binary_budget(max_binaries):
    """The finest multiple of the base step within the budget (found by bisection: a walk
    one step at a time took 3 s at 2,000 agents)."""
    problem = orchmilp.load(long_workflow())
    grid = choose_grid(problem, horizon=1500.0, max_binaries=max_binaries)
    assert estimated_binaries(problem, 1500.0, grid.step) <= max_binaries
    if grid.step > 1:
        assert estimated_binaries(problem, 1500.0, grid.step - 1) > max_binaries


def test_automatic_grid_ends_when_no_grid_fits_the_budget():
    """Every agent needs a binary: below the agents' number no step fits, and the choice
    still ends (it once looped forever), at a step wider than every window."""
    problem = orchmilp.load(long_workflow())
    grid = choose_grid(problem, horizon=1500.0, max_binaries=problem.n // 2)
    assert grid.step > np.max(window_slack(problem, 1500.0))


def test_long_workflow_plan_is_valid_on_a_rounded_grid():
    workflow = long_workflow()
    result = orchmilp.solve(workflow, time_limit=5, max_binaries=3000)
    assert_valid_plan(workflow, result.to_dict(), samples=10)
    assert result.lower_bound <= result.makespan
