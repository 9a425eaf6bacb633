"""Every lower bound stays at or below the true optimum: brute force on random
workflows, known optima on PSPLIB instances."""

from __future__ import annotations

import csv
import itertools
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orchmilp
from orchmilp.bounds.critical_path import critical_path_bound
from orchmilp.bounds.feasible_subsets import _best_subset, feasible_subset_bound, refutes
from orchmilp.bounds.propagation import Propagator, destructive_bound
from orchmilp.bounds.resource import clique_bound, disjunctive_bound, energy_bound
from orchmilp.exact.branch_and_bound import BranchAndBound
from orchmilp.exact.probe import FEASIBLE, INFEASIBLE
from orchmilp.exact.set_times import probe
from orchmilp.result import Result, Status
from orchmilp.schedule.build import build_plan
from tests.helpers import ROOT, assert_valid_plan
from tests.reference import reference_optimum
from tests.strategies import workflows

PSPLIB = ROOT / "instances" / "psplib"
KNOWN = {r["instance"]: r for r in csv.DictReader(open(PSPLIB / "best_known.csv"))}


def known_makespans(folder: str) -> list:
    """(path, problem, a known feasible makespan) of every bundled instance of a folder."""
    files = sorted((PSPLIB / folder).glob("*.rcp" if folder == "patterson" else "*.sm"))
    assert files
    return [
        (path, orchmilp.load(path), PATTERSON[path.name] if folder == "patterson" else float(KNOWN[path.stem]["ub"]))
        for path in files
    ]


def all_bounds(problem, upper):
    d = problem.durations.astype(np.int64)
    simple = [critical_path_bound(problem), energy_bound(problem), disjunctive_bound(problem), clique_bound(problem)]
    destructive, _ = destructive_bound(problem, d, 0, upper)
    return simple + [destructive]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(contended=True))
def test_bounds_and_tree_search_agree_with_brute_force(workflow):
    problem = orchmilp.load(workflow)
    optimum = reference_optimum(workflow)
    assert max(all_bounds(problem, optimum)) <= optimum + 1e-9
    prop = Propagator(problem, problem.durations.astype(np.int64))
    if optimum > 0:
        assert probe(prop, optimum - 1, node_limit=50_000).status != FEASIBLE
    found = probe(prop, optimum, node_limit=50_000)
    assert found.status != INFEASIBLE
    if found.status == FEASIBLE:
        _valid_schedule(workflow, problem, found.start, optimum)


def _valid_schedule(workflow, problem, start, optimum):
    plan = build_plan(problem, start.astype(float))
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


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(contended=True))
def test_branch_and_bound_with_memory_agrees_with_brute_force(workflow):
    """Probing down from above the optimum with one memory: a schedule at every horizon
    down to the optimum (the cutset rule never cuts the last one), none below it."""
    problem = orchmilp.load(workflow)
    optimum = int(round(reference_optimum(workflow)))
    p = problem.durations.astype(np.int64)
    search, prop = BranchAndBound(problem, p, memory_entries=1 << 12), Propagator(problem, p)
    for horizon in range(optimum + 2, optimum - 2, -1):
        windows = prop(horizon)
        if not windows.feasible:
            assert horizon < optimum
            continue
        out = search.probe(horizon, windows.lf, node_limit=200_000)
        if horizon >= optimum:
            assert out.status == FEASIBLE, (horizon, optimum)
            _valid_schedule(workflow, problem, out.start, optimum)
            assert np.max(out.start + p) <= horizon
        else:
            assert out.status != FEASIBLE


SAMPLE = [
    "j301_1",
    "j3010_2",
    "j3013_1",
    "j3017_2",
    "j3021_3",
    "j3033_1",
    "j3037_3",
    "j3045_4",
    "j6017_2",
    "j601_2",
    "j6034_1",
    "j9021_1",
    "j12014_1",
]


