"""The ``orchmilp`` command line.

Only this module turns errors into exit codes: 0 success, 1 solver failure,
2 bad input or usage, 130 interrupted. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from . import __version__
from .clock import is_interrupt
from .errors import InvalidHistory, InvalidOptions, InvalidPlan, InvalidWorkflow, OrchmilpError, OrchmilpWarning
from .io.names import one_line

__all__ = ["main"]

_STARTED = time.perf_counter()  # when the command started (imports of the command line included)

#: Share of ``--time-limit`` the solve gets when reports with what-if re-solves are asked for.
SOLVE_SHARE_WITH_WHAT_IFS = 0.7
#: Seconds to draw one Gantt chart, per agent and at least, and to import matplotlib once
#: (measured on 2 cores with the other core busy: 260 agents 4.0 s, 1,000 agents 10.4 s,
#: import 0.65 s; idle, 1,000 agents took 7.5 s): the limit holds on a loaded machine too.
CHART_SECONDS_PER_AGENT = 0.0125
CHART_SECONDS = 0.3
MATPLOTLIB_IMPORT_SECONDS = 0.7
#: Seconds kept for writing the files and the interpreter's exit, and per agent for printing
#: the plan's table (1,000 agents: 0.57 s, measured).
EXIT_SECONDS = 0.3
#: Seconds kept after the what-if re-solves for composing and writing the Markdown and HTML
#: reports (260 agents with every report overran a 20 s limit by 0.75 s with 0.2 s kept)
REPORT_WRITE_SECONDS = 1.5
PRINT_SECONDS_PER_AGENT = 0.0006


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit status 2 (argparse prints the usage too)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def _output(text: str) -> str:
    """A file to write: its folder must exist (checked before any work, so nothing is half-written)."""
    folder = Path(text).parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: no such folder {str(folder)!r}")
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    return text


def _gantt_path(text: str) -> str:
    from .report.gantt import gantt_format

    try:
        gantt_format(text)
    except InvalidOptions as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return _output(text)


class _Scenario(argparse.Action):
    """Collects the scenario flags in the order given (argparse keeps one list per flag)."""

    def __call__(self, parser, namespace, values, option_string=None):
        found = getattr(namespace, "scenarios", None) or []
        found.append((self.dest, values))
        namespace.scenarios = found


def _level(text: str) -> float:
    value = _positive(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1, e.g. 0.95")
    return value


def _methods(text: str) -> list[str]:
    from .benchmark import METHODS

    names = ["milp", "heuristic"] if text == "all" else [m.strip() for m in text.split(",") if m.strip()]
    for name in names:
        if name not in METHODS:
            raise argparse.ArgumentTypeError(f"unknown method {name!r} (choose from {', '.join(METHODS)}, all)")
    return names


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="orchmilp", description="Provably fastest parallel execution plans for workflows of agents.")
    parser.add_argument("--version", action="version", version=f"orchmilp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    solve = sub.add_parser("solve", help="find a minimum-makespan plan and prove its quality")
    solve.add_argument("workflow", help="workflow JSON, PSPLIB .sm or Patterson .rcp file")
    solve.add_argument("--json", action="store_true", help="print the plan as JSON on stdout (nothing else)")
    solve.add_argument("-o", "--output", type=_output, metavar="PLAN.json", help="write the plan JSON to this file")
    solve.add_argument(
        "--time-limit",
        type=_positive,
        default=30.0,
        metavar="SECONDS",
        help="wall-clock limit for the whole command, reports included (default 30)",
    )
    solve.add_argument(
        "--threads",
        type=_count,
        default=1,
        metavar="N",
        help="1: phases in turn; 2 or more: HiGHS gets N-1, the other searches run beside it",
    )
    solve.add_argument(
        "--resolution",
        type=_positive,
        metavar="STEP",
        help="time step of the MILP grid in the workflow's time unit (default: automatic)",
    )
    solve.add_argument(
        "--no-milp",
        action="store_true",
        help="no MILP: bounds, heuristics, propagation and one round of the exact searches",
    )
    solve.add_argument(
        "--no-sat", action="store_true", help="no refutation by clause learning (to measure the other searches)"
    )
    solve.add_argument("-q", "--quiet", action="store_true", help="no progress output on stderr")
    solve.add_argument(
        "--history",
        nargs="+",
        metavar="PATH",
        help="history (JSONL files, WfCommons traces, folders): plan with its median run times "
        "and write the prediction into the plan",
    )
    solve.add_argument(
        "--samples", type=_count, default=10_000, metavar="N", help="with --history: Monte Carlo samples"
    )
    solve.add_argument("--level", type=_level, default=0.95, metavar="P", help="with --history: interval level")
    solve.add_argument(
        "--objective",
        choices=["makespan", "p90"],
        default="makespan",
        help="p90: among the optimal and near-optimal plans (within 5%%), the one with the best predicted "
        "90th percentile (from --history, else duration_range or the assumed spread)",
    )

    solve.add_argument(
        "--backend",
        default="highs",
        choices=["highs", "cbc"],
        help="MILP solver (cbc needs: pip install 'orchmilp[pulp]')",
    )
    solve.add_argument("--report", type=_output, metavar="REPORT.md", help="write the Markdown optimisation report")
    solve.add_argument("--html", type=_output, metavar="REPORT.html", help="write a self-contained HTML report")
    solve.add_argument(
        "--gantt", metavar="GANTT.png", type=_gantt_path, help="write a Gantt chart (.png, .svg or .pdf)"
    )
    solve.add_argument("--mermaid", type=_output, metavar="FILE.mmd", help="write the dependency diagram as Mermaid")
    solve.add_argument("--dot", type=_output, metavar="FILE.dot", help="write the dependency diagram as Graphviz DOT")
    solve.add_argument(
        "--what-if-seconds",
        type=_positive,
        default=10.0,
        metavar="S",
        help="with --report/--html: at most this long for each what-if re-solve (default 10); "
        "the solve then gets 70%% of --time-limit and the what-ifs share the rest",
    )

    analyze = sub.add_parser("analyze", help="structure, critical path, slack, conflicts, bounds (no solving)")
    analyze.add_argument("workflow")
    analyze.add_argument("--json", action="store_true", help="print the analysis as JSON")

    export = sub.add_parser("export", help="turn a plan into a bash script, a Makefile or a JSON run list")
    export.add_argument("plan", help="plan JSON written by `orchmilp solve -o`")
    export.add_argument("--format", default="bash", choices=["bash", "make", "json"])
    export.add_argument("-o", "--output", type=_output, metavar="FILE", help="write here (default: stdout)")

    bench = sub.add_parser("bench", help="solve many instances and compare with known optima")
    bench.add_argument("paths", nargs="+", help="instance files or folders (.sm, .rcp, .json)")
    bench.add_argument(
        "--method",
        default="milp",
        type=_methods,
        metavar="M[,M...]",
        help="milp: the full solver; heuristic: the genetic algorithm alone; "
        "cpsat: the OR-Tools peer (bench extra); all: milp,heuristic; "
        "several with commas, e.g. milp,cpsat",
    )
    bench.add_argument("--time-limit", type=_positive, default=30.0, metavar="S", help="seconds per instance")
    bench.add_argument("--schedules", type=int, default=5000, metavar="N", help="schedule budget of --method heuristic")
    bench.add_argument("--jobs", type=_count, default=1, metavar="J", help="instances solved in parallel processes")
    bench.add_argument("--threads", type=_count, default=1, metavar="N", help="solver threads per instance")
    bench.add_argument(
        "--reference", metavar="CSV", help="best_known.csv or optimum.csv (default: found next to the instances)"
    )
    bench.add_argument("--out", type=_output, metavar="CSV", help="write one row per instance and method")
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument(
        "--dask", metavar="ADDRESS", help="run on a Dask cluster (scheduler address) instead of local processes"
    )
    bench.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    convert = sub.add_parser(
        "convert", help="convert a WfCommons trace, a PSPLIB .sm or a Patterson .rcp file to the workflow format"
    )
    convert.add_argument("instance", help="WfCommons trace (.json), PSPLIB .sm or Patterson .rcp file")
    convert.add_argument("-o", "--output", type=_output, metavar="FILE.json", help="write here (default: stdout)")
    convert.add_argument(
        "--cores",
        type=_positive,
        metavar="N",
        help="WfCommons traces: capacity of the 'cores' resource (default: the cores of the trace's machines)",
    )

    compile_ = sub.add_parser("compile", help="write the time-indexed MILP as an LP or MPS file")
    compile_.add_argument("workflow")
    compile_.add_argument("--lp", type=_output, metavar="FILE.lp")
    compile_.add_argument("--mps", type=_output, metavar="FILE.mps")
    compile_.add_argument("--resolution", type=_positive, metavar="STEP", help="time step (default: automatic)")

    predict = sub.add_parser("predict", help="how long a plan really takes: makespan quantiles and interval")
    predict.add_argument("workflow")
    predict.add_argument("--plan", metavar="PLAN.json", help="the plan to predict (default: solve the workflow first)")
    predict.add_argument("--history", nargs="+", metavar="PATH", help="JSONL history, WfCommons traces or folders")
    predict.add_argument("--samples", type=_count, default=10_000, metavar="N", help="Monte Carlo samples (10000)")
    predict.add_argument("--level", type=_level, default=0.95, metavar="P", help="central interval level (0.95)")
    predict.add_argument("--seed", type=int, default=0)
    predict.add_argument("--time-limit", type=_positive, default=10.0, metavar="S", help="for the solve (10)")
    predict.add_argument("--json", action="store_true", help="print the prediction object as JSON")

    history = sub.add_parser("history", help="per kind of agent: runs, median, 10th/90th percentile, fitted model")
    history.add_argument("paths", nargs="+", metavar="PATH", help="JSONL history, WfCommons traces or folders")
    history.add_argument("--json", action="store_true")

    backtest = sub.add_parser("backtest", help="leave one run out: coverage and error of the predictions")
    backtest.add_argument(
        "paths", nargs="+", metavar="PATH", help="WfCommons traces or JSONL history (with --workflow)"
    )
    backtest.add_argument("--workflow", metavar="WF.json", help="the workflow the JSONL runs ran (not for traces)")
    backtest.add_argument("--cores", type=_positive, metavar="N", help="traces: cores (default: the trace's machines)")
    backtest.add_argument("--samples", type=_count, default=4000, metavar="N", help="samples per prediction (4000)")
    backtest.add_argument("--time-limit", type=_positive, default=5.0, metavar="S", help="per plan (5)")
    backtest.add_argument("--out", type=_output, metavar="CSV", help="one row per held-out run and method")
    backtest.add_argument("--json", action="store_true", help="print the summary as JSON")
    backtest.add_argument("-q", "--quiet", action="store_true", help="no row per run")

    whatif = sub.add_parser(
        "whatif", help="scenarios side by side with the base: solved (proof) and predicted (p50, p90)"
    )
    whatif.add_argument("workflow")
    for flag, meta, text in (
        ("--set", "KEY=V", "resources.NAME=V or AGENT.FIELD=V, e.g. resources.cores=16"),
        ("--add", "FILE.json", "add the agents of this workflow file"),
        ("--remove", "ID", "remove an agent (its dependents wait for what it waited for)"),
        ("--split", "ID=K", "divide an agent's work over K agents of duration/K"),
        ("--scale", "ID=F", "multiply an agent's duration by F"),
    ):
        whatif.add_argument(flag, action=_Scenario, metavar=meta, help=text + " (one scenario per flag)")
    whatif.add_argument("--sweep", metavar="resources.NAME=LO..HI", help="makespan against capacity, and the knee")
    whatif.add_argument("--history", nargs="+", metavar="PATH", help="history for the predictions")
    whatif.add_argument("--time-limit", type=_positive, default=10.0, metavar="S", help="per scenario (10)")
    whatif.add_argument("--samples", type=_count, default=4000, metavar="N", help="samples per prediction (4000)")
    whatif.add_argument("--plot", type=_gantt_path, metavar="SWEEP.png", help="with --sweep: draw the curve")
    whatif.add_argument("--json", action="store_true", help="print the list: base first, then each scenario")

    run = sub.add_parser("run", help="run the plan for real: live guards, timeouts, retries, history")
    run.add_argument("workflow", help="workflow JSON, or a plan JSON (then give --workflow)")
    run.add_argument("--workflow", dest="workflow_for_plan", metavar="WF.json", help="the workflow of a plan given")
    run.add_argument("--history", metavar="FILE.jsonl", help="append one line per attempt (default runs/history.jsonl)")
    run.add_argument("--workdir", metavar="DIR", help="where commands run (default: the workflow's folder)")
    run.add_argument("--time-limit", type=_positive, default=10.0, metavar="S", help="for planning (10)")
    run.add_argument(
        "--on-failure",
        choices=["stop", "continue"],
        default="stop",
        help="stop: cancel everything at the first failure (default); continue: run what does not "
        "need the failed agent, skip its dependents",
    )
    run.add_argument(
        "--resume",
        nargs="?",
        const=True,
        metavar="RUN",
        help="rerun what did not end ok in the last run (or RUN), re-planned",
    )
    run.add_argument(
        "--adaptive",
        action="store_true",
        help="when durations drift (20%%, at least 1 s), re-plan the agents not yet started",
    )
    run.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="run the agents on a Dask cluster (scheduler address); needs a shared filesystem",
    )
    run.add_argument("--grace", type=_positive, default=5.0, metavar="S", help="SIGTERM to SIGKILL (5)")
    run.add_argument("--backoff", type=_positive, default=1.0, metavar="S", help="first retry delay, doubling (1)")
    run.add_argument("-q", "--quiet", action="store_true", help="no live view or progress lines")

    mcp = sub.add_parser("mcp", help="serve the engine as MCP tools over stdio (pip install 'orchmilp[mcp]')")
    mcp.add_argument("--root", default=".", metavar="DIR", help="paths are relative to this folder (default: .)")
    mcp.add_argument("--allow-run", action="store_true", help="offer the run tool (runs workflow commands)")
    mcp.add_argument(
        "--max-time-limit", type=_positive, default=120.0, metavar="S", help="the most seconds one call may take (120)"
    )

    check = sub.add_parser("check", help="check a plan against a workflow with the independent checker")
    check.add_argument("workflow")
    check.add_argument("plan")
    check.add_argument("--samples", type=int, default=50, help="random duration draws for waits_for (default 50)")
    check.add_argument(
        "--history",
        nargs="+",
        metavar="PATH",
        help="a plan made by solve --history: the same history, so that the plan is checked with the "
        "median run times it was made with",
    )
    return parser


def _progress_printer(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return None

    def show(phase: str, seconds: float, makespan: float, bound: float) -> None:
        print(f"[{seconds:6.2f} s] {phase:9s} makespan {makespan:g}  bound {bound:g}", file=sys.stderr)

    return show


def _kernels_cached() -> bool:
    """Numba has cached the compiled search kernels beside the package (a first run compiles them)."""
    package = Path(__file__).resolve().parent
    return any(package.glob("*/__pycache__/*.nbi"))


def _cmd_solve(args) -> int:
    from .api import Loaded, SolveOptions, load_as_written, solve, with_history_medians
    from .io.files import write_json_atomic
    from .report.console import MAX_ROWS, print_result

    t0 = _STARTED
    what_ifs = bool(args.report or args.html)
    history = None
    # read once (its warnings shown once); the solve reads the dict again, with the file's name
    as_written, written = load_as_written(args.workflow)
    source = Loaded(as_written, written)
    if args.history:
        from .history import read_history

        history = read_history(args.history)
        source = with_history_medians(as_written, {"name": as_written.name, **written}, history)
    # whose figures the prediction shrinks towards: the workflow as written (see forecast)
    prior = as_written if history is not None else True
    drawing = _drawing_seconds(as_written.n, args)
    ending = EXIT_SECONDS + (0.0 if args.json else PRINT_SECONDS_PER_AGENT * min(as_written.n, 2 * MAX_ROWS))
    spent = time.perf_counter() - t0  # starting the command and reading count against the limit too
    options = SolveOptions(
        time_limit=max(
            0.1,
            (args.time_limit - drawing - ending) * (SOLVE_SHARE_WITH_WHAT_IFS if what_ifs else 1.0) - spent,
        ),
        threads=args.threads,
        resolution=args.resolution,
        use_milp=not args.no_milp,
        use_sat=not args.no_sat,
        backend=args.backend,
    )
    if not (args.quiet or args.json) and not _kernels_cached():
        print(
            "orchmilp: compiling the search kernels (first run only, about 10 s; counted in the time limit)",
            file=sys.stderr,
        )
    with warnings.catch_warnings():  # the workflow's warnings were shown when it was read
        warnings.simplefilter("ignore", OrchmilpWarning)
        result = solve(source, options, on_progress=_progress_printer(args.quiet or args.json))
    robust_note = None
    if args.objective == "p90":
        from .check import check_plan
        from .prediction import forecasts_for
        from .prediction.robust import robust_plan, robust_result

        choice = robust_plan(result, forecasts_for(result.problem, history, prior=prior)[0])
        robust = robust_result(result, choice)
        problems = check_plan(result.workflow, robust.to_dict())
        if problems:
            raise OrchmilpError("internal error, the robust plan fails its check: " + problems[0])
        compared = (
            f"{choice.candidates} plans compared"
            if choice.candidates > 1
            else "no other plan found within 5% of the optimum's makespan"
        )
        robust_note = (
            f"objective p90: chosen plan p90 {choice.p90:.6g}, the optimum's p90 {choice.optimum_p90:.6g} "
            f"({compared}); its makespan {choice.makespan:.6g} against the optimum's {result.makespan:.6g}"
        )
        result = robust
    plan = result.to_dict()
    if robust_note:
        plan["objective"] = {"name": "p90", "note": robust_note}
    prediction = None
    if history is not None:
        from .prediction import predict_plan

        prediction = predict_plan(
            result.problem,
            result.waits_for,
            result.makespan,
            history,
            samples=args.samples,
            level=args.level,
            prior=prior,
        )
        plan["prediction"] = prediction.to_dict()
        result = dataclasses.replace(result, prediction=prediction)
    _write_reports(result, args, deadline=t0 + args.time_limit - ending - REPORT_WRITE_SECONDS)
    if args.output:
        write_json_atomic(args.output, plan)
    if args.json:
        sys.stdout.write(json.dumps(plan, indent=2) + "\n")
    else:
        print_result(result)
        if prediction is not None:
            print(prediction.summary(result.problem.time_unit))
        if robust_note:
            print(robust_note)
    return 0


def _cmd_predict(args) -> int:
    from .api import predict
    from .report.console import print_prediction

    prediction = predict(
        args.workflow,
        plan=args.plan,
        history=args.history,
        samples=args.samples,
        level=args.level,
        seed=args.seed,
        time_limit=args.time_limit,
    )
    if args.json:
        sys.stdout.write(json.dumps(prediction.to_dict(), indent=2) + "\n")
    else:
        print_prediction(prediction)
    return 0


def _cmd_history(args) -> int:
    from .history import read_history
    from .prediction.model import fit_kinds
    from .report.console import print_history

    history = read_history(args.paths)
    models = fit_kinds(history)
    if args.json:
        by_host = history.medians_by_host()
        rows = [
            {
                "kind": m.kind,
                "attempts": m.n,
                "runs": m.runs,
                "p10": m.quantiles[0],
                "median": m.quantiles[1],
                "p90": m.quantiles[2],
                "feature": m.feature,
                "slope": m.slope,
                "sigma": m.sigma,
                "tau": m.tau,
                "run_correlation": m.run_correlation,
                "by_host": {h: {"attempts": n, "median": med} for h, (n, med) in by_host.get(m.kind, {}).items()},
            }
            for m in models.values()
        ]
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
    else:
        print_history(history, models)
    return 0


def _cmd_whatif(args) -> int:
    from .analysis.scenarios import Variant, compare, knee, read_workflow_dict, scenario, sweep_values
    from .history import read_history
    from .report.console import print_whatif

    base = read_workflow_dict(args.workflow)
    scenarios = [scenario(flag, value) for flag, value in (getattr(args, "scenarios", None) or [])]
    sweep = sweep_values(args.sweep) if args.sweep else None
    if not scenarios and sweep is None:
        raise InvalidOptions("whatif: give at least one scenario (--set, --add, --remove, --split, --scale) or --sweep")
    if args.plot and sweep is None:
        raise InvalidOptions("whatif: --plot draws a --sweep; give --sweep too")
    edited = [s.apply(base) for s in scenarios]  # every edit checked before any solving
    history = read_history(args.history) if args.history else None
    quiet = args.json or not sys.stderr.isatty()

    def show(label: str) -> None:
        if not quiet:
            print(f"solving {label} ...", file=sys.stderr)

    each = {"time_limit": args.time_limit, "history": history, "samples": args.samples, "on_start": show}
    rows = compare([Variant("base", base), *edited], **each)
    sweep_rows = []
    if sweep is not None:
        key, values = sweep
        steps = [scenario("set", f"{key}={v:g}").apply(base, f"{key}={v:g}") for v in values]
        sweep_rows = compare(steps, **each)
    point = None
    if sweep is not None:
        from .api import load, load_with_history
        from .bounds.critical_path import critical_path_bound

        chain = critical_path_bound(load(load_with_history(base, history)[1]))
        point = knee([(v, r["makespan"]) for v, r in zip(sweep[1], sweep_rows)], floor=chain)
    if args.plot:
        from .report.gantt import save_sweep

        save_sweep(sweep[0], sweep[1], sweep_rows, point, args.plot)
    if args.json:
        out = rows + sweep_rows if sweep_rows else rows
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        print_whatif(rows, sweep_rows, sweep[0] if sweep else None, point)
    return 0


def _cmd_run(args) -> int:
    from .run import RunOptions, execute
    from .run.view import RunView, print_run_report

    workflow, plan = args.workflow, None
    if args.workflow_for_plan:
        workflow, plan = args.workflow_for_plan, args.workflow
    elif _is_plan(args.workflow):
        raise InvalidOptions(f"{args.workflow} is a plan: give its workflow too (--workflow WF.json)")
    view = RunView(quiet=args.quiet)
    try:
        report = execute(
            workflow,
            plan,
            history_path=args.history,
            workdir=args.workdir,
            time_limit=args.time_limit,
            options=RunOptions(
                on_failure=args.on_failure, grace=args.grace, backoff=args.backoff, adaptive=args.adaptive
            ),
            resume=args.resume,
            cluster=args.cluster,
            on_event=view,
            on_plan=view.plan,
        )
    finally:
        view.close()
    print_run_report(report)
    return 1 if report.failed else 0


def _is_plan(path: str) -> bool:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "schedule" in data and "agents" not in data


def _cmd_mcp(args) -> int:
    from .mcp_server import serve

    if not Path(args.root).is_dir():
        raise InvalidOptions(f"--root {args.root}: no such folder")
    serve(args.root, allow_run=args.allow_run, max_time_limit=args.max_time_limit)
    return 0


def _cmd_backtest(args) -> int:
    from .history import history_files, read_history
    from .io.files import write_csv_atomic
    from .prediction.backtest import backtest, cases_from, summarize_backtest
    from .report.console import print_backtest

    files = history_files(args.paths)
    history = read_history(files)
    cases = cases_from(files, history, workflow=args.workflow, cores=args.cores)

    def on_row(row):
        if not args.quiet and not args.json:
            lo, hi = row.intervals[0.9]
            print(
                f"{row.run}: {row.method:8s} actual {row.actual:.1f}  plan {row.planned:.1f}  "
                f"p50 {row.p50:.1f}  90% [{lo:.1f}, {hi:.1f}] {'ok' if row.covered(0.9) else 'MISSED'}",
                file=sys.stderr,
            )

    rows = backtest(history, cases, samples=args.samples, time_limit=args.time_limit, on_row=on_row)
    summary = summarize_backtest(rows)
    if args.out:
        write_csv_atomic(args.out, [r.as_dict() for r in rows])
    if args.json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        print_backtest(summary)
    return 0


def _drawing_seconds(agents: int, args) -> float:
    """About how long the charts asked for take to draw (the Gantt PNG, the HTML page's Gantt
    chart and histogram): kept out of the solve's share of ``--time-limit``, at most half of it."""
    charts = bool(args.gantt) + bool(args.html)
    if not charts:
        return 0.0
    estimate = MATPLOTLIB_IMPORT_SECONDS + charts * (CHART_SECONDS + CHART_SECONDS_PER_AGENT * agents)
    if estimate > args.time_limit / 2:
        print(
            f"orchmilp: warning: drawing {agents} agents takes about {estimate:.0f} s; "
            f"the charts may end after --time-limit {args.time_limit:g}",
            file=sys.stderr,
        )
    return min(estimate, args.time_limit / 2)


