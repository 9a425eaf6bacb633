"""Decoding: waits_for from resource flows and file conflicts, groups, critical path."""

from __future__ import annotations

import numpy as np

import orchmilp
from orchmilp.schedule.build import build_plan, groups
from orchmilp.schedule.partial_order import earliest_starts, partial_order
from tests.helpers import assert_valid_plan


def test_resource_flow_orders_only_what_must_be_ordered():
    workflow = {
        "resources": {"cpu": 2},
        "agents": [
            {"id": "big", "duration": 3, "uses": {"cpu": 2}},
            {"id": "x", "duration": 2, "uses": {"cpu": 1}},
            {"id": "y", "duration": 4, "uses": {"cpu": 1}},
            {"id": "free", "duration": 1},
        ],
    }
    problem = orchmilp.load(workflow)
    waits = partial_order(problem, np.array([0.0, 3.0, 3.0, 0.0]), problem.durations)
    assert waits == [[], [0], [0], []]


def test_redundant_dependencies_are_dropped():
    workflow = {
        "agents": [
            {"id": "a", "duration": 1},
            {"id": "b", "duration": 1, "depends_on": ["a"]},
            {"id": "c", "duration": 1, "depends_on": ["a", "b"]},
        ]
    }
    result = orchmilp.solve(workflow)
    assert [e["waits_for"] for e in result.to_dict()["schedule"]] == [[], ["a"], ["b"]]
    assert_valid_plan(workflow, result.to_dict())


def test_file_conflict_becomes_an_ordering():
    workflow = {
        "agents": [
            {"id": "writer", "duration": 5, "writes": ["src/"]},
            {"id": "reader", "duration": 2, "reads": ["src/main.py"]},
            {"id": "other", "duration": 2, "reads": ["docs/"]},
        ]
    }
    result = orchmilp.solve(workflow)
    plan = result.to_dict()
    assert_valid_plan(workflow, plan, samples=50)
    schedule = {e["id"]: e for e in plan["schedule"]}
    assert ("writer" in schedule["reader"]["waits_for"]) or ("reader" in schedule["writer"]["waits_for"])
    assert schedule["other"]["waits_for"] == [] and plan["makespan"] == 7


def test_earliest_starts_reproduce_and_left_shift():
    problem = orchmilp.load({"agents": [{"id": "a", "duration": 2}, {"id": "b", "duration": 3, "depends_on": ["a"]}]})
    plan = build_plan(problem, np.array([1.0, 5.0]))  # a late schedule is left-shifted
    assert plan.start.tolist() == [0.0, 2.0]
    assert earliest_starts(problem, [list(w) for w in plan.waits_for], problem.durations).tolist() == [0.0, 2.0]
    assert plan.critical_path == (0, 1)


def test_groups_are_in_time_order():
    assert groups(np.array([3.0, 0.0, 3.0, 1.5])) == [(0.0, [1]), (1.5, [3]), (3.0, [0, 2])]


def test_starts_closer_than_the_checkers_tolerance_share_a_group():
    """Sums of durations along two paths differ by ~1e-8: one group, or the checker sees two
    groups at the same time (a backtest on the epigenomics traces hit this)."""
    start = np.array([24.7963, 24.7963 + 2e-8, 30.0, 30.0 + 1e-4])
    assert [js for _, js in groups(start)] == [[0, 1], [2], [3]]


def test_zero_duration_milestones():
    workflow = {
        "resources": {"slots": 1},
        "agents": [
            {"id": "start", "duration": 0},
            {"id": "a", "duration": 2, "depends_on": ["start"], "uses": {"slots": 1}},
            {"id": "b", "duration": 2, "depends_on": ["start"], "uses": {"slots": 1}},
            {"id": "done", "duration": 0, "depends_on": ["a", "b"], "uses": {"slots": 1}, "writes": ["x"]},
        ],
    }
    result = orchmilp.solve(workflow)
    assert result.makespan == 4 and result.status.value == "optimal"
    assert_valid_plan(workflow, result.to_dict(), samples=50)


def test_waits_for_orders_every_conflicting_pair_through_the_locks():
    """Many readers and writers of one folder, serial: each of the ~1,000 conflicting pairs is ordered
    through waits_for (transitively), with few arcs: linear in the agents, not in the pairs."""
    rng = np.random.default_rng(3)
    n = 120
    agents = []
    for i in range(n):
        agent = {"id": f"a{i}", "duration": int(rng.integers(1, 5)), "reads": [f"src/f{rng.integers(4)}.py"]}
        if rng.random() < 0.2:
            agent["writes"] = ["src/" if rng.random() < 0.3 else f"src/f{rng.integers(4)}.py"]
        agents.append(agent)
    workflow = {"agents": agents}
    problem = orchmilp.load(workflow)
    order = rng.permutation(n)
    start = np.zeros(n)
    start[order] = np.concatenate([[0], np.cumsum(problem.durations[order])[:-1]])  # one after another
    waits = partial_order(problem, start, problem.durations)
    ancestors = [set() for _ in range(n)]
    for j in sorted(range(n), key=lambda j: start[j]):
        for i in waits[j]:
            ancestors[j] |= ancestors[i] | {i}
    pairs = problem.conflict_pairs.tolist()
    assert len(pairs) > 900
    for a, b in pairs:
        first, then = (a, b) if start[a] < start[b] else (b, a)
        assert first in ancestors[then]
    assert sum(map(len, waits)) <= 2 * n