@pytest.mark.parametrize("name", SAMPLE)
def test_no_bound_exceeds_a_known_feasible_makespan(name):
    folder = "j120" if name.startswith("j120") else name[:3]
    problem = orchmilp.load(PSPLIB / folder / f"{name}.sm")
    ub = int(KNOWN[name]["ub"])
    assert max(all_bounds(problem, ub)) <= ub
    prop = Propagator(problem, problem.durations.astype(np.int64))
    assert probe(prop, ub, node_limit=2_000).status != INFEASIBLE
    if KNOWN[name]["optimal"] == "true":
        assert probe(prop, ub - 1, node_limit=2_000).status != FEASIBLE


PATTERSON = {r["problem"]: float(r["optimum"]) for r in csv.DictReader(open(PSPLIB / "patterson" / "optimum.csv"))}


@pytest.mark.parametrize("folder", ["j30", "j60", "j90", pytest.param("j120", marks=pytest.mark.slow), "patterson"])
def test_bounds_on_every_instance_stay_below_known_makespans(folder):
    """Simple bounds and the destructive bound never exceed a known feasible makespan."""
    for path, problem, ub in known_makespans(folder):
        bounds = all_bounds(problem, int(ub))
        assert max(bounds) <= ub + 1e-9, (path.name, bounds, ub)


@pytest.mark.parametrize("folder", ["j30", "patterson"])
def test_branch_and_bound_never_refutes_a_known_makespan(folder):
    """At a known feasible makespan the search finds a schedule or runs out of nodes, never proves
    there is none (what a wrong cutset or window pruning would do)."""
    instances = known_makespans(folder)
    found = 0
    for path, problem, ub in instances:
        ub = int(ub)
        p = problem.durations.astype(np.int64)
        out = BranchAndBound(problem, p, memory_entries=1 << 14).probe(
            ub, Propagator(problem, p)(ub).lf, node_limit=20_000
        )
        assert out.status != INFEASIBLE, path.name
        if out.status == FEASIBLE:
            found += 1
            assert np.max(out.start + p) <= ub
    assert found >= 0.8 * len(instances)


def test_branch_and_bound_drops_locks_that_cannot_bind_and_pairs_identical_agents():
    workflow = {
        "resources": {"slots": 2},
        "agents": [
            {"id": "w", "duration": 3, "writes": ["a.txt"]},
            {"id": "x", "duration": 4, "uses": {"slots": 1}, "depends_on": ["w"], "reads": ["a.txt"]},
            {"id": "y", "duration": 4, "uses": {"slots": 1}, "depends_on": ["w"], "reads": ["a.txt"]},
            {"id": "z", "duration": 4, "uses": {"slots": 1}, "depends_on": ["w"], "reads": ["a.txt"]},
            {"id": "v", "duration": 2, "uses": {"slots": 1}, "depends_on": ["w"], "reads": ["a.txt"]},
        ],
    }
    problem = orchmilp.load(workflow)
    p = problem.durations.astype(np.int64)
    search = BranchAndBound(problem, p)
    assert search.capacity.tolist() == [2.0]  # the file lock (w before all readers) never binds
    assert search.twin.tolist() == [-1, -1, 1, 2, -1]
    optimum = int(reference_optimum(workflow))
    assert optimum == 11  # w, then two readers at a time: 3 + 4 + 4
    prop = Propagator(problem, p)
    assert search.probe(optimum, prop(optimum).lf, 10_000).status == FEASIBLE
    assert search.probe(optimum - 1, prop(optimum - 1).lf, 10_000).status == INFEASIBLE


@pytest.mark.parametrize("folder", ["j30", "patterson", pytest.param("j60", marks=pytest.mark.slow)])
def test_sat_refutation_never_refutes_a_known_makespan(folder):
    """At a known feasible makespan the SAT prover finds a schedule or runs out of time, never
    proves there is none (what a wrong clause of the encoding would do)."""
    from orchmilp.exact import sat
    from orchmilp.search.phases import feasible_schedule

    if not sat.available():
        pytest.skip("python-sat with pindakaas is not installed")
    instances = known_makespans(folder)
    found = 0
    for path, problem, ub in instances:
        ub = int(ub)
        p = problem.durations.astype(np.int64)
        windows = Propagator(problem, p)(ub)
        prover = sat.SatProver(problem, p, windows.es, windows.lf, ub)
        try:
            out = prover.probe(ub, 2.0)
        finally:
            prover.close()
        assert out.status != INFEASIBLE, path.name
        if out.status == FEASIBLE:
            found += 1
            assert np.max(out.start + p) <= ub and feasible_schedule(problem, out.start.astype(float))
    assert found >= 0.8 * len(instances)  # within 2 s each; the refutations are what must never be wrong


