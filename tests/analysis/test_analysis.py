"""Analysis figures on hand-made workflows where the answer is known."""

from __future__ import annotations

import pytest

import orchmilp
from orchmilp.analysis.baseline import baseline
from orchmilp.analysis.bottlenecks import (
    capacity_what_if,
    conflict_resolution,
    conflict_what_if,
    parallel_branches,
    plan_slack,
    utilisation,
)
from orchmilp.analysis.structure import analyze
from orchmilp.errors import InvalidWorkflow

DIAMOND = {
    "resources": {"gpu": 1, "memory_gb": 32},
    "agents": [
        {"id": "fetch", "duration": 10, "uses": {"memory_gb": 2}},
        {"id": "train-a", "duration": 30, "depends_on": ["fetch"], "uses": {"gpu": 1, "memory_gb": 8}},
        {"id": "train-b", "duration": 20, "depends_on": ["fetch"], "uses": {"gpu": 1, "memory_gb": 8}},
        {"id": "docs", "duration": 5, "depends_on": ["fetch"], "writes": ["docs/"]},
        {"id": "eval", "duration": 10, "depends_on": ["train-a", "train-b", "fetch"], "reads": ["docs/api.md"]},
    ],
}


def test_structure_facts():
    facts = analyze(orchmilp.load(DIAMOND))
    assert facts["levels"] == [["fetch"], ["train-a", "train-b", "docs"], ["eval"]]
    (redundant,) = facts["redundant_dependencies"]
    assert (redundant["agent"], redundant["depends_on"]) == ("eval", "fetch")
    assert redundant["implied_by"] in (["fetch", "train-a", "eval"], ["fetch", "train-b", "eval"])
    assert facts["critical_path"] == ["fetch", "train-a", "eval"]
    assert facts["critical_path_length"] == 50
    assert facts["slack"]["train-b"] == {"earliest_start": 10, "latest_start": 20, "slack": 10}
    assert facts["slack"]["docs"]["slack"] == 35  # nothing waits for docs: it may end as late as 50
    # one GPU: the trainings run one after the other, so capacity binds (10 + 30 + 20 + 10 = 70 > 50)
    assert facts["bounds"]["dependencies"] == 50
    assert facts["bounds"]["incompatible_cliques"] == 70
    assert facts["bounds"]["binding"] == "capacity"
    assert facts["file_conflicts"] == [
        {"agents": ["docs", "eval"], "paths": ["docs/", "docs/api.md"], "ordered_by_dependencies": False}
    ]
    gpu, memory = facts["resources"]
    assert gpu["filled_by_one_agent"] == ["train-a", "train-b"] and not gpu["never_saturated"]
    assert memory["never_saturated"] and memory["total_demand"] == 18
    assert facts["parallelism"][1]["at_most_in_parallel_by_capacity"] == 2  # two of three fit: one GPU


def test_after_solve_figures():
    result = orchmilp.solve(DIAMOND)
    assert result.makespan == 70 and result.status.value == "optimal"
    gpu = next(u for u in utilisation(result) if u["resource"] == "gpu")
    assert gpu["peak_percent"] == 100.0 and gpu["saturated"]
    assert gpu["average_percent"] == pytest.approx(100 * 50 / 70, abs=0.1)
    slack = dict(zip(result.problem.ids, plan_slack(result)))
    assert slack["docs"] > 0 and slack["fetch"] == 0
    branches = parallel_branches(result)
    assert any(b["agents"] == ["docs"] for b in branches)
    order = conflict_resolution(result)
    assert order["files"][0]["first"] == "docs" and order["files"][0]["settled_by"] == "plan"
    assert order["resources"][0]["resource"] == "gpu"


def test_capacity_what_if_says_a_second_gpu_saves_twenty():
    result = orchmilp.solve(DIAMOND)
    what = capacity_what_if(result, iter([20.0] * 10), DIAMOND)
    assert what == [{"resource": "gpu", "capacity": 1, "new_capacity": 2, "makespan": 50, "saving": 20, "proven": True}]


def test_conflict_what_if_lifts_a_costly_conflict():
    workflow = {
        "agents": [
            {"id": "writer", "duration": 10, "writes": ["src/"]},
            {"id": "reader", "duration": 10, "reads": ["src/a.py"]},
        ]
    }
    result = orchmilp.solve(workflow)
    assert result.makespan == 20
    what = conflict_what_if(result, iter([20.0] * 10), workflow)
    assert what[0]["makespan"] == 10 and what[0]["saving"] == 10 and what[0]["proven"]


def test_baseline_sequential_and_stages():
    problem = orchmilp.load(DIAMOND)
    assert baseline(problem)[:2] == (75.0, "sequential")
    staged = orchmilp.load({**DIAMOND, "stages": [["fetch"], ["train-a", "docs"], ["train-b"], ["eval"]]})
    assert baseline(staged)[0] == 10 + 30 + 20 + 10


def test_stages_must_respect_dependencies():
    with pytest.raises(InvalidWorkflow, match=r"agent 'train-a': stages\[0\] puts it before its dependency 'fetch'"):
        orchmilp.load({**DIAMOND, "stages": [["train-a"], ["fetch", "train-b", "docs", "eval"]]})
    with pytest.raises(InvalidWorkflow, match="missing from stages"):
        orchmilp.load({**DIAMOND, "stages": [["fetch"]]})
