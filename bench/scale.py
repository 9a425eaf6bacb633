"""Does the time limit hold at every size? First plan, final gap, wall clock and peak memory.

Each run is a fresh process (``orchmilp solve FILE --time-limit L --json``), so
the wall clock includes starting Python, importing orchmilp, reading the
workflow, the search, building and checking the plan. Workflows of 10 to
5,000 agents are generated like bench/workflows.py (seed 1); the file
instances/scale/time-limit-100.json reproduces a workflow that once never ended, and
time-limit-300.json is three copies of it (a node of its tree search takes 0.1 s).

    python bench/scale.py [--sizes 10 100 1000 2000 5000] [--time-limit 20] [--out bench/results/scale.csv]
    python bench/scale.py --crowded --sizes 1000 5000 10000 20000 --time-limit 10 30 --out bench/results/scale-crowded.csv
    python bench/scale.py --traces 3 --time-limit 10 30 --out bench/results/scale-traces.csv
    python bench/scale.py --crowded --waves --sizes 1000 5000 10000 20000 --time-limit 10 --out bench/results/scale-waves.csv
    python bench/scale.py --llm modes --sizes 2000 20000 --time-limit 10 30 60 --out bench/results/scale-llm.csv

``--waves``: ``orchmilp solve --waves --json`` instead (the wave plan, with its event-driven
comparison), timed the same way.

``--llm modes``: LLM workflows with model choice (bench/workflows.py ``llm_mode_workflow``:
three models, each with its own tokens-per-minute bucket, a usd budget, shared files);
``--llm one-mode``: the same with every agent in its first mode.

``--crowded``: the red team's large case (8 slots, 40 shared files, bench/workflows.py
``crowded_workflow``), and beside each solve ``orchmilp analyze`` and ``orchmilp solve`` with
``-o --report --html --gantt`` (same limit), timed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from workflows import crowded_workflow, llm_mode_workflow, random_workflow  # noqa: E402

from orchmilp.io.files import write_csv_atomic  # noqa: E402
from orchmilp.io.modes import mode_table  # noqa: E402

#: Prints the seconds from process start to the first plan, then the plan, as JSON lines.
CHILD = """
import json, sys, time
t0 = time.perf_counter()
import orchmilp
first = []
def progress(phase, seconds, makespan, bound):
    if not first and makespan < float("inf"):
        first.append(time.perf_counter() - t0)
result = orchmilp.solve(sys.argv[1], time_limit=float(sys.argv[2]) - (time.perf_counter() - t0), on_progress=progress)
print(json.dumps({"first_plan_s": first[0] if first else None, "status": result.status.value,
                  "makespan": result.makespan, "lower_bound": result.lower_bound, "gap": result.gap}))
