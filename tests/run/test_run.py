"""orchmilp run: real processes, their history timestamps checked by the independent checker."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from orchmilp.check import check_plan, check_run
from orchmilp.history import read_history
from tests.helpers import default_sigint

PY = sys.executable


def _cli(*args, cwd=None, timeout=120):
    return subprocess.run(
        [PY, "-m", "orchmilp.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def _write(folder: Path, workflow: dict) -> Path:
    path = folder / "wf.json"
    path.write_text(json.dumps(workflow))
    return path


def _lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "runs" / "history.jsonl").read_text().splitlines()]


def _sleeper(seconds: float, marker: str) -> str:
    """A command whose process carries ``marker`` on its command line (for pgrep)."""
    return f"{PY} -c 'import time; time.sleep({seconds})' {marker}"


def _alive(marker: str) -> list[str]:
    found = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    return [pid for pid in found if int(pid) != os.getpid()]


def _final(lines):
    out = {}
    for line in lines:
        out[line["agent"]] = line["status"]
    return out


def test_a_run_keeps_dependencies_capacities_and_file_conflicts(tmp_path):
    agents = [{"id": "setup", "duration": 0.2, "command": "sleep 0.2; echo setup > setup.txt", "writes": ["setup.txt"]}]
    for i in range(6):
        agents.append(
            {
                "id": f"work{i}",
                "duration": 0.3,
                "command": f"sleep 0.3; echo out-{i}; echo err-{i} >&2; cat setup.txt >> shared.log",
                "depends_on": ["setup"],
                "uses": {"slots": 1},
                "reads": ["setup.txt"],
                "writes": ["shared.log"] if i % 2 == 0 else [f"own{i}.txt"],
            }
        )
    agents.append(
        {"id": "report", "duration": 0.1, "command": "wc -l shared.log", "depends_on": [f"work{i}" for i in range(6)]}
    )
    workflow = {"name": "demo", "resources": {"slots": 2}, "agents": agents}
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "-q")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path)
    assert check_run(workflow, lines) == []
    assert _final(lines) == {a["id"]: "ok" for a in agents} and len(lines) == len(agents)
    run = lines[0]["run"]
    assert all(line["run"] == run and line["workflow"] == "demo" and line["exit_code"] == 0 for line in lines)
    log = (tmp_path / "runs" / run / "work3.log").read_text()
    assert "out-3" in log and "err-3" in log and "out-2" not in log  # one log per agent, never interleaved
    assert "makespan: planned" in proc.stdout and "actual" in proc.stdout


def test_failure_stop_cancels_running_agents_and_leaves_no_process(tmp_path):
    marker = f"orchmilp-test-{uuid.uuid4().hex}"
    workflow = {
        "agents": [
            {"id": "long", "duration": 5, "command": _sleeper(30, marker) + " & " + _sleeper(30, marker) + "; wait"},
            {"id": "bad", "duration": 0.2, "command": "sleep 0.3; exit 4"},
            {"id": "after", "duration": 1, "command": "echo never", "depends_on": ["bad"]},
        ]
    }
    path = _write(tmp_path, workflow)
    t0 = time.monotonic()
    proc = _cli("run", path, "-q", "--grace", "1")
    assert proc.returncode == 1, proc.stderr
    assert time.monotonic() - t0 < 20
    lines = _lines(tmp_path)
    assert _final(lines) == {"bad": "failed", "long": "cancelled"}
    assert next(line for line in lines if line["agent"] == "bad")["exit_code"] == 4
    assert check_run(workflow, lines) == []
    assert _alive(marker) == []


def test_failure_continue_skips_only_what_needs_the_failed_agent(tmp_path):
    workflow = {
        "agents": [
            {"id": "bad", "duration": 0.1, "command": "exit 2"},
            {"id": "child", "duration": 0.1, "command": "echo c", "depends_on": ["bad"]},
            {"id": "grandchild", "duration": 0.1, "command": "echo g", "depends_on": ["child"]},
            {"id": "free", "duration": 0.3, "command": "sleep 0.3"},
        ]
    }
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "-q", "--on-failure", "continue")
    assert proc.returncode == 1
    lines = _lines(tmp_path)
    assert _final(lines) == {"bad": "failed", "child": "skipped", "grandchild": "skipped", "free": "ok"}
    skipped = [line for line in lines if line["status"] == "skipped"]
    assert all(line["start"] == line["finish"] and line["exit_code"] is None for line in skipped)
    assert check_run(workflow, lines) == []


def test_timeout_kills_the_whole_group(tmp_path):
    marker = f"orchmilp-test-{uuid.uuid4().hex}"
    workflow = {
        "agents": [
            {
                "id": "slow",
                "duration": 1,
                "timeout": 0.5,
                "command": _sleeper(30, marker) + " & " + _sleeper(30, marker) + "; wait",
            }
        ]
    }
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "-q", "--grace", "1")
    assert proc.returncode == 1
    (line,) = _lines(tmp_path)
    assert line["status"] == "timeout" and 0.4 < line["finish"] - line["start"] < 3
    assert _alive(marker) == []


def test_retry_until_success_with_backoff(tmp_path):
    command = "n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]"
    workflow = {"agents": [{"id": "flaky", "duration": 0.1, "retries": 3, "command": command}]}
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "-q", "--backoff", "0.2")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path)
    assert [(line["attempt"], line["status"]) for line in lines] == [(1, "failed"), (2, "failed"), (3, "ok")]
    assert lines[1]["start"] - lines[0]["finish"] >= 0.18 and lines[2]["start"] - lines[1]["finish"] >= 0.38


def test_an_agent_killed_by_the_system_is_retried_alone(tmp_path):
    # first attempt: SIGKILL to itself (as the kernel's OOM killer would); second: fine
    command = "if [ ! -e once ]; then touch once; kill -9 $$; fi; sleep 0.5"
    workflow = {
        "agents": [
            {"id": "hungry", "duration": 0.5, "retries": 1, "command": command},
            {"id": "other1", "duration": 0.2, "command": "sleep 0.1; sleep 0.7"},
            {"id": "other2", "duration": 0.2, "command": "sleep 0.1; sleep 0.7"},
        ]
    }
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "-q", "--backoff", "0.05")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path)
    first, second = [line for line in lines if line["agent"] == "hungry"]
    assert first["status"] == "failed" and first["exit_code"] in (-9, 137) and second["status"] == "ok"
    for line in lines:
        if line["agent"] != "hungry":  # nothing ran beside the retry
            assert line["finish"] <= second["start"] + 1e-3 or line["start"] >= second["finish"] - 1e-3


@pytest.mark.parametrize(
    "tests_exit, expect", [(1, {"fix": "ok", "deploy": "skipped"}), (0, {"fix": "skipped", "deploy": "ok"})]
)
def test_run_if_both_ways(tmp_path, tests_exit, expect):
    workflow = {
        "agents": [
            {"id": "tests", "duration": 0.1, "command": f"exit {tests_exit}"},
            {"id": "fix", "duration": 0.1, "command": "echo fixing", "run_if": {"agent": "tests", "status": "failed"}},
            {"id": "deploy", "duration": 0.1, "command": "echo deploy", "run_if": {"agent": "tests", "exit_code": 0}},
            {"id": "notify", "duration": 0.1, "command": "echo done", "depends_on": ["fix", "deploy"]},
        ]
    }
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "-q")
    assert proc.returncode == (1 if tests_exit else 0), proc.stderr
    final = _final(_lines(tmp_path))
    assert {k: final[k] for k in expect} == expect
    assert final["notify"] == "skipped"  # it needs both, and one of them was skipped
    assert check_run(workflow, _lines(tmp_path)) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_then_resume_runs_nothing_twice(tmp_path, sig):
    marker = f"orchmilp-test-{uuid.uuid4().hex}"
    workflow = {
        "agents": [
            {"id": "first", "duration": 0.1, "command": "echo first"},
            {"id": "slow", "duration": 30, "command": _sleeper(30, marker), "depends_on": ["first"]},
            {"id": "last", "duration": 0.1, "command": "echo last", "depends_on": ["slow"]},
        ]
    }
    path = _write(tmp_path, workflow)
    child = subprocess.Popen(
        [PY, "-m", "orchmilp.cli", "run", str(path), "-q", "--grace", "1"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    deadline = time.monotonic() + 60
    while not _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _alive(marker), "the slow agent never started"
    child.send_signal(sig)
    assert child.wait(timeout=30) == 130
    assert _alive(marker) == []
    lines = _lines(tmp_path)
    assert _final(lines) == {"first": "ok", "slow": "cancelled"}
    # resume with a fast 'slow': only what did not end ok runs, under the same run id
    workflow["agents"][1]["command"] = "echo quick"
    path.write_text(json.dumps(workflow))
    proc = _cli("run", path, "-q", "--resume")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path)
    assert len({line["run"] for line in lines}) == 1
    assert [line["agent"] for line in lines if line["status"] == "ok"] == ["first", "slow", "last"]
    assert check_run(workflow, lines) == []


def test_two_runs_appending_to_one_history_leave_whole_lines(tmp_path):
    agents = [{"id": f"a{i}", "duration": 0.01, "command": "true"} for i in range(40)]
    path = _write(tmp_path, {"resources": {"slots": 8}, "agents": [{**a, "uses": {"slots": 1}} for a in agents]})
    history = tmp_path / "shared.jsonl"
    runs = [
        subprocess.Popen(
            [PY, "-m", "orchmilp.cli", "run", str(path), "-q", "--history", str(history)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    assert [r.wait(timeout=120) for r in runs] == [0, 0]
    lines = [json.loads(line) for line in history.read_text().splitlines()]
    assert len(lines) == 80 and len({line["run"] for line in lines}) == 2


def test_bad_run_input_is_one_line(tmp_path):
    path = _write(tmp_path, {"agents": [{"id": "a", "duration": 1}]})
    proc = _cli("run", path)
    assert (
        proc.returncode == 2
        and proc.stderr.strip() == "orchmilp: error: agent 'a': command is missing (orchmilp run runs commands)"
    )
    assert not (tmp_path / "runs").exists()
    plan = tmp_path / "plan.json"
    good = _write(tmp_path, {"agents": [{"id": "a", "duration": 1, "command": "true"}]})
    assert _cli("solve", good, "-o", plan, "-q").returncode == 0
    proc = _cli("run", plan)
    assert proc.returncode == 2 and "give its workflow too (--workflow WF.json)" in proc.stderr
    proc = _cli("run", plan, "--workflow", good, "-q")
    assert proc.returncode == 0, proc.stderr


def test_replan_keeps_running_agents_at_zero_and_plans_only_what_is_left():
    from orchmilp.run.adaptive import drifted, replan, residual_workflow

    written = {
        "resources": {"slots": 2},
        "agents": [
            {"id": "a", "duration": 1, "uses": {"slots": 1}, "command": "true"},
            {"id": "b", "duration": 4, "uses": {"slots": 1}, "command": "true"},
            {"id": "c", "duration": 2, "uses": {"slots": 1}, "depends_on": ["a"], "command": "true"},
            {"id": "d", "duration": 2, "uses": {"slots": 1}, "depends_on": ["a"], "command": "true"},
        ],
    }
    residual = residual_workflow(written, done={"a"}, remaining={"b": 3.5})
    assert [x["id"] for x in residual["agents"]] == ["b", "c", "d"]
    assert residual["agents"][0]["duration"] == 3.5 and "depends_on" not in residual["agents"][0]
    assert residual["agents"][1]["depends_on"] == []
    new = replan(written, done={"a"}, remaining={"b": 3.5}, current_left=100, time_limit=5)
    assert set(new) == {"c", "d"}
    # one slot is held by b: c and d run one after the other on the other slot
    assert sorted(len(w) for w in new.values()) == [0, 1]
    assert replan(written, done={"a"}, remaining={"b": 3.5}, current_left=1.0, time_limit=5) is None  # not better
    assert drifted(10, 12.5) and not drifted(10, 11.5) and not drifted(1, 1.9)


def test_adaptive_run_with_drifting_durations_stays_valid(tmp_path):
    workflow = {
        "resources": {"slots": 2},
        "agents": [
            {"id": "late", "duration": 0.3, "command": "sleep 1.6", "uses": {"slots": 1}},
            {"id": "early", "duration": 2.0, "command": "sleep 0.1", "uses": {"slots": 1}},
            {"id": "x", "duration": 0.5, "command": "sleep 0.5", "uses": {"slots": 1}, "depends_on": ["early"]},
            {"id": "y", "duration": 0.5, "command": "sleep 0.5", "uses": {"slots": 1}, "writes": ["f"]},
            {
                "id": "z",
                "duration": 0.5,
                "command": "sleep 0.5",
                "uses": {"slots": 1},
                "writes": ["f"],
                "depends_on": ["late"],
            },
        ],
    }
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "--adaptive")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path)
    assert check_run(workflow, lines) == [] and set(_final(lines).values()) == {"ok"}


def test_live_view_shows_running_agents_counts_and_an_eta():
    from rich.console import Console

    import orchmilp
    from orchmilp.run.executor import AgentOutcome
    from orchmilp.run.view import RunView

    problem = orchmilp.load({"agents": [{"id": "a", "duration": 10}, {"id": "b", "duration": 5, "depends_on": ["a"]}]})
    view = RunView(quiet=True, live=False)
    view.plan(problem, ((), (0,)), np.asarray([0.0, 10.0]), 15.0)
    view("start", 0, AgentOutcome(status="running", attempts=1))
    console = Console(record=True, width=100)
    console.print(view)
    text = console.export_text()
    assert "running 1  of 2" in text and "done 0" in text and "a " in text
    assert 14 <= view.eta() <= 15  # a just started: 10 + 5 left


def test_warm_start_is_used_when_feasible_and_ignored_otherwise():
    import orchmilp

    workflow = {
        "resources": {"slots": 1},
        "agents": [{"id": "a", "duration": 2, "uses": {"slots": 1}}, {"id": "b", "duration": 3, "uses": {"slots": 1}}],
    }
    for start, used in (((0.0, 2.0), True), ((0.0, 1.0), False), ((0.0,), False)):
        phases: list[str] = []
        result = orchmilp.solve(
            workflow, initial_start=start, on_progress=lambda phase, *_, seen=phases: seen.append(phase)
        )
        assert ("warm start" in phases) == used
        assert result.makespan == 5 and check_plan(workflow, result.to_dict()) == []


def test_each_agent_runs_in_its_chosen_mode_with_orchmilp_mode_set_and_recorded(tmp_path):
    hostile = "h'; touch pwned; echo '$(touch pwned2)"
    agents = [
        {
            "id": f"impl{i}",
            "uses": {"slots": 1},
            "writes": [f"out{i}.txt"],
            "modes": [
                {
                    "name": "fast",
                    "duration": 0.3,
                    "uses": {"fast_tpm": 1},
                    "consumes": {"usd": 2},
                    "command": f'sleep 0.3; printf %s "$ORCHMILP_MODE" > out{i}.txt',
                },
                {
                    "name": hostile,
                    "duration": 0.6,
                    "consumes": {"usd": 0.1},
                    "command": f'sleep 0.6; printf %s "$ORCHMILP_MODE" > out{i}.txt',
                },
            ],
        }
        for i in range(3)
    ]
    agents[1]["depends_on"], agents[2]["depends_on"] = ["impl0"], ["impl1"]
    # a chain: each fast agent shortens it, and the budget pays for one
    workflow = {"name": "modes", "resources": {"slots": 3, "fast_tpm": 1}, "budgets": {"usd": 2.3}, "agents": agents}
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "-q")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path)
    assert check_run(workflow, lines) == []  # real timestamps, capacities in each attempt's mode
    modes = {line["agent"]: line["mode"] for line in lines}
    assert sorted(modes.values()) == sorted(["fast", hostile, hostile])
    for i in range(3):
        assert (tmp_path / f"out{i}.txt").read_text() == modes[f"impl{i}"]  # ORCHMILP_MODE, verbatim
        took = next(line["finish"] - line["start"] for line in lines if line["agent"] == f"impl{i}")
        assert took >= (0.3 if modes[f"impl{i}"] == "fast" else 0.6)  # the mode's own command ran
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


FAKE_MODEL = """
import pathlib, sys, time
counter = pathlib.Path(sys.argv[1])
calls = int(counter.read_text()) if counter.exists() else 0
counter.write_text(str(calls + 1))
if calls < 2:
    print("HTTP 429 Too Many Requests: rate limit reached; retry-after: 2", flush=True)
    sys.exit(75)
