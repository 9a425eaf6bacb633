"""What `orchmilp run --adaptive` buys, simulated on real traces.

    python bench/adaptive.py [--cores 8 16] [--time-limit 2]

For each SRA-search run: plan with the medians learned from the other nine
runs, then "run" it with the run's actual durations, once with the static
plan (each agent starts when its waits_for end) and once with re-planning
at every drift (the function `orchmilp run --adaptive` uses). Prints mean
and worst makespans; writes bench/results/adaptive.txt.
"""

from __future__ import annotations

import argparse
import heapq
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import orchmilp  # noqa: E402
from orchmilp.api import with_history_durations  # noqa: E402
from orchmilp.history import history_files, read_history  # noqa: E402
from orchmilp.io.wfcommons import read_trace, trace_to_workflow  # noqa: E402
from orchmilp.prediction.simulate import makespans  # noqa: E402
from orchmilp.run.adaptive import drifted, replan  # noqa: E402


def simulate(written, problem, waits_for, planned, actual, adaptive: bool, time_limit: float):
    """Event simulation of the executor: starts when waits_for have ended and the guard allows."""
    n = problem.n
    ids = problem.ids
    waits = [set(w) for w in waits_for]
    usage, cap = problem.usage, problem.capacities
    clash = problem.conflict_partners
    state = ["pending"] * n
    start = np.zeros(n)
    in_use = np.zeros(len(cap))
    events: list[tuple[float, int]] = []
    t, replans = 0.0, 0
    order = sorted(range(n), key=lambda j: planned[j])
    while True:
        for j in order:
            if state[j] != "pending" or any(state[i] != "done" for i in waits[j]):
                continue
            if np.any(in_use + usage[j] > cap + 1e-9) or any(state[i] == "running" for i in clash[j]):
                continue
            state[j], start[j] = "running", t
            in_use += usage[j]
            heapq.heappush(events, (t + actual[j], j))
        if not events:
            break
        t, j = heapq.heappop(events)
        state[j] = "done"
        in_use -= usage[j]
        if adaptive and drifted(problem.durations[j], actual[j]):
            done = {ids[i] for i in range(n) if state[i] == "done"}
            remaining = {
                ids[i]: max(problem.durations[i] - (t - start[i]), 0.25 * problem.durations[i])
                for i in range(n)
                if state[i] == "running"
            }
            d = np.asarray(
                [0.0 if state[i] == "done" else remaining.get(ids[i], problem.durations[i]) for i in range(n)]
            )
            left = float(makespans([tuple(w) for w in waits], d[None, :])[0])
            current = {ids[i]: [ids[w] for w in waits[i]] for i in range(n)}
            new = replan(written, done, remaining, left, time_limit, current_waits=current)
            if new is not None:
                replans += 1
                for aid, ws in new.items():
                    waits[problem.index[aid]] = {problem.index[w] for w in ws}
    return t, replans


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cores", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--time-limit", type=float, default=2.0)
    args = parser.parse_args()
    files = history_files([ROOT / "instances" / "wfcommons" / "srasearch"])
    history = read_history(files)
    out = ["run                          cores  static  adaptive  replans"]
    summary = []
    for cores in args.cores:
        static_all, adaptive_all = [], []
        for path in files:
            trace = read_trace(path)
            train = history.without_run(trace.name)
            written = with_history_durations(trace_to_workflow(trace, cores=cores), train)
            result = orchmilp.solve(written, time_limit=5)
            problem = result.problem
            actual = np.asarray([next(t.runtime for t in trace.tasks if t.id == a) for a in problem.ids])
            static, _ = simulate(written, problem, result.waits_for, result.start, actual, False, args.time_limit)
            adaptive, replans = simulate(
                written, problem, result.waits_for, result.start, actual, True, args.time_limit
            )
            static_all.append(static)
            adaptive_all.append(adaptive)
            out.append(f"{trace.name:28s} {cores:5d} {static:7.0f} {adaptive:9.0f} {replans:8d}")
        summary.append(
            f"{cores} cores: static mean {np.mean(static_all):.0f} s, worst {np.max(static_all):.0f} s; "
            f"adaptive mean {np.mean(adaptive_all):.0f} s, worst {np.max(adaptive_all):.0f} s "
            f"({100 * (np.mean(adaptive_all) / np.mean(static_all) - 1):+.1f}% mean)"
        )
    text = "\n".join(out + [""] + summary) + "\n"
    print(text)
    (ROOT / "bench" / "results" / "adaptive.txt").write_text(text)


if __name__ == "__main__":
    main()
