"""What-if scenarios: edits as specified, each checked against an independent re-solve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import orchmilp
from orchmilp.analysis.scenarios import knee, scenario, sweep_values
from orchmilp.check import check_plan
from orchmilp.errors import InvalidOptions

ROOT = Path(__file__).resolve().parents[2]

BASE = {
    "name": "whatif",
    "resources": {"cores": 2},
    "agents": [
        {"id": "fetch", "duration": 4, "uses": {"cores": 1}},
        {"id": "build", "duration": 12, "depends_on": ["fetch"], "uses": {"cores": 1}, "writes": ["out/"]},
        {"id": "lint", "duration": 6, "depends_on": ["fetch"], "uses": {"cores": 1}},
        {"id": "ship", "duration": 2, "depends_on": ["build", "lint"], "uses": {"cores": 1}},
    ],
}


def _cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "orchmilp.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def test_split_divides_the_work_keeps_files_and_dependents_wait_for_all_parts():
    edited = scenario("split", "build=3").edit(BASE)
    parts = [a for a in edited["agents"] if a["id"].startswith("build#")]
    assert [a["id"] for a in parts] == ["build#1", "build#2", "build#3"]
    assert all(a["duration"] == 4 and a["depends_on"] == ["fetch"] and a["writes"] == ["out/"] for a in parts)
    ship = next(a for a in edited["agents"] if a["id"] == "ship")
    assert ship["depends_on"] == ["lint", "build#1", "build#2", "build#3"]
    result = orchmilp.solve(edited, time_limit=5)
    assert check_plan(edited, result.to_dict()) == []
    # the parts write the same folder: they still exclude each other, so splitting gains nothing here
    assert result.makespan == orchmilp.solve(BASE, time_limit=5).makespan == 18
    assert BASE["agents"][1]["id"] == "build"  # the base is not changed


def test_remove_keeps_the_order_through_the_removed_agent_and_scale_and_set():
    removed = scenario("remove", "build").edit(BASE)
    assert next(a for a in removed["agents"] if a["id"] == "ship")["depends_on"] == ["lint", "fetch"]
    scaled = scenario("scale", "lint=0.5").edit(BASE)
    assert next(a for a in scaled["agents"] if a["id"] == "lint")["duration"] == 3
    more = scenario("set", "resources.cores=1").edit(BASE)
    assert more["resources"] == {"cores": 1}
    assert orchmilp.solve(more, time_limit=5).makespan == 24


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("remove", "nobody", "--remove nobody: the workflow has no agent 'nobody'"),
        ("split", "build=1", "--split build=1: the number of parts must be a whole number >= 2"),
        ("scale", "lint=x", "--scale lint=x: 'x' is not a number"),
        ("set", "resources.gpus=2", "--set resources.gpus=2: the workflow has no resource 'gpus' (declared: cores)"),
    ],
)
def test_bad_scenarios_name_the_flag(flag, value, message):
    with pytest.raises(InvalidOptions) as err:
        scenario(flag, value).edit(BASE)
    assert str(err.value) == message


def test_whatif_json_base_first_then_each_flag_in_order_each_matching_an_independent_solve(tmp_path):
    base = tmp_path / "wf.json"
    base.write_text(json.dumps(BASE))
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"agents": [{"id": "docs", "duration": 9, "uses": {"cores": 1}}]}))
    flags = [("--add", extra), ("--set", "resources.cores=3"), ("--remove", "lint"), ("--split", "lint=2")]
    args = [a for pair in flags for a in pair]
    proc = _cli("whatif", base, *args, "--json", "--time-limit", "5", "--samples", "500")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["scenario"] for r in rows] == ["base"] + [f"{f} {v}" for f, v in flags]
    for row, (flag, value) in zip(rows[1:], flags):
        edited = scenario(flag.lstrip("-"), str(value)).edit(BASE)
        again = orchmilp.solve(edited, time_limit=5)
        assert check_plan(edited, again.to_dict()) == []
        assert row["status"] == again.status.value == "optimal"
        assert row["makespan"] == again.makespan and row["lower_bound"] <= row["makespan"]
        assert row["p50"] > 0 and row["p90"] >= row["p50"]
    assert rows[0]["makespan"] == 18 and rows[1]["makespan"] == 18 + 0  # docs fits beside the chain on 2 cores


def test_sweep_names_where_more_capacity_stops_helping(tmp_path):
    assert sweep_values("resources.cores=1..4") == ("resources.cores", [1.0, 2.0, 3.0, 4.0])
    assert knee([(1, 24.0), (2, 18.0), (3, 18.0)]) == 2
    assert knee([(1, 24.0), (2, 18.0)]) is None  # best only at the end: more may still help
    assert knee([(1, 24.0), (2, 18.0)], floor=18.0) == 2  # the longest chain: nothing can help
    base = tmp_path / "wf.json"
    base.write_text(json.dumps(BASE))
    plot = tmp_path / "sweep.png"
    proc = _cli(
        "whatif", base, "--sweep", "resources.cores=1..3", "--plot", plot, "--time-limit", "5", "--samples", "500"
    )
    assert proc.returncode == 0, proc.stderr
    assert "more capacity stops helping at resources.cores = 2" in proc.stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"
    wide = json.loads(json.dumps(BASE))
    wide["agents"].append({"id": "docs", "duration": 14, "uses": {"cores": 1}})
    base.write_text(json.dumps(wide))  # 2 cores: 22, above the longest chain (18); 3 is not tried
    proc = _cli("whatif", base, "--sweep", "resources.cores=1..2", "--time-limit", "5", "--samples", "500")
    assert proc.returncode == 0, proc.stderr
    assert "still helps at the sweep's end (resources.cores = 2): sweep further" in proc.stdout
    proc = _cli("whatif", base, "--sweep", "resources.cores=1..3", "--time-limit", "5", "--samples", "500")
    assert "stops helping at resources.cores = 3" in proc.stdout  # 18: the longest chain


def test_whatif_bad_input_is_one_line_and_writes_nothing(tmp_path):
    base = tmp_path / "wf.json"
    base.write_text(json.dumps(BASE))
    plot = tmp_path / "sweep.png"
    proc = _cli("whatif", base, "--split", "ghost=2", "--sweep", "resources.cores=1..2", "--plot", plot)
    assert (
        proc.returncode == 2
        and proc.stderr.strip() == "orchmilp: error: --split ghost=2: the workflow has no agent 'ghost'"
    )
    assert not plot.exists()
    proc = _cli("whatif", base)
    assert proc.returncode == 2 and "give at least one scenario" in proc.stderr


def test_with_history_split_and_scale_divide_the_run_time_the_history_predicts(tmp_path):
    """The history's median replaces the figure the user wrote: a split or a scale must divide
    that median too, or a split agent would plan as K whole agents and a scale would do nothing."""
    from orchmilp.analysis.scenarios import Variant, compare
    from orchmilp.api import with_history_durations
    from orchmilp.history import read_history

    lines = []
    for r, took in enumerate([39.0, 40.0, 41.0, 40.5, 39.5]):
        start = 1.79e9 + 1000 * r
        lines.append({"run": f"r{r}", "agent": "build", "kind": "build", "start": start, "finish": start + took})
        lines[-1]["status"] = "ok"
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    history = read_history(path)
    median = next(a for a in with_history_durations(BASE, history)["agents"] if a["id"] == "build")["duration"]
    assert 38 < median < 42  # the history, not the written 12

    variants = [
        Variant("base", BASE),
        scenario("scale", "build=0.5").apply(BASE),
        scenario("split", "build=2").apply(BASE),
    ]
    rows = compare(variants, seconds=[5.0] * len(variants), history=history, samples=2000)
    for variant, row in zip(variants, rows):
        # independently: the edited workflow with the history's median times the multiplier
        expected = json.loads(json.dumps(variant.workflow))
        for agent in expected["agents"]:
            if agent["id"].startswith("build"):
                agent["duration"] = median * variant.work.get(agent["id"], 1.0)
                agent.pop("duration_range", None)
        again = orchmilp.solve(expected, time_limit=5)
        assert check_plan(expected, again.to_dict()) == []
        assert row["makespan"] == pytest.approx(again.makespan, rel=1e-6) and row["status"] == "optimal"
    base, scaled, split = rows
    assert scaled["makespan"] == pytest.approx(base["makespan"] - median / 2, rel=1e-6)
    # the two halves write the same folder, so they run one after the other: no gain, no loss
    assert split["makespan"] == pytest.approx(base["makespan"], rel=1e-6)
    assert scaled["p50"] < base["p50"] and scaled["p90"] < base["p90"]


def test_a_difference_within_the_monte_carlo_error_is_marked_as_noise():
    import io

    import numpy as np
    from rich.console import Console

    from orchmilp.prediction.simulate import quantile_error
    from orchmilp.report.console import print_whatif

    draws = np.random.default_rng(0).standard_normal(10_000)
    assert quantile_error(draws, 0.5) == pytest.approx(1.2533 / 100, rel=0.5)  # sqrt(pi/2) / sqrt(n)

    def row(name, p50, se):
        figures = {"makespan": 18, "lower_bound": 18, "p50": p50, "p90": 30, "p50_se": se, "p90_se": 0.0}
        return {"scenario": name, "status": "optimal", **figures}

    out = io.StringIO()
    print_whatif(
        [row("base", 20.0, 0.5), row("same", 21.0, 0.5), row("faster", 17.0, 0.5)],
        [],
        None,
        None,
        Console(file=out, width=200),
    )
    lines = out.getvalue().splitlines()
    assert "+1 (noise)" in next(x for x in lines if x.lstrip().startswith("same"))  # 1 <= 2 * 0.71
    assert "(noise)" not in next(x for x in lines if x.lstrip().startswith("faster"))


def test_add_remove_and_split_keep_the_users_stages_valid(tmp_path):
    staged = {**BASE, "stages": [["fetch"], ["build", "lint"], ["ship"]]}
    base = tmp_path / "wf.json"
    base.write_text(json.dumps(staged))
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"agents": [{"id": "docs", "duration": 3, "depends_on": ["lint"]}]}))
    flags = [("--add", extra), ("--remove", "lint"), ("--split", "build=2")]
    proc = _cli("whatif", base, *[a for pair in flags for a in pair], "--json", "--time-limit", "5", "--samples", "300")
    assert proc.returncode == 0, proc.stderr
    for flag, value in flags:
        edited = scenario(flag.lstrip("-"), str(value)).edit(staged)
        listed = [a for stage in edited["stages"] for a in stage]
        assert sorted(listed) == sorted(a["id"] for a in edited["agents"])
        assert check_plan(edited, orchmilp.solve(edited, time_limit=5).to_dict()) == []
    added = scenario("add", str(extra)).edit(staged)
    assert "docs" in added["stages"][1]  # beside its dependency 'lint'
    assert scenario("split", "build=2").edit(staged)["stages"][1] == ["build#1", "build#2", "lint"]


def test_a_what_if_problem_keeps_the_dependency_structure_and_only_that():
    from orchmilp.analysis.bottlenecks import lift_conflict, with_capacity

    problem = orchmilp.load(
        {
            "resources": {"cpu": 1},
            "agents": [
                {"id": "a", "duration": 2, "writes": ["f"], "uses": {"cpu": 1}},
                {"id": "b", "duration": 3, "reads": ["f"], "uses": {"cpu": 1}},
                {"id": "c", "duration": 1, "depends_on": ["a"], "writes": ["f"]},
            ],
        }
    )
    closure = problem.precedence_matrix
    wider = with_capacity(problem, 0, 1.0)
    assert wider.precedence_matrix is closure and wider.capacities.tolist() == [2.0]
    lifted = lift_conflict(problem, 0, 1)
    assert lifted.precedence_matrix is closure
    assert [(x.a, x.b) for x in lifted.conflicts] == [(0, 2), (1, 2)]
    assert [(x.a, x.b) for x in problem.conflicts] == [(0, 1), (0, 2), (1, 2)]
    with pytest.raises(ValueError, match="dataclasses.replace"):
        problem.changed(edges=problem.edges[:0])


def test_budgets_a_deadline_and_a_fixed_mode_as_what_ifs_and_a_budget_sweep(tmp_path, four_models):
    from orchmilp.services.whatif import WhatIfRequest, whatif

    path = tmp_path / "wf.json"
    path.write_text(json.dumps(four_models))
    out = whatif(
        WhatIfRequest(
            path,
            [("set", "budgets.usd=10"), ("set", "impl-b.mode=opus"), ("set", "deadline=200")],
            sweep="budgets.usd=0..4",
            seconds_each=5,
            samples=500,
        )
    )
    rows = {r["scenario"]: r for r in out.rows}
    assert rows["base"]["makespan"] == 310
    assert rows["--set budgets.usd=10"]["makespan"] == 310  # the opus bucket holds one agent
    # impl-b in opus: three opus agents, one at a time in the bucket; within the 3 usd budget the
    # plan must take haiku for the planner: 150 + 200 + 100 + 30
    fixed = rows["--set impl-b.mode=opus"]
    assert fixed["makespan"] == 480 and fixed["status"] == "optimal"
    assert rows["--set deadline=200"]["status"] == "infeasible" and "deadline" in rows["--set deadline=200"]["reason"]
    spans = [r["makespan"] for r in out.sweep_rows]
    assert spans[0] is None and out.sweep_rows[0]["status"] == "infeasible"  # below the cheapest modes
    assert all(a >= b for a, b in zip(spans[1:], spans[2:]))  # more money never slows the plan
    assert spans[-1] == 310 and out.knee == 3
    with pytest.raises(InvalidOptions, match="has no mode 'gpt'"):
        scenario("set", "impl-b.mode=gpt").apply(four_models)
