"""Local agent processes (run/processes.py), tested directly with real processes."""

from __future__ import annotations

import os
import signal
import time

import pytest

from orchmilp.errors import RunError
from orchmilp.run.processes import BACKSTOP, MAX_SLEEP, SUPERVISED, Waiter, kill_delay, launch


def _ended(proc, within: float = 10.0) -> bool:
    t = time.monotonic() + within
    while time.monotonic() < t:
        if proc.popen.poll() is not None:
            return True
        time.sleep(0.02)
    return False


def test_an_attempt_logs_its_command_and_output_and_the_waiter_wakes_when_it_ends(tmp_path):
    log = tmp_path / "a.log"
    proc = launch(0, 1, "echo hello; exit 3", tmp_path, log, None, grace=1)
    waiter = Waiter()
    waiter.add(proc)
    t = time.monotonic()
    waiter.wait(30, [proc])  # returns when it exits, long before 30 s
    assert time.monotonic() - t < 10 and _ended(proc)
    assert proc.popen.returncode == 3
    waiter.remove(proc)
    proc.close()
    waiter.close()
    text = log.read_text()
    assert "attempt 1" in text and "echo hello; exit 3" in text and "hello" in text


def test_terminate_then_escalate_kills_a_group_that_ignores_sigterm(tmp_path):
    command = "trap '' TERM; sleep 60 & trap '' TERM; wait"
    proc = launch(0, 1, command, tmp_path, tmp_path / "b.log", None, grace=0.5)
    time.sleep(0.5)
    now = time.monotonic()
    proc.terminate("cancelled", now)
    proc.terminate("timeout", now)  # once: the first reason stays
    assert proc.reason == "cancelled" and proc.term_sent == now
    proc.escalate(now, 0.5)  # too early: nothing yet
    assert not proc.kill_sent
    proc.escalate(now + kill_delay(0.5), 0.5)
    assert proc.kill_sent and _ended(proc)
    t = time.monotonic() + 5
    while _group_has_members(proc.pid) and time.monotonic() < t:  # the sleep that ignored SIGTERM too
        time.sleep(0.05)
    assert not _group_has_members(proc.pid)
    proc.close()


def _group_has_members(pgid: int) -> bool:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def test_the_backstop_follows_the_supervisor():
    assert kill_delay(2.0) == (2.0 + BACKSTOP if SUPERVISED else 2.0)


def test_a_log_that_cannot_be_written_is_a_run_error(tmp_path):
    with pytest.raises(RunError, match="cannot write the agent's log"):
        launch(0, 1, "true", tmp_path, tmp_path / "missing" / "c.log", None)


def test_waiting_without_processes_sleeps_and_a_huge_timeout_is_capped(tmp_path, monkeypatch):
    slept = []
    monkeypatch.setattr(time, "sleep", slept.append)
    waiter = Waiter()
    waiter.wait(1e300, [])
    assert slept == [MAX_SLEEP]
    waiter.close()


def test_a_timeout_reason_reaches_the_group(tmp_path):
    proc = launch(0, 1, "sleep 60", tmp_path, tmp_path / "d.log", 0.1, grace=0.2)
    assert proc.deadline is not None and proc.deadline == pytest.approx(proc.started + 0.1)
    proc.terminate("timeout", time.monotonic())
    assert _ended(proc) and proc.popen.returncode in (-signal.SIGTERM, 128 + signal.SIGTERM, 143)
    proc.close()
