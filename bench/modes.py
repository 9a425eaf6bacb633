"""Model choice (modes, budgets, per-model rate limits): orchmilp against OR-Tools CP-SAT given
the same model (one optional interval per mode, budgets as sums), one thread each, same time
limit, on generated LLM workflows of 10 to 60 agents with 2 or 3 models and one or two budgets.

    python bench/modes.py [--time-limit 20] [--sizes 10,20,30,40,50,60] [--seeds 3] [--out bench/results/modes.txt]

A row: each side's plan, bound and status, and whether orchmilp's plan passes the independent
checker. The summary counts proven optima and the mean gap of each side.
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

from workflows import llm_mode_workflow, psplib_style_multimode  # noqa: E402

import orchmilp  # noqa: E402
from orchmilp.check import check_plan  # noqa: E402
from orchmilp.cpsat_peer import solve_cpsat_modes  # noqa: E402
from orchmilp.io.modes import mode_table  # noqa: E402


def _gap(value, bound) -> float:
    return 100.0 * (value - bound) / value if value else 0.0


def run(workflow: dict, limit: float) -> dict:
    t = time.perf_counter()
    ours = orchmilp.solve(workflow, time_limit=limit, threads=1)
    seconds = time.perf_counter() - t
    peer = solve_cpsat_modes(mode_table(workflow), orchmilp.load(workflow), time_limit=limit, workers=1)
    peer_gap = _gap(peer.makespan, peer.lower_bound) if peer.makespan is not None else float("nan")
    return {
        "workflow": workflow["name"],
        "agents": len(workflow["agents"]),
        "modes": len(workflow["agents"][0]["modes"]),
        "budgets": len(workflow["budgets"]),
        "ours": ours.makespan,
        "bound": ours.lower_bound,
        "status": ours.status.value,
        "gap %": 100 * ours.gap,
        "s": seconds,
        "cpsat": peer.makespan if peer.makespan is not None else float("nan"),
        "cp bound": peer.lower_bound,
        "cp status": peer.status.value,
        "cp gap %": peer_gap,
        "cp s": peer.seconds,
        "checked": "yes" if not check_plan(workflow, ours.to_dict(), samples=0) else "NO",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--sizes", default="10,20,30,40,50,60")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--psplib-style", action="store_true", help="multi-mode instances in the style of PSPLIB j10-j30 instead"
    )
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = []
    for n in map(int, args.sizes.split(",")):
        for seed in range(args.seeds):
            if args.psplib_style:
                workflow = psplib_style_multimode(n, seed, rs_budget=(0.25, 0.5)[seed % 2])
            else:
                models, budgets = (3, 1 + seed % 2) if seed % 3 != 2 else (2, 1)
                workflow = llm_mode_workflow(n, seed, models=models, budgets=budgets)
            row = run(workflow, args.time_limit)
            rows.append(row)
            print("  ".join(f"{v:.1f}" if isinstance(v, float) else str(v) for v in row.values()), flush=True)
    cols = list(rows[0])
    lines = ["  ".join(f"{c:>10s}" for c in cols)]
    for r in rows:
        lines.append("  ".join(f"{v:10.1f}" if isinstance(v, float) else f"{v!s:>10s}" for v in r.values()))
    found = [r for r in rows if r["cpsat"] == r["cpsat"]]
    lines.append(
        f"{len(rows)} workflows, limit {args.time_limit:g} s, one thread each: orchmilp proved "
        f"{sum(r['status'] == 'optimal' for r in rows)}, mean gap {statistics.mean(r['gap %'] for r in rows):.1f}%; "
        f"CP-SAT proved {sum(r['cp status'] == 'optimal' for r in rows)}, mean gap "
        f"{statistics.mean(r['cp gap %'] for r in found) if found else float('nan'):.1f}% over the {len(found)} it planned; "
        f"orchmilp's plan shorter on {sum(r['ours'] < r['cpsat'] - 1e-9 for r in found)}, "
        f"longer on {sum(r['ours'] > r['cpsat'] + 1e-9 for r in found)}; plans failing the checker: "
        f"{sum(r['checked'] != 'yes' for r in rows)}"
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
