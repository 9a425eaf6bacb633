"""The SAT refutation (orchmilp.exact.sat): every answer checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import orchmilp
from orchmilp.bounds.propagation import Propagator
from orchmilp.check import check_plan
from orchmilp.exact import sat
from orchmilp.exact.probe import FEASIBLE, INFEASIBLE
from orchmilp.search.phases import feasible_schedule
from tests.helpers import ROOT
from tests.reference import reference_optimum
from tests.strategies import workflows

pytestmark = pytest.mark.skipif(not sat.available(), reason="python-sat with pindakaas is not installed")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=7, max_duration=5, contended=True))
def test_every_refutation_is_right_and_every_schedule_valid(workflow):
    """No schedule of makespan <= T exists exactly when the prover says so, for T around the optimum."""
    problem = orchmilp.load(workflow)
    optimum = reference_optimum(workflow)
    p = problem.durations.astype(np.int64)
    top = optimum + 1
    propagator = Propagator(problem, p)
    windows = propagator(top)
    assert windows.feasible
    pairs = np.stack([propagator.pair_a, propagator.pair_b], axis=1)
    prover = sat.SatProver(problem, p, windows.es, windows.lf, top, pairs=pairs)
    try:
        for horizon in range(max(0, optimum - 3), top + 1):
            result = prover.probe(horizon, 30)
            if horizon < optimum:
                assert result.status == INFEASIBLE, (horizon, optimum)
            else:
                assert result.status == FEASIBLE, (horizon, optimum)
                start = result.start.astype(float)
                assert feasible_schedule(problem, start) and np.max(start + problem.durations, initial=0) <= horizon
    finally:
        prover.close()


@pytest.mark.parametrize("name, optimum", [("j605_1", 76), ("j6021_1", 103), ("j6037_1", 97)])
def test_solve_proves_moderate_j60_instances(name, optimum):
    """Instances the searches without learning left open at 60 s (bench/results/j60-peer.csv)."""
    path = ROOT / "instances" / "psplib" / "j60" / f"{name}.sm"
    result = orchmilp.solve(path, time_limit=30)
    assert result.status.value == "optimal" and result.makespan == optimum
    assert result.bound_source == "sat (clause learning)"
    assert check_plan(orchmilp.load_as_written(path)[1], result.to_dict(), optimum=optimum) == []


def test_large_weights_are_left_to_the_milp_and_the_build_stops_on_its_deadline():
    heavy = orchmilp.load(
        {
            "resources": {"tokens": 150_000},
            "agents": [{"id": f"a{i}", "duration": 3, "uses": {"tokens": 20_000 + 7 * i}} for i in range(9)],
        }
    )
    assert not sat.small_weights(heavy)
    divisible = orchmilp.load(
        {
            "resources": {"tokens": 150_000},
            "agents": [{"id": f"a{i}", "duration": 3, "uses": {"tokens": 20_000}} for i in range(9)],
        }
    )
    assert sat.small_weights(divisible)  # 150000 and 20000 share 10000: weights 2 of 15
    p = divisible.durations.astype(np.int64)
    windows = Propagator(divisible, p)(27)
    with pytest.raises(sat.BuildTimeout):
        sat.SatProver(divisible, p, windows.es, windows.lf, 27, deadline=0.0)
    workflow = {
        "resources": {"tokens": 150_000},
        "agents": [{"id": f"a{i}", "duration": 3, "uses": {"tokens": 20_000}} for i in range(9)],
    }
    result = orchmilp.solve(workflow, time_limit=10)
    assert check_plan(workflow, result.to_dict()) == []
    assert result.makespan == 6 and result.status.value == "optimal"  # 7 at once, then 2: two waves of 3


def test_a_stop_signal_ends_a_long_sat_search_at_once():
    """Python handles signals only between bytecodes of the main thread, never inside the
    solver's C search: the search runs in a helper thread (signals.run_interruptible), so that
    Ctrl-C stops a probe at once instead of after its time."""
    import os
    import signal
    import threading
    import time

    from pysat.examples.genhard import PHP
    from pysat.solvers import Solver

    from orchmilp.signals import run_interruptible

    solver = Solver(name=sat.SOLVER, bootstrap_with=PHP(11).clauses)  # pigeonhole: minutes for Glucose
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    try:
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            run_interruptible(lambda: solver.solve_limited(expect_interrupt=True), solver.interrupt, 120)
        assert time.monotonic() - started < 10
        solver.clear_interrupt()
        assert run_interruptible(lambda: solver.solve_limited(expect_interrupt=True), solver.interrupt, 0.3) is None
        assert time.monotonic() - started < 15  # the time limit holds too
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
        solver.delete()


def test_a_question_asked_in_chunks_ends_on_time_and_on_a_stop_signal():
    """sat.solve_in_chunks asks CaDiCaL in calls of a conflict budget: a hard question ends
    when its time is up (Glucose looked at its interrupt up to 3.6 s late on model choice
    grids), Ctrl-C ends it between two calls, and the answers are those of the solver."""
    import os
    import signal
    import threading
    import time

    from pysat.examples.genhard import PHP
    from pysat.solvers import Solver

    solver = Solver(name=sat.CHUNKED_SOLVER, bootstrap_with=PHP(11).clauses)  # pigeonhole: minutes
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    try:
        for seconds in (0.3, 1.0):
            started = time.monotonic()
            assert sat.solve_in_chunks(solver, [], seconds) == (None, set())
            assert time.monotonic() - started < seconds + 0.5
        started = time.monotonic()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            sat.solve_in_chunks(solver, [], 120)
        assert time.monotonic() - started < 3
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
        solver.delete()
    small = Solver(name=sat.CHUNKED_SOLVER, bootstrap_with=[[1, 2], [-1, 2], [-2, 3]])
    try:
        assert sat.solve_in_chunks(small, [-3], 1.0) == (False, set())
        answer, true = sat.solve_in_chunks(small, [1], 1.0)
        assert answer is True and {1, 2, 3} <= true
    finally:
        small.delete()


def test_a_probe_on_a_long_grid_returns_within_its_time():
    """Glucose looks at an interrupt only when it restarts, and on long grids it restarts
    seldom: on this 20-agent workflow timed to the second (611 steps) a probe given 0.5 s
    returned after 21 s. Long grids are asked of CaDiCaL in calls of a conflict budget
    (sat.solve_in_chunks), which stops on time."""
    import time

    from orchmilp.bounds.propagation import propagate

    problem = orchmilp.load(ROOT / "instances" / "sat" / "llm-20-second-grid.json")
    p = np.round(problem.durations).astype(np.int64)
    horizon = 611  # the energy bound; the shortest plan known is 612 steps long
    windows = propagate(problem, p, horizon)
    prover = sat.SatProver(problem, p, windows.es, windows.lf, horizon)
    try:
        for seconds in (0.5, 0.2):
            started = time.monotonic()
            answer = prover.probe(horizon, seconds)
            assert time.monotonic() - started < seconds + 2.0, answer.status
    finally:
        prover.close()


def test_a_long_grid_question_asked_in_chunks_gives_plans_and_proofs():
    """On a grid of more than LONG_GRID_STEPS steps the answers come from CaDiCaL asked in
    calls of a conflict budget: a plan of the optimal length (checked) and a proof that
    nothing is shorter."""
    from orchmilp.bounds.propagation import propagate
    from orchmilp.search.modes import result_of_schedule

    workflow = {
        "name": "long-grid",
        "resources": {"slot": 2},
        "agents": [
            {"id": "a", "duration": 200, "uses": {"slot": 1}},
            {"id": "b", "duration": 150, "uses": {"slot": 1}},
            {"id": "c", "duration": 170, "uses": {"slot": 1}, "depends_on": ["b"]},
            {"id": "d", "duration": 130, "uses": {"slot": 2}},
        ],
    }
    problem = orchmilp.load(workflow)
    p = np.round(problem.durations).astype(np.int64)
    horizon = 450  # d alone (130), then a beside b -> c (150 + 170); or the other way round
    assert horizon > sat.LONG_GRID_STEPS
    windows = propagate(problem, p, horizon)
    prover = sat.SatProver(problem, p, windows.es, windows.lf, horizon)
    assert prover.chunked
    try:
        found = prover.probe(horizon, 30)
        assert found.status == FEASIBLE and found.start is not None
        plan = result_of_schedule(problem, found.start.astype(float), 0.0)
        assert check_plan(workflow, plan.to_dict(), samples=0) == [] and plan.makespan == horizon
        assert prover.probe(horizon - 1, 30).status == INFEASIBLE
    finally:
        prover.close()