def _write_reports(result, args, deadline: float) -> None:
    from .io.files import write_text_atomic

    if args.mermaid or args.dot:
        from .report.diagrams import dot, mermaid

        if args.mermaid:
            write_text_atomic(args.mermaid, mermaid(result.problem, result) + "\n")
        if args.dot:
            write_text_atomic(args.dot, dot(result.problem, result) + "\n")
    if args.gantt:
        from .report.gantt import save_gantt

        save_gantt(result, args.gantt)
    if args.report or args.html:
        from .prediction import predict_plan
        from .report.content import report_content
        from .report.html import html_figures, html_report

        if result.prediction is None:  # without history: the duration_range or the assumed spread
            prediction = predict_plan(result.problem, result.waits_for, result.makespan, None, samples=4000)
            result = dataclasses.replace(result, prediction=prediction)
        # the charts first: the what-ifs then use the time that is left, up to the deadline
        figures = html_figures(result) if args.html else None
        content = report_content(result, what_if_deadline=deadline, what_if_seconds=args.what_if_seconds)
        if args.report:
            from .report.markdown import markdown_report

            write_text_atomic(args.report, markdown_report(content) + "\n")
        if args.html:
            write_text_atomic(args.html, html_report(content, result, figures))


def _cmd_check(args) -> int:
    from .api import load_with_history
    from .check import check_plan
    from .io.plan import read_plan

    # a plan made by solve --history is checked with the medians it was made with
    _, workflow = load_with_history(args.workflow, args.history or None)
    plan = read_plan(args.plan)
    problems = check_plan(workflow, plan, samples=args.samples)
    for p in problems:
        print(f"violation: {p}")
    if problems:
        if "prediction" in plan and not args.history:
            print("note: this plan has a prediction: if solve --history made it, check it with the same --history")
        return 1
    print(f"ok: {args.plan} is a valid plan for {args.workflow} (makespan {plan.get('makespan')})")
    return 0


