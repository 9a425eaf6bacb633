"""The coordinator session driven by a simulated coding agent, against the static plan.

    python bench/session.py [--seeds 3] [--spread 0.3]

For each bundled example and each SRA-search and 1000genome trace (on 8 cores): a session is
started (events and waves), the simulated coding agent launches what it says and reports each
agent's end at its actual duration (the planned one times a log-normal factor), and the run's
history lines are checked with ``check_run``. The session's makespan is compared with replaying
the first plan's waits_for with the same actual durations. Writes bench/results/session.txt.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from orchmilp.check import check_run  # noqa: E402
from orchmilp.engine import load  # noqa: E402
from orchmilp.io.wfcommons import read_trace, trace_to_workflow  # noqa: E402
from orchmilp.prediction import waits_for_of_plan  # noqa: E402
from orchmilp.prediction.simulate import makespans  # noqa: E402
from orchmilp.services.session import SessionStart, session_done, session_start  # noqa: E402


def drive(view, state, durations):
    ending: dict[str, float] = {}
    now, calls = 0.0, 0
    while True:
        for entry in view["launch"]:
            ending[entry["id"]] = now + durations[entry["id"]]
        if view["remaining"] == 0:
            return now, calls
        now = min(ending.values())
        ended = sorted(a for a, t in ending.items() if t == now)
        for a in ended:
            del ending[a]
        view = session_done(state, view["session"], ended, at=now)
        calls += 1


def one(workflow: dict, waves: bool, seed: int, spread: float, tmp: Path) -> dict:
    folder = Path(tempfile.mkdtemp(dir=tmp))
    path = folder / "wf.json"
    path.write_text(json.dumps(workflow))
    rng = np.random.default_rng(seed)
    actual = {a["id"]: float(a["duration"]) * float(rng.lognormal(0.0, spread)) for a in workflow["agents"]}
    state = folder / "state"
    t0 = time.perf_counter()
    view = session_start(SessionStart(path, state=state, waves=waves, time_limit=10, at=0))
    first = json.loads((state / view["session"] / "session.json").read_text())["waits_for"]
    end, calls = drive(view, state, actual)
    seconds = time.perf_counter() - t0
    saved = json.loads((state / view["session"] / "session.json").read_text())
    lines = [json.loads(x) for x in (state / "history.jsonl").read_text().splitlines()]
    problem = load(workflow)
    d = np.array([actual[a] for a in problem.ids])
    plan = {"schedule": [{"id": a, "waits_for": w} for a, w in first.items()]}
    static = float(makespans(waits_for_of_plan(problem, plan), d[None, :])[0])
    return {
        "session": end,
        "static": static,
        "violations": len(check_run(workflow, lines)),
        "replans": saved["replans"],
        "calls": calls,
        "seconds": seconds,
    }


def workflows():
    for path in sorted((ROOT / "instances" / "examples").glob("*.json")):
        yield path.stem, json.loads(path.read_text())
    for family in ("srasearch", "1000genome"):
        for path in sorted((ROOT / "instances" / "wfcommons" / family).glob("*.json"))[:3]:
            trace = read_trace(path)
            yield trace.name, trace_to_workflow(trace, cores=8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--spread", type=float, default=0.3, help="sigma of the log-normal duration factor")
    args = parser.parse_args()
    header = f"{'workflow':40s} {'agents':>6s} {'mode':>6s} {'session':>9s} {'static':>9s} {'diff %':>7s} {'worst %':>8s} {'replans':>7s} {'bugs':>5s} {'s/call':>7s}"
    out = [header]
    print(header, flush=True)
    worst_all = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, workflow in workflows():
            for waves in (False, True):
                rows = [one(workflow, waves, seed, args.spread, Path(tmp)) for seed in range(args.seeds)]
                diffs = [100 * (r["session"] - r["static"]) / r["static"] for r in rows]
                worst_all += diffs
                line = (
                    f"{name[:40]:40s} {len(workflow['agents']):6d} {'waves' if waves else 'events':>6s} "
                    f"{np.mean([r['session'] for r in rows]):9.1f} {np.mean([r['static'] for r in rows]):9.1f} "
                    f"{np.mean(diffs):7.2f} {max(diffs):8.2f} {sum(r['replans'] for r in rows):7d} "
                    f"{sum(r['violations'] for r in rows):5d} "
                    f"{sum(r['seconds'] for r in rows) / max(sum(r['calls'] + 1 for r in rows), 1):7.3f}"
                )
                out.append(line)
                print(line, flush=True)
    summary = f"worst session against static replay: {max(worst_all):+.2f}% (negative: the session is faster)"
    out.append(summary)
    print(summary)
    results = ROOT / "bench" / "results" / "session.txt"
    results.write_text(
        f"# python bench/session.py --seeds {args.seeds} --spread {args.spread}\n" + "\n".join(out) + "\n"
    )


if __name__ == "__main__":
    main()
