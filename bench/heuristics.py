"""The genetic algorithm against the literature's protocol.

    python bench/heuristics.py [--sets j30 j60 j90 j120] [--budgets 1000 5000 50000] [--jobs 2]

For each set and schedule budget: average % deviation from the optimum (j30)
or from the best-known makespan, and from the critical-path bound (the
measure published for j60/j90/j120), with schedules per second. Each
instance is solved once with seed 0; the set is the subset in
instances/psplib (see its README), so compare with published figures on
the full sets with care.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from rich.console import Console
from rich.table import Table

from orchmilp.io.files import write_csv_atomic

ROOT = Path(__file__).resolve().parents[1]
PSPLIB = ROOT / "instances" / "psplib"


def one(path: str, budget: int) -> dict:
    import orchmilp
    from orchmilp.bounds.critical_path import critical_path_bound
    from orchmilp.heuristics.ga import genetic_algorithm

    problem = orchmilp.load(path)
    t0 = time.perf_counter()
    ga = genetic_algorithm(problem, schedules=budget, seed=0, population=max(40, min(150, budget // 60)))
    return {
        "instance": Path(path).stem,
        "budget": budget,
        "makespan": ga.makespan,
        "schedules": ga.schedules,
        "seconds": time.perf_counter() - t0,
        "cp": critical_path_bound(problem),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="+", default=["j30", "j60", "j90", "j120"])
    parser.add_argument("--budgets", nargs="+", type=int, default=[1000, 5000, 50000])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="first N instances per set (0: all)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "heuristics.csv"))
    args = parser.parse_args(argv)
    best = {r["instance"]: r for r in csv.DictReader(open(PSPLIB / "best_known.csv"))}
    console = Console(width=120)
    import orchmilp
    from orchmilp.heuristics.ga import genetic_algorithm

    genetic_algorithm(orchmilp.load(next((PSPLIB / "j30").glob("*.sm"))), schedules=100)  # compile once
    rows = []
    table = Table(title="Genetic algorithm with double justification (seed 0, 1 process per instance)")
    for col in (
        "set",
        "instances",
        "schedules",
        "dev from best-known %",
        "dev from CP bound %",
        "best-known dev from CP %",
        "= best-known",
        "schedules/s",
    ):
        table.add_column(col, justify="right")
    for s in args.sets:
        files = sorted((PSPLIB / s).glob("*.sm"))
        if args.limit:
            files = files[: args.limit]
        for budget in args.budgets:
            with ProcessPoolExecutor(args.jobs) as pool:
                results = list(pool.map(one, map(str, files), [budget] * len(files)))
            dev_best, dev_cp, ref_cp, hits = [], [], [], 0
            for r in results:
                ub = float(best[r["instance"]]["ub"])
                dev_best.append(100 * (r["makespan"] - ub) / ub)
                dev_cp.append(100 * (r["makespan"] - r["cp"]) / r["cp"])
                ref_cp.append(100 * (ub - r["cp"]) / r["cp"])
                hits += r["makespan"] <= ub
                rows.append({"set": s, **r, "best_known": ub})
            rate = sum(r["schedules"] for r in results) / sum(r["seconds"] for r in results)
            table.add_row(
                s,
                str(len(results)),
                str(budget),
                f"{statistics.mean(dev_best):.3f}",
                f"{statistics.mean(dev_cp):.2f}",
                f"{statistics.mean(ref_cp):.2f}",
                str(hits),
                f"{rate:,.0f}",
            )
            console.print(
                f"{s} {budget}: dev best {statistics.mean(dev_best):.3f}% dev CP {statistics.mean(dev_cp):.2f}%"
            )
    console.print(table)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(args.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
