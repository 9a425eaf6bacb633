"""Executor benchmarks (real processes).

    python bench/run.py          # prints the tables, writes bench/results/run.txt

1. Dispatch: 200 agents of `true` on 8 slots: wall time, and the coordinator's CPU time
   (it sleeps in a selector on process fds while it waits: no busy loop).
2. Every example with `sleep` commands (durations scaled so the plan takes about 4 s):
   actual makespan against planned (target: within 10% + 1 s).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def _run(workflow: dict, folder: Path) -> tuple[float, float, dict]:
    path = folder / "wf.json"
    path.write_text(json.dumps(workflow))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([PY, "-m", "orchmilp.cli", "run", str(path), "-q"], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    lines = [json.loads(x) for x in (folder / "runs" / "history.jsonl").read_text().splitlines()]
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, {"lines": lines, "stdout": proc.stdout}


def dispatch(out: list[str]) -> None:
    agents = [{"id": f"a{i}", "duration": 0.01, "command": "true", "uses": {"slots": 1}} for i in range(200)]
    with tempfile.TemporaryDirectory() as tmp:
        # the CPU time of children includes the 200 shells; measure them alone too
        wall, cpu, info = _run({"resources": {"slots": 8}, "agents": agents}, Path(tmp))
        lines = info["lines"]
        span = max(x["finish"] for x in lines) - min(x["start"] for x in lines)
        t0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(200):
            subprocess.run(["/bin/sh", "-c", "true"])
        t1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        shells = (t1.ru_utime + t1.ru_stime) - (t0.ru_utime + t0.ru_stime)
    out.append(
        f"dispatch: 200 x `true` on 8 slots: whole command {wall:.2f} s (agents' span {span:.2f} s); "
        f"CPU of the command and its children {cpu:.2f} s, of which 200 shells alone {shells:.2f} s"
    )
    cpus = {}
    for seconds in (1, 6):
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpus[seconds], _ = _run(
                {"agents": [{"id": "w", "duration": seconds, "command": f"sleep {seconds}"}]}, Path(tmp)
            )
    out.append(
        f"waiting: CPU of a run of `sleep 6` minus one of `sleep 1`: {cpus[6] - cpus[1]:+.3f} s for 5 s more "
        f"waiting (startup and planning, the same in both, cost {cpus[1]:.2f} s)"
    )


def examples(out: list[str]) -> None:
    out.append("")
    out.append("example                     planned   actual   within 10% + 1 s")
    for path in sorted((ROOT / "instances" / "examples").glob("*.json")):
        workflow = json.loads(path.read_text())
        total = sum(a["duration"] for a in workflow["agents"])
        scale = 4.0 / max(total / 3, 1e-9)
        for agent in workflow["agents"]:
            agent["duration"] = round(agent["duration"] * scale, 3)
            agent["command"] = f"sleep {agent['duration']}"
            agent.pop("duration_range", None)
        with tempfile.TemporaryDirectory() as tmp:
            _, _, info = _run(workflow, Path(tmp))
        line = next(x for x in info["stdout"].splitlines() if x.startswith("makespan: planned"))
        planned = float(line.split("planned ")[1].split(" s")[0])
        actual = float(line.split("actual ")[1].split(" s")[0])
        ok = actual <= planned * 1.1 + 1
        out.append(f"{path.stem:26s} {planned:8.2f} {actual:8.2f}   {'yes' if ok else 'NO'}")


if __name__ == "__main__":
    lines: list[str] = []
    dispatch(lines)
    examples(lines)
    text = "\n".join(lines) + "\n"
    print(text)
    (ROOT / "bench" / "results" / "run.txt").write_text(text)
