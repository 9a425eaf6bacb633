"""A second check of an LP certificate of a PSPLIB instance, written apart from orchmilp.

    python bench/recheck_lp.py INSTANCE.sm CERTIFICATE_FOLDER

It imports nothing of orchmilp: it reads the instance from the PSPLIB ``.sm`` file itself (not
from the workflow inside the certificate; agent ``jobN`` is job ``N`` of the file), computes
the windows of every step with its own longest paths, and bounds each interval's heaviest
feasible set of jobs from above: first by the sum of its prices, then, largest terms first and
only until the inequality holds, exactly by MILPs (HiGHS through scipy) instead of orchmilp's
branch and bound: each set the MILP finds is weighed in integers, and the bound is the last
one's weight plus a margin of a millionth of the interval's prices, once a MILP that asks for
a set that much heavier is infeasible. The argument is the one of models/feasible-subset-lp.md,
"Certificates". Exit 0 when every step and the refutation hold.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp


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
        """The weight of the heaviest feasible set of ``members``."""
        m = len(members)
        rows, lo, hi = [], [], []
        for r, cap in enumerate(caps):
            rows.append([req[j][r] for j in members])
            lo.append(0)
            hi.append(cap)
        for a in range(m):
            for b in range(a + 1, m):
                if ordered(members[a], members[b]):
                    row = [0] * m
                    row[a] = row[b] = 1
                    rows.append(row)
                    lo.append(0)
                    hi.append(1)
        weights = np.array([price[j] for j in members], dtype=float)
        best = 0  # the heaviest feasible set found, its weight exactly
        # HiGHS keeps rows within a tolerance relative to their scale: a row "weighs at least
        # best + 1" over prices near 1e9 admits sets a few hundred lighter. Ask for ``margin``
        # more instead, and take best + margin - 1 as the bound when no such set exists.
        margin = max(1, int(1e-6 * weights.sum()))
        while True:
            a_rows, a_lo, a_hi = rows + [list(weights)], lo + [best + margin], hi + [np.inf]
            res = milp(
                -weights,
                constraints=LinearConstraint(np.array(a_rows, dtype=float), a_lo, a_hi),
                integrality=np.ones(m),
                bounds=Bounds(0, 1),
                options={"mip_rel_gap": 0.0},
            )
            if res.status == 2:  # no feasible set weighs best + margin or more (whole prices)
                return best + margin - 1
            if res.status != 0:
                raise SystemExit(f"the MILP of {members} did not finish: {res.message}")
            chosen = [j for j, x in zip(members, res.x) if x > 0.5]
            exact = sum(price[j] for j in chosen)
            fits = all(sum(req[j][r] for j in chosen) <= cap for r, cap in enumerate(caps)) and not any(
                ordered(a, b) for a in chosen for b in chosen if a < b
            )
            if not fits:
                raise SystemExit(f"the MILP of {members} answered a set that does not fit")
            if exact <= best:  # within HiGHS's tolerance only: ask for more
                margin *= 2
                continue
            best = exact

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
