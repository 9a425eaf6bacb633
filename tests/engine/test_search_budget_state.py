"""The time plan (search/budget.py) and the search state (search/state.py), tested directly."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

import orchmilp
from orchmilp.errors import SolverError
from orchmilp.search import Phases, SearchState
from orchmilp.search.budget import (
    PLAN,
    Outlook,
    Step,
    default_schedules,
    ga_share,
    milp_share,
    sat_share,
    seconds_for,
)
from orchmilp.search.state import plan_reserve

CHAIN = {"agents": [{"id": "a", "duration": 2}, {"id": "b", "duration": 3, "depends_on": ["a"]}]}
ONE_SLOT = {
    "resources": {"slot": 1},
    "agents": [{"id": i, "duration": d, "uses": {"slot": 1}} for i, d in (("a", 2), ("b", 3), ("c", 4))],
}


def test_every_step_of_the_plan_names_a_phase_object():
    names = set(Phases(orchmilp.SolveOptions()).by_name)
    assert {step.phase for step in PLAN} == names
    assert {step.phase for step in PLAN if step.first} <= set(Phases(orchmilp.SolveOptions(use_milp=False)).by_name)


def test_shares_follow_the_outlook():
    assert milp_share(Outlook()) == 1.0
    assert milp_share(Outlook(rounded_grid=True)) == 0.5  # a rounded-down MILP follows
    assert milp_share(Outlook(branch_and_bound_resumes=True)) == 0.5
    assert milp_share(Outlook(branch_and_bound_resumes=True, beside_milp=True)) == 1.0  # it runs beside
    assert ga_share(Outlook(exact_searchable=True)) == 0.5 and ga_share(Outlook()) == 1.0


def test_clause_learning_gets_more_time_on_long_grids_and_most_when_settling_a_cutoff():
    long_chain = {"agents": [{"id": f"a{k}", "duration": 100 + k} for k in range(4)]}
    for k in range(1, 4):
        long_chain["agents"][k]["depends_on"] = [f"a{k - 1}"]
    phases = Phases(orchmilp.SolveOptions())
    short = SearchState(orchmilp.load(ONE_SLOT), time_limit=10)
    short.offer_schedule(np.array([0.0, 2.0, 5.0]))  # 9 one-second steps
    starts = np.array([0.0, 100.0, 201.0, 303.0])  # 406 one-second steps
    long = SearchState(orchmilp.load(long_chain), time_limit=10)
    settling = SearchState(orchmilp.load(long_chain), time_limit=10, cutoff=500)
    for state in (long, settling):
        state.offer_schedule(starts)
    assert [sat_share(phases.outlook(s)) for s in (short, long, settling)] == [0.35, 0.6, 0.8]


def test_seconds_for_a_step_are_its_share_capped_and_never_negative():
    assert seconds_for(Step("sat", 0.35), Outlook(), 10) == pytest.approx(3.5)
    assert seconds_for(Step("branch and bound", 0.25, most=5.0), Outlook(), 100) == 5.0
    assert seconds_for(Step("milp", milp_share), Outlook(rounded_grid=True), 8) == 4
    assert seconds_for(Step("sat", 0.35), Outlook(), -1) == 0


def test_default_schedules_are_500_per_agent_within_their_range():
    assert [default_schedules(n) for n in (1, 30, 200)] == [5_000, 15_000, 50_000]


def test_the_reserve_grows_with_the_agents_and_stays_within_half_the_limit():
    assert plan_reserve(10, 30) == pytest.approx(0.5, abs=1e-3)
    assert plan_reserve(1000, 30) == pytest.approx(0.5 + 0.22)
    assert plan_reserve(20_000, 30) == 15


def test_the_state_keeps_only_improvements_and_rounds_bounds_to_the_step():
    state = SearchState(orchmilp.load(ONE_SLOT), time_limit=10)
    assert state.step == 1 and state.exact == 1
    state.offer_bound(8.2, "energy")
    assert state.lower_bound == 9 and state.bound_source == "energy"  # optima are sums of durations
    state.offer_bound(7, "weaker")
    assert state.bound_source == "energy"
    state.offer_schedule(np.array([0.0, 2.0, 5.0]))  # makespan 9: proven
    state.offer_schedule(np.array([0.0, 3.0, 6.0]))  # worse: not kept
    assert len(state.incumbents) == 1 and state.proven
    result = state.result()
    assert result.status.value == "optimal" and result.makespan == 9


def test_the_state_refuses_a_bound_above_its_plan():
    state = SearchState(orchmilp.load(CHAIN), time_limit=10)
    state.offer_schedule(np.array([0.0, 2.0]))
    state.offer_bound(6, "wrong")
    with pytest.raises(SolverError, match="exceeds makespan"):
        state.result()
    empty = SearchState(orchmilp.load(CHAIN), time_limit=10)
    with pytest.raises(SolverError, match="no schedule"):
        empty.result()


def test_the_state_clock_counts_from_when_the_solve_started():
    started = time.perf_counter() - 4
    state = SearchState(orchmilp.load(CHAIN), time_limit=5, started=started)
    assert state.elapsed() >= 4 and state.remaining() <= 1 - state.reserve + 1e-6


def test_no_exact_step_is_an_internal_error_not_a_wrong_answer():
    state = SearchState(orchmilp.load({"agents": [{"id": "a", "duration": math.pi}]}), time_limit=5)
    if state.step is None:
        with pytest.raises(SolverError):
            _ = state.exact
