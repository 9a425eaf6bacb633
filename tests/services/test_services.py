"""The services, called directly: each feature once, for the command line, MCP and the library."""

from __future__ import annotations

import json
import time

import pytest

from orchmilp.check import check_plan
from orchmilp.deadline import Deadline
from orchmilp.errors import InvalidOptions
from orchmilp.io.workflow import with_durations
from orchmilp.services import (
    CheckRequest,
    PlanRequest,
    PredictRequest,
    Reports,
    WhatIfRequest,
    check,
    plan,
    predict,
    whatif,
)
from tests.helpers import ROOT, assert_valid_plan, read_json

CODE_REVIEW = ROOT / "instances" / "examples" / "code-review.json"

# three agents, two of them on one slot; the history says "build" takes about 40 s, not 12
WORKFLOW = {
    "name": "nightly",
    "resources": {"slots": 1},
    "agents": [
        {"id": "fetch", "duration": 5, "duration_range": [4, 8]},
        {"id": "build", "duration": 12, "depends_on": ["fetch"], "uses": {"slots": 1}},
        {"id": "lint", "duration": 10, "duration_range": [5, 30], "uses": {"slots": 1}},
    ],
}


def _history(tmp_path, runs=4):
    lines = []
    for r in range(runs):
        t = 0.0
        for agent, seconds in (("fetch", 5.0 + r % 2), ("build", 38.0 + 2 * r), ("lint", 9.0 + r)):
            lines.append(
                {
                    "workflow": "nightly",
                    "run": f"r{r}",
                    "agent": agent,
                    "start": t,
                    "finish": t + seconds,
                    "status": "ok",
                }
            )
            t += seconds
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _planned_durations(plan_object):
    return {e["id"]: e["finish"] - e["start"] for e in plan_object["schedule"]}


def test_plan_with_history_plans_with_its_medians_and_predicts(tmp_path):
    out = plan(PlanRequest(WORKFLOW, time_limit=10, history=_history(tmp_path), samples=2000))
    durations = _planned_durations(out.plan)
    assert 38 < durations["build"] < 44  # the history's median, not the written 12
    assert durations["fetch"] != 0 and out.plan["prediction"]["p50"] > 40
    # the plan is valid for the workflow with the durations it planned with
    assert_valid_plan(with_durations(WORKFLOW, durations), out.plan)
    # and the check service, given the same history, accepts it; without it, it says why not
    assert check(CheckRequest(WORKFLOW, out.plan, _history(tmp_path))).valid
    without = check(CheckRequest(WORKFLOW, out.plan))
    assert not without.valid and "same history" in without.note


def test_plan_for_the_p90_is_checked_and_says_what_it_chose():
    out = plan(PlanRequest(WORKFLOW, time_limit=10, objective="p90"))
    assert_valid_plan(WORKFLOW, out.plan)
    assert out.plan["objective"]["name"] == "p90" and "objective p90" in out.objective_note
    assert out.prediction is None  # no history: no prediction in the plan


def test_plan_with_reports_writes_them_within_the_deadline(tmp_path):
    reports = Reports(markdown=tmp_path / "r.md", mermaid=tmp_path / "d.mmd", text=True, what_if_seconds=2)
    started = time.perf_counter()
    deadline = Deadline(8)
    out = plan(PlanRequest(CODE_REVIEW, reports=reports, answer_seconds=lambda n: 0.5), deadline)
    took = time.perf_counter() - started
    assert took < 8
    assert_valid_plan(read_json(CODE_REVIEW), out.plan)
    text = (tmp_path / "r.md").read_text()
    assert out.reports.markdown == text and "### What would make it faster" in text
    assert (tmp_path / "d.mmd").read_text().startswith(("graph", "flowchart"))
    assert deadline.reserved == {"answer": 0.5}  # the charts' and the writing's seconds were given back


def test_predict_the_same_plan_as_a_result_or_as_its_object():
    out = plan(PlanRequest(WORKFLOW, time_limit=5))
    from_result = predict(PredictRequest(WORKFLOW, plan=out.result, samples=2000))
    from_object = predict(PredictRequest(WORKFLOW, plan=out.plan, samples=2000))
    assert from_result.interval == from_object.interval and from_result.p50 == from_object.p50
    solved_first = predict(PredictRequest(WORKFLOW, samples=2000, time_limit=5))
    assert solved_first.planned == out.result.makespan


def test_a_plan_that_does_not_fit_is_refused_by_predict_and_reported_by_check():
    out = plan(PlanRequest(WORKFLOW, time_limit=5)).plan
    broken = json.loads(json.dumps(out))
    for entry in broken["schedule"]:
        entry["start"], entry["finish"] = 0, entry["finish"] - entry["start"]
    violations = check(CheckRequest(WORKFLOW, broken)).violations
    assert violations and violations == tuple(check_plan(WORKFLOW, broken, samples=50))
    with pytest.raises(Exception, match="does not fit"):
        predict(PredictRequest(WORKFLOW, plan=broken))


def test_whatif_turns_share_the_deadline_and_the_sweep_finds_its_knee():
    solves = []
    request = WhatIfRequest(
        WORKFLOW,
        [("set", "resources.slots=2"), ("remove", "lint")],
        sweep="resources.slots=1..3",
        seconds_each=3,
        samples=500,
        on_start=solves.append,
    )
    started = time.perf_counter()
    out = whatif(request, Deadline(12))
    assert time.perf_counter() - started < 12
    assert solves[:3] == ["base", "--set resources.slots=2", "--remove lint"] and len(solves) == 6
    base, two_slots, no_lint = out.rows
    # lint runs while fetch does, then build: 22; a second slot or no lint: fetch + build
    assert base["makespan"] == 22 and two_slots["makespan"] == 17 and no_lint["makespan"] == 17
    assert [r["makespan"] for r in out.sweep_rows] == [22, 17, 17]
    assert out.knee == 2 and out.sweep_key == "resources.slots"


def test_whatif_refuses_a_bad_scenario_before_solving_anything():
    solves = []
    with pytest.raises(InvalidOptions):
        whatif(WhatIfRequest(WORKFLOW, [("set", "resources.slots=2"), ("remove", "nobody")], on_start=solves.append))
    assert solves == []
    with pytest.raises(InvalidOptions, match="give at least one scenario"):
        whatif(WhatIfRequest(WORKFLOW))