time.sleep(0.3)
print("done")
"""


def _rate_limited_workflow(tmp_path: Path, declared: bool) -> dict:
    (tmp_path / "fake_model.py").write_text(FAKE_MODEL)
    mode = {"name": "opus", "duration": 0.3, "uses": {"opus_tpm": 1}, "consumes": {"usd": 1}}
    mode["command"] = f"{PY} fake_model.py impl.count"
    if declared:
        mode["rate_limit"] = {"exit_codes": [75], "pattern": "429"}
    return {
        "name": "rate-limits",
        "resources": {"opus_tpm": 2},
        "agents": [
            {"id": "impl", "modes": [mode]},
            {"id": "gate", "duration": 0.5, "command": "sleep 0.5"},
            # the same model's bucket: held while impl's bucket is paused
            {"id": "other", "duration": 0.3, "command": "sleep 0.3", "depends_on": ["gate"], "uses": {"opus_tpm": 1}},
        ],
    }


def test_a_rate_limited_attempt_waits_for_its_retry_after_holds_the_bucket_and_is_not_a_failure(tmp_path):
    workflow = _rate_limited_workflow(tmp_path, declared=True)
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "-q")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path)
    assert check_run(workflow, lines) == []
    impl = [line for line in lines if line["agent"] == "impl"]
    assert [line["status"] for line in impl] == ["failed", "failed", "ok"]  # retries 0: still ok at last
    assert [line.get("rate_limited") for line in impl] == [2, 2, None]
    for before, after in zip(impl, impl[1:]):
        assert after["start"] >= before["finish"] + 2 - 0.05  # retry-after honoured
    other = next(line for line in lines if line["agent"] == "other")
    gate = next(line for line in lines if line["agent"] == "gate")
    assert gate["finish"] < impl[0]["finish"] + 2 - 0.5  # other was ready well before the pause ended
    assert other["start"] >= impl[0]["finish"] + 2 - 0.05  # but its bucket was held
    assert _final(lines) == {"impl": "ok", "gate": "ok", "other": "ok"}


def test_without_a_declared_rate_limit_the_same_answer_is_a_failure(tmp_path):
    path = _write(tmp_path, _rate_limited_workflow(tmp_path, declared=False))
    proc = _cli("run", path, "-q")
    assert proc.returncode != 0
    impl = [line for line in _lines(tmp_path) if line["agent"] == "impl"]
    assert len(impl) == 1 and impl[0]["status"] == "failed" and "rate_limited" not in impl[0]


def test_usage_is_recorded_from_orchmilp_usage_and_from_claude_json_and_read_back(tmp_path):
    claude = json.dumps(
        {
            "type": "result",
            "total_cost_usd": 0.125,
            "usage": {"input_tokens": 1000, "output_tokens": 200, "cache_read_input_tokens": 50},
        }
    )
    workflow = {
        "name": "usage",
        "agents": [
            {
                "id": "reporter",
                "duration": 0.1,
                "command": 'echo \'{"tokens": 300, "usd": 0.01}\' >> "$ORCHMILP_USAGE"; '
                'echo \'{"tokens": 700}\' >> "$ORCHMILP_USAGE"',
            },
            {"id": "claude", "duration": 0.1, "command": f"echo 'thinking'; echo {shlex.quote(claude)}"},
            {"id": "silent", "duration": 0.1, "command": "true"},
        ],
    }
    path = _write(tmp_path, workflow)
    proc = _cli("run", path, "-q")
    assert proc.returncode == 0, proc.stderr
    lines = {line["agent"]: line for line in _lines(tmp_path)}
    assert lines["reporter"]["usage"] == {"tokens": 1000, "usd": 0.01}
    assert lines["claude"]["usage"] == {"tokens": 1250, "usd": 0.125}
    assert "usage" not in lines["silent"]
    history = read_history(tmp_path / "runs" / "history.jsonl")  # read back
    assert dict(zip(history.agent, history.usage)) == {
        "reporter": {"tokens": 1000, "usd": 0.01},
        "claude": {"tokens": 1250, "usd": 0.125},
        "silent": {},
    }


def _over_budget_workflow() -> dict:
    report = 'echo \'{"usd": 2.5}\' >> "$ORCHMILP_USAGE"'  # a costs more than it was predicted to
    b_mode = 'printf %s "$ORCHMILP_MODE" > b.txt; sleep 0.1'
    return {
        "name": "budget",
        "budgets": {"usd": 3},
        "agents": [
            {"id": "a", "duration": 0.1, "consumes": {"usd": 1}, "command": report},
            {
                "id": "b",
                "depends_on": ["a"],
                "modes": [
                    {"name": "opus", "duration": 0.1, "consumes": {"usd": 1}, "command": b_mode},
                    {"name": "haiku", "duration": 0.3, "consumes": {"usd": 0.2}, "command": b_mode},
                ],
            },
            {"id": "c", "duration": 0.1, "depends_on": ["b"], "command": "true"},
        ],
    }


def test_an_agent_that_would_overrun_the_budget_is_not_started_or_runs_in_its_cheapest_mode(tmp_path):
    workflow = _over_budget_workflow()
    stop = tmp_path / "stop"
    stop.mkdir()
    proc = _cli("run", _write(stop, workflow))
    assert proc.returncode != 0
    lines = {line["agent"]: line for line in _lines(stop)}
    assert lines["a"]["usage"] == {"usd": 2.5} and lines["a"]["status"] == "ok"
    assert lines["b"]["status"] == "skipped" and lines["c"]["status"] == "skipped"
    assert not (stop / "b.txt").exists()  # b never started
    said = [row for row in proc.stderr.splitlines() if "would overrun budgets.usd: needs 1, 0.5 of 3 left" in row]
    assert len(said) == 1  # one line says why

    cheap = tmp_path / "cheapest"
    cheap.mkdir()
    proc = _cli("run", _write(cheap, workflow), "--on-budget", "cheapest", "-q")
    assert proc.returncode == 0, proc.stderr
    lines = {line["agent"]: line for line in _lines(cheap)}
    assert lines["b"]["mode"] == "haiku" and (cheap / "b.txt").read_text() == "haiku"
    assert _final(list(lines.values())) == {"a": "ok", "b": "ok", "c": "ok"}
    assert check_run(workflow, _lines(cheap)) == []


def test_cheapest_re_plans_the_modes_of_the_rest_before_the_budget_runs_out(tmp_path):
    """a costs more than predicted; b alone still fits in its planned mode, but then c would fit
    in none: --on-budget stop ends the run at c, cheapest moves b and c to cheaper modes when b
    starts, and the run ends within the budget."""
    mode = 'printf %s "$ORCHMILP_MODE" > "$AGENT.txt"'
    workflow = {
        "name": "budget-rest",
        "budgets": {"usd": 4},
        "agents": [
            {
                "id": "a",
                "duration": 0.1,
                "consumes": {"usd": 1},
                "command": 'echo \'{"usd": 2.4}\' >> "$ORCHMILP_USAGE"',
            },
            {
                "id": "b",
                "depends_on": ["a"],
                "modes": [
                    {"name": "opus", "duration": 0.1, "consumes": {"usd": 1.2}, "command": "AGENT=b; " + mode},
                    {"name": "haiku", "duration": 0.3, "consumes": {"usd": 0.2}, "command": "AGENT=b; " + mode},
                ],
            },
            {
                "id": "c",
                "depends_on": ["b"],
                "modes": [
                    {"name": "opus", "duration": 0.1, "consumes": {"usd": 1.5}, "command": "AGENT=c; " + mode},
                    {"name": "haiku", "duration": 0.3, "consumes": {"usd": 0.5}, "command": "AGENT=c; " + mode},
                ],
            },
        ],
    }
    stop = tmp_path / "stop"
    stop.mkdir()
    assert _cli("run", _write(stop, workflow), "-q").returncode != 0
    assert _final(_lines(stop)) == {"a": "ok", "b": "ok", "c": "skipped"}  # b took what c needed
    cheap = tmp_path / "cheapest"
    cheap.mkdir()
    proc = _cli("run", _write(cheap, workflow), "--on-budget", "cheapest", "-q")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(cheap)
    assert _final(lines) == {"a": "ok", "b": "ok", "c": "ok"}
    assert (cheap / "b.txt").read_text() == "haiku" and (cheap / "c.txt").read_text() == "haiku"
    assert sum(line.get("usage", {}).get("usd", 0) for line in lines) == 2.4  # only a reports; b, c predicted 0.7
    assert check_run(workflow, lines) == []


def test_each_attempt_records_its_peak_memory_and_cpu_time(tmp_path):
    from orchmilp.run.processes import SUPERVISED

    if not SUPERVISED:
        pytest.skip("peak memory and CPU time come from the Linux supervisor")
    hog = f"{PY} -c 'import time\nx = bytearray(120 * 2**20)\nx[::4096] = b\"x\" * len(x[::4096])\nt = time.process_time()\nwhile time.process_time() - t < 0.4: pass'"
    workflow = {
        "name": "rusage",
        "agents": [
            {"id": "hog", "duration": 0.5, "command": hog},
            {"id": "idle", "duration": 0.2, "command": "sleep 0.2"},
        ],
    }
    proc = _cli("run", _write(tmp_path, workflow), "-q")
    assert proc.returncode == 0, proc.stderr
    lines = {line["agent"]: line for line in _lines(tmp_path)}
    assert lines["hog"]["rusage"]["max_rss_mib"] >= 120 and lines["hog"]["rusage"]["cpu_seconds"] >= 0.4
    assert lines["idle"]["rusage"]["max_rss_mib"] < 60 and lines["idle"]["rusage"]["cpu_seconds"] < 0.2


def test_an_agent_whose_model_stays_rate_limited_falls_back_to_its_next_mode(tmp_path):
    always = f"{PY} -c 'print(\"429 rate limited, retry-after: 0.5\"); raise SystemExit(75)'"
    workflow = {
        "name": "fallback",
        "resources": {"opus_tpm": 1, "haiku_tpm": 1},
        "agents": [
            {
                "id": "impl",
                "modes": [
                    {
                        "name": "opus",
                        "duration": 0.1,
                        "uses": {"opus_tpm": 1},
                        "command": always,
                        "rate_limit": {"exit_codes": [75], "fallback": True},
                    },
                    {
                        "name": "haiku",
                        "duration": 0.5,
                        "uses": {"haiku_tpm": 1},
                        "command": 'printf %s "$ORCHMILP_MODE" > out.txt',
                    },
                ],
            }
        ],
    }
    proc = _cli("run", _write(tmp_path, workflow), "-q")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path)
    assert [(line["mode"], line["status"]) for line in lines] == [
        ("opus", "failed"),
        ("opus", "failed"),
        ("haiku", "ok"),
    ]
    assert lines[1]["start"] >= lines[0]["finish"] + 0.5 - 0.05  # the first pause honoured
    assert (tmp_path / "out.txt").read_text() == "haiku"
    assert check_run(workflow, lines) == []
