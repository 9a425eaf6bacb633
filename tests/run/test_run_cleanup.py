"""Red team, executor: no agent process outlives its agent or the coordinator, whatever the
exit path (SIGKILL of orchmilp, SIGHUP, a second signal during cleanup, a timeout, an agent
that ended ok but left children behind, children that ignore SIGTERM or escape with setsid)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from orchmilp.check import check_run
from tests.helpers import default_sigint, wait_for
from tests.helpers import sleepers_alive as _alive

PY = sys.executable
SLEEP = f"{PY} -c 'import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN if sys.argv[1] == \"deaf\" else signal.SIG_DFL); time.sleep(60)'"

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the supervisor is Linux only")


def _spawner(folder: Path, marker: str) -> str:
    """A command that leaves four processes: in the background, through setsid, through a
    double setsid (the agent's group and session both left), and in the foreground."""
    script = folder / "spawn.sh"
    script.write_text(
        "M=$1\n"
        f"{SLEEP} plain $M-bg &\n"
        f"setsid {SLEEP} plain $M-setsid &\n"
        f'setsid bash -c "setsid {SLEEP.replace(chr(34), chr(92) + chr(34))} plain $M-double &"\n'
        f"{SLEEP} plain $M-fg\n"
    )
    return f"bash {script} {marker}"


def _start(folder: Path, workflow: dict, *extra: str) -> subprocess.Popen:
    path = folder / "wf.json"
    path.write_text(json.dumps(workflow))
    return subprocess.Popen(
        [PY, "-m", "orchmilp.cli", "run", str(path), "-q", "--grace", "1", *extra],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )


def _history(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "runs" / "history.jsonl").read_text().splitlines()]


def test_sigkill_of_the_coordinator_stops_every_agent_process(tmp_path):
    marker = f"orchmilp-{uuid.uuid4().hex}"
    workflow = {
        "agents": [
            {"id": "a", "duration": 60, "command": _spawner(tmp_path, marker + "a")},
            {"id": "b", "duration": 60, "command": f"{SLEEP} plain {marker}b"},
        ]
    }
    child = _start(tmp_path, workflow)
    try:
        assert wait_for(lambda: len(_alive(marker)) == 5, 60), f"only {len(_alive(marker))} of 5 started"
        child.kill()
        child.wait(timeout=10)
        assert wait_for(lambda: not _alive(marker), 10), f"left behind: {_alive(marker)}"
    finally:
        child.kill()
        for pid in _alive(marker):
            os.kill(pid, signal.SIGKILL)


def test_children_of_an_agent_that_ended_ok_do_not_outlive_it(tmp_path):
    marker = f"orchmilp-{uuid.uuid4().hex}"
    command = f"{SLEEP} plain {marker}-bg & {SLEEP} deaf {marker}-deaf & setsid {SLEEP} plain {marker}-away & sleep 0.5; exit 0"
    workflow = {
        "agents": [
            {"id": "leaves-children", "duration": 1, "command": command},
            {"id": "next", "duration": 1, "command": "true", "depends_on": ["leaves-children"]},
        ]
    }
    child = _start(tmp_path, workflow)
    assert child.wait(timeout=60) == 0, child.stderr.read()
    assert _alive(marker) == []
    lines = _history(tmp_path)
    assert [line["status"] for line in lines] == ["ok", "ok"]
    assert check_run(workflow, lines) == []


def test_a_timeout_kills_children_that_ignore_sigterm(tmp_path):
    marker = f"orchmilp-{uuid.uuid4().hex}"
    command = f"trap '' TERM; {SLEEP} deaf {marker}-1 & {SLEEP} deaf {marker}-2"
    workflow = {"agents": [{"id": "deaf", "duration": 1, "timeout": 0.5, "command": command}]}
    started = time.monotonic()
    child = _start(tmp_path, workflow)
    assert child.wait(timeout=60) == 1
    assert _alive(marker) == []
    assert time.monotonic() - started < 30
    assert [line["status"] for line in _history(tmp_path)] == ["timeout"]


def test_sighup_is_handled_like_sigterm(tmp_path):
    marker = f"orchmilp-{uuid.uuid4().hex}"
    workflow = {"agents": [{"id": "slow", "duration": 60, "command": f"{SLEEP} plain {marker}"}]}
    child = _start(tmp_path, workflow)
    assert wait_for(lambda: _alive(marker), 60)
    child.send_signal(signal.SIGHUP)
    assert child.wait(timeout=30) == 130
    assert "Traceback" not in child.stderr.read()
    assert _alive(marker) == []
    assert [line["status"] for line in _history(tmp_path)] == ["cancelled"]


def test_a_second_signal_does_not_cut_the_cleanup_short(tmp_path):
    marker = f"orchmilp-{uuid.uuid4().hex}"
    workflow = {
        "resources": {"slots": 2},
        "agents": [
            {"id": "deaf", "duration": 60, "command": f"{SLEEP} deaf {marker}-1", "uses": {"slots": 1}},
            {"id": "plain", "duration": 60, "command": f"{SLEEP} plain {marker}-2", "uses": {"slots": 1}},
        ],
    }
    child = _start(tmp_path, workflow)
    assert wait_for(lambda: len(_alive(marker)) == 2, 60)
    time.sleep(1)  # the deaf one has set its SIGTERM handler
    child.send_signal(signal.SIGTERM)
    time.sleep(0.3)  # the deaf agent holds the cleanup for the 1 s grace period
    child.send_signal(signal.SIGTERM)
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=30) == 130
    err = child.stderr.read()
    assert "Traceback" not in err, err
    assert _alive(marker) == []
    assert sorted(line["status"] for line in _history(tmp_path)) == ["cancelled", "cancelled"]
