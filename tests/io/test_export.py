"""Executable plans: the bash script runs agents as soon as what they wait for is done,
overlaps what the plan overlaps, and stops at the first failure; the Makefile works with make -j."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

import orchmilp
from orchmilp.cli import main

UNIT = 0.4  # seconds per time unit of the test workflow


def sleeper(agent_id, units, fail=False):
    tail = "exit 3" if fail else "true"
    return (
        f'echo "{agent_id} start $(date +%s.%N)" >> "$LOG"; sleep {units * UNIT}; '
        f'echo "{agent_id} end $(date +%s.%N)" >> "$LOG"; {tail}'
    )


def workflow(fail_agent=None):
    spec = [("a", 1, []), ("b", 2, ["a"]), ("c", 1, ["a"]), ("d", 1, ["b", "c"]), ("e", 3, [])]
    return {
        "resources": {"slots": 2},
        "agents": [
            {
                "id": i,
                "duration": dur,
                "depends_on": deps,
                "uses": {"slots": 1},
                "command": sleeper(i, dur, i == fail_agent),
            }
            for i, dur, deps in spec
        ],
    }


def plan_file(tmp_path, wf):
    plan = orchmilp.solve(wf).to_dict()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return plan, path


def read_log(path):
    events = {}
    for line in path.read_text().splitlines():
        agent, kind, stamp = line.split()
        events.setdefault(agent, {})[kind] = float(stamp)
    return events


def test_bash_script_follows_the_partial_order(tmp_path):
    plan, path = plan_file(tmp_path, workflow())
    script = tmp_path / "run.sh"
    assert main(["export", str(path), "--format", "bash", "-o", str(script)]) == 0
    log = tmp_path / "log.txt"
    t0 = time.time()
    run = subprocess.run(
        ["bash", str(script)],
        env={"LOG": str(log), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.time() - t0
    assert run.returncode == 0, run.stderr
    events = read_log(log)
    assert set(events) == {"a", "b", "c", "d", "e"}
    for entry in plan["schedule"]:
        for w in entry["waits_for"]:
            assert events[w]["end"] <= events[entry["id"]]["start"] + 0.01
    # what the plan runs together really overlaps
    for group in plan["groups"]:
        if len(group["agents"]) > 1:
            x, y = group["agents"][:2]
            assert events[x]["start"] < events[y]["end"] and events[y]["start"] < events[x]["end"]
    assert elapsed < plan["makespan"] * UNIT + 3.0  # no barrier per group: close to the planned makespan


def test_bash_script_stops_at_the_first_failure(tmp_path):
    plan, path = plan_file(tmp_path, workflow(fail_agent="a"))
    script = tmp_path / "run.sh"
    assert main(["export", str(path), "--format", "bash", "-o", str(script)]) == 0
    log = tmp_path / "log.txt"
    run = subprocess.run(
        ["bash", str(script)],
        env={"LOG": str(log), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert "FAILED a" in run.stderr
    events = read_log(log)
    assert "b" not in events and "c" not in events and "d" not in events  # nothing that waits for a ran


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_makefile_runs_with_make_j(tmp_path):
    plan, path = plan_file(tmp_path, workflow())
    makefile = tmp_path / "Makefile"
    assert main(["export", str(path), "--format", "make", "-o", str(makefile)]) == 0
    log = tmp_path / "log.txt"
    run = subprocess.run(
        ["make", "-j", "4", "-f", str(makefile)],
        cwd=tmp_path,
        env={"LOG": str(log), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    events = read_log(log)
    for entry in plan["schedule"]:
        for w in entry["waits_for"]:
            assert events[w]["end"] <= events[entry["id"]]["start"] + 0.01


def test_json_run_list_and_bad_plans(tmp_path, capsys):
    plan, path = plan_file(tmp_path, workflow())
    assert main(["export", str(path), "--format", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in runs["agents"]][0] == "a" and runs["agents"][0]["command"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"schedule": [{"id": "x", "waits_for": ["ghost"]}]}')
    assert main(["export", str(bad)]) == 2
    assert "agent 'x': waits_for names unknown agent 'ghost'" in capsys.readouterr().err


def test_bash_script_honours_timeout_and_retries_and_logs_timestamps(tmp_path):
    flaky = 'n=$(cat "$CNT" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$CNT"; [ $n -ge 2 ]'
    wf = {
        "agents": [
            {"id": "flaky", "duration": 0.1, "retries": 2, "command": flaky},
            {"id": "slow", "duration": 1, "timeout": 0.5, "command": "sleep 20", "depends_on": ["flaky"]},
        ]
    }
    plan, path = plan_file(tmp_path, wf)
    assert [e.get("retries") for e in plan["schedule"]] == [2, None] and plan["schedule"][1]["timeout"] == 0.5
    script = tmp_path / "run.sh"
    assert main(["export", str(path), "--format", "bash", "-o", str(script)]) == 0
    t0 = time.time()
    run = subprocess.run(
        ["bash", str(script)],
        env={"CNT": str(tmp_path / "cnt"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 1 and time.time() - t0 < 10
    events = [line.split() for line in run.stderr.splitlines() if line.startswith("[orchmilp] 1")]
    kinds = [(e[2], e[3]) + ((e[4],) if e[2] == "finish" else ()) for e in events]
    assert kinds == [
        ("start", "flaky"),
        ("finish", "flaky", "failed"),
        ("start", "flaky"),
        ("finish", "flaky", "ok"),
        ("start", "slow"),
        ("finish", "slow", "timeout"),
        ("FAILED", "slow"),
    ]
    stamps = [float(e[1]) for e in events]
    assert stamps == sorted(stamps) and 0.4 < stamps[5] - stamps[4] < 2