"""


def run(path: Path, limit: float) -> dict:
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(limit)], stdout=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    out = json.loads(proc.stdout.read().strip().splitlines()[-1]) if status == 0 else {}
    return {
        "instance": path.stem,
        "time_limit": limit,
        "wall_s": round(wall, 2),
        "over_s": round(wall - limit, 2),
        "peak_mib": round(usage.ru_maxrss / 1024),
        **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()},
    }


def waves(path: Path, limit: float) -> dict:
    """``orchmilp solve --waves`` in a fresh process: wall clock, peak memory, the wave plan."""
    plan = path.with_suffix(".waves.json")
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchmilp.cli", "solve", str(path), "--waves", "--time-limit", str(limit), "-q"]
        + ["-o", str(plan)],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    out = json.loads(plan.read_text()) if status == 0 else {}
    bound = out.get("lower_bound", 0.0)
    return {
        "instance": path.stem,
        "time_limit": limit,
        "wall_s": round(wall, 2),
        "over_s": round(wall - limit, 2),
        "peak_mib": round(usage.ru_maxrss / 1024),
        "status": out.get("status"),
        "makespan": out.get("makespan"),
        "lower_bound": bound,
        "gap": round(1 - bound / out["makespan"], 4) if out.get("makespan") else None,
        "waves": len(out.get("waves", ())),
        "events": out.get("dispatch_cost", {}).get("events"),
    }


def analyze(path: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchmilp.cli", "analyze", str(path), "--json"], stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    return {"analyze_s": round(time.perf_counter() - t, 2), "analyze_mib": round(usage.ru_maxrss / 1024)}


def largest_traces(count: int) -> list[Path]:
    """The ``count`` largest traces (by tasks) under instances/wfcommons."""
    if not count:
        return []
    traces = [p for p in (ROOT / "instances" / "wfcommons").rglob("*.json")]
    tasks = {p: len(json.loads(p.read_text())["workflow"].get("tasks", [])) for p in traces}
    return sorted(traces, key=lambda p: -tasks[p])[:count]


def with_reports(path: Path, limit: float) -> dict:
    """``orchmilp solve`` with the plan, Markdown and HTML reports and the Gantt chart."""
    out = path.parent / path.stem
    t = time.perf_counter()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchmilp.cli",
            "solve",
            str(path),
            "--time-limit",
            str(limit),
            "-q",
            "-o",
            f"{out}.plan.json",
            "--report",
            f"{out}.md",
            "--html",
            f"{out}.html",
            "--gantt",
            f"{out}.png",
        ],
        stdout=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    return {
        "reports_s": round(wall, 2),
        "reports_over_s": round(wall - limit, 2),
        "reports_mib": round(usage.ru_maxrss / 1024),
        "reports_exit": status >> 8,
    }


def llm_workflow(n: int, seed: int, one_mode: bool) -> dict:
    """``llm_mode_workflow``, with model choice or in every agent's first mode."""
    workflow = llm_mode_workflow(n, seed)
    if one_mode:
        table = mode_table(workflow)
        workflow = table.apply(workflow, table.first_runnable({}))
    return workflow


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 2000, 5000])
    parser.add_argument("--time-limit", type=float, nargs="+", default=[20.0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scale.csv"))
    parser.add_argument("--crowded", action="store_true", help="8 slots, 40 shared files; analyze timed too")
    parser.add_argument("--waves", action="store_true", help="time `orchmilp solve --waves` instead")
    parser.add_argument("--llm", choices=["modes", "one-mode"], help="LLM workflows with rate limits instead")
    parser.add_argument(
        "--traces", type=int, default=0, help="the N largest WfCommons traces at 16 cores instead, with the reports too"
    )
    args = parser.parse_args(argv)
    kind = f"llm-{args.llm}" if args.llm else "crowded" if args.crowded else "random"

    def make(n: int, seed: int) -> dict:
        if args.llm:
            return llm_workflow(n, seed, args.llm == "one-mode")
        return (crowded_workflow if args.crowded else random_workflow)(n, seed=seed)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for trace in largest_traces(args.traces):
            path = Path(tmp) / f"{trace.stem}-16cores.json"
            subprocess.run(
                [sys.executable, "-m", "orchmilp.cli", "convert", str(trace), "--cores", "16", "-o", str(path)],
                check=True,
            )
            files.append(path)
        for n in args.sizes if not args.traces else []:
            path = Path(tmp) / f"{kind}-{n}.json"
            path.write_text(json.dumps(make(n, seed=1)))
            files.append(path)
        if not args.crowded and not args.traces and not args.llm:
            files.append(ROOT / "instances" / "scale" / "time-limit-100.json")
            files.append(ROOT / "instances" / "scale" / "time-limit-300.json")  # three copies of it
        for limit in args.time_limit:
            for path in files:
                if args.waves:
                    rows.append(waves(path, limit))
                    print(rows[-1], file=sys.stderr, flush=True)
                    continue
                rows.append(run(path, limit))
                if args.crowded:
                    rows[-1].update(analyze(path))
                if args.crowded or args.traces:
                    rows[-1].update(with_reports(path, limit))
                print(rows[-1], file=sys.stderr, flush=True)
    table = Table(title="time limit held? (fresh process each, 2 cores)")
    cols = ("instance", "time_limit", "wall_s", "over_s", "first_plan_s", "status", "gap", "peak_mib")
    if args.waves:
        cols = (
            "instance",
            "time_limit",
            "wall_s",
            "over_s",
            "status",
            "makespan",
            "gap",
            "waves",
            "events",
            "peak_mib",
        )
    else:
        cols += ("analyze_s", "analyze_mib") if args.crowded else ()
        cols += ("reports_s", "reports_mib") if args.crowded or args.traces else ()
    for col in cols:
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(*[str(r.get(c, "")) for c in cols])
    Console(width=120).print(table)
    write_csv_atomic(args.out, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
