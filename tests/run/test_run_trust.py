"""Red team, runs and history: one coordinator per run, --resume resumes this workflow's run and
runs nothing twice, run ids and agent ids never escape their folder or share a file, the history
is written whole or the run stops, and bad history lines are skipped, not fatal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import pytest

from orchmilp.check import check_run
from orchmilp.errors import RunError
from orchmilp.history import append_attempt, read_history
from tests.helpers import sleepers_alive

PY = sys.executable


def _cli(*args, cwd=None, timeout=120):
    return subprocess.run(
        [PY, "-m", "orchmilp.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _one_line_error(proc) -> str:
    err = proc.stderr.strip()
    assert "Traceback" not in err, err
    assert err.count("\n") == 0 and err.startswith("orchmilp: error:"), err
    return err


def test_resume_while_the_run_is_alive_is_refused(tmp_path):
    marker = f"orchmilp-{uuid.uuid4().hex}"
    wf = tmp_path / "wf.json"
    sleep = f"{PY} -c 'import time; time.sleep(60)' {marker}"
    wf.write_text(json.dumps({"agents": [{"id": "slow", "duration": 60, "command": sleep}]}))
    first = subprocess.Popen([PY, "-m", "orchmilp.cli", "run", str(wf), "-q", "--grace", "1"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not sleepers_alive(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        run_id = next(p.name for p in (tmp_path / "runs").iterdir() if p.is_dir())
        second = _cli("run", wf, "-q", "--resume", run_id)
        assert second.returncode != 0
        assert "still running" in _one_line_error(second)
        assert len(sleepers_alive(marker)) == 1  # the second coordinator started nothing
    finally:
        first.terminate()
        first.wait(timeout=30)


def test_resume_picks_this_workflows_run_when_two_share_a_history(tmp_path):
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps({"agents": [{"id": "x", "duration": 1, "command": "exit 1"}]}))
    b.write_text(json.dumps({"agents": [{"id": "y", "duration": 1, "command": "true"}]}))
    assert _cli("run", a, "-q").returncode == 1
    assert _cli("run", b, "-q").returncode == 0
    a.write_text(json.dumps({"agents": [{"id": "x", "duration": 1, "command": "true"}]}))  # fixed
    proc = _cli("run", a, "-q", "--resume")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path / "runs" / "history.jsonl")
    runs_of = {}
    for line in lines:
        runs_of.setdefault(line["agent"], set()).add(line["run"])
    assert len(runs_of["x"]) == 1, "the resume of a.json did not continue a.json's run"
    assert runs_of["x"].isdisjoint(runs_of["y"])


def test_run_ids_from_history_never_become_paths(tmp_path):
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps({"name": "w", "agents": [{"id": "a", "duration": 1, "command": "true"}]}))
    outside = tmp_path / "outside"
    history = tmp_path / "runs" / "history.jsonl"
    history.parent.mkdir()
    line = {"run": str(outside), "workflow": "w", "agent": "a", "start": 0, "finish": 1, "status": "failed"}
    history.write_text(json.dumps(line) + "\n")
    proc = _cli("run", wf, "-q", "--resume")
    assert proc.returncode == 2
    _one_line_error(proc)
    assert not outside.exists()
    for bad in ("../escape", "/abs/path", "a/b"):
        proc = _cli("run", wf, "-q", "--resume", bad)
        assert proc.returncode == 2 and "not a run id" in _one_line_error(proc)
    assert not (tmp_path / "escape").exists()


def test_each_agent_gets_its_own_log_even_when_ids_clean_up_alike(tmp_path):
    ids = ["a/b", "a_b", "a b", "x" * 200]
    wf = tmp_path / "wf.json"
    wf.write_text(
        json.dumps({"agents": [{"id": i, "duration": 0.1, "command": f"echo {k}"} for k, i in enumerate(ids)]})
    )
    proc = _cli("run", wf, "-q")
    assert proc.returncode == 0, proc.stderr
    run_dir = next(p for p in (tmp_path / "runs").iterdir() if p.is_dir())
    logs = sorted(p for p in run_dir.iterdir() if p.suffix == ".log")
    assert len(logs) == len(ids)
    own = [[line for line in p.read_text().splitlines() if line and not line.startswith("--- orchmilp:")] for p in logs]
    outputs = sorted(lines[-1] for lines in own)  # the agent's output, without orchmilp's own lines
    assert outputs == [str(k) for k in range(len(ids))]
    assert all(len(p.name) <= 90 for p in logs)


def test_a_short_history_write_leaves_no_fragment(tmp_path, monkeypatch):
    path = tmp_path / "h.jsonl"
    append_attempt(path, {"agent": "a", "start": 0, "finish": 1, "status": "ok"})
    before = path.read_bytes()
    real_write = os.write

    def short(fd, data):
        return real_write(fd, data[: len(data) // 2])

    monkeypatch.setattr(os, "write", short)
    with pytest.raises(RunError, match="disk full"):
        append_attempt(path, {"agent": "b", "start": 0, "finish": 1, "status": "ok"})
    monkeypatch.undo()
    assert path.read_bytes() == before


def test_an_unwritable_history_is_refused_before_any_agent_starts(tmp_path):
    wf = tmp_path / "wf.json"
    wf.write_text(json.dumps({"agents": [{"id": "a", "duration": 1, "command": "touch ran"}]}))
    (tmp_path / "file").write_text("not a folder")
    proc = _cli("run", wf, "-q", "--history", tmp_path / "file" / "history.jsonl")
    assert proc.returncode == 2
    assert "history" in _one_line_error(proc)
    assert not (tmp_path / "ran").exists()


def test_a_deleted_runs_folder_is_one_line_and_stops_the_agents(tmp_path):
    marker = f"orchmilp-{uuid.uuid4().hex}"
    wf = tmp_path / "wf.json"
    sleep = f"{PY} -c 'import time; time.sleep(60)' {marker}"
    workflow = {
        "resources": {"slots": 2},
        "agents": [
            {"id": "vandal", "duration": 0.5, "command": "sleep 0.5; rm -rf runs", "uses": {"slots": 1}},
            {"id": "slow", "duration": 60, "command": sleep, "uses": {"slots": 1}},
            {"id": "after", "duration": 1, "command": "touch after-ran", "depends_on": ["vandal"]},
        ],
    }
    wf.write_text(json.dumps(workflow))
    proc = _cli("run", wf, "-q", "--grace", "1", timeout=60)
    assert proc.returncode == 1
    assert "cannot write" in _one_line_error(proc)
    assert sleepers_alive(marker) == []
    assert not (tmp_path / "after-ran").exists()


def test_bad_history_lines_are_skipped_not_fatal(tmp_path):
    path = tmp_path / "h.jsonl"
    good = {"run": "r1", "agent": "a", "start": 0, "finish": 2, "status": "ok"}
    path.write_bytes(
        b"\xff\xfe\x00garbage\x80\n"
        + json.dumps(good).encode()
        + b"\n"
        + json.dumps({**good, "host": {"name": "x"}}).encode()
        + b"\n"
        + json.dumps({**good, "start": -1.7e308, "finish": 1.7e308}).encode()
        + b"\n"
        + json.dumps({**good, "run": ["r"]}).encode()
        + b"\n"
        + b"[" * 100000
        + b"\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = read_history(path)
    assert len(history) == 1 and history.duration.tolist() == [2.0]
    messages = [str(w.message) for w in caught]
    assert len(messages) == 5 and all(f"{path}:" in m for m in messages)
    proc = _cli("history", path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr


def test_timeouts_use_the_time_unit_a_huge_one_is_no_limit_and_an_endless_one_refused(tmp_path):
    wf = tmp_path / "wf.json"
    workflow = {
        "time_unit": "min",
        "agents": [
            {"id": "short", "duration": 0.01, "timeout": 0.02, "command": "sleep 0.5"},  # 1.2 s allowed
            {"id": "huge", "duration": 0.01, "timeout": 1e12, "command": "sleep 0.2"},  # 1.9 million years
        ],
    }
    wf.write_text(json.dumps(workflow))
    proc = _cli("run", wf, "-q")
    assert proc.returncode == 0, proc.stderr
    lines = _lines(tmp_path / "runs" / "history.jsonl")
    assert {line["agent"]: line["status"] for line in lines} == {"short": "ok", "huge": "ok"}
    assert check_run(workflow, lines) == []
    wf.write_text(json.dumps({**workflow, "time_unit": "parsecs"}))
    proc = _cli("run", wf, "-q")
    assert proc.returncode == 2 and "time_unit" in _one_line_error(proc)
    workflow["agents"][1]["timeout"] = 1e300  # beyond what a clock holds: refused in one line
    wf.write_text(json.dumps(workflow))
    proc = _cli("run", wf, "-q")
    assert proc.returncode == 2 and "'huge': timeout" in _one_line_error(proc)
