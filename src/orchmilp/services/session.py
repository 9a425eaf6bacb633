"""The session service: a coordinator session that a coding agent drives (see :mod:`orchmilp.run.session`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..deadline import Deadline
from ..engine import load_as_written
from ..errors import InvalidOptions
from ..io.workflow import with_durations
from ..options import SolveOptions
from ..run import session as sessions
from ..run import unit_seconds, workflow_fingerprint
from .plan import PlanRequest, plan

__all__ = ["SessionStart", "session_start", "session_done", "session_status", "session_cancel"]


@dataclass(frozen=True)
class SessionStart:
    """``workflow``: the workflow file; ``state``: where sessions live (default ``runs/`` beside
    the workflow); ``waves``: launch in waves; ``history``: plan with its medians; ``record``:
    the history file the session appends to (default ``STATE/history.jsonl``); ``at``: seconds
    since the session started (for a simulated clock, default 0); ``isolate``: ``worktree`` gives
    each launched agent its own git worktree (docs/isolation.md)."""

    workflow: str | Path
    state: str | Path | None = None
    waves: bool = False
    history: Any = None
    time_limit: float = 10.0
    on_failure: str = "stop"
    record: str | Path | None = None
    at: float | None = None
    isolate: str = "none"  # worktree: each agent in its own git worktree (its launch entry's workdir)


def session_start(request: SessionStart, deadline: Deadline | None = None) -> dict[str, Any]:
    """Plan the workflow and open a session on the plan: the first view (what to launch)."""
    path = Path(request.workflow)
    if not path.is_file():
        raise InvalidOptions(f"{printable_path(path)}: a session needs a workflow file")
    loaded = load_as_written(path)
    outcome = plan(
        PlanRequest(
            loaded,
            time_limit=request.time_limit,
            solve=SolveOptions(dispatch="waves" if request.waves else "events"),
            history=request.history,
        ),
        deadline if deadline is not None else Deadline(request.time_limit),
    )
    durations = {e["id"]: e["finish"] - e["start"] for e in outcome.plan["schedule"]}
    return sessions.start(
        path,
        outcome.plan,
        with_durations(loaded.workflow, durations),
        loaded.workflow,
        state_dir=Path(request.state) if request.state is not None else None,
        history=Path(request.record) if request.record is not None else None,
        on_failure=request.on_failure,
        seconds_per_unit=unit_seconds(loaded.problem.time_unit),
        workflow_hash=workflow_fingerprint(path)[1],
        at=request.at,
        isolate=request.isolate,
    )


def printable_path(path: Path) -> str:
    from ..io.names import printable

    return printable(str(path))


def session_done(state: Path, session: str, agents: list[str], **kw: Any) -> dict[str, Any]:
    """Agents ended (``status``, ``exit_code``, ``at``): the view with what to launch now."""
    return sessions.done(state, session, agents, **kw)


def session_status(state: Path, session: str, at: float | None = None) -> dict[str, Any]:
    return sessions.status(state, session, at)


def session_cancel(state: Path, session: str, at: float | None = None) -> dict[str, Any]:
    return sessions.cancel(state, session, at)