# -- the feasible-subset (antichain) LP ---------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(contended=True))
def test_feasible_subset_lp_never_refutes_the_optimum(workflow):
    problem = orchmilp.load(workflow)
    optimum = int(reference_optimum(workflow))
    p = problem.durations.astype(np.int64)
    prop = Propagator(problem, p)
    assert refutes(problem, p, prop(optimum)) is not True
    bound, settled = feasible_subset_bound(problem, p, prop, 0, optimum)
    assert bound == settled <= optimum  # no deadline: the search finishes


@given(st.integers(1, 14), st.integers(1, 3), st.integers(0, 10**6))
@settings(max_examples=60, deadline=None)
def test_feasible_subset_pricing_finds_the_heaviest_subset_that_fits(m, resources, seed):
    """The pricing branch and bound against every subset: its answer fits and none weighs more."""
    rng = np.random.default_rng(seed)
    weight = rng.random(m) * (rng.random(m) < 0.8)
    usage = rng.integers(0, 5, (m, resources)).astype(float)
    capacity = rng.integers(3, 9, resources).astype(float)
    clash = np.triu(rng.random((m, m)) < 0.2, 1)
    clash = clash | clash.T
    cand = np.argsort(-weight, kind="stable").astype(np.int64)
    value, chosen, finished = _best_subset(cand, weight, usage, capacity, clash, 10**7)
    members = cand[chosen]
    assert finished
    assert np.all(usage[members].sum(axis=0) <= capacity) and not clash[np.ix_(members, members)].any()
    assert value == pytest.approx(weight[members].sum())
    best = 0.0
    for mask in itertools.product([False, True], repeat=m):
        pick = np.flatnonzero(mask)
        if np.all(usage[pick].sum(axis=0) <= capacity) and not clash[np.ix_(pick, pick)].any():
            best = max(best, weight[pick].sum())
    assert value == pytest.approx(best)


@pytest.mark.parametrize(
    "folder",
    ["j30", "patterson", pytest.param("j60", marks=pytest.mark.slow), pytest.param("j90", marks=pytest.mark.slow)],
)
def test_feasible_subset_lp_never_refutes_a_known_makespan(folder):
    for path, problem, ub in known_makespans(folder):
        p = problem.durations.astype(np.int64)
        assert refutes(problem, p, Propagator(problem, p)(int(ub)), deadline=time.perf_counter() + 10) is not True, path


def test_feasible_subset_lp_raises_the_bound_where_propagation_stops():
    """j6045_1 (optimum 96): propagation refutes up to 84, the LP up to 88 (measured)."""
    problem = orchmilp.load(PSPLIB / "j60" / "j6045_1.sm")
    p = problem.durations.astype(np.int64)
    prop = Propagator(problem, p)
    destructive, _ = destructive_bound(problem, p, 0, 97)
    lp, settled = feasible_subset_bound(problem, p, prop, destructive, 97)
    assert destructive == 85
    assert 89 <= lp == settled <= int(KNOWN["j6045_1"]["ub"]) == 96
    assert feasible_subset_bound(problem, p, prop, destructive, 97, deadline=0.0) == (
        85,
        98,
    )  # no time: nothing settled


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workflows(max_agents=9))
def test_disjunctive_pairs_are_the_incompatible_pairs_without_the_matrix(workflow):
    """The sparse pairs (file locks plus users too large together) equal the n x n matrix's."""
    from orchmilp.bounds.propagation import disjunctive_pairs

    problem = orchmilp.load(workflow)
    steps = np.maximum(np.round(problem.durations).astype(np.int64), 0)
    active = steps > 0
    expected = np.argwhere(np.triu(problem.incompatible_pairs & active[:, None] & active[None, :], 1))
    assert disjunctive_pairs(problem, steps).tolist() == expected.tolist()
