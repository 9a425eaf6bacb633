"""The coordinator session: a coding agent launches the agents, orchmilp says which and when.

``start`` plans the workflow and says what to launch; ``done`` takes the agents that ended and
says what to launch next; ``status`` and ``cancel`` look and stop. Between calls the session
lives on disk (``STATE/ID/session.json``, written atomically, one call at a time under
``STATE/ID/.lock``), so it survives the process (or the MCP server) that made it, and several
sessions can run at once.

The rules are those of :class:`~orchmilp.run.executor.Executor`: an agent is decided once
everything in its ``waits_for`` and ``depends_on`` has ended; it is skipped when something it
needs did not end ``ok`` or its ``run_if`` is false; a ready agent is launched when the agents
running now leave room on every capacity and none of them conflicts with it on a file. A failed
attempt is launched again while the agent has ``retries`` left. With ``on_failure="stop"`` a
failure nobody's ``run_if`` expects launches nothing more (what runs is left to finish). An
event-driven session re-plans what has not started (warm-started from the current plan) when an
agent ends well off its planned duration, and adopts the new plan only when it is no longer.

Times are seconds since the session started, the wall clock's by default or ``at`` (a
simulated coding agent, or one reporting late). Every ended attempt appends a history line
(docs/spec/run-format.md) with the session id as its run id.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidOptions, RunError, SolverError
from ..history import append_attempt
from ..io.files import read_json, write_json_atomic
from ..io.names import printable
from ..io.numbers import plain_number
from ..model.validate import MAX_TOTAL
from ..statuses import FAILED, FINAL, AgentStatus
from . import new_run_id, valid_run_id

__all__ = ["start", "done", "status", "cancel", "session_folder", "LOCK_WAIT"]

SESSION_FILE = "session.json"
#: seconds a call waits for another call on the same session to finish
LOCK_WAIT = 30.0
#: seconds each re-plan of an event-driven session may take
REPLAN_SECONDS = 2.0
#: the fields of a workflow agent handed to the coding agent with each launch
LAUNCH_FIELDS = ("prompt", "command", "subagent", "kind")


# ---- on disk -------------------------------------------------------------------------------


def default_state(workflow: Path) -> Path:
    return workflow.resolve().parent / "runs"


def session_folder(state: Path, session: str) -> Path:
    if not isinstance(session, str) or not valid_run_id(session):
        raise InvalidOptions(f"session {printable(session)}: not a session id")
    folder = Path(state) / session
    if not (folder / SESSION_FILE).is_file():
        raise InvalidOptions(f"session '{session}': not found under {state}")
    return folder


@contextlib.contextmanager
def _locked(folder: Path):
    """One call at a time on a session: a second waits up to :data:`LOCK_WAIT` seconds."""
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        waited = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > waited:
                    raise RunError(f"session folder {folder} is locked by another call") from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)


# ---- the state machine ---------------------------------------------------------------------


class Session:
    """A session's state (the JSON object on disk) and its rules."""

    def __init__(self, state: dict[str, Any], folder: Path) -> None:
        from ..engine import load

        self.state = state
        self.folder = folder
        self.problem = load(state["planned"])
        self.agents: dict[str, dict[str, Any]] = state["agents"]
        ids = self.problem.ids
        self.needs = {ids[j]: [ids[i] for i in self.problem.preds(j).tolist()] for j in range(self.problem.n)}
        self.clash = {ids[j]: {ids[i] for i in partners} for j, partners in enumerate(self.problem.conflict_partners)}
        self.usage = {ids[j]: np.asarray(self.problem.usage[j], float) for j in range(self.problem.n)}
        self.capacity = np.asarray(self.problem.capacities, float)
        self.launched: list[str] = []
        self.workspace = None  # --isolate worktree: each agent's git worktree (workspace.py)
        isolate = state.get("isolate")
        if isolate is not None:
            from .workspace import Worktrees

            self.workspace = Worktrees(
                self.problem, Path(isolate["workdir"]), state["session"], folder, restored=isolate.get("saved")
            )

    # -- queries
    def ended(self, a: str) -> bool:
        return self.agents[a]["status"] in FINAL

    def running(self) -> list[str]:
        return [a for a in self.state["order"] if self.agents[a]["status"] == AgentStatus.RUNNING]

    def now(self, at: float | None) -> float:
        if at is None:
            return max(time.time() - self.state["started_wall"], 0.0)
        if not (isinstance(at, (int, float)) and np.isfinite(at) and 0 <= at <= MAX_TOTAL):
            raise InvalidOptions(f"--at {printable(at)}: give seconds since the session started (0 to {MAX_TOTAL:g})")
        return float(at)

    # -- decisions
    def _decide(self, a: str, now: float) -> None:
        agent = self.agents[a]
        waits = self.state["waits_for"][a]
        if not all(self.ended(w) for w in waits) or not all(self.ended(w) for w in self.needs[a]):
            return
        j = self.problem.index[a]
        condition = self.problem.run_if[j] if self.problem.run_if else None
        guard = condition.get("agent") if condition else None
        for w in self.needs[a]:
            if w != guard and self.agents[w]["status"] != AgentStatus.OK:
                self._skip(a, now, f"needs '{w}' ({self.agents[w]['status']})")
                return
        if condition is not None and guard is not None:
            other = self.agents[guard]
            if "status" in condition and other["status"] != condition["status"]:
                self._skip(a, now, f"run_if: '{guard}' is {other['status']}, not {condition['status']}")
                return
            if "exit_code" in condition and other.get("exit_code") != condition["exit_code"]:
                self._skip(a, now, f"run_if: '{guard}' exit code {other.get('exit_code')}")
                return
        agent["status"] = AgentStatus.READY

    def _skip(self, a: str, now: float, why: str) -> None:
        self.agents[a].update(status=AgentStatus.SKIPPED, note=why, start=now, finish=now)
        self._record(a, now, now, AgentStatus.SKIPPED, None)

    def _fits(self, a: str, running: list[str]) -> bool:
        in_use = sum((self.usage[r] for r in running), np.zeros(len(self.capacity)))
        if np.any(in_use + self.usage[a] > self.capacity + 1e-9):
            return False
        return not (self.clash[a] & set(running))

    def advance(self, now: float) -> None:
        """Decide what can be decided and launch what fits (nothing once the session stops)."""
        order = self.state["order"]
        changed = True
        while changed:  # a skip may decide others
            changed = False
            for a in order:
                if self.agents[a]["status"] == AgentStatus.WAITING:
                    self._decide(a, now)
                    changed |= self.agents[a]["status"] != AgentStatus.WAITING
        if self.state["stopping"]:
            for a in order:
                if self.agents[a]["status"] in (AgentStatus.WAITING, AgentStatus.READY):
                    self.agents[a].update(status=AgentStatus.CANCELLED, note=self.state["stopping"])
            return
        running = self.running()
        for a in order:
            if self.agents[a]["status"] == AgentStatus.READY and self._fits(a, running):
                agent = self.agents[a]
                agent["status"] = AgentStatus.RUNNING
                agent["attempts"] += 1
                agent["attempt_start"] = now
                if agent.get("start") is None:
                    agent["start"] = now
                if self.workspace is not None:
                    agent["workdir"] = str(self.workspace.enter(self.problem.index[a]))
                running.append(a)
                self.launched.append(a)

    def end(self, a: str, status: str, exit_code: int | None, now: float) -> None:
        """An attempt of ``a`` ended: record it, retry it, or stop the session."""
        if a not in self.agents:
            raise InvalidOptions(f"agent {printable(a)}: not in the workflow")
        agent = self.agents[a]
        if agent["status"] != AgentStatus.RUNNING:
            raise InvalidOptions(f"agent '{printable(a)}': not running in this session (it is {agent['status']})")
        if now < agent["attempt_start"]:
            raise InvalidOptions(f"agent '{printable(a)}': --at {plain_number(now)} is before it started")
        j = self.problem.index[a]
        extra, why_not_ok = self._leave(j, status)
        if why_not_ok:
            status = AgentStatus.FAILED
        self._record(a, agent["attempt_start"], now, status, exit_code, **extra)
        agent.update(finish=now, exit_code=exit_code)
        retries = self.problem.retries[j] if self.problem.retries else 0
        if status in FAILED and agent["attempts"] <= retries and not self.state["stopping"] and not why_not_ok:
            agent.update(status=AgentStatus.READY, note=f"attempt {agent['attempts']} {status}")
            return
        agent["status"] = status
        if status in FAILED:
            agent["note"] = why_not_ok or (f"exit code {exit_code}" if status == AgentStatus.FAILED else "timed out")
            expected = any(c is not None and c.get("agent") == a for c in (self.problem.run_if or ()))
            if self.state["on_failure"] == "stop" and not expected:
                self.state["stopping"] = self.state["stopping"] or f"'{a}' {status}"
        elif status == AgentStatus.OK and self.state["dispatch"] == "events":
            from .adaptive import drifted

            planned = float(self.problem.durations[j]) * self.state["seconds_per_unit"]
            if drifted(planned, now - agent["attempt_start"]):
                self._replan(now)

    def _leave(self, j: int, status: str) -> tuple[dict[str, Any], str | None]:
        """In a worktree: what the attempt touched (history fields), merged when it ended ok;
        why it did not end ok after all (a merge conflict), else None."""
        if self.workspace is None:
            return {}, None
        leaving = self.workspace.leave(j, status == AgentStatus.OK)
        agent = self.agents[self.problem.ids[j]]
        agent.pop("workdir", None)
        if leaving.undeclared:
            agent["undeclared"] = list(leaving.undeclared)
        return leaving.record(), leaving.conflict if status == AgentStatus.OK else None

    def close(self) -> None:
        """The session has ended: remove what is left of its worktrees."""
        if self.workspace is not None:
            self.workspace.close()

    def cancel(self, now: float) -> list[str]:
        """Stop launching; the running agents are recorded ``cancelled`` (the caller stops them)."""
        stop = self.running()
        self.state["stopping"] = self.state["stopping"] or "cancelled"
        for a in stop:
            agent = self.agents[a]
            extra, _ = self._leave(self.problem.index[a], AgentStatus.CANCELLED)
            self._record(a, agent["attempt_start"], now, AgentStatus.CANCELLED, None, **extra)
            agent.update(status=AgentStatus.CANCELLED, finish=now, note="cancelled")
        self.advance(now)
        return stop

    # -- plans and figures
    def _left(self, now: float, waits: dict[str, list[str]] | None = None) -> tuple[float, dict[str, float]]:
        """How long the plan still needs from ``now`` with planned durations, and each running
        agent's expected time left (at least a quarter of its planned duration)."""
        from ..prediction.simulate import makespans

        ids, unit = self.problem.ids, self.state["seconds_per_unit"]
        waits = waits or self.state["waits_for"]
        remaining: dict[str, float] = {}
        d = np.zeros(len(ids))
        for j, a in enumerate(ids):
            agent = self.agents[a]
            planned = float(self.problem.durations[j])
            if agent["status"] == AgentStatus.RUNNING:
                remaining[a] = max(planned - (now - agent["attempt_start"]) / unit, 0.25 * planned)
                d[j] = remaining[a]
            elif agent["status"] in (AgentStatus.WAITING, AgentStatus.READY):
                d[j] = planned
        policy = [tuple(self.problem.index[w] for w in waits[a]) for a in ids]
        return float(makespans(policy, d[None, :])[0]) * unit, remaining

    def _replan(self, now: float) -> None:
        from .adaptive import replan

        done = {a for a in self.agents if self.ended(a)}
        left, remaining = self._left(now)
        try:
            new = replan(
                self.state["planned"],
                done,
                remaining,
                left / self.state["seconds_per_unit"],
                REPLAN_SECONDS,
                current_waits=self.state["waits_for"],
            )
        except SolverError as err:  # a re-plan is an improvement only: the current plan stays valid
            self.state["replan_errors"] = [*self.state.get("replan_errors", []), str(err)][-5:]
            return
        if new is not None:
            self.state["waits_for"].update(new)
            self.state["replans"] += 1

    def _record(self, a: str, start: float, finish: float, status: str, exit_code: int | None, **extra) -> None:
        j = self.problem.index[a]
        p, base = self.problem, self.state["started_wall"]
        append_attempt(
            self.state["history"],
            {
                "run": self.state["session"],
                "workflow": self.state["name"],
                "agent": a,
                "kind": p.kinds[j] if p.kinds else a,
                "attempt": max(self.agents[a]["attempts"], 1) if status != AgentStatus.SKIPPED else 0,
                "start": round(base + start, 6),
                "finish": round(base + finish, 6),
                "status": status,
                "exit_code": exit_code,
                "features": dict(p.features[j]) if p.features else {},
                "host": "session",
                "workflow_path": self.state["workflow_path"],
                "workflow_hash": self.state["workflow_hash"] or None,
                **extra,
            },
        )

    def view(self, now: float, stop: Iterable[str] = ()) -> dict[str, Any]:
        """What the coding agent reads: what to launch (and stop) now, what runs, what is left."""
        written = {a["id"]: a for a in self.state["written"]["agents"]}
        launch = []
        for a in self.launched:
            entry: dict[str, Any] = {"id": a, "attempt": self.agents[a]["attempts"]}
            entry.update({k: written[a][k] for k in LAUNCH_FIELDS if k in written[a]})
            if "workdir" in self.agents[a]:
                entry["workdir"] = self.agents[a]["workdir"]  # run it there (its own worktree)
            launch.append(entry)
        counts: dict[str, int] = {}
        for agent in self.agents.values():
            counts[agent["status"]] = counts.get(agent["status"], 0) + 1
        remaining = sum(1 for a in self.agents if not self.ended(a))
        out: dict[str, Any] = {
            "session": self.state["session"],
            "state": str(self.folder.parent),
            "launch": launch,
            "running": self.running(),
            "remaining": remaining,
            "eta": plain_number(round(self._left(now)[0], 3)) if remaining else 0,
            "elapsed": plain_number(round(now, 3)),
            "counts": counts,
            "dispatch": self.state["dispatch"],
            "replans": self.state["replans"],
        }
        if stop:
            out["stop"] = list(stop)
        failed = [a for a in self.state["order"] if self.agents[a]["status"] in FAILED]
        if failed:
            out["failed"] = [{"id": a, "note": self.agents[a].get("note", "")} for a in failed]
        undeclared = {a: self.agents[a]["undeclared"] for a in self.state["order"] if self.agents[a].get("undeclared")}
        if undeclared:
            out["undeclared_writes"] = undeclared
        if self.state["stopping"]:
            out["stopping"] = self.state["stopping"]
        if remaining == 0:
            out["done"] = True
        return out

    def save(self) -> None:
        if self.workspace is not None:
            if not self.running() and all(self.ended(a) for a in self.agents):
                self.close()
            self.state["isolate"]["saved"] = self.workspace.saved()
        write_json_atomic(self.folder / SESSION_FILE, self.state)


