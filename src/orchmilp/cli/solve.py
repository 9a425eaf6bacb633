"""``orchmilp solve``: the plan, its proof, its prediction and its reports."""

from __future__ import annotations

import sys
from pathlib import Path

from .common import chart_path, count, level, output, positive, print_json, progress_printer

#: Seconds kept for writing the files and the interpreter's exit, and per agent for printing
#: the plan's table (1,000 agents: 0.57 s, measured).
EXIT_SECONDS = 0.3
PRINT_SECONDS_PER_AGENT = 0.0006


def register(sub) -> None:
    p = sub.add_parser("solve", help="find a minimum-makespan plan and prove its quality")
    p.add_argument("workflow", help="workflow JSON, PSPLIB .sm or Patterson .rcp file")
    p.add_argument("--json", action="store_true", help="print the plan as JSON on stdout (nothing else)")
    p.add_argument("-o", "--output", type=output, metavar="PLAN.json", help="write the plan JSON to this file")
    p.add_argument(
        "--time-limit",
        type=positive,
        default=30.0,
        metavar="SECONDS",
        help="wall-clock limit for the whole command, reports included (default 30)",
    )
    p.add_argument(
        "--threads",
        type=count,
        default=1,
        metavar="N",
        help="1: phases in turn; 2 or more: HiGHS gets N-1, the other searches run beside it",
    )
    p.add_argument(
        "--resolution",
        type=positive,
        metavar="STEP",
        help="time step of the MILP grid in the workflow's time unit (default: automatic)",
    )
    p.add_argument(
        "--no-milp",
        action="store_true",
        help="no MILP: bounds, heuristics, propagation and one round of the exact searches",
    )
    p.add_argument(
        "--no-sat", action="store_true", help="no refutation by clause learning (to measure the other searches)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")
    p.add_argument(
        "--history",
        nargs="+",
        metavar="PATH",
        help="history (JSONL files, WfCommons traces, folders): plan with its median run times "
        "and write the prediction into the plan",
    )
    p.add_argument("--samples", type=count, default=10_000, metavar="N", help="with --history: Monte Carlo samples")
    p.add_argument("--level", type=level, default=0.95, metavar="P", help="with --history: interval level")
    p.add_argument(
        "--objective",
        default="makespan",
        metavar="makespan|p90|KEY",
        help="p90: among the optimal and near-optimal plans (within 5%%), the one with the best predicted "
        "90th percentile (from --history, else duration_range or the assumed spread); a consumes key "
        "(usd, tokens): with model choice, the least spend that ends by the deadline",
    )
    p.add_argument(
        "--deadline",
        type=positive,
        metavar="S",
        help="the plan must end by then (replaces the workflow's deadline; with --objective KEY)",
    )
    p.add_argument(
        "--waves",
        action="store_true",
        help="a plan in waves: each wave's agents start together when the wave before has ended "
        "(how a coding agent launches subagents); shown beside the event-driven plan",
    )
    p.add_argument(
        "--backend",
        default="highs",
        choices=["highs", "cbc"],
        help="MILP solver (cbc needs: pip install 'orchmilp[pulp]')",
    )
    p.add_argument("--report", type=output, metavar="REPORT.md", help="write the Markdown optimisation report")
    p.add_argument("--html", type=output, metavar="REPORT.html", help="write a self-contained HTML report")
    p.add_argument("--gantt", metavar="GANTT.png", type=chart_path, help="write a Gantt chart (.png, .svg or .pdf)")
    p.add_argument("--mermaid", type=output, metavar="FILE.mmd", help="write the dependency diagram as Mermaid")
    p.add_argument("--dot", type=output, metavar="FILE.dot", help="write the dependency diagram as Graphviz DOT")
    p.add_argument(
        "--what-if-seconds",
        type=positive,
        default=10.0,
        metavar="S",
        help="with --report/--html: at most this long for each what-if re-solve (default 10); "
        "the solve then gets 70%% of --time-limit and the what-ifs share the rest",
    )


def kernels_cached() -> bool:
    """Numba has cached the compiled search kernels beside the package (a first run compiles them)."""
    package = Path(__file__).resolve().parent.parent
    return any(package.glob("*/__pycache__/*.nbi"))


def run(args) -> int:
    from ..deadline import Deadline
    from ..io.files import write_json_atomic
    from ..options import SolveOptions
    from ..report.console import MAX_ROWS, print_result
    from ..services import PlanRequest, Reports, plan

    reports = None
    if any((args.report, args.html, args.gantt, args.mermaid, args.dot)):
        reports = Reports(args.report, args.html, args.gantt, args.mermaid, args.dot, False, args.what_if_seconds)
    printing = 0.0 if args.json else PRINT_SECONDS_PER_AGENT
    spend = None if args.objective in ("makespan", "p90") else args.objective
    workflow = args.workflow
    if args.deadline is not None:  # the workflow as written, with this deadline
        from pathlib import Path

        from ..engine import load_as_written

        workflow = {"name": Path(args.workflow).stem, **load_as_written(args.workflow).workflow}
        workflow["deadline"] = args.deadline
    request = PlanRequest(
        workflow,
        time_limit=args.time_limit,
        solve=SolveOptions(
            threads=args.threads,
            resolution=args.resolution,
            use_milp=not args.no_milp,
            use_sat=not args.no_sat,
            backend=args.backend,
            dispatch="waves" if args.waves else "events",
            spend=spend,
        ),
        history=args.history,
        objective="p90" if args.objective == "p90" else "makespan",
        samples=args.samples,
        level=args.level,
        reports=reports,
        on_progress=progress_printer(args.quiet or args.json),
        answer_seconds=lambda agents: EXIT_SECONDS + printing * min(agents, 2 * MAX_ROWS),
    )
    if not (args.quiet or args.json) and not kernels_cached():
        print(
            "orchmilp: compiling the search kernels (first run only, about 10 s; counted in the time limit)",
            file=sys.stderr,
        )
    outcome = plan(request, Deadline(args.time_limit, started=args.started))
    if args.output:
        write_json_atomic(args.output, outcome.plan)
    if args.json:
        print_json(outcome.plan)
        return 0
    print_result(outcome.result)
    if outcome.prediction is not None:
        print(outcome.prediction.summary(outcome.result.problem.time_unit))
    if outcome.objective_note:
        print(outcome.objective_note)
    if outcome.dispatch_note:
        print(outcome.dispatch_note)
    return 0