def _cmd_bench(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from .benchmark import collect_instances, discover_references, read_reference, run_all, summarize
    from .io.files import write_csv_atomic

    files = collect_instances(args.paths)
    if not files:
        raise InvalidWorkflow("no instance files (.sm, .rcp, .json) under " + ", ".join(args.paths))
    references = read_reference(args.reference) if args.reference else discover_references(files)
    methods = args.method
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 132)
    err = Console(stderr=True, highlight=False)
    total = len(files) * len(methods)
    proven = [0]
    progress = Progress(
        TextColumn("[bold]bench[/bold] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=args.quiet,
        transient=False,
    )
    with progress:
        task = progress.add_task("proven optimal 0", total=total)

        def on_row(row):
            proven[0] += row.status == "optimal"
            progress.update(task, advance=1, description=f"proven optimal {proven[0]}")
            for problem in row.problems:
                err.print(f"[bold red]BUG[/bold red] {row.instance} ({row.method}): {problem}")

        rows = run_all(
            files,
            methods,
            time_limit=args.time_limit,
            schedules=args.schedules,
            seed=args.seed,
            threads=args.threads,
            jobs=args.jobs,
            references=references,
            on_row=on_row,
            dask_address=args.dask,
        )
    table = Table(title=f"orchmilp bench: {len(files)} instances, {args.time_limit:g} s, {args.threads} thread(s)")
    summary = summarize(rows)
    for col in summary[0]:
        table.add_column(col, justify="right")
    for line in summary:
        table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in line.values()])
    console.print(table)
    if args.out:
        write_csv_atomic(args.out, [row.csv_row() for row in rows])
    bugs = [r for r in rows if r.problems]
    if bugs:
        err.print(f"[bold red]{len(bugs)} result(s) contradict the reference or fail the checker[/bold red]")
        return 1
    return 0


