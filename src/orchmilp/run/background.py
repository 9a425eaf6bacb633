"""Runs started in the background (the MCP tools ``run_start``, ``run_status``, ``run_cancel``).

``start`` launches ``orchmilp run`` as its own process in a new session, so a run outlives the
call, the client and the server that started it: it goes on under its own coordinator, which
stops its agents on every exit path (see :mod:`.supervisor`), and is stopped with ``cancel``.
Its folder ``ROOT/runs/ID/`` holds ``coordinator.json`` (pid), ``status.json`` (the live status,
see :mod:`.status`) and ``coordinator.log``; its attempts go to ``ROOT/runs/history.jsonl``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidOptions
from ..io.files import write_json_atomic
from ..io.names import printable
from . import new_run_id, valid_run_id

__all__ = ["start", "status", "cancel"]


def _folder(root: Path, run_id: str) -> Path:
    if not isinstance(run_id, str) or not valid_run_id(run_id):
        raise InvalidOptions(f"run {printable(run_id)}: not a run id")
    folder = root / "runs" / run_id
    if not (folder / "coordinator.json").is_file():
        raise InvalidOptions(f"run '{run_id}': no background run of that id under {root / 'runs'}")
    return folder


def start(root: Path, workflow: Path, *, on_failure: str = "stop", grace: float = 5.0) -> dict[str, Any]:
    """Start ``orchmilp run`` on ``workflow`` in the background; returns its id at once."""
    run_id = new_run_id()
    folder = root / "runs" / run_id
    folder.mkdir(parents=True)
    command = [
        sys.executable,
        "-m",
        "orchmilp.cli",
        "run",
        str(workflow),
        "-q",
        "--run-id",
        run_id,
        "--status",
        str(folder / "status.json"),
        "--history",
        str(root / "runs" / "history.jsonl"),
        "--on-failure",
        on_failure,
        "--grace",
        str(grace),
    ]
    with open(folder / "coordinator.log", "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, cwd=workflow.parent
        )
    write_json_atomic(
        folder / "coordinator.json", {"pid": process.pid, "workflow": str(workflow), "started": time.time()}
    )
    return {"run": run_id, "state": "planning", "pid": process.pid}


def _alive(pid: int) -> bool:
    """The coordinator runs (a zombie, not yet reaped by whoever started it, counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def status(root: Path, run_id: str) -> dict[str, Any]:
    """Per-agent status, counts, the planned makespan and the ETA of a background run."""
    folder = _folder(root, run_id)
    coordinator = json.loads((folder / "coordinator.json").read_text())
    try:
        state = json.loads((folder / "status.json").read_text())
    except (OSError, ValueError):
        state = {"state": "planning", "agents": {}}
    alive = _alive(coordinator["pid"])
    if not alive and state.get("state") in ("planning", "running"):
        state["state"] = "lost"  # the coordinator ended without a word (killed): its agents were stopped with it
        log = (folder / "coordinator.log").read_text(errors="replace").strip().splitlines()
        if log:
            state["note"] = log[-1][:300]
    agents = state.get("agents", {})
    counts: dict[str, int] = {}
    for entry in agents.values():
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    out = {"run": run_id, "state": state["state"], "counts": counts, "agents": agents}
    elapsed = (state.get("ended") or time.time()) - coordinator["started"]
    out["elapsed"] = round(elapsed, 3)
    if "planned_makespan" in state:
        out["planned_makespan"] = state["planned_makespan"]
        if state["state"] == "running":
            out["eta"] = round(max(float(state["planned_makespan"]) - elapsed, 0.0), 3)
    failed = [{"id": a, "note": e.get("note", "")} for a, e in agents.items() if e["status"] in ("failed", "timeout")]
    if failed:
        out["failed"] = failed
    if "note" in state:
        out["note"] = state["note"]
    return out


def cancel(root: Path, run_id: str, wait: float = 10.0) -> dict[str, Any]:
    """SIGTERM to the coordinator (it cancels its agents, SIGKILL after its grace); waits up to
    ``wait`` seconds for it to end, then returns the status."""
    folder = _folder(root, run_id)
    pid = json.loads((folder / "coordinator.json").read_text())["pid"]
    if _alive(pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        until = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < until:
            time.sleep(0.05)
    return status(root, run_id)
