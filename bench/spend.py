"""Least spend by a deadline (``solve --objective usd --deadline S``) on the generated LLM
workflows of bench/modes.py: deadlines a share above the makespan relaxation's bound, one
thread, the same time limit each.

    python bench/spend.py [--time-limit 20] [--sizes 20,30] [--seeds 3] [--factors 1.05,1.15,1.3] [--out FILE]

A row: the plan's makespan and spend, the spend's proven lower bound and status, or "none"
when no plan by the deadline was found; whether the plan passes the independent checker.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from workflows import llm_mode_workflow  # noqa: E402

import orchmilp  # noqa: E402
from orchmilp.check import check_plan  # noqa: E402
from orchmilp.errors import NoPlanFits  # noqa: E402
from orchmilp.io.modes import mode_table  # noqa: E402
from orchmilp.options import SolveOptions  # noqa: E402
from orchmilp.search.modes import mode_relaxation  # noqa: E402


def run(workflow: dict, factor: float, limit: float) -> dict:
    bound = mode_relaxation(mode_table(workflow), orchmilp.load(workflow), 5.0, SolveOptions()).bound
    deadline = round(factor * bound)
    workflow = {**workflow, "deadline": deadline}
    row = {"workflow": workflow["name"], "deadline": deadline}
    t = time.perf_counter()
    try:
        result = orchmilp.solve(workflow, time_limit=limit, threads=1, spend="usd")
    except NoPlanFits:
        return {
            **row,
            "makespan": "none",
            "usd": "",
            "usd bound": "",
            "status": "none",
            "s": time.perf_counter() - t,
            "checked": "",
        }
    seconds = time.perf_counter() - t
    plan = result.to_dict()
    objective = plan["objective"]
    return {
        **row,
        "makespan": result.makespan,
        "usd": objective["value"],
        "usd bound": objective["lower_bound"],
        "status": objective["status"],
        "s": seconds,
        "checked": "yes" if not check_plan(workflow, plan, samples=0) else "NO",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--sizes", default="20,30")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--factors", default="1.05,1.15,1.3")
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = []
    for n in map(int, args.sizes.split(",")):
        for seed in range(args.seeds):
            models, budgets = (3, 1 + seed % 2) if seed % 3 != 2 else (2, 1)
            workflow = llm_mode_workflow(n, seed, models=models, budgets=budgets)
            for factor in map(float, args.factors.split(",")):
                row = run(workflow, factor, args.time_limit)
                rows.append(row)
                print("  ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()), flush=True)
    lines = ["  ".join(f"{c:>14s}" for c in rows[0])]
    for r in rows:
        lines.append("  ".join(f"{v:14.3f}" if isinstance(v, float) else f"{v!s:>14s}" for v in r.values()))
    planned = [r for r in rows if r["status"] != "none"]
    gaps = [100 * (r["usd"] - r["usd bound"]) / r["usd"] for r in planned if r["usd"]]
    lines.append(
        f"{len(rows)} solves, limit {args.time_limit:g} s, one thread: a plan by the deadline in {len(planned)}, "
        f"the least spend proven in {sum(r['status'] == 'optimal' for r in rows)}, mean spend gap "
        f"{statistics.mean(gaps) if gaps else float('nan'):.1f}% over those planned; "
        f"plans failing the checker: {sum(r['checked'] == 'NO' for r in rows)}"
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
