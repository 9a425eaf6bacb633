"""Issue-2 benchmark: examples, random workflows of 10-60 agents, a 1,000-agent workflow.

    python bench/core.py [--seeds 10] [--time-limit 30] [--out bench/results/core.csv]

Prints a table per group (proven optimal, median and max seconds, gap) and
one line for the large workflow (time to first plan, total time, peak memory).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))

from workflows import random_workflow  # noqa: E402

import orchmilp  # noqa: E402
from orchmilp.check import check_plan  # noqa: E402
from orchmilp.heuristics.portfolio import rule_portfolio  # noqa: E402
from orchmilp.io.files import write_csv_atomic  # noqa: E402
from orchmilp.io.workflow import problem_to_workflow  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def run(source, time_limit: float) -> dict:
    result = orchmilp.solve(source, time_limit=time_limit)
    problems = check_plan(problem_to_workflow(result.problem), result.to_dict(), samples=5)
    if problems:
        raise SystemExit(f"INVALID PLAN for {result.problem.name}: {problems[0]}")
    return {
        "instance": result.problem.name,
        "agents": result.problem.n,
        "status": result.status.value,
        "makespan": result.makespan,
        "lower_bound": result.lower_bound,
        "gap": result.gap,
        "seconds": result.solve_seconds,
        "grid": result.resolution,
        "binaries": result.statistics.milp_binaries,
    }


def summarize(console: Console, title: str, rows: list[dict]) -> None:
    table = Table(title=title, title_justify="left")
    for col in ("group", "instances", "proven optimal", "median s", "max s", "mean gap %", "max gap %"):
        table.add_column(col, justify="right")
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    for name, rs in groups.items():
        secs = [r["seconds"] for r in rs]
        gaps = [100 * r["gap"] for r in rs]
        table.add_row(
            name,
            str(len(rs)),
            str(sum(r["status"] == "optimal" for r in rs)),
            f"{statistics.median(secs):.2f}",
            f"{max(secs):.2f}",
            f"{statistics.mean(gaps):.2f}",
            f"{max(gaps):.2f}",
        )
    console.print(table)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 40, 60])
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--large", type=int, default=1000, help="agents of the large workflow (0 to skip)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "core.csv"))
    args = parser.parse_args(argv)
    console = Console(stderr=False)
    orchmilp.solve({"agents": [{"id": "warm-up", "duration": 1}]})  # compile the numba kernels once

    rows = []
    for example in sorted((ROOT / "instances" / "examples").glob("*.json")):
        rows.append({"group": "examples", **run(example, args.time_limit)})
        console.print(
            f"  {rows[-1]['instance']}: {rows[-1]['status']} {rows[-1]['makespan']:g} in {rows[-1]['seconds']:.2f} s"
        )
    for n in args.sizes:
        for seed in range(args.seeds):
            rows.append({"group": f"random n={n}", **run(random_workflow(n, seed), args.time_limit)})
            r = rows[-1]
            console.print(
                f"  {r['instance']}: {r['status']} {r['makespan']:g} >= {r['lower_bound']:g} in {r['seconds']:.2f} s (grid {r['grid']}, {r['binaries']} binaries)"
            )
    summarize(console, f"orchmilp solve, time limit {args.time_limit:g} s, 1 thread", rows)

    if args.large:
        workflow = random_workflow(args.large, seed=0)
        t0 = time.perf_counter()
        problem = orchmilp.load(workflow)
        heur = rule_portfolio(problem, samples=0)
        first = time.perf_counter() - t0
        r = run(problem, max(args.time_limit, 60.0))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        console.print(
            f"{args.large} agents: first plan (heuristic, makespan {heur.makespan:g} s) after {first:.2f} s; "
            f"solve {r['status']} makespan {r['makespan']:g} bound {r['lower_bound']:g} gap {100 * r['gap']:.2f}% "
            f"in {r['seconds']:.1f} s; peak memory {peak:.0f} MiB"
        )
        rows.append({"group": f"large n={args.large}", "first_plan_seconds": first, "peak_mib": peak, **r})

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(args.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
