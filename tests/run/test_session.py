"""The coordinator session, driven by a simulated coding agent: it launches what the session
says, reports what ended at the simulated clock (``at``), and the history lines it leaves are
checked with the independent run checker."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import orchmilp
from orchmilp.check import check_run
from orchmilp.cli import main
from orchmilp.engine import load
from orchmilp.errors import InvalidOptions
from orchmilp.prediction import waits_for_of_plan
from orchmilp.prediction.simulate import makespans
from orchmilp.run import session as sessions
from orchmilp.services.session import SessionStart, session_cancel, session_done, session_start, session_status
from tests.helpers import ROOT

EXAMPLES = [
    pytest.param(p, marks=pytest.mark.slow) if p.stem == "map-reduce" else p
    for p in sorted((ROOT / "instances" / "examples").glob("*.json"))
]


def _drive(view, state, durations):
    """Launch what the session says; report the earliest ends; until nothing remains."""
    ending: dict[str, float] = {}
    launched: list[tuple[str, float]] = []
    now = 0.0
    while True:
        for entry in view["launch"]:
            ending[entry["id"]] = now + durations[entry["id"]]
            launched.append((entry["id"], now))
        if view["remaining"] == 0:
            return now, launched, view
        assert ending, f"nothing runs and {view['remaining']} remain"
        now = min(ending.values())
        ended = sorted(a for a, t in ending.items() if t == now)
        for a in ended:
            del ending[a]
        view = session_done(state, view["session"], ended, at=now)


def _lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("workflow", EXAMPLES, ids=lambda p: getattr(p, "stem", None))
@pytest.mark.parametrize("waves", [False, True], ids=["events", "waves"])
def test_a_simulated_coding_agent_keeps_every_rule_and_matches_the_static_plan(tmp_path, workflow, waves):
    written = json.loads(workflow.read_text())
    rng = np.random.default_rng(7)
    durations = {a["id"]: round(float(a["duration"]) * rng.uniform(0.6, 1.4), 3) for a in written["agents"]}
    state = tmp_path / "state"
    view = session_start(SessionStart(workflow, state=state, waves=waves, time_limit=20, at=0))
    folder = state / view["session"]
    first = json.loads((folder / "session.json").read_text())["waits_for"]
    end, launched, last = _drive(view, state, durations)
    assert last["done"] and last["counts"] == {"ok": len(written["agents"])}
    lines = _lines(state / "history.jsonl")
    assert {line["run"] for line in lines} == {view["session"]}
    assert check_run(written, lines) == []
    assert sorted(a for a, _ in launched) == sorted(durations)  # each agent launched once
    # the static plan's waits_for replayed with the same durations: the session (re-planned or
    # not) is at most 5% behind it
    problem = load(written)
    d = np.array([durations[a] for a in problem.ids])
    plan = {"schedule": [{"id": a, "waits_for": w} for a, w in first.items()]}
    static = float(makespans(waits_for_of_plan(problem, plan), d[None, :])[0])
    assert end <= static * 1.05 + 1e-6
    saved = json.loads((folder / "session.json").read_text())
    if waves:
        # agents start only at wave boundaries: every launch time is the end of the previous wave
        waits = saved["waits_for"]
        for a, t in launched:
            if waits[a]:
                assert t == pytest.approx(max(t0 + durations[w] for w, t0 in launched if w in waits[a]))


def test_the_session_replans_on_drift_and_stays_close_to_the_static_plan(tmp_path):
    """Durations far from the plan: the re-planned session is never more than 5% behind
    replaying the first plan's waits_for with the same durations."""
    workflow = ROOT / "instances" / "examples" / "validate-test-deploy.json"
    written = json.loads(workflow.read_text())
    problem = load(written)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        durations = {a["id"]: round(float(a["duration"]) * rng.uniform(0.3, 2.0), 3) for a in written["agents"]}
        state = tmp_path / f"s{seed}"
        view = session_start(SessionStart(workflow, state=state, time_limit=20, at=0))
        first = json.loads((state / view["session"] / "session.json").read_text())["waits_for"]
        end, _, last = _drive(view, state, durations)
        assert check_run(written, _lines(state / "history.jsonl")) == []
        d = np.array([durations[a] for a in problem.ids])
        plan = {"schedule": [{"id": a, "waits_for": w} for a, w in first.items()]}
        static = float(makespans(waits_for_of_plan(problem, plan), d[None, :])[0])
        assert end <= static * 1.05 + 1e-6, (seed, end, static, last["replans"])


def test_failures_retry_skip_and_stop(tmp_path):
    workflow = tmp_path / "wf.json"
    workflow.write_text(
        json.dumps(
            {
                "name": "retry",
                "agents": [
                    {"id": "a", "duration": 10, "retries": 1, "prompt": "do a", "subagent": "general"},
                    {"id": "b", "duration": 5, "depends_on": ["a"]},
                    {"id": "c", "duration": 5},
                    {"id": "fix", "duration": 3, "depends_on": ["c"], "run_if": {"agent": "c", "status": "failed"}},
                    {"id": "d", "duration": 4, "depends_on": ["c"]},
                ],
            }
        )
    )
    state = tmp_path / "runs"
    view = session_start(SessionStart(workflow, on_failure="continue", at=0))
    assert view["state"] == str(state)
    first = {e["id"]: e for e in view["launch"]}
    assert set(first) == {"a", "c"} and first["a"]["prompt"] == "do a" and first["a"]["subagent"] == "general"
    sid = view["session"]
    view = session_done(state, sid, ["a"], status="failed", exit_code=3, at=10)
    assert [e["id"] for e in view["launch"]] == ["a"] and view["launch"][0]["attempt"] == 2  # retried
    view = session_done(state, sid, ["c"], status="failed", at=11)
    assert [e["id"] for e in view["launch"]] == ["fix"]  # run_if on the failure; d needs c ok: skipped
    view = session_done(state, sid, ["a", "fix"], at=20)
    assert [e["id"] for e in view["launch"]] == ["b"]
    view = session_done(state, sid, ["b"], at=25)
    assert view["done"] and view["counts"] == {"ok": 3, "failed": 1, "skipped": 1}
    lines = _lines(state / "history.jsonl")
    assert [(x["agent"], x["attempt"], x["status"]) for x in lines if x["agent"] == "a"] == [
        ("a", 1, "failed"),
        ("a", 2, "ok"),
    ]
    assert check_run(json.loads(workflow.read_text()), lines) == []


