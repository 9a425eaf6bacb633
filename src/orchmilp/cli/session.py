"""``orchmilp session``: a coordinator session that a coding agent drives (start, done, status, cancel)."""

from __future__ import annotations

import math

from .common import Parser, positive, print_json


def _at(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or not 0 <= value <= 1e15:  # model.validate.MAX_TOTAL: durations stay exact
        raise argparse.ArgumentTypeError(f"{text!r} must be seconds since the session started (0 to 1e+15)")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "session",
        help="a coordinator session for a coding agent: what to launch now, what to launch next",
        description="Start a session, launch the agents in 'launch', report each that ended with "
        "'session done', launch what that answers, until 'remaining' is 0. Every answer is JSON.",
    )
    calls = p.add_subparsers(dest="call", required=True, parser_class=Parser)
    state_help = "the sessions' folder (start: default runs/ beside the workflow; others: default runs)"
    at_help = "seconds since the session started (default: the clock's; a simulation gives its own)"

    s = calls.add_parser("start", help="plan the workflow and say what to launch first")
    s.add_argument("workflow")
    s.add_argument("--waves", action="store_true", help="launch in waves (all of a wave, then wait for all)")
    s.add_argument("--history", nargs="+", metavar="PATH", help="plan with the median run times of this history")
    s.add_argument("--state", metavar="DIR", help=state_help)
    s.add_argument("--record", metavar="FILE.jsonl", help="history file to append to (default STATE/history.jsonl)")
    s.add_argument("--on-failure", choices=("stop", "continue"), default="stop")
    s.add_argument(
        "--isolate",
        choices=("none", "worktree"),
        default="none",
        help="worktree: each agent gets its own git worktree (workdir in its launch entry), merged back when done ok",
    )
    s.add_argument("--time-limit", type=positive, default=10.0, help="seconds for planning (default 10)")
    s.add_argument("--at", type=_at, help=at_help)

    d = calls.add_parser("done", help="agents ended: say what to launch now")
    d.add_argument("session")
    d.add_argument("agents", nargs="+", metavar="AGENT")
    d.add_argument("--status", choices=("ok", "failed", "timeout"), default="ok")
    d.add_argument("--exit-code", type=int)
    d.add_argument("--state", metavar="DIR", default="runs", help=state_help)
    d.add_argument("--at", type=_at, help=at_help)

    for name, what in (("status", "the session as it stands"), ("cancel", "launch nothing more; say what to stop")):
        c = calls.add_parser(name, help=what)
        c.add_argument("session")
        c.add_argument("--state", metavar="DIR", default="runs", help=state_help)
        c.add_argument("--at", type=_at, help=at_help)


def run(args) -> int:
    from ..deadline import Deadline
    from ..services.session import SessionStart, session_cancel, session_done, session_start, session_status

    if args.call == "start":
        request = SessionStart(
            args.workflow,
            state=args.state,
            waves=args.waves,
            history=args.history,
            time_limit=args.time_limit,
            on_failure=args.on_failure,
            record=args.record,
            at=args.at,
            isolate=args.isolate,
        )
        view = session_start(request, Deadline(args.time_limit, started=args.started))
    elif args.call == "done":
        view = session_done(
            args.state, args.session, args.agents, status=args.status, exit_code=args.exit_code, at=args.at
        )
    elif args.call == "status":
        view = session_status(args.state, args.session, args.at)
    else:
        view = session_cancel(args.state, args.session, args.at)
    print_json(view)
    return 0
