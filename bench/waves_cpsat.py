"""Wave plans beyond the exact search's reach: orchmilp against a CP-SAT wave model, one thread
each, same time limit, on the random workflows of 40 and 60 agents of bench/waves.py.

    python bench/waves_cpsat.py [--time-limit 20] [--sizes 40,60] [--seeds 5] [--positions K] [--out FILE]

The CP-SAT model shares no code with orchmilp's engine: it reads the workflow as written, a
Boolean per agent and wave position (as many positions as agents, the used ones first;
``--positions K``: only K, which leaves out plans of more waves but helps CP-SAT), each
wave's length at least its agents' durations, a dependency from an earlier position to a later
one, each wave within every capacity, two agents that conflict on a file (pairs from the
independent checker) never in one wave; minimise the sum of the lengths. Each of orchmilp's
plans is checked by the independent checker.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ortools.sat.python import cp_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from workflows import random_workflow  # noqa: E402

import orchmilp  # noqa: E402
from orchmilp.check import _Conflicts, check_plan  # noqa: E402  (the independent checker)


def cpsat_waves(workflow: dict, time_limit: float, positions: int | None = None) -> tuple[str, float, float]:
    """(status, best sum of wave lengths, its bound) of the CP-SAT wave model with
    ``positions`` wave positions (default: one per agent, so no plan is left out)."""
    agents = workflow["agents"]
    ids = [a["id"] for a in agents]
    pos = {a: i for i, a in enumerate(ids)}
    d = [int(round(a["duration"])) for a in agents]
    n = len(agents)
    K = positions or n
    m = cp_model.CpModel()
    x = [[m.NewBoolVar(f"x{j}_{k}") for k in range(K)] for j in range(n)]
    wave = [m.NewIntVar(0, K - 1, f"w{j}") for j in range(n)]
    length = [m.NewIntVar(0, max(d), f"L{k}") for k in range(K)]
    used = [m.NewBoolVar(f"u{k}") for k in range(K)]
    for j in range(n):
        m.AddExactlyOne(x[j])
        m.Add(wave[j] == sum(k * x[j][k] for k in range(K)))
        for k in range(K):
            m.Add(length[k] >= d[j]).OnlyEnforceIf(x[j][k])
            m.AddImplication(x[j][k], used[k])
    for k in range(1, K):  # the used positions first
        m.AddImplication(used[k], used[k - 1])
    for a in agents:
        for dep in a.get("depends_on", []):
            m.Add(wave[pos[dep]] + 1 <= wave[pos[a["id"]]])
    for r, capacity in (workflow.get("resources") or {}).items():
        users = [(pos[a["id"]], a["uses"][r]) for a in agents if a.get("uses", {}).get(r, 0) > 0]
        for k in range(K):
            m.Add(sum(u * x[j][k] for j, u in users) <= capacity)
    for p, q in _Conflicts({a["id"]: a for a in agents}).pairs():
        for k in range(K):
            m.AddBoolOr([x[pos[p]][k].Not(), x[pos[q]][k].Not()])
    m.Minimize(sum(length))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = 1
    status = solver.Solve(m)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return solver.StatusName(status).lower(), float("nan"), solver.BestObjectiveBound()
    return solver.StatusName(status).lower(), solver.ObjectiveValue(), solver.BestObjectiveBound()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--sizes", default="40,60")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--positions", type=int, help="wave positions of the CP-SAT model (default: one per agent, complete)"
    )
    parser.add_argument("--out")
    args = parser.parse_args()
    lines = [
        f"{'workflow':14s} {'orchmilp':>9s} {'bound':>7s} {'checked':>8s} {'cp-sat':>8s} {'cp bound':>9s} {'cp status':>10s}"
    ]
    ours_total = theirs_total = shorter = longer = 0.0
    for n in map(int, args.sizes.split(",")):
        for seed in range(args.seeds):
            workflow = random_workflow(n, seed=seed)
            t = time.perf_counter()
            result = orchmilp.solve(workflow, time_limit=args.time_limit, threads=1, dispatch="waves")
            assert time.perf_counter() - t < args.time_limit + 5
            checked = "yes" if not check_plan(workflow, result.to_dict(), samples=0) else "NO"
            status, value, bound = cpsat_waves(workflow, args.time_limit, args.positions)
            lines.append(
                f"{f'random-{n}-{seed}':14s} {result.makespan:9.0f} {result.lower_bound:7.0f} {checked:>8s} "
                f"{value:8.0f} {bound:9.0f} {status:>10s}"
            )
            print(lines[-1], flush=True)
            ours_total += result.makespan
            theirs_total += value
            shorter += result.makespan < value - 1e-9
            longer += result.makespan > value + 1e-9
    lines.append(
        f"limit {args.time_limit:g} s, one thread each: orchmilp's wave plans {ours_total:.0f} in all, CP-SAT's "
        f"{theirs_total:.0f}; orchmilp shorter on {shorter:.0f}, longer on {longer:.0f}"
    )
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
