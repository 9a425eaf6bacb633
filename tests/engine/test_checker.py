"""The independent checker itself: it must catch every kind of broken plan."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orchmilp
from orchmilp.check import check_plan

WORKFLOW = {
    "resources": {"cpu": 2},
    "agents": [
        {"id": "a", "duration": 4, "uses": {"cpu": 1}, "writes": ["out/"]},
        {"id": "b", "duration": 3, "uses": {"cpu": 2}},
        {"id": "c", "duration": 2, "depends_on": ["a"], "uses": {"cpu": 1}},
        {"id": "d", "duration": 5, "reads": ["out/x"], "uses": {"cpu": 1}},
    ],
}


@pytest.fixture(scope="module")
def plan():
    return orchmilp.solve(WORKFLOW).to_dict()


def entry(plan, agent):
    return next(e for e in plan["schedule"] if e["id"] == agent)


def test_solver_plan_is_clean(plan):
    assert check_plan(WORKFLOW, plan, samples=100) == []


MUTATIONS = {
    "missing agent": (lambda p: p["schedule"].pop(), "misses agent"),
    "wrong finish": (lambda p: entry(p, "a").update(finish=99), "finish"),
    "dependency broken": (lambda p: entry(p, "c").update(start=0, finish=2), "before its dependency"),
    "capacity": (
        lambda p: [entry(p, x).update(start=0, finish=d) for x, d in (("a", 4), ("b", 3), ("c", 2), ("d", 5))],
        "capacity",
    ),
    "bound above makespan": (lambda p: p.update(lower_bound=p["makespan"] + 1), "exceeds makespan"),
    "false optimal": (
        lambda p: p.update(status="optimal", lower_bound=p["makespan"] - 1, gap=1 / p["makespan"]),
        "status optimal",
    ),
    "wrong gap": (lambda p: p.update(gap=0.5), "gap"),
    "group missing": (lambda p: p["groups"].pop(), "in no group"),
    "critical path broken": (lambda p: p.update(critical_path=p["critical_path"][:-1]), "critical path"),
    "waits_for too weak": (lambda p: [e.update(waits_for=[]) for e in p["schedule"]], "wait"),
}


@pytest.mark.parametrize("name", MUTATIONS)
def test_checker_catches(plan, name):
    mutate, message = MUTATIONS[name]
    broken = copy.deepcopy(plan)
    mutate(broken)
    problems = check_plan(WORKFLOW, broken)
    assert problems and any(message in p for p in problems), problems


def test_file_conflicts_are_detected():
    plan = {
        "status": "feasible",
        "makespan": 5,
        "lower_bound": 5,
        "gap": 0.0,
        "schedule": [
            {"id": "w", "start": 0, "finish": 5, "waits_for": []},
            {"id": "r", "start": 0, "finish": 1, "waits_for": []},
        ],
        "groups": [{"start": 0, "agents": ["w", "r"]}],
        "critical_path": ["w"],
    }
    workflow = {
        "agents": [{"id": "w", "duration": 5, "writes": ["./src//"]}, {"id": "r", "duration": 1, "reads": ["src/a.py"]}]
    }
    assert any("conflicting" in p for p in check_plan(workflow, plan))
    workflow["agents"][1]["reads"] = ["srcx/a.py"]
    assert check_plan(workflow, plan) == []


def test_robustness_sampling_catches_plans_that_only_work_for_planned_durations():
    """b starts when a finishes but does not wait for it: longer a breaks the resource."""
    workflow = {
        "resources": {"cpu": 1},
        "agents": [{"id": "a", "duration": 2, "uses": {"cpu": 1}}, {"id": "b", "duration": 2, "uses": {"cpu": 1}}],
    }
    plan = {
        "status": "optimal",
        "makespan": 4,
        "lower_bound": 4,
        "gap": 0.0,
        "schedule": [
            {"id": "a", "start": 0, "finish": 2, "waits_for": []},
            {"id": "b", "start": 2, "finish": 4, "waits_for": []},
        ],
        "groups": [{"start": 0, "agents": ["a"]}, {"start": 2, "agents": ["b"]}],
        "critical_path": ["a", "b"],
    }
    problems = check_plan(workflow, plan, samples=10)
    assert any("waits_for" in p for p in problems)


def _brute_force_overlap(agents, starts, durs):
    """The checker's file rule by every pair (the definition, quadratic)."""

    def norm(p):
        from orchmilp.check import _norm

        return _norm(p)

    def covers(folder, other):
        return (folder == "" or folder.endswith("/")) and other.startswith(folder)

    def overlap(a, b):
        return a == b or covers(a, b) or covers(b, a)

    ids = list(agents)
    for x in ids:
        for y in ids:
            if x == y or durs[x] <= 0 or durs[y] <= 0:
                continue
            wx = [norm(p) for p in agents[x].get("writes", [])]
            ty = [norm(p) for p in agents[y].get("writes", []) + agents[y].get("reads", [])]
            if any(overlap(w, t) for w in wx for t in ty):
                if starts[x] < starts[y] + durs[y] - 1e-6 and starts[y] < starts[x] + durs[x] - 1e-6:
                    return True
    return False


PATHS = ["a/", "a/b", "a/b/c", "a/b/", ".", "x", "x/y", "./a/b"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(PATHS), max_size=2),
            st.lists(st.sampled_from(PATHS), max_size=2),
            st.integers(0, 6),
            st.integers(0, 3),
        ),
        min_size=1,
        max_size=7,
    )
)
def test_file_conflict_check_matches_every_pair(specs):
    from orchmilp.check import _Conflicts

    agents = {f"a{k}": {"id": f"a{k}", "reads": r, "writes": w} for k, (r, w, _, _) in enumerate(specs)}
    starts = {f"a{k}": float(s) for k, (_, _, s, _) in enumerate(specs)}
    durs = {f"a{k}": float(d) for k, (_, _, _, d) in enumerate(specs)}
    found = _Conflicts(agents).violations(starts, durs, "plan")
    assert bool(found) == _brute_force_overlap(agents, starts, durs)
