"""An independent wave model, to check orchmilp's wave plans on small workflows.

    python bench/waves_reference.py [--time-limit 60] [--max-agents 16]

The model shares no code with orchmilp's engine: an assignment MILP (PuLP and CBC) with a
binary x[j, k] per agent and wave position, each wave's length L[k] >= d_j x[j, k], the
dependency i -> j as sum_k k x[i, k] + 1 <= sum_k k x[j, k], each wave within every capacity,
two agents that conflict on a file (pairs from the independent checker) never in one wave;
minimise sum_k L[k]. Its optimum is compared with orchmilp's proven wave makespan on the
examples and random workflows. Writes bench/results/waves_reference.txt.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pulp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from workflows import random_workflow  # noqa: E402

import orchmilp  # noqa: E402
from orchmilp.check import _Conflicts  # noqa: E402  (the independent checker's file conflicts)


def reference(workflow: dict, time_limit: float) -> tuple[str, float, float]:
    agents = workflow["agents"]
    ids = [a["id"] for a in agents]
    d = {a["id"]: float(a["duration"]) for a in agents}
    waves = range(len(agents))
    m = pulp.LpProblem("waves", pulp.LpMinimize)
    x = {(j, k): pulp.LpVariable(f"x_{n}_{k}", cat="Binary") for n, j in enumerate(ids) for k in waves}
    length = {k: pulp.LpVariable(f"L_{k}", lowBound=0) for k in waves}
    m += pulp.lpSum(length.values())
    for j in ids:
        m += pulp.lpSum(x[j, k] for k in waves) == 1
        for k in waves:
            m += length[k] >= d[j] * x[j, k]
    position = {j: pulp.lpSum(k * x[j, k] for k in waves) for j in ids}
    for a in agents:
        for i in a.get("depends_on", []):
            m += position[i] + 1 <= position[a["id"]]
    for r, capacity in (workflow.get("resources") or {}).items():
        users = [a for a in agents if a.get("uses", {}).get(r, 0) > 0]
        for k in waves:
            m += pulp.lpSum(a["uses"][r] * x[a["id"], k] for a in users) <= capacity
    for a, b in _Conflicts({a["id"]: a for a in agents}).pairs():
        for k in waves:
            m += x[a, k] + x[b, k] <= 1
    for k in waves:  # no symmetric copies: wave k is used only if wave k - 1 is (an empty wave has length 0)
        if k:
            m += pulp.lpSum(x[j, k] for j in ids) <= len(ids) * pulp.lpSum(x[j, k - 1] for j in ids)
    t = time.perf_counter()
    m.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    seconds = time.perf_counter() - t
    # PuLP reports "Optimal" for CBC's best solution at its time limit too: only a solve that
    # ended before the limit with an optimal solution status counts as proven
    proven = m.sol_status == pulp.LpSolutionOptimal and seconds < time_limit - 0.5
    status = "optimal" if proven else ("limit" if m.sol_status in (1, 2) else pulp.LpStatus[m.status])
    return status, float(pulp.value(m.objective)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--max-agents", type=int, default=16)
    args = parser.parse_args()
    cases = [(p.stem, json.loads(p.read_text())) for p in sorted((ROOT / "instances" / "examples").glob("*.json"))]
    cases += [(f"random-{n}-{s}", random_workflow(n, seed=s)) for n in (8, 10, 12) for s in range(5)]
    out = [
        f"{'workflow':24s} {'agents':>6s} {'orchmilp':>9s} {'status':>9s} {'s':>6s} {'reference':>10s} {'status':>9s} {'s':>6s} agree"
    ]
    agree = compared = 0
    for name, workflow in cases:
        if isinstance(workflow, (str, Path)):
            workflow = json.loads(Path(workflow).read_text())
        if len(workflow["agents"]) > args.max_agents:
            continue
        t = time.perf_counter()
        ours = orchmilp.solve(workflow, time_limit=args.time_limit, dispatch="waves")
        ours_s = time.perf_counter() - t
        status, value, ref_s = reference(workflow, args.time_limit)
        both = ours.status.value == "optimal" and status == "optimal"
        same = abs(ours.makespan - value) <= 1e-6 * max(1.0, value) if both else ours.makespan <= value + 1e-6
        compared += both
        agree += both and same
        out.append(
            f"{name:24s} {ours.problem.n:6d} {ours.makespan:9.2f} {ours.status.value:>9s} {ours_s:6.2f} "
            f"{value:10.2f} {status:>9s} {ref_s:6.2f} {('yes' if same else 'NO') if both else ('ours <= ref' if same else 'NO')}"
        )
        print(out[-1], flush=True)
    out.append(
        f"both proven optimal: {compared}; equal optima: {agree} (elsewhere: ours never longer than the reference's best)"
    )
    print(out[-1])
    (ROOT / "bench" / "results" / "waves_reference.txt").write_text(
        f"# python bench/waves_reference.py --time-limit {args.time_limit:g} --max-agents {args.max_agents}\n"
        + "\n".join(out)
        + "\n"
    )


if __name__ == "__main__":
    main()
