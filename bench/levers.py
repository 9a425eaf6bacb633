"""What each lever of issue 3 buys, measured one by one on the same instances.

    python bench/levers.py [--instances N] [--time-limit 30] [--jobs 2]

Variants (each gets the full time limit, 1 thread):

* ``textbook``      time-indexed MILP, horizon = sum of durations, windows from the critical path
* ``+ga horizon``   the same, horizon cut just below the genetic algorithm's makespan
* ``+propagation``  windows narrowed by propagation, destructive bound first
* ``+cliques``      clique rows in the MILP (the default model)
* ``cbc``           the default model solved by CBC instead of HiGHS
* ``branch-and-bound`` no MILP: branch and bound over delaying alternatives with cutset memory
                    below the genetic algorithm's makespan, after the destructive bound
* ``orchmilp``      the full solver (bounds, GA, propagation, branch and bound, tree search, MILP, second round)

A variant "proves" an instance when its bound meets its makespan; every
proof is checked against the known optimum.
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
VARIANTS = ["textbook", "+ga horizon", "+propagation", "+cliques", "cbc", "branch-and-bound", "orchmilp"]


def run(path: str, variant: str, time_limit: float) -> dict:
    import numpy as np

    import orchmilp
    from orchmilp.bounds.propagation import Propagator, destructive_bound
    from orchmilp.compile.time_indexed import TimeIndexed
    from orchmilp.errors import HorizonInfeasible
    from orchmilp.heuristics.ga import genetic_algorithm
    from orchmilp.search.phases import improve_or_prove
    from orchmilp.solvers import backend
    from orchmilp.solvers.base import SolverStatus, integral_bound

    problem = orchmilp.load(path)
    p = problem.durations.astype(np.int64)
    t0 = time.perf_counter()
    if variant == "orchmilp":
        r = orchmilp.solve(problem, time_limit=time_limit)
        return {"makespan": r.makespan, "bound": r.lower_bound, "seconds": time.perf_counter() - t0}
    if variant == "textbook":
        horizon = int(p.sum())
        model = TimeIndexed(problem, p, horizon, cliques=False)
        out = backend("highs").start(model.build(), time_limit=time_limit).result()
        makespan = model.decode(out.x)[1] if out.x is not None else horizon
        bound = integral_bound(out.bound) if np.isfinite(out.bound) else 0
        return {"makespan": makespan, "bound": min(bound, makespan), "seconds": time.perf_counter() - t0}
    ga = genetic_algorithm(problem, schedules=5000, seed=0, population=83)
    ub = int(ga.makespan)
    left = time_limit - (time.perf_counter() - t0)
    if variant == "+ga horizon":
        try:
            model = TimeIndexed(problem, p, ub - 1, cliques=False)
        except HorizonInfeasible:  # no room below the GA's makespan: it is optimal
            return {"makespan": ub, "bound": ub, "seconds": time.perf_counter() - t0}
        out = backend("highs").start(model.build(), time_limit=left).result()
        if out.x is not None:
            found = model.decode(out.x)[1]
            return {
                "makespan": found,
                "bound": min(integral_bound(out.bound), found),
                "seconds": time.perf_counter() - t0,
            }
        bound = (
            ub
            if out.status is SolverStatus.INFEASIBLE
            else (integral_bound(out.bound) if np.isfinite(out.bound) else 0)
        )
        return {"makespan": ub, "bound": min(bound, ub), "seconds": time.perf_counter() - t0}
    # propagation variants: destructive bound, then the MILP on propagated windows
    lower, _ = destructive_bound(problem, p, 0, ub - 1)
    if lower >= ub:
        return {"makespan": ub, "bound": ub, "seconds": time.perf_counter() - t0}
    left = time_limit - (time.perf_counter() - t0)
    if variant == "+propagation":
        windows = Propagator(problem, p)(ub - 1)
        try:
            model = TimeIndexed(problem, p, ub - 1, lower, windows=windows, cliques=False)
        except HorizonInfeasible:
            return {"makespan": ub, "bound": ub, "seconds": time.perf_counter() - t0}
        out = backend("highs").start(model.build(), time_limit=left).result()
        if out.x is not None:
            found = model.decode(out.x)[1]
            return {
                "makespan": found,
                "bound": min(max(lower, integral_bound(out.bound)), found),
                "seconds": time.perf_counter() - t0,
            }
        bound = (
            ub
            if out.status is SolverStatus.INFEASIBLE
            else max(lower, integral_bound(out.bound) if np.isfinite(out.bound) else 0)
        )
        return {"makespan": ub, "bound": min(bound, ub), "seconds": time.perf_counter() - t0}
    if variant == "branch-and-bound":
        return _branch_and_bound(problem, p, ub, lower, t0, time_limit)
    found, bound = improve_or_prove(problem, p, ub, lower, left, "cbc" if variant == "cbc" else "highs")
    makespan = ub if found is None else int(np.max(found + p))
    return {"makespan": makespan, "bound": min(bound, makespan), "seconds": time.perf_counter() - t0}


def _branch_and_bound(problem, p, ub, lower, t0, time_limit) -> dict:
    """Probes just below the best makespan, node limits growing fourfold, until proof or time out."""
    import numpy as np

    from orchmilp.bounds.propagation import Propagator
    from orchmilp.exact.branch_and_bound import BranchAndBound
    from orchmilp.exact.probe import FEASIBLE, INFEASIBLE

    search, prop, limit = BranchAndBound(problem, p), Propagator(problem, p), 1000
    while lower < ub and time.perf_counter() - t0 < time_limit:
        windows = prop(ub - 1)
        if not windows.feasible:
            lower = ub
            break
        out = search.probe(ub - 1, windows.lf, node_limit=limit)
        if out.status == FEASIBLE:
            ub = int(np.max(out.start + p))
        elif out.status == INFEASIBLE:
            lower = ub
        else:
            limit = min(4 * limit, 2_000_000)
    return {"makespan": ub, "bound": lower, "seconds": time.perf_counter() - t0}


def task(args):
    path, variant, limit = args
    return {"instance": Path(path).stem, "variant": variant, **run(path, variant, limit)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="j30")
    parser.add_argument("--instances", type=int, default=24, help="every k-th instance of the set, this many")
    parser.add_argument(
        "--groups",
        type=int,
        nargs="*",
        default=[],
        help="take all instances of these parameter groups instead (e.g. 5 9 13 25 29 45: the hard j30 ones)",
    )
    parser.add_argument("--time-limit", type=float, default=30.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=VARIANTS)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "levers.csv"))
    args = parser.parse_args(argv)
    files = sorted((PSPLIB / args.set).glob("*.sm"))
    if args.groups:
        files = [f for f in files if int(f.stem[len(args.set) :].split("_")[0]) in args.groups]
    else:
        step = max(1, len(files) // args.instances)
        files = files[::step][: args.instances]
    best = {r["instance"]: r for r in csv.DictReader(open(PSPLIB / "best_known.csv"))}
    tasks = [(str(f), v, args.time_limit) for v in args.variants for f in files]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(task, tasks))
    which = f"groups {' '.join(map(str, args.groups))}" if args.groups else "every k-th"
    table = Table(title=f"{args.set} ({which}): {len(files)} instances, {args.time_limit:g} s each, 1 thread")
    for col in ("variant", "proven optimal", "median s", "mean gap %", "wrong"):
        table.add_column(col, justify="right")
    for v in args.variants:
        rs = [r for r in rows if r["variant"] == v]
        proven = [r for r in rs if r["bound"] >= r["makespan"]]
        wrong = sum(
            1
            for r in rs
            if best[r["instance"]]["optimal"] == "true"
            and (r["bound"] > float(best[r["instance"]]["ub"]) or r["makespan"] < float(best[r["instance"]]["ub"]))
        )
        gaps = [100 * (r["makespan"] - r["bound"]) / r["makespan"] for r in rs]
        table.add_row(
            v,
            f"{len(proven)}/{len(rs)}",
            f"{statistics.median(r['seconds'] for r in rs):.2f}",
            f"{statistics.mean(gaps):.2f}",
            str(wrong),
        )
    Console(width=120).print(table)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    write_csv_atomic(args.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
