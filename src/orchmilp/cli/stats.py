"""``orchmilp stats``: what past runs say, per workflow and over time."""

from __future__ import annotations

from .common import output, print_json


def register(sub) -> None:
    p = sub.add_parser("stats", help="past runs: makespan vs plan and prediction, success, failures, retries, spend")
    p.add_argument("paths", nargs="+", metavar="PATH", help="JSONL history, WfCommons traces or folders")
    p.add_argument("--html", type=output, metavar="FILE.html", help="also write a page with charts")
    p.add_argument("--runs", type=int, default=20, metavar="N", help="show the last N runs (20; 0: none)")
    p.add_argument("--json", action="store_true", help="per workflow and per run, as JSON")


def run(args) -> int:
    import dataclasses

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ..io.files import write_text_atomic
    from ..report.run_stats import RUN_HEADER, WORKFLOW_HEADER, run_rows, stats_html, workflow_rows
    from ..services import stats

    runs, rows = stats(args.paths)
    if args.html:
        write_text_atomic(args.html, stats_html(runs, rows))
    if args.json:
        print_json({"workflows": rows, "runs": [dataclasses.asdict(r) for r in runs]})
        return 0
    console = Console(highlight=False, width=160)
    for title, header, body in (
        (f"{len(rows)} workflows, {len(runs)} runs", WORKFLOW_HEADER, workflow_rows(rows)),
        (f"the last {min(args.runs, len(runs))} runs", RUN_HEADER, run_rows(runs[-args.runs :]) if args.runs else []),
    ):
        if not body:
            continue
        table = Table(title=title, title_justify="left")
        for col in header:
            table.add_column(col, overflow="fold", no_wrap=col in ("workflow", "run"))
        for row in body:
            table.add_row(*(Text(cell) for cell in row))  # workflow strings are not markup
        console.print(table)
    if args.html:
        print(f"written: {args.html}")
    return 0
