"""``orchmilp bench``: solve many instances and compare with known optima and a peer."""

from __future__ import annotations

import argparse
import sys

from ..errors import InvalidWorkflow
from .common import count, output, positive


def _methods(text: str) -> list[str]:
    from ..benchmark import METHODS

    names = ["milp", "heuristic"] if text == "all" else [m.strip() for m in text.split(",") if m.strip()]
    for name in names:
        if name not in METHODS:
            raise argparse.ArgumentTypeError(f"unknown method {name!r} (choose from {', '.join(METHODS)}, all)")
    return names


def register(sub) -> None:
    p = sub.add_parser("bench", help="solve many instances and compare with known optima")
    p.add_argument("paths", nargs="+", help="instance files or folders (.sm, .rcp, .json)")
    p.add_argument(
        "--method",
        default="milp",
        type=_methods,
        metavar="M[,M...]",
        help="milp: the full solver; heuristic: the genetic algorithm alone; "
        "cpsat: the OR-Tools peer (bench extra); all: milp,heuristic; "
        "several with commas, e.g. milp,cpsat",
    )
    p.add_argument("--time-limit", type=positive, default=30.0, metavar="S", help="seconds per instance")
    p.add_argument("--schedules", type=int, default=5000, metavar="N", help="schedule budget of --method heuristic")
    p.add_argument("--jobs", type=count, default=1, metavar="J", help="instances solved in parallel processes")
    p.add_argument("--threads", type=count, default=1, metavar="N", help="solver threads per instance")
    p.add_argument(
        "--reference", metavar="CSV", help="best_known.csv or optimum.csv (default: found next to the instances)"
    )
    p.add_argument("--out", type=output, metavar="CSV", help="write one row per instance and method")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--dask", metavar="ADDRESS", help="run on a Dask cluster (scheduler address) instead of local processes"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ..benchmark import collect_instances, discover_references, read_reference, run_all, summarize
    from ..io.files import write_csv_atomic

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
