"""``orchmilp check``: a plan against its workflow, with the independent checker."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("check", help="check a plan against a workflow with the independent checker")
    p.add_argument("workflow")
    p.add_argument("plan")
    p.add_argument("--samples", type=int, default=50, help="random duration draws for waits_for (default 50)")
    p.add_argument(
        "--history",
        nargs="+",
        metavar="PATH",
        help="a plan made by solve --history: the same history, so that the plan is checked with the "
        "median run times it was made with",
    )


def run(args) -> int:
    from ..services import CheckRequest, check

    outcome = check(CheckRequest(args.workflow, args.plan, args.history, args.samples))
    for violation in outcome.violations:
        print(f"violation: {violation}")
    if not outcome.valid:
        if outcome.note:
            print("note: this plan has a prediction: if solve --history made it, check it with the same --history")
        return 1
    print(f"ok: {args.plan} is a valid plan for {args.workflow} (makespan {outcome.makespan})")
    return 0