def test_a_failure_stops_launching_and_cancel_says_what_to_stop(tmp_path):
    workflow = tmp_path / "wf.json"
    agents = [{"id": x, "duration": 10} for x in "abc"] + [{"id": "d", "duration": 1, "depends_on": ["a"]}]
    workflow.write_text(json.dumps({"agents": agents}))
    state = tmp_path / "runs"
    view = session_start(SessionStart(workflow, state=state, at=0))
    sid = view["session"]
    running = view["running"]
    assert sorted(running) == ["a", "b", "c"]
    view = session_done(state, sid, [running[0]], status="failed", at=1)
    assert view["launch"] == [] and view["stopping"].startswith(f"'{running[0]}'")
    view = session_cancel(state, sid, at=2)
    assert sorted(view["stop"]) == sorted(running[1:]) and view["remaining"] == 0
    assert session_status(state, sid)["counts"].get("running", 0) == 0
    with pytest.raises(InvalidOptions, match="not running"):
        session_done(state, sid, [running[1]], at=3)


def test_bad_calls_are_one_line_errors(tmp_path, capsys):
    workflow = tmp_path / "refactor.json"
    shutil.copy(ROOT / "instances" / "examples" / "refactor.json", workflow)
    assert main(["session", "start", str(workflow), "--at", "0"]) == 0
    view = json.loads(capsys.readouterr().out)
    state = str(tmp_path / "runs")
    assert main(["session", "done", view["session"], "no-such-agent", "--state", state]) == 2
    assert main(["session", "done", "../etc", "x", "--state", state]) == 2
    assert main(["session", "status", "20261204T000000Z-0000", "--state", state]) == 2
    waiting = next(
        a
        for a, s in json.loads((tmp_path / "runs" / view["session"] / "session.json").read_text())["agents"].items()
        if s["status"] == "waiting"
    )
    assert main(["session", "done", view["session"], waiting, "--state", state, "--at", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 4 and all(line.startswith("orchmilp: error:") for line in err)
    first = view["launch"][0]["id"]
    for at in ("nan", "-1", "1e18"):  # past 1e15 s a duration is no longer exact
        with pytest.raises(SystemExit):
            main(["session", "done", view["session"], first, "--state", state, "--at", at])
        assert "--at" in capsys.readouterr().err
    with pytest.raises(InvalidOptions, match="0 to 1e"):  # the library and MCP path
        sessions.done(tmp_path / "runs", view["session"], [first], at=1e18)
    assert main(["session", "done", view["session"], first, "--state", state, "--at", "30"]) == 0
    after = json.loads(capsys.readouterr().out)
    assert first not in after["running"] and after["remaining"] == 12


def test_two_sessions_live_side_by_side_and_survive_the_process(tmp_path):
    workflow = ROOT / "instances" / "examples" / "code-review.json"
    state = tmp_path / "runs"
    one = session_start(SessionStart(workflow, state=state, at=0))
    two = session_start(SessionStart(workflow, state=state, at=0))
    assert one["session"] != two["session"]
    a = one["launch"][0]["id"]
    session_done(state, one["session"], [a], at=5)
    assert a in session_status(state, two["session"])["running"]
    assert a not in sessions.status(state, one["session"])["running"]


def test_the_library_drives_a_wave_session_and_another_handle_takes_it_over(tmp_path):
    workflow = ROOT / "instances" / "examples" / "refactor.json"
    written = json.loads(workflow.read_text())
    durations = {a["id"]: float(a["duration"]) * (1.3 if k % 2 else 0.8) for k, a in enumerate(written["agents"])}
    state = tmp_path / "runs"
    coordinator = orchmilp.session(workflow, waves=True, state=state, time_limit=10, at=0)
    assert coordinator.view["session"] == coordinator.id and coordinator.view["launch"]
    ending: dict[str, float] = {}
    now, waves = 0.0, []
    while True:
        launch = [entry["id"] for entry in coordinator.view["launch"]]
        if launch:
            assert not ending, "a wave is launched only when the one before has ended"
            waves.append(launch)
        ending.update({a: now + durations[a] for a in launch})
        if coordinator.view["remaining"] == 0:
            break
        now = min(ending.values())
        ended = [a for a, t in ending.items() if t == now]
        for a in ended:
            del ending[a]
        if len(waves) == 2 and not ending:  # a second handle (another process) takes over
            coordinator = orchmilp.open_session(state, coordinator.id)
        coordinator.done(*ended, at=now)
    assert coordinator.view["done"] and coordinator.view["counts"] == {"ok": len(written["agents"])}
    assert check_run(written, _lines(state / "history.jsonl")) == []
    assert sorted(a for w in waves for a in w) == sorted(durations)  # each agent in one wave
    assert now == pytest.approx(sum(max(durations[a] for a in w) for w in waves))
    assert coordinator.status(at=now)["running"] == [] and coordinator.view["remaining"] == 0