def _cmd_convert(args) -> int:
    from .api import load
    from .io.files import write_json_atomic
    from .io.workflow import problem_to_workflow

    if Path(args.instance).suffix.lower() in (".sm", ".rcp"):
        if args.cores:
            raise InvalidOptions("convert: --cores applies to WfCommons traces only")
        workflow = problem_to_workflow(load(args.instance))
    else:
        from .io.wfcommons import read_trace, trace_to_workflow

        workflow = trace_to_workflow(read_trace(args.instance), cores=args.cores)
        load(workflow)  # the result must be a valid workflow
    if args.output:
        write_json_atomic(args.output, workflow)
    else:
        sys.stdout.write(json.dumps(workflow, indent=2) + "\n")
    return 0


def _cmd_compile(args) -> int:
    from .api import compile_model
    from .compile.export import write_model

    if not args.lp and not args.mps:
        raise InvalidWorkflow("compile: give --lp FILE and/or --mps FILE")
    model, info = compile_model(args.workflow, resolution=args.resolution)
    for target in (args.lp, args.mps):
        if target:
            write_model(model, target)
    print(f"{info} -> " + ", ".join(t for t in (args.lp, args.mps) if t))
    return 0


def _cmd_analyze(args) -> int:
    from .analysis.structure import analyze
    from .api import load
    from .report.console import print_analysis

    facts = analyze(load(args.workflow))
    if args.json:
        sys.stdout.write(json.dumps(facts, indent=2) + "\n")
    else:
        print_analysis(facts)
    return 0


