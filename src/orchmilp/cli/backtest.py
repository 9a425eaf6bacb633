"""``orchmilp backtest``: leave one run out; coverage and error of the predictions."""

from __future__ import annotations

import sys

from .common import count, output, positive, print_json


def register(sub) -> None:
    p = sub.add_parser("backtest", help="leave one run out: coverage and error of the predictions")
    p.add_argument("paths", nargs="+", metavar="PATH", help="WfCommons traces or JSONL history (with --workflow)")
    p.add_argument("--workflow", metavar="WF.json", help="the workflow the JSONL runs ran (not for traces)")
    p.add_argument("--cores", type=positive, metavar="N", help="traces: cores (default: the trace's machines)")
    p.add_argument("--samples", type=count, default=4000, metavar="N", help="samples per prediction (4000)")
    p.add_argument("--time-limit", type=positive, default=5.0, metavar="S", help="per plan (5)")
    p.add_argument("--out", type=output, metavar="CSV", help="one row per held-out run and method")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no row per run")


def run(args) -> int:
    from ..history import history_files, read_history
    from ..io.files import write_csv_atomic
    from ..prediction.backtest import backtest, cases_from, summarize_backtest
    from ..report.console import print_backtest

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
    spend = spend_backtest(args.workflow, history, args.samples) if args.workflow else {}
    if args.out:
        write_csv_atomic(args.out, [r.as_dict() for r in rows])
    if args.json:
        print_json({"makespan": summary, "spend": spend} if spend else summary)
        return 0
    print_backtest(summary)
    for key, line in spend.items():
        print(
            f"spend {key}: {line['runs']} runs, 90% interval covered {round(line['coverage'] * line['runs'])}"
            f"/{line['runs']}, mean width {line['mean_width']:.4g} (each run's modes, predicted from the others)"
        )
    return 0


def spend_backtest(workflow, history, samples: int) -> dict:
    """With model choice and recorded usage: each budget key's total per run against the
    interval predicted from the other runs (prediction/spend.py)."""
    from ..engine import load_as_written
    from ..io.modes import has_model_choice, mode_table
    from ..prediction.spend import backtest_spend

    loaded = load_as_written(workflow)
    if not has_model_choice(loaded.workflow) or not any(history.usage):
        return {}
    table = mode_table(loaded.workflow)
    by_id = {a["id"]: a for a in loaded.workflow["agents"]}
    kinds = [by_id[a].get("kind", a) for a in table.ids]
    keys = list(dict.fromkeys([*table.budgets, *(k for usage in history.usage for k in usage)]))
    out = {}
    for key in keys:
        line = backtest_spend(table, kinds, None, history, key, level=0.9, samples=samples)
        if line["runs"]:
            out[key] = line
    return out
