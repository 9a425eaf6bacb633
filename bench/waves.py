"""Wave plans (``solve --waves``): proven or with a gap, time, and what the waves cost
against the event-driven plan, on the examples and random workflows of 10 to 60 agents,
and on 300 agents within the time limit.

    python bench/waves.py [--time-limit 20] [--out bench/results/waves.txt]
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

from workflows import random_workflow  # noqa: E402

import orchmilp  # noqa: E402
from orchmilp.check import check_plan  # noqa: E402


def run(label: str, workflow, limit: float) -> dict:
    t = time.perf_counter()
    waves = orchmilp.solve(workflow, time_limit=limit, dispatch="waves")
    seconds = time.perf_counter() - t
    events = orchmilp.solve(workflow, time_limit=limit)
    problems = check_plan(waves.workflow, waves.to_dict())
    return {
        "workflow": label,
        "agents": waves.problem.n,
        "status": waves.status.value,
        "waves": waves.makespan,
        "bound": waves.lower_bound,
        "gap %": 100 * waves.gap,
        "seconds": seconds,
        "events": events.makespan,
        "cost %": 100 * (waves.makespan - events.makespan) / events.makespan if events.makespan else 0.0,
        "waves n": len(waves.waves or ()),
        "bugs": len(problems),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--large", type=int, default=300)
    parser.add_argument("--large-only", action="store_true", help="only the large workflow")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 40, 60], help="random workflow sizes")
    parser.add_argument("--no-examples", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = []
    if not args.large_only:
        if not args.no_examples:
            examples = sorted((ROOT / "instances" / "examples").glob("*.json"))
            rows += [run(p.stem, p, args.time_limit) for p in examples]
        for n in args.sizes:
            rows += [run(f"random-{n}-{s}", random_workflow(n, seed=s), args.time_limit) for s in range(5)]
    if args.large:
        rows.append(run(f"random-{args.large}", random_workflow(args.large, seed=1), args.time_limit))
    cols = list(rows[0])
    lines = ["  ".join(f"{c:>14s}" for c in cols)]
    for r in rows:
        lines.append("  ".join(f"{v:14.2f}" if isinstance(v, float) else f"{v!s:>14s}" for v in r.values()))
    small = [r for r in rows if r["agents"] <= 60]
    if small:
        lines.append(
            f"up to 60 agents: {sum(r['status'] == 'optimal' for r in small)} of {len(small)} proven, "
            f"median {statistics.median(r['seconds'] for r in small):.2f} s, "
            f"waves cost {statistics.median(r['cost %'] for r in small):.1f}% (median) over the event-driven plan"
        )
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
