"""``orchmilp whatif``: scenarios side by side with the base."""

from __future__ import annotations

import argparse
import sys

from .common import chart_path, count, positive, print_json


class _Scenario(argparse.Action):
    """Collects the scenario flags in the order given (argparse keeps one list per flag)."""

    def __call__(self, parser, namespace, values, option_string=None):
        found = getattr(namespace, "scenarios", None) or []
        found.append((self.dest, values))
        namespace.scenarios = found


def register(sub) -> None:
    p = sub.add_parser("whatif", help="scenarios side by side with the base: solved (proof) and predicted (p50, p90)")
    p.add_argument("workflow")
    for flag, meta, text in (
        ("--set", "KEY=V", "resources.NAME=V or AGENT.FIELD=V, e.g. resources.cores=16"),
        ("--add", "FILE.json", "add the agents of this workflow file"),
        ("--remove", "ID", "remove an agent (its dependents wait for what it waited for)"),
        ("--split", "ID=K", "divide an agent's work over K agents of duration/K"),
        ("--scale", "ID=F", "multiply an agent's duration by F"),
    ):
        p.add_argument(flag, action=_Scenario, metavar=meta, help=text + " (one scenario per flag)")
    p.add_argument("--sweep", metavar="resources.NAME=LO..HI", help="makespan against capacity, and the knee")
    p.add_argument("--history", nargs="+", metavar="PATH", help="history for the predictions")
    p.add_argument("--time-limit", type=positive, default=10.0, metavar="S", help="per scenario (10)")
    p.add_argument("--samples", type=count, default=4000, metavar="N", help="samples per prediction (4000)")
    p.add_argument("--plot", type=chart_path, metavar="SWEEP.png", help="with --sweep: draw the curve")
    p.add_argument("--json", action="store_true", help="print the list: base first, then each scenario")


def run(args) -> int:
    from ..errors import InvalidOptions
    from ..report.console import print_whatif
    from ..services import WhatIfRequest, whatif

    scenarios = getattr(args, "scenarios", None) or []
    if not scenarios and not args.sweep:
        raise InvalidOptions("whatif: give at least one scenario (--set, --add, --remove, --split, --scale) or --sweep")
    if args.plot and not args.sweep:
        raise InvalidOptions("whatif: --plot draws a --sweep; give --sweep too")
    quiet = args.json or not sys.stderr.isatty()

    def show(label: str) -> None:
        if not quiet:
            print(f"solving {label} ...", file=sys.stderr)

    outcome = whatif(
        WhatIfRequest(
            args.workflow,
            scenarios,
            sweep=args.sweep,
            history=args.history,
            seconds_each=args.time_limit,
            samples=args.samples,
            plot=args.plot,
            on_start=show,
        )
    )
    if args.json:
        print_json(outcome.to_list())
    else:
        print_whatif(outcome.rows, outcome.sweep_rows, outcome.sweep_key, outcome.knee)
    return 0
