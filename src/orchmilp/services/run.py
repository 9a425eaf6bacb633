"""The run service: plan and run a workflow's commands for real."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..deadline import Deadline
from ..run import RunOptions, RunReport, execute

__all__ = ["RunRequest", "run", "run_summary"]


@dataclass(frozen=True)
class RunRequest:
    """``workflow``: the workflow file (its commands run in its folder unless ``workdir``);
    ``plan``: a plan to follow (default: solve within ``time_limit`` first); ``resume``: True
    for the last run, or a run id; ``cluster``: a Dask scheduler address."""

    workflow: str | Path | dict
    plan: str | Path | dict | None = None
    history_path: str | Path | None = None
    workdir: str | Path | None = None
    time_limit: float = 10.0
    options: RunOptions = field(default_factory=RunOptions)
    resume: str | bool | None = None
    cluster: str | None = None
    on_event: Callable[..., Any] | None = None
    on_plan: Callable[..., Any] | None = None
    run_id: str | None = None


def run(request: RunRequest, deadline: Deadline | None = None) -> RunReport:
    """Run ``request.workflow``; the planning gets ``request.time_limit`` at most, and at most a
    third of ``deadline`` (the rest is the run's)."""
    planning = request.time_limit
    if deadline is not None:
        planning = min(planning, deadline.share(1 / 3, least=0.1))
    return execute(
        request.workflow,
        request.plan,
        history_path=request.history_path,
        workdir=request.workdir,
        time_limit=planning,
        options=request.options,
        resume=request.resume,
        cluster=request.cluster,
        on_event=request.on_event,
        on_plan=request.on_plan,
        run_id=request.run_id,
    )


def run_summary(report: RunReport, root: Path | None = None) -> dict[str, Any]:
    """The run as JSON: each agent's status, attempts, exit code and seconds, the makespans,
    and where the history and logs are (relative to ``root`` when given)."""
    p = report.problem

    def where(path: Path) -> str:
        return str(path.relative_to(root)) if root is not None else str(path)

    return {
        "run": report.run_id,
        "planned_makespan": report.planned_makespan,
        "actual_makespan": round(report.actual_makespan, 3),
        "agents": [
            {
                "id": p.ids[j],
                "status": o.status if o.status != "waiting" else "not started",
                "attempts": o.attempts,
                "exit_code": o.exit_code,
                "seconds": None if o.start is None or o.finish is None else round(o.finish - o.start, 3),
                **({"undeclared": list(o.undeclared)} if o.undeclared else {}),
                **({"conflict": o.conflict} if o.conflict else {}),
            }
            for j, o in enumerate(report.outcomes)
        ],
        "history": where(report.history_path),
        "logs": where(report.log_dir),
    }