# ---- the calls -----------------------------------------------------------------------------


def start(
    workflow: Path,
    plan: dict[str, Any],
    planned: dict[str, Any],
    written: dict[str, Any],
    *,
    state_dir: Path | None = None,
    history: Path | None = None,
    on_failure: str = "stop",
    seconds_per_unit: float = 1.0,
    workflow_hash: str = "",
    at: float | None = None,
    isolate: str = "none",
) -> dict[str, Any]:
    """A new session for ``plan`` (of ``planned``: the workflow with the durations it was made
    with); returns the first view (what to launch). ``isolate="worktree"``: each launched agent
    gets its own git worktree (``workdir`` in its launch entry), merged back when it is done ok."""
    if isolate not in ("none", "worktree"):
        raise InvalidOptions(f"--isolate {printable(isolate)}: use none or worktree")
    if on_failure not in ("stop", "continue"):
        raise InvalidOptions(f"--on-failure {printable(on_failure)}: not 'stop' or 'continue'")
    state_dir = Path(state_dir) if state_dir is not None else default_state(workflow)
    session = new_run_id()
    folder = state_dir / session
    try:
        folder.mkdir(parents=True)
    except OSError as err:
        raise InvalidOptions(f"{state_dir}: cannot create the session's folder: {err.strerror or err}") from None
    schedule = plan["schedule"]
    state = {
        "session": session,
        "name": written.get("name") or workflow.stem,
        "workflow_path": str(workflow.resolve()),
        "workflow_hash": workflow_hash,
        "written": written,
        "planned": planned,
        "dispatch": plan.get("dispatch", "events"),
        "makespan": plan["makespan"],
        "waits_for": {e["id"]: list(e["waits_for"]) for e in schedule},
        "order": [e["id"] for e in sorted(schedule, key=lambda e: (e["start"], e["id"]))],
        "agents": {e["id"]: {"status": AgentStatus.WAITING, "attempts": 0, "start": None} for e in schedule},
        "history": str(Path(history) if history is not None else state_dir / "history.jsonl"),
        "on_failure": on_failure,
        "seconds_per_unit": seconds_per_unit,
        "started_wall": time.time(),
        "stopping": None,
        "replans": 0,
        "isolate": {"workdir": str(workflow.resolve().parent)} if isolate == "worktree" else None,
    }
    if isolate == "worktree":  # the checks (a repository, no uncommitted change) before anything
        from .workspace import Worktrees

        planned_problem = _load_problem(planned)
        state["isolate"]["saved"] = Worktrees(
            planned_problem, workflow.resolve().parent, session, folder, session=True
        ).saved()
    with _locked(folder):
        s = Session(state, folder)
        now = s.now(at) if at is not None else 0.0
        s.advance(now)
        s.save()
        return s.view(now)


