"""Wave plans (search/waves.py): against brute force, on the examples, against the stages,
and the checker's view of them."""

from __future__ import annotations

import copy
import importlib
import itertools
import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import orchmilp
from orchmilp.bounds.wave_lp import wave_lp_bound
from orchmilp.check import check_plan
from orchmilp.engine import load
from orchmilp.errors import InvalidOptions
from orchmilp.search import waves as waves_search
from orchmilp.search.wave_prefix import prefix_search, wave_bound
from orchmilp.search.waves import WavePlan, feasible, reoptimize_windows, ruin_and_recreate
from orchmilp.services import PlanRequest, plan
from tests.helpers import ROOT, assert_valid_plan, read_json
from tests.strategies import workflows

EXAMPLES = ROOT / "instances" / "examples"


def _ordered_partitions(items):
    """Every sequence of non-empty disjoint sets covering ``items`` (ordered set partitions)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for part in _ordered_partitions(rest):
        for k in range(len(part)):  # into an existing wave
            yield part[:k] + [part[k] + [first]] + part[k + 1 :]
        for k in range(len(part) + 1):  # as a wave of its own, anywhere
            yield part[:k] + [[first]] + part[k:]


def _clash(a: dict, b: dict) -> bool:
    """Two agents as written clash on a file: one writes what the other reads or writes (a
    path ending in / holds what lies below it)."""

    def hit(p, q):
        return p == q or (p.endswith("/") and q.startswith(p)) or (q.endswith("/") and p.startswith(q))

    wa, wb = a.get("writes", []), b.get("writes", [])
    ra, rb = a.get("reads", []), b.get("reads", [])
    return any(hit(p, q) for p in wa for q in wb + rb) or any(hit(p, q) for p in wb for q in ra)


def _brute_force(workflow) -> float:
    """The shortest wave plan by enumeration, from the workflow as written (no orchmilp code)."""
    agents = workflow["agents"]
    ids = [a["id"] for a in agents]
    by_id = {a["id"]: a for a in agents}
    caps = workflow.get("resources", {})

    best = float("inf")
    for waves in _ordered_partitions(ids):
        where = {a: k for k, w in enumerate(waves) for a in w}
        if any(where[d] >= where[a["id"]] for a in agents for d in a.get("depends_on", [])):
            continue
        if any(sum(by_id[a].get("uses", {}).get(r, 0) for a in w) > c for w in waves for r, c in caps.items()):
            continue
        if any(_clash(by_id[a], by_id[b]) for w in waves for a, b in itertools.combinations(w, 2)):
            continue
        best = min(best, sum(max(by_id[a]["duration"] for a in w) for w in waves))
    return best


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_waves_match_brute_force(workflow):
    result = orchmilp.solve(workflow, time_limit=10, dispatch="waves")
    assert_valid_plan(workflow, result.to_dict())
    optimum = _brute_force(workflow)
    assert result.lower_bound <= optimum + 1e-9 <= result.makespan + 1e-9
    assert result.status.value == "optimal" and result.makespan == pytest.approx(optimum)


@pytest.mark.parametrize("name", ["code-review", "refactor", "validate-test-deploy"])
def test_the_examples_get_proven_wave_plans_no_shorter_than_the_event_driven_optimum(name):
    workflow = read_json(EXAMPLES / f"{name}.json")
    waves = orchmilp.solve(workflow, time_limit=20, dispatch="waves")
    events = orchmilp.solve(workflow, time_limit=20)
    assert_valid_plan(workflow, waves.to_dict())
    assert waves.status.value == "optimal"
    assert waves.makespan >= events.lower_bound - 1e-9  # a wave plan is an event-driven plan too


def test_a_wave_plan_is_never_slower_than_stages_that_are_waves_and_says_what_it_costs():
    workflow = {
        "resources": {"slots": 2},
        "stages": [["lint", "unit"], ["build", "docs"], ["deploy"]],
        "agents": [
            {"id": "lint", "duration": 5, "uses": {"slots": 1}},
            {"id": "unit", "duration": 30, "uses": {"slots": 1}},
            {"id": "build", "duration": 25, "depends_on": ["lint"], "uses": {"slots": 1}},
            {"id": "docs", "duration": 4, "uses": {"slots": 1}},
            {"id": "deploy", "duration": 3, "depends_on": ["build", "unit"]},
        ],
    }
    out = plan(PlanRequest(workflow, time_limit=10, solve=orchmilp.SolveOptions(dispatch="waves")))
    cost = out.plan["dispatch_cost"]
    assert cost["stages"] == 30 + 25 + 3 and cost["waves"] <= cost["stages"]
    assert cost["events"] <= cost["waves"]
    assert out.plan["dispatch"] == "waves" and "waves" in out.dispatch_note
    assert_valid_plan(workflow, out.plan)
    with pytest.raises(InvalidOptions, match="not with waves"):
        plan(PlanRequest(workflow, objective="p90", solve=orchmilp.SolveOptions(dispatch="waves")))


def test_the_checker_rejects_broken_waves():
    workflow = read_json(EXAMPLES / "refactor.json")
    good = orchmilp.solve(workflow, time_limit=10, dispatch="waves").to_dict()
    assert check_plan(workflow, good) == []
    short = copy.deepcopy(good)
    short["waves"][1]["length"] = 1
    assert any("length 1" in p for p in check_plan(workflow, short))
    moved = copy.deepcopy(good)
    moved["waves"][1]["agents"].append(moved["waves"][2]["agents"].pop())
    assert any("not with its wave" in p for p in check_plan(workflow, moved))
    twice = copy.deepcopy(good)
    twice["waves"][0]["agents"].append(twice["waves"][1]["agents"][0])
    assert any("more than one wave" in p for p in check_plan(workflow, twice))
    assert check_plan(workflow, {**good, "waves": "no"}) and check_plan(workflow, {**good, "waves": [{"agents": 1}]})


def test_the_prediction_of_a_wave_plan_simulates_waves():
    """Each agent waits for the whole wave before: the Monte Carlo replays waves as waves."""
    workflow = read_json(EXAMPLES / "refactor.json")
    waves = orchmilp.solve(workflow, time_limit=10, dispatch="waves")
    prediction = orchmilp.predict(workflow, plan=waves, samples=2000)
    assert prediction.p50 >= 0.8 * waves.makespan
    for k in range(1, len(waves.waves)):
        before = set(waves.waves[k - 1])
        assert all(before <= set(waves.waits_for[j]) for j in waves.waves[k])
    assert np.all(np.diff(sorted({float(waves.start[j]) for w in waves.waves for j in w})) > 0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6, contended=True, integral=False))
def test_waves_match_brute_force_on_tight_resources_and_fractional_durations(workflow):
    result = orchmilp.solve(workflow, time_limit=10, dispatch="waves")
    assert_valid_plan(workflow, result.to_dict())
    optimum = _brute_force(workflow)
    assert result.lower_bound <= optimum + 1e-6 and result.makespan == pytest.approx(optimum)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_the_exact_wave_search_finds_the_brute_force_optimum_and_its_early_bound_stays_below(workflow):
    problem = load(workflow)
    optimum = _brute_force(workflow)
    waves, length = prefix_search(problem, math.inf, time.perf_counter() + 30)
    assert waves is not None and length == pytest.approx(optimum)
    plan = WavePlan(tuple(map(tuple, waves)))
    assert feasible(problem, plan) and plan.total(problem.durations) == pytest.approx(optimum)
    assert prefix_search(problem, optimum, time.perf_counter() + 30) == (None, optimum)  # none shorter
    _, early = prefix_search(problem, math.inf, time.perf_counter() - 1)  # stopped at once: a bound
    assert early <= optimum + 1e-9


def test_without_time_for_the_event_search_the_comparison_is_the_wave_plan_left_shifted(monkeypatch):
    """Large workflows: the event-driven figure is a real schedule (the waves' agents started
    as early as dependencies, capacities and files allow) no longer than the waves, and only
    called optimal when the event-driven lower bound meets it."""
    plan_service = importlib.import_module("orchmilp.services.plan")  # the package exports plan()
    workflow = read_json(EXAMPLES / "code-review.json")
    events = plan(PlanRequest(workflow, time_limit=10))
    monkeypatch.setattr(plan_service, "EVENT_SECONDS_PER_AGENT", 1e9)
    out = plan(PlanRequest(workflow, time_limit=10, solve=orchmilp.SolveOptions(dispatch="waves")))
    cost = out.plan["dispatch_cost"]
    assert events.result.makespan <= cost["events"] <= cost["waves"]
    assert events.result.status == orchmilp.Status.OPTIMAL
    assert cost["events_status"] == "optimal" and cost["events"] == events.result.makespan  # the cliques prove it
    assert_valid_plan(workflow, out.plan)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6, contended=True, integral=False))
def test_the_layered_bound_never_exceeds_the_brute_force_optimum(workflow):
    """layered_bound integrates, over each duration t, the waves that agents of t or more need:
    never above the shortest wave plan, on tight resources and fractional durations too."""
    from orchmilp.search.wave_prefix import layered_bound

    assert layered_bound(load(workflow)) <= _brute_force(workflow) + 1e-9


def test_the_layered_bound_proves_what_the_search_estimate_does_not():
    """x0 -> x3 -> x4 (8, 1, 8) and three agents of 3 on two slots: the search's estimate at the
    root is 17 (the chain); counting, for every duration, the waves its agents need gives 19,
    the optimum."""
    from orchmilp.search.wave_prefix import _Waves, layered_bound

    durations = {"x0": 8, "x1": 3, "x2": 3, "x3": 1, "x4": 8, "x5": 3}
    needs = {"x2": ["x0"], "x3": ["x0"], "x4": ["x3"], "x5": ["x2", "x3"]}
    workflow = {
        "resources": {"slot": 2},
        "agents": [
            {"id": a, "duration": d, "uses": {"slot": 1}, **({"depends_on": needs[a]} if a in needs else {})}
            for a, d in durations.items()
        ],
    }
    problem = load(workflow)
    assert _Waves(problem).estimate(0) == 17 and layered_bound(problem) == 19 == _brute_force(workflow)
    result = orchmilp.solve(workflow, time_limit=10, dispatch="waves")
    assert result.status.value == "optimal" and result.lower_bound == 19


def _one_agent_per_wave(workflow) -> tuple:
    problem = load(workflow)
    return problem, WavePlan(tuple((int(j),) for j in problem.topological_order))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_windows_replanned_exactly_keep_the_plan_feasible_and_never_longer(workflow):
    problem, start = _one_agent_per_wave(workflow)
    better = reoptimize_windows(problem, start, time.perf_counter() + 10)
    d = problem.durations
    assert feasible(problem, better) and better.total(d) <= start.total(d) + 1e-9
    assert better.total(d) >= _brute_force(workflow) - 1e-9
    with pytest.MonkeyPatch.context() as mp:  # one window over every wave: the exact optimum
        mp.setattr(waves_search, "WINDOW_WAVES", problem.n)
        whole = reoptimize_windows(problem, start, time.perf_counter() + 10)
    assert feasible(problem, whole) and whole.total(d) == pytest.approx(_brute_force(workflow))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_ruin_and_recreate_keeps_the_plan_feasible_and_never_longer(workflow):
    problem, start = _one_agent_per_wave(workflow)
    better = ruin_and_recreate(problem, start, time.perf_counter() + 0.2, np.random.default_rng(0))
    d = problem.durations
    assert feasible(problem, better) and better.total(d) <= start.total(d) + 1e-9
    assert better.total(d) >= _brute_force(workflow) - 1e-9


def test_ruin_and_recreate_pairs_a_chain_with_the_agents_beside_it():
    """A chain of six and six independent agents, two slots: from one agent per wave (60) to
    the optimum, each link of the chain beside an independent agent (30). Putting an agent
    back between its direct dependencies only (not all it waits for, transitively) breaks
    the order and leaves the plan as it was."""
    chain = [{"id": f"c{k}", "duration": 5, "uses": {"slot": 1}} for k in range(6)]
    for k in range(1, 6):
        chain[k]["depends_on"] = [f"c{k - 1}"]
    free = [{"id": f"f{k}", "duration": 5, "uses": {"slot": 1}} for k in range(6)]
    workflow = {"resources": {"slot": 2}, "agents": chain + free}
    problem, start = _one_agent_per_wave(workflow)
    better = ruin_and_recreate(problem, start, time.perf_counter() + 3, np.random.default_rng(0), lower=30)
    # the optimum: six waves at least (the chain), each 5 long, and two slots hold the twelve
    assert feasible(problem, better) and better.total(problem.durations) == 30


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_the_window_search_path_for_larger_workflows_against_brute_force(workflow):
    with pytest.MonkeyPatch.context() as mp:  # the path taken beyond 30 agents
        mp.setattr(waves_search, "MAX_MILP_WAVE_AGENTS", 0)
        result = orchmilp.solve(workflow, time_limit=2, dispatch="waves")
    assert_valid_plan(workflow, result.to_dict())
    assert result.lower_bound <= _brute_force(workflow) + 1e-9 <= result.makespan + 1e-9


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_the_covering_lp_never_bounds_above_the_brute_force_optimum(workflow):
    assert wave_lp_bound(load(workflow)) <= _brute_force(workflow) + 1e-9


def test_the_covering_lp_proves_what_the_other_bounds_do_not():
    # t0 writes what t3 reads: they never share a wave, and each has a dependant after it
    workflow = {
        "resources": {"r0": 1},
        "agents": [
            {"id": "t0", "duration": 1, "writes": ["a.txt"]},
            {"id": "t1", "duration": 0},
            {"id": "t2", "duration": 3, "depends_on": ["t0", "t1"]},
            {"id": "t3", "duration": 1, "depends_on": ["t1"], "reads": ["a.txt"]},
            {"id": "t4", "duration": 2, "depends_on": ["t1", "t3"]},
        ],
    }
    problem = load(workflow)
    covering = wave_lp_bound(problem)
    assert wave_bound(problem) == 4 and covering == pytest.approx(5, abs=1e-6)
    assert _brute_force(workflow) == 5  # {t0, t1}, {t3}, {t2, t4}: the LP proves it optimal


def _brute_force_batches(workflow) -> float:
    """The cheapest split of the agents into batches that may share a wave, in no order (no
    orchmilp code): every wave plan is one, so this bounds every wave plan."""
    agents = workflow["agents"]
    by_id = {a["id"]: a for a in agents}
    caps = workflow.get("resources", {})
    after = {a["id"]: set(a.get("depends_on", [])) for a in agents}
    for _ in agents:  # the dependencies' transitive closure
        after = {a: deps | {x for dep in deps for x in after[dep]} for a, deps in after.items()}

    best = float("inf")
    for batches in _ordered_partitions([a["id"] for a in agents]):
        if any(
            a in after[b] or b in after[a] or _clash(by_id[a], by_id[b])
            for w in batches
            for a, b in itertools.combinations(w, 2)
        ):
            continue
        if any(sum(by_id[a].get("uses", {}).get(r, 0) for a in w) > c for w in batches for r, c in caps.items()):
            continue
        best = min(best, sum(max(by_id[a]["duration"] for a in w) for w in batches))
    return best


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_the_batching_milp_is_the_cheapest_split_into_batches_and_bounds_every_wave_plan(workflow):
    from orchmilp.solvers import backend

    problem = load(workflow)
    out = backend("highs").start(waves_search.batching_milp(problem), time_limit=10, threads=1).result()
    assert out.objective == pytest.approx(_brute_force_batches(workflow), abs=1e-6)
    assert wave_lp_bound(problem) - 1e-6 <= out.objective <= _brute_force(workflow) + 1e-6


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=6))
def test_the_batching_phase_proves_the_cheapest_split_and_keeps_the_plan_feasible(workflow):
    """Beyond 30 agents the batching MILP runs after the covering LP and the exact search;
    here it is the only bound."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(waves_search, "MAX_MILP_WAVE_AGENTS", 0)  # as beyond 30 agents
        mp.setattr(waves_search, "prefix_search", lambda *args: (None, 0.0))
        mp.setattr(waves_search, "ruin_and_recreate", lambda problem, plan, *args: plan)  # the greedy plan
        for name in ("wave_lp_bound", "critical_path_bound", "energy_bound", "clique_bound", "wave_bound"):
            mp.setattr(waves_search, name, lambda problem, *args: 0.0)
        result = orchmilp.solve(workflow, time_limit=5, dispatch="waves")
    assert_valid_plan(workflow, result.to_dict())
    assert result.lower_bound <= _brute_force(workflow) + 1e-9 <= result.makespan + 1e-9
    if result.makespan > 0:
        assert result.bound_source == "wave batching milp"
        # no split below the plan: optimal; else the MILP reached the cheapest split
        assert result.lower_bound == pytest.approx(min(result.makespan, _brute_force_batches(workflow)), abs=1e-6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=12))
def test_the_batching_milp_chains_hold_every_ordered_pair_and_only_ordered_agents(workflow):
    problem = load(workflow)
    ordered = problem.precedence_matrix | problem.precedence_matrix.T
    chains = waves_search._chains(ordered)
    held = np.zeros_like(ordered)
    for chain in chains:
        for a, b in itertools.combinations(chain, 2):
            assert ordered[a, b]  # a chain is a set of pairwise ordered agents
            held[a, b] = held[b, a] = True
    assert np.array_equal(held, ordered)
