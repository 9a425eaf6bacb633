"""``orchmilp history``: per kind of agent, what the history says."""

from __future__ import annotations

from .common import print_json


def register(sub) -> None:
    p = sub.add_parser("history", help="per kind of agent: runs, median, 10th/90th percentile, fitted model")
    p.add_argument("paths", nargs="+", metavar="PATH", help="JSONL history, WfCommons traces or folders")
    p.add_argument("--json", action="store_true")


def run(args) -> int:
    from ..report.console import print_history
    from ..services import describe_history

    history, models, rows = describe_history(args.paths)
    if args.json:
        print_json(rows)
    else:
        print_history(history, models)
    return 0
