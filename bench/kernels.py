"""The numba kernels on fixed work: seconds for the same nodes, schedules and calls.

Measures that a change to the kernels' arguments (issue 22: bundles instead of 16-21
positional arrays) costs nothing. Each row does a fixed amount of work (node limits,
schedule counts, repeated calls, no clock), best of ``--repeat`` runs, after a warm-up.

    python bench/kernels.py [--repeat 5] [--out bench/results/kernels.txt]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import orchmilp  # noqa: E402
from orchmilp.bounds.propagation import Propagator  # noqa: E402
from orchmilp.exact.branch_and_bound import BranchAndBound  # noqa: E402
from orchmilp.exact.set_times import probe  # noqa: E402
from orchmilp.heuristics.ga import genetic_algorithm  # noqa: E402
from orchmilp.heuristics.portfolio import rule_portfolio  # noqa: E402

J30 = ["j3010_1", "j301_1", "j305_3", "j3013_2", "j3029_3", "j309_2"]


def _best(work, repeat: int) -> float:
    work()  # warm-up (and compilation, if any)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        work()
        times.append(time.perf_counter() - t)
    return min(times)


def rows(repeat: int):
    problems = [orchmilp.load(ROOT / "instances" / "psplib" / "j30" / f"{name}.sm") for name in J30]
    steps = [np.round(p.durations).astype(np.int64) for p in problems]
    uppers = [int(rule_portfolio(p, samples=8).makespan) for p in problems]

    def propagation():
        for p, s, ub in zip(problems, steps, uppers):
            prop = Propagator(p, s)
            for h in range(ub - 15, ub):
                prop(h)

    def branch_and_bound():
        for p, s, ub in zip(problems, steps, uppers):
            windows = Propagator(p, s)(ub - 1)
            if windows.feasible:
                BranchAndBound(p, s).probe(ub - 1, windows.lf, node_limit=20_000)

    def tree_search():
        for p, s, ub in zip(problems, steps, uppers):
            probe(Propagator(p, s), ub - 1, node_limit=2_000)

    from workflows import random_workflow

    large = orchmilp.load(random_workflow(1000, seed=1))

    def ga_large():
        genetic_algorithm(large, large.durations, schedules=300, seed=0)

    def ga_j30():
        for p in problems:
            genetic_algorithm(p, p.durations, schedules=5_000, seed=0)

    yield "propagation: 6 j30, 15 horizons each", _best(propagation, repeat)
    yield "branch and bound: 6 j30, 20,000 nodes", _best(branch_and_bound, repeat)
    yield "set-times tree search: 6 j30, 2,000 nodes", _best(tree_search, repeat)
    yield "genetic algorithm: 6 j30, 5,000 schedules", _best(ga_j30, repeat)
    yield "genetic algorithm: 1,000 agents, 300 schedules", _best(ga_large, repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--out", help="also write the table here")
    args = parser.parse_args()
    lines = [f"{'kernel (fixed work)':52s} {'best s':>8s}"]
    for label, seconds in rows(args.repeat):
        lines.append(f"{label:52s} {seconds:8.3f}")
        print(lines[-1], flush=True)
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
