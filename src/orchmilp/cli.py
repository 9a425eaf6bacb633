"""The ``orchmilp`` command line.

Only this module turns errors into exit codes: 0 success, 1 solver failure,
2 bad input or usage, 130 interrupted. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import InvalidPlan, InvalidWorkflow, OrchmilpError

__all__ = ["main"]


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchmilp", description="Provably fastest parallel execution plans for workflows of agents."
    )
    parser.add_argument("--version", action="version", version="orchmilp 0.1.0")
    sub = parser.add_subparsers(dest="command", required=True)

    solve = sub.add_parser("solve", help="find a minimum-makespan plan and prove its quality")
    solve.add_argument("workflow", help="workflow JSON, PSPLIB .sm or Patterson .rcp file")
    solve.add_argument("--json", action="store_true", help="print the plan as JSON on stdout (nothing else)")
    solve.add_argument("-o", "--output", metavar="PLAN.json", help="write the plan JSON to this file")
    solve.add_argument("--time-limit", type=_positive, default=30.0, metavar="SECONDS",
                       help="wall-clock limit for the whole solve (default 30)")
    solve.add_argument("--threads", type=int, default=1, metavar="N", help="threads for HiGHS (default 1)")
    solve.add_argument("--resolution", type=_positive, metavar="STEP",
                       help="time step of the MILP grid in the workflow's time unit (default: automatic)")
    solve.add_argument("--no-milp", action="store_true", help="stop after the heuristic and the bounds")
    solve.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")

    check = sub.add_parser("check", help="check a plan against a workflow with the independent checker")
    check.add_argument("workflow")
    check.add_argument("plan")
    check.add_argument("--samples", type=int, default=50, help="random duration draws for waits_for (default 50)")
    return parser


def _progress_printer(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None

    def show(phase: str, seconds: float, makespan: float, bound: float) -> None:
        print(f"[{seconds:6.2f} s] {phase:9s} makespan {makespan:g}  bound {bound:g}", file=sys.stderr)

    return show


def _cmd_solve(args) -> int:
    from .api import solve
    from .io.files import write_json_atomic
    from .report.console import print_result

    result = solve(
        args.workflow,
        time_limit=args.time_limit,
        threads=args.threads,
        resolution=args.resolution,
        use_milp=not args.no_milp,
        on_progress=_progress_printer(args.quiet or args.json),
    )
    plan = result.to_dict()
    if args.output:
        write_json_atomic(args.output, plan)
    if args.json:
        sys.stdout.write(json.dumps(plan, indent=2) + "\n")
    else:
        print_result(result)
    return 0


def _cmd_check(args) -> int:
    from .api import load
    from .check import check_plan
    from .io.workflow import problem_to_workflow

    workflow = problem_to_workflow(load(args.workflow))
    try:
        plan = json.loads(Path(args.plan).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidPlan(f"{args.plan}: no such file") from None
    except json.JSONDecodeError as err:
        raise InvalidPlan(f"{args.plan}: malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    if not isinstance(plan, dict):
        raise InvalidPlan(f"{args.plan}: a plan must be a JSON object")
    problems = check_plan(workflow, plan, samples=args.samples)
    for p in problems:
        print(f"violation: {p}")
    if problems:
        return 1
    print(f"ok: {args.plan} is a valid plan for {args.workflow} (makespan {plan.get('makespan')})")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    commands = {"solve": _cmd_solve, "check": _cmd_check}
    try:
        return commands[args.command](args)
    except (InvalidWorkflow, InvalidPlan) as err:
        print(f"orchmilp: error: {err}", file=sys.stderr)
        return 2
    except OrchmilpError as err:
        print(f"orchmilp: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("orchmilp: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