def _cmd_export(args) -> int:
    from .io.export import EXPORTERS
    from .io.files import write_text_atomic
    from .io.plan import read_plan

    text = EXPORTERS[args.format](read_plan(args.plan))
    if args.output:
        write_text_atomic(args.output, text)
        if args.format == "bash":
            Path(args.output).chmod(0o755)
    else:
        sys.stdout.write(text)
    return 0


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM and SIGHUP take the path of Ctrl-C: the processes started are stopped, exit 130."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _warnings_as_lines():
    """orchmilp's warnings (unknown fields, skipped history lines) as one line each on stderr."""
    from .errors import OrchmilpWarning

    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = one_line(message)
        if text not in shown:  # the same warning once (what-ifs read the history per scenario)
            shown.add(text)
            print(f"orchmilp: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", OrchmilpWarning)
        warnings.showwarning = show
        yield


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    commands = {
        "solve": _cmd_solve,
        "check": _cmd_check,
        "bench": _cmd_bench,
        "convert": _cmd_convert,
        "compile": _cmd_compile,
        "analyze": _cmd_analyze,
        "export": _cmd_export,
        "predict": _cmd_predict,
        "history": _cmd_history,
        "backtest": _cmd_backtest,
        "whatif": _cmd_whatif,
        "run": _cmd_run,
        "mcp": _cmd_mcp,
    }
    try:
        with _sigterm_as_interrupt(), _warnings_as_lines():
            return commands[args.command](args)
    except (InvalidWorkflow, InvalidPlan, InvalidOptions, InvalidHistory) as err:
        print(f"orchmilp: error: {one_line(err)}", file=sys.stderr)
        return 2
    except OrchmilpError as err:
        print(f"orchmilp: error: {one_line(err)}", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, SystemError) as err:
        if not is_interrupt(err):
            raise
        print("orchmilp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `orchmilp solve ... | head -1`: the reader has gone, exit quietly
        _quiet_stdout()
        return 0


if __name__ == "__main__":
    sys.exit(main())
