"""A second check of an LP certificate of a PSPLIB instance, written apart from orchmilp.

    python bench/recheck_lp.py INSTANCE.sm CERTIFICATE_FOLDER

It imports nothing of orchmilp: it reads the instance from the PSPLIB ``.sm`` file itself (not
from the workflow inside the certificate; agent ``jobN`` is job ``N`` of the file), computes
the windows of every step with its own longest paths, and bounds each interval's heaviest
feasible set of jobs from above: first by the sum of its prices, then, largest terms first and
only until the inequality holds, exactly, by OR-Tools CP-SAT (integer arithmetic, proven
optimal) instead of orchmilp's branch and bound. Needs the ``bench`` extra. (A MILP through
HiGHS was tried first: with prices near 1e9 its tolerances, relative to the scale of a row,
could not confirm steps whose margin is a few thousand units in 1e11.) The argument is the one of models/feasible-subset-lp.md,
"Certificates". Exit 0 when every step and the refutation hold.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ortools.sat.python import cp_model


def read_sm(path: Path) -> tuple[dict[int, int], dict[int, list[int]], dict[int, list[int]], list[int]]:
    """Durations, successors and resource requests by job number, and the capacities."""
    lines = path.read_text().splitlines()
    succ: dict[int, list[int]] = {}
    dur: dict[int, int] = {}
    req: dict[int, list[int]] = {}
    caps: list[int] = []
    section = ""
    for k, line in enumerate(lines):
        if line.startswith("PRECEDENCE RELATIONS"):
            section = "prec"
            continue
        if line.startswith("REQUESTS/DURATIONS"):
            section = "req"
            continue
        if line.startswith("RESOURCEAVAILABILITIES"):
            caps = [int(x) for x in lines[k + 2].split()]
            section = ""
            continue
        if line.startswith("*"):
            section = ""
            continue
        fields = line.split()
        if not fields or not fields[0].isdigit():
            continue
        if section == "prec":
            job, count = int(fields[0]), int(fields[2])
            succ[job] = [int(x) for x in fields[3 : 3 + count]]
        elif section == "req":
            job = int(fields[0])
            dur[job] = int(fields[2])
            req[job] = [int(x) for x in fields[3:]]
    return dur, succ, req, caps


def main() -> int:
    sm, folder = Path(sys.argv[1]), Path(sys.argv[2])
    cert = json.loads((folder / "certificate.json").read_text())
    dur, succ, req, caps = read_sm(sm)
    jobs = sorted(dur)
    bound = int(cert["bound"])
    if cert["step"] != "1" or any(not isinstance(d, int) for d in dur.values()):
        print("this re-check handles whole durations on a step of 1 only")
        return 2
    horizon = bound - 1  # refute every plan of makespan <= horizon
    pred: dict[int, list[int]] = {j: [] for j in jobs}
    for i in jobs:
        for s in succ.get(i, []):
            pred[s].append(i)
    order: list[int] = []  # topological, by depth-first search
    seen: set[int] = set()

    def visit(j: int) -> None:
        if j in seen:
            return
        seen.add(j)
        for i in pred[j]:
            visit(i)
        order.append(j)

    for j in jobs:
        visit(j)
    ancestors: dict[int, set[int]] = {}
    for j in order:
        ancestors[j] = set().union(*([ancestors[i] | {i} for i in pred[j]] or [set()]))

    def ordered(a: int, b: int) -> bool:
        return a in ancestors[b] or b in ancestors[a]

    def windows(low: dict[int, int], high: dict[int, int]):
        es: dict[int, int] = {}
        ls: dict[int, int] = {}
        for j in order:
            es[j] = max([low.get(j, 0)] + [es[i] + dur[i] for i in pred[j]])
        for j in reversed(order):
            ls[j] = min([high.get(j, horizon), horizon - dur[j]] + [ls[s] - dur[j] for s in succ.get(j, [])])
        if any(es[j] > ls[j] for j in jobs):
            return None
        return es, {j: ls[j] + dur[j] for j in jobs}

    def heaviest(members: list[int], price: dict[int, int]) -> int:
        """The weight of the heaviest feasible set of ``members``: CP-SAT, in integers, proven optimal."""
        model = cp_model.CpModel()
        x = {j: model.NewBoolVar(f"x{j}") for j in members}
        for r, cap in enumerate(caps):
            model.Add(sum(req[j][r] * x[j] for j in members) <= cap)
        for a in members:
            for b in members:
                if a < b and ordered(a, b):
                    model.AddBoolOr([x[a].Not(), x[b].Not()])
        model.Maximize(sum(price[j] * x[j] for j in members))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        if solver.Solve(model) != cp_model.OPTIMAL:
            raise SystemExit(f"CP-SAT did not prove the heaviest set of {members}")
        chosen = [j for j in members if solver.Value(x[j])]
        exact = sum(price[j] for j in chosen)
        if exact != round(solver.ObjectiveValue()) or exact != round(solver.BestObjectiveBound()):
            raise SystemExit(f"CP-SAT's optimum of {members} is not the weight of its set")
        return exact

    def refutes(low: dict[int, int], high: dict[int, int], raw: dict[str, int]) -> tuple[bool, int, int]:
        price = {int(a[3:]): int(y) for a, y in raw.items()}
        if any(y < 0 for y in price.values()):
            return False, 0, 0
        w = windows(low, high)
        if w is None:
            return True, 0, 0
        es, lf = w
        priced = [j for j in price if price[j] > 0 and dur[j] > 0]
        load = sum(price[j] * dur[j] for j in priced)
        points = sorted({es[j] for j in priced} | {lf[j] for j in priced})
        # every interval's bound starts as the sum of its prices (no constraint at all); the MILP
        # then tightens the largest terms until the load exceeds the capacity (or none is left)
        terms = []
        for a, b in zip(points, points[1:]):
            members = [j for j in priced if es[j] <= a and lf[j] >= b]
            terms.append([sum(price[j] for j in members) * (b - a), members, b - a, False])
        capacity = sum(t[0] for t in terms)
        memo: dict[tuple[int, ...], int] = {}
        for term in sorted(terms, key=lambda t: -t[0]):
            if load > capacity:
                break
            if term[1]:
                key = tuple(term[1])
                if key not in memo:
                    memo[key] = heaviest(term[1], price)
                capacity -= term[0] - memo[key] * term[2]
        return load > capacity, load, capacity

    low: dict[int, int] = {}
    high: dict[int, int] = {}
    for number, step in enumerate(cert["steps"], 1):
        j = int(step["agent"][3:])
        trial_low, trial_high = dict(low), dict(high)
        if "start_at_least" in step:
            value = int(step["start_at_least"])
            trial_high[j] = min(trial_high.get(j, value - 1), value - 1)
        else:
            value = int(step["start_at_most"])
            trial_low[j] = max(trial_low.get(j, value + 1), value + 1)
        ok, load, capacity = refutes(trial_low, trial_high, step["prices"])
        if not ok:
            print(f"step {number} fails: load {load} against capacity {capacity}")
            return 1
        if "start_at_least" in step:
            low[j] = max(low.get(j, value), value)
        else:
            high[j] = min(high.get(j, value), value)
    ok, load, capacity = refutes(low, high, cert["refutation"]["prices"])
    if not ok:
        print(f"the refutation fails: load {load} against capacity {capacity}")
        return 1
    print(
        f"valid: every plan of {sm.stem} takes at least {bound} ({len(cert['steps'])} steps; "
        f"the refutation's load {load} exceeds its capacity {capacity} by {load - capacity})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
