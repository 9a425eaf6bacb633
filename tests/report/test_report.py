"""Reports, diagrams and charts from the CLI."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import orchmilp
from orchmilp.cli import main
from orchmilp.report.content import report_content
from orchmilp.report.diagrams import dot, mermaid
from orchmilp.report.markdown import markdown_report
from orchmilp.services import Reports
from tests.helpers import ROOT, assert_valid_plan

CODE_REVIEW = ROOT / "instances" / "examples" / "code-review.json"


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_solve_writes_every_artefact(tmp_path):
    files = {
        k: tmp_path / name
        for k, name in [
            ("report", "r.md"),
            ("html", "r.html"),
            ("gantt", "g.png"),
            ("mermaid", "d.mmd"),
            ("dot", "d.dot"),
        ]
    }
    svg = tmp_path / "g.svg"
    argv = ["solve", str(CODE_REVIEW), "-q", "--what-if-seconds", "5"]
    for k, path in files.items():
        argv += [f"--{k}", str(path)]
    assert main(argv) == 0
    assert main(["solve", str(CODE_REVIEW), "-q", "--gantt", str(svg)]) == 0
    width, height = png_size(files["gantt"])
    assert 800 <= width <= 3000 and 300 <= height <= 8000
    assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()
    md = files["report"].read_text()
    for section in [
        "# Parallel Orchestration Optimization Report",
        "## Executive Summary",
        "## Dependency Analysis",
        "## Resource Conflict Analysis",
        "## Performance Predictions",
        "## Resource Utilization",
    ]:
        assert section in md
    assert "- Current Performance: 220 s (baseline: sequential)" in md
    assert "- Optimized Performance: 150 s (proven optimal" in md
    assert "Performance Gain: 31.8% reduction" in md
    page = files["html"].read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page and "src=" not in page  # self-contained
    assert files["mermaid"].read_text().startswith("flowchart LR")
    assert files["dot"].read_text().startswith("digraph workflow {")


def test_report_uses_the_current_stages_as_baseline():
    workflow = {
        "agents": [{"id": "a", "duration": 4}, {"id": "b", "duration": 6}, {"id": "c", "duration": 2}],
        "stages": [["a"], ["b"], ["c"]],
    }
    content = report_content(orchmilp.solve(workflow), what_ifs=False)
    assert content["summary"]["baseline"] == 12 and content["summary"]["baseline_label"] == "current stages (3)"
    assert content["summary"]["makespan"] == 6
    assert "Performance Gain: 50.0% reduction (2.0x faster)" in markdown_report(content)


def test_diagrams_mark_added_orderings_and_the_critical_path():
    workflow = {
        "resources": {"slots": 1},
        "agents": [{"id": "a", "duration": 1, "uses": {"slots": 1}}, {"id": "b", "duration": 2, "uses": {"slots": 1}}],
    }
    result = orchmilp.solve(workflow)
    text = mermaid(result.problem, result)
    assert '-. "resource slots" .->' in text and "class " in text
    assert 'style=dashed, label="resource slots"' in dot(result.problem, result)


def test_analyze_command(capsys):
    assert main(["analyze", str(CODE_REVIEW), "--json"]) == 0
    import json

    facts = json.loads(capsys.readouterr().out)
    assert facts["agents"] == 7 and facts["levels"][0] == ["fetch-diff"]
    assert main(["analyze", str(CODE_REVIEW)]) == 0
    out = capsys.readouterr().out
    assert "critical path" in out and "File conflicts" in out


def test_report_states_the_interval_the_data_give_risk_roadmap_and_validation(tmp_path):
    import json as _json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    sra = root / "instances" / "wfcommons" / "srasearch"
    workflow = tmp_path / "sra.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "orchmilp.cli",
            "convert",
            str(sra / "srasearch-chameleon-10a-001.json"),
            "-o",
            str(workflow),
        ],
        check=True,
    )
    report, page = tmp_path / "r.md", tmp_path / "r.html"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchmilp.cli",
            "solve",
            str(workflow),
            "--history",
            str(sra),
            "--report",
            str(report),
            "--html",
            str(page),
            "--samples",
            "2000",
            "-q",
            "--json",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    plan = _json.loads(proc.stdout)
    pred = plan["prediction"]
    text = report.read_text()
    assert "**Analysis Date**" in text and "## Implementation Roadmap" in text and "## Validation Strategy" in text
    lo, hi = pred["interval"]
    # the interval in the report is the plan's prediction; no ±10% claim, the data do not support it
    assert f"95% interval {lo}-{hi} s" in text and "not ±10%" in text and "within ±10%" not in text
    assert "Risk Assessment: High" in text
    top = max(pred["agents"], key=lambda a: a["criticality"])
    assert f"{top['id']} ({100 * top['criticality']:.0f}%)" in text
    html_text = page.read_text()
    assert html_text.count("<svg") == 2 and "p10-p90" in html_text and "Validation Strategy" in html_text


def test_the_ten_percent_claim_appears_where_the_interval_is_that_narrow():
    from orchmilp.report.markdown import markdown_report

    narrow = {
        "resources": {"cpu": 1},
        "agents": [
            {"id": f"a{i}", "duration": 10, "duration_range": [9.8, 10.2], "uses": {"cpu": 1}} for i in range(4)
        ],
    }
    text = markdown_report(report_content(orchmilp.solve(narrow), what_ifs=False))
    assert "within ±10% at 95% confidence" in text


def test_the_deepest_chain_is_named_as_such_beside_the_critical_path_in_time():
    """Three short agents in a row against one long agent: the report must not call the
    three the longest chain (the long agent is the critical path)."""
    workflow = {
        "agents": [
            {"id": "a", "duration": 1},
            {"id": "b", "duration": 1, "depends_on": ["a"]},
            {"id": "c", "duration": 1, "depends_on": ["b"]},
            {"id": "long", "duration": 50},
        ]
    }
    md = markdown_report(report_content(orchmilp.solve(workflow), what_ifs=False))
    assert "deepest chain (3 agents in a row): a -> b -> c." in md
    assert "- Critical path: long" in md and "longest dependency chain" not in md


def test_the_roadmap_names_what_keeps_the_run_waiting_not_a_short_agent_that_is_always_critical():
    """``join`` is on every critical path but takes 0.1 s: shortening it gains nothing."""
    workflow = {
        "agents": [
            {"id": "big", "duration": 100, "duration_range": [60, 160]},
            {"id": "other", "duration": 95, "duration_range": [85, 105]},
            {"id": "join", "duration": 0.1, "duration_range": [0.05, 0.2], "depends_on": ["big", "other"]},
        ]
    }
    content = report_content(orchmilp.solve(workflow), what_ifs=False)
    assert content["prediction"]["most_critical"][0]["id"] == "join"
    md = markdown_report(content)
    step = next(line for line in md.splitlines() if "keep the run waiting longest" in line)
    assert step.index("big (") < step.index("other (") < step.index("join (")


def test_gantt_shows_every_whisker_whole_and_keeps_the_legend_off_the_bars():
    import dataclasses

    from orchmilp.report.gantt import gantt_figure

    workflow = {
        "agents": [
            {"id": "slow", "duration": 10, "duration_range": [5, 60]},
            {"id": "last", "duration": 1, "depends_on": ["slow"]},
        ]
    }
    result = orchmilp.solve(workflow)
    prediction = orchmilp.predict(workflow, plan=result.to_dict(), samples=2000)
    fig = gantt_figure(dataclasses.replace(result, prediction=prediction))
    ax = fig.axes[0]
    starts = dict(zip(result.problem.ids, result.start))
    assert ax.get_xlim()[1] >= max(starts[a["id"]] + a["p90"] for a in prediction.agents) > result.makespan
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.y0 >= ax.get_window_extent().y1 - 1  # above the axes, over no bar


def test_the_histogram_draws_the_bulk_and_counts_the_far_tail():
    from orchmilp.report.gantt import histogram_svg

    wide = orchmilp.predict({"agents": [{"id": "a", "duration": 10, "duration_range": [1, 200]}]}, samples=4000)
    beyond = int((wide.makespans > max(np.quantile(wide.makespans, 0.995), wide.interval[1], 10)).sum())
    assert beyond > 0 and f"{beyond} of 4000 samples above" in histogram_svg(wide)
    tight = orchmilp.predict({"agents": [{"id": "a", "duration": 10, "duration_range": [9, 11]}]}, samples=4000)
    assert "samples above" not in histogram_svg(tight)  # no far tail: every sample drawn


def test_a_branch_goes_on_to_the_agent_its_end_holds_back():
    """``b2`` waits for ``index`` (done at 10) and ``dump2`` (done at 50): its branch is
    dump2 -> b2; index is a branch of its own."""
    from orchmilp.analysis.bottlenecks import parallel_branches

    workflow = {
        "agents": [
            {"id": "index", "duration": 10},
            {"id": "dump1", "duration": 100},
            {"id": "dump2", "duration": 50},
            {"id": "b1", "duration": 5, "depends_on": ["index", "dump1"]},
            {"id": "b2", "duration": 5, "depends_on": ["index", "dump2"]},
            {"id": "merge", "duration": 1, "depends_on": ["b1", "b2"]},
        ]
    }
    result = orchmilp.solve(workflow)
    assert result.critical_path == ["dump1", "b1", "merge"]
    assert sorted(b["agents"] for b in parallel_branches(result)) == [["dump2", "b2"], ["index"]]


def test_conflicts_settled_by_dependencies_ask_nothing_of_the_runner():
    """Two agents writing one file, one depending on the other: no ordering for a runner to keep."""
    from orchmilp.report.html import html_report

    workflow = {
        "agents": [
            {"id": "a", "duration": 3, "writes": ["out.txt"]},
            {"id": "b", "duration": 2, "writes": ["out.txt"], "depends_on": ["a"]},
        ]
    }
    result = orchmilp.solve(workflow)
    content = report_content(result, what_ifs=False)
    steps = [s for phase in content["roadmap"] for s in phase["steps"]]
    assert not any("Keep the orderings" in s for s in steps)
    page = html_report(content, result)
    assert "<h3>File conflicts and the order chosen</h3>" in page
    assert "1 more conflicting pair is already ordered by its dependencies." in page


def test_a_wave_plan_report_shows_the_waves_their_cost_and_the_stages_gain(tmp_path):
    """Stages a, b, c as barriers take 4 + 6 + 2; waves {a, b} then {c} take 8 (c needs a);
    the event-driven plan 6."""
    workflow = {
        "agents": [
            {"id": "a", "duration": 4},
            {"id": "b", "duration": 6},
            {"id": "c", "duration": 2, "depends_on": ["a"]},
        ],
        "stages": [["a"], ["b"], ["c"]],
    }
    outcome = orchmilp.plan(
        workflow, dispatch="waves", reports=Reports(markdown=tmp_path / "r.md", html=tmp_path / "r.html")
    )
    assert outcome.plan["dispatch_cost"] == {"waves": 8, "events": 6, "events_status": "optimal", "stages": 12}
    md = (tmp_path / "r.md").read_text()
    assert "| 1 | 0 s | 6 s | a, b |" in md and "| 2 | 6 s | 2 s | c |" in md
    assert "launching in waves costs 33.3%" in md and "the waves are 33.3% shorter" in md
    assert "launching in waves costs 33.3%" in (tmp_path / "r.html").read_text()


def test_a_large_gantt_draws_collections_without_a_label_per_agent():
    from matplotlib.collections import LineCollection

    from orchmilp.report.gantt import LABELLED_AGENTS, gantt_figure

    n = LABELLED_AGENTS + 50
    workflow = {
        "resources": {"slots": 4},
        "agents": [{"id": f"t{i}", "duration": 1 + i % 7, "uses": {"slots": 1}} for i in range(n)],
    }
    result = orchmilp.solve(workflow, time_limit=10)
    assert_valid_plan(workflow, result.to_dict())
    ax = gantt_figure(result).axes[0]
    bars = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert bars and len(bars[0].get_segments()) == n
    assert len(ax.patches) == 0 and len(ax.get_yticklabels()) < 50
    assert ax.get_ylabel() == f"{n} agents, by start"


def test_the_report_distributes_tokens_and_money_per_group_and_agent_and_prices_faster_models(four_models):
    result = orchmilp.solve(four_models, time_limit=10)
    content = report_content(result, what_if_seconds=2)  # the what-ifs keep the chosen modes
    spend = content["spend"]
    chosen = {e["id"]: e.get("mode") for e in result.to_dict()["schedule"]}
    # each agent's usd from the workflow as written: its mode's, or its own
    usd = {}
    for agent in four_models["agents"]:
        modes = {m["name"]: m for m in agent.get("modes", [])}
        usd[agent["id"]] = modes[chosen[agent["id"]]]["consumes"]["usd"] if modes else agent["consumes"]["usd"]
    assert spend["totals"]["usd"] == pytest.approx(sum(usd.values()))
    for group in spend["groups"]:
        assert group["usd"] == pytest.approx(sum(usd[a] for a in group["agents"]))
    assert sum(g["usd_percent"] for g in spend["groups"]) == pytest.approx(100, abs=0.2)
    assert {a["id"]: a["mode"] for a in spend["agents"]} == {a: m or "-" for a, m in chosen.items()}
    # impl-b in haiku: opus would save 120 s and cost 0.85 usd more
    assert {(f["id"], f["mode"], f["saves"], f["extra_usd"]) for f in spend["faster"]} == {
        ("impl-b", "opus", 120, 0.85)
    }
    md = markdown_report(content)
    assert "## Token and Cost Budget" in md and "opus instead of haiku" in md and "2.9 usd of 3" in md
    assert (
        report_content(orchmilp.solve(ROOT / "instances" / "examples" / "refactor.json"), what_ifs=False)["spend"]
        is None
    )


def test_the_report_warns_when_history_saw_undeclared_writes(tmp_path):
    import json

    from orchmilp.services import PlanRequest, plan

    workflow = {
        "agents": [
            {"id": "a", "duration": 2, "writes": ["a.txt"]},
            {"id": "b", "duration": 3, "writes": ["b.txt"]},
        ]
    }
    lines = [
        {
            "run": f"r{k}",
            "agent": agent,
            "start": 0,
            "finish": d,
            "status": "ok",
            "wrote": wrote,
            "undeclared": undeclared,
        }
        for k in range(3)
        for agent, d, wrote, undeclared in (("a", 2, ["a.txt", "notes.md"], ["notes.md"]), ("b", 3, ["b.txt"], []))
    ]
    history = tmp_path / "h.jsonl"
    history.write_text("".join(json.dumps(line) + "\n" for line in lines))
    report = tmp_path / "r.md"
    out = plan(PlanRequest(workflow, time_limit=10, history=history, reports=Reports(markdown=report)))
    text = report.read_text()
    assert "**Warning**" in text and "a: notes.md" in text and "b:" not in text.split("**Warning**")[1].split("\n")[0]
    assert "write files they do not declare" in text.split("Risk Assessment")[1].split("\n")[0]
    assert_valid_plan(workflow, out.plan)
    clean = tmp_path / "clean.md"
    plan(PlanRequest(workflow, time_limit=10, reports=Reports(markdown=clean)))
    assert "**Warning**" not in clean.read_text()
