"""``orchmilp pareto``: the front of makespan against spend for a workflow with model choice."""

from __future__ import annotations

from .common import chart_path, count, positive, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "pareto",
        help="with model choice: the fastest plan for each budget, from the fastest to the cheapest (each proven or with its gap)",
    )
    p.add_argument("workflow")
    p.add_argument("--x", choices=["makespan"], default="makespan", help="the time axis (makespan)")
    p.add_argument("--y", default="usd", metavar="KEY", help="the spend: a consumes key (usd)")
    p.add_argument("--points", type=count, default=10, metavar="N", help="at most this many points (10)")
    p.add_argument("--time-limit", type=positive, default=10.0, metavar="S", help="per solve, two per point (10)")
    p.add_argument("--plot", type=chart_path, metavar="FRONT.png", help="draw the front")
    p.add_argument("--json", action="store_true", help="print the points (each with its plan)")


def run(args) -> int:
    from ..deadline import Deadline
    from ..report.console import print_front
    from ..services.pareto import ParetoRequest, pareto

    limit = args.time_limit * 2 * args.points
    outcome = pareto(
        ParetoRequest(args.workflow, args.y, args.points, args.time_limit, args.plot),
        Deadline(limit, started=args.started),
    )
    if args.json:
        print_json({"key": outcome.key, "complete": outcome.complete, "points": outcome.points})
        return 0
    print_front(outcome)
    return 0