def _load_problem(workflow: dict[str, Any]):
    from ..engine import load

    return load(workflow)


def _call(state_dir: Path, session: str, at: float | None, change) -> dict[str, Any]:
    folder = session_folder(state_dir, session)
    with _locked(folder):
        s = Session(read_json(folder / SESSION_FILE, RunError), folder)
        now = s.now(at)
        stop = change(s, now)
        s.save()
        return s.view(now, stop or ())


def done(
    state_dir: Path,
    session: str,
    agents: Iterable[str],
    *,
    status: str = AgentStatus.OK,
    exit_code: int | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """``agents`` ended with ``status``; returns the view with what to launch now."""
    if status not in (AgentStatus.OK, AgentStatus.FAILED, AgentStatus.TIMEOUT):
        raise InvalidOptions(f"--status {printable(status)}: not ok, failed or timeout")
    agents = list(agents)
    if not agents:
        raise InvalidOptions("give the agents that ended")
    code = exit_code if exit_code is not None else (0 if status == AgentStatus.OK else None)

    def change(s: Session, now: float) -> None:
        for a in agents:
            s.end(a, status, code, now)
        s.advance(now)

    return _call(state_dir, session, at, change)


def status(state_dir: Path, session: str, at: float | None = None) -> dict[str, Any]:
    """The session as it stands (launches nothing, changes nothing)."""
    folder = session_folder(state_dir, session)
    s = Session(read_json(folder / SESSION_FILE, RunError), folder)
    return s.view(s.now(at))


def cancel(state_dir: Path, session: str, at: float | None = None) -> dict[str, Any]:
    """Stop the session: nothing more is launched; ``stop`` lists the agents to stop now."""
    return _call(state_dir, session, at, lambda s, now: s.cancel(now))
