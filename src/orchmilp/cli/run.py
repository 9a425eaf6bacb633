"""``orchmilp run``: run the plan for real."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InvalidOptions
from .common import positive


def register(sub) -> None:
    p = sub.add_parser("run", help="run the plan for real: live guards, timeouts, retries, history")
    p.add_argument("workflow", help="workflow JSON, or a plan JSON (then give --workflow)")
    p.add_argument("--workflow", dest="workflow_for_plan", metavar="WF.json", help="the workflow of a plan given")
    p.add_argument("--history", metavar="FILE.jsonl", help="append one line per attempt (default runs/history.jsonl)")
    p.add_argument("--workdir", metavar="DIR", help="where commands run (default: the workflow's folder)")
    p.add_argument("--time-limit", type=positive, default=10.0, metavar="S", help="for planning (10)")
    p.add_argument(
        "--on-failure",
        choices=["stop", "continue"],
        default="stop",
        help="stop: cancel everything at the first failure (default); continue: run what does not "
        "need the failed agent, skip its dependents",
    )
    p.add_argument(
        "--on-budget",
        choices=["stop", "cheapest"],
        default="stop",
        help="when an agent's planned mode would overrun a budget: stop starting agents (default), or run "
        "it in its cheapest mode that fits",
    )
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        metavar="RUN",
        help="rerun what did not end ok in the last run (or RUN), re-planned",
    )
    p.add_argument(
        "--adaptive",
        action="store_true",
        help="when durations drift (20%%, at least 1 s), re-plan the agents not yet started",
    )
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the agents on a Dask cluster (scheduler address); needs a shared filesystem",
    )
    p.add_argument(
        "--isolate",
        choices=["none", "worktree"],
        default="none",
        help="worktree: each agent in its own git worktree and branch, merged back when it ends ok "
        "(conflicts reported); none: all in the work folder (default)",
    )
    p.add_argument(
        "--strict-writes",
        action="store_true",
        help="an agent that changes a file its writes do not declare fails",
    )
    p.add_argument(
        "--no-detect-writes",
        action="store_true",
        help="in a shared folder, do not snapshot the files each agent changed (saves a git status per wake-up)",
    )
    p.add_argument("--grace", type=positive, default=5.0, metavar="S", help="SIGTERM to SIGKILL (5)")
    p.add_argument("--backoff", type=positive, default=1.0, metavar="S", help="first retry delay, doubling (1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no live view or progress lines")
    p.add_argument("--run-id", metavar="ID", help="the run's id (default: the UTC time and a random tag)")
    p.add_argument(
        "--status", metavar="FILE.json", help="keep the run's live status in this file (rewritten at every event)"
    )


def _is_plan(path: str) -> bool:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "schedule" in data and "agents" not in data


def run(args) -> int:
    from ..run import RunOptions
    from ..run.view import RunView, print_run_report
    from ..services import RunRequest
    from ..services import run as run_service

    workflow, plan = args.workflow, None
    if args.workflow_for_plan:
        workflow, plan = args.workflow_for_plan, args.workflow
    elif _is_plan(args.workflow):
        raise InvalidOptions(f"{args.workflow} is a plan: give its workflow too (--workflow WF.json)")
    view = RunView(quiet=args.quiet)
    status = None
    on_event: Callable[..., Any] = view
    on_plan: Callable[..., Any] = view.plan
    if args.status:
        from ..run.status import StatusFile

        status = StatusFile(args.status, args.run_id or "")

        def both_events(what, j, outcome):
            view(what, j, outcome)
            status(what, j, outcome)

        def both_plans(*plan):
            view.plan(*plan)
            status.plan(*plan)

        on_event, on_plan = both_events, both_plans

    ended = "failed"
    try:
        report = run_service(
            RunRequest(
                workflow,
                plan,
                history_path=args.history,
                workdir=args.workdir,
                time_limit=args.time_limit,
                options=RunOptions(
                    on_failure=args.on_failure,
                    on_budget=args.on_budget,
                    grace=args.grace,
                    backoff=args.backoff,
                    adaptive=args.adaptive,
                    isolate=args.isolate,
                    strict_writes=args.strict_writes,
                    detect_writes=not args.no_detect_writes,
                ),
                resume=args.resume,
                cluster=args.cluster,
                on_event=on_event,
                on_plan=on_plan,
                run_id=args.run_id,
            )
        )
        ended = "failed" if report.failed else "ok"
    except KeyboardInterrupt:
        ended = "cancelled"
        raise
    finally:
        view.close()
        if status is not None:
            status.ended(ended)
    print_run_report(report)
    return 1 if report.incomplete else 0
