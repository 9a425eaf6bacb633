"""What isolation and write detection cost (real git repositories, real processes).

    python bench/isolation.py [--files 100 2000] [--agents 40]   # writes bench/results/isolation.txt

For each repository size (files of 1 KiB spread over 20 folders), a workflow of ``--agents``
agents on 4 slots, each appending a line to a file of its own, is run three ways: in a
shared folder without detection cost beyond the snapshots (``--isolate none``), the same
with the snapshots covering the whole tree (the agents declare ``./`` as read), and
``--isolate worktree``. The table gives the agents' span (first start to last end), the
whole command, and the overhead per agent against the shared folder.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _repo(folder: Path, files: int) -> Path:
    folder.mkdir()
    for k in range(files):
        path = folder / f"d{k % 20}" / f"f{k}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_text("x" * 1023 + "\n")
    (folder / ".gitignore").write_text("runs/\n")
    _git(folder, "init", "-q")
    _git(folder, "-c", "user.email=b@b", "-c", "user.name=b", "add", "-A")
    _git(folder, "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-q", "-m", "start")
    _git(folder, "config", "user.email", "b@b")
    _git(folder, "config", "user.name", "b")
    return folder


def _workflow(agents: int, whole_tree: bool) -> dict:
    return {
        "name": "isolation-bench",
        "resources": {"slots": 4},
        "agents": [
            {
                "id": f"a{i}",
                "duration": 0.05,
                "uses": {"slots": 1},
                "writes": [f"d{i % 20}/f{i}.txt"],
                **({"reads": ["./"]} if whole_tree and i == 0 else {}),
                "command": f"echo {i} >> d{i % 20}/f{i}.txt",
            }
            for i in range(agents)
        ],
    }


def _run(repo: Path, workflow: dict, isolate: str) -> tuple[float, float]:
    path = repo / "runs-wf.json"
    path.write_text(json.dumps(workflow))
    _git(repo, "add", "runs-wf.json")
    _git(repo, "commit", "-q", "-m", "workflow", "--allow-empty")
    t0 = time.perf_counter()
    done = subprocess.run(
        [PY, "-m", "orchmilp.cli", "run", str(path), "-q", "--isolate", isolate, "--history", str(repo / "h.jsonl")],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    lines = [json.loads(x) for x in (repo / "h.jsonl").read_text().splitlines()][-len(workflow["agents"]) :]
    (repo / "h.jsonl").unlink()
    span = max(x["finish"] for x in lines) - min(x["start"] for x in lines)
    _git(repo, "reset", "-q", "--hard", "HEAD")
    return span, wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, nargs="+", default=[100, 2000])
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "isolation.txt"))
    args = parser.parse_args(argv)
    rows = [
        f"{args.agents} agents on 4 slots, each appending to its own file (2 cores); seconds",
        f"{'files':>6} {'mode':<28} {'span':>7} {'command':>8} {'per agent':>10}",
    ]
    for files in args.files:
        with tempfile.TemporaryDirectory() as tmp:
            repo = _repo(Path(tmp) / "repo", files)
            base = None
            for label, whole, isolate in (
                ("shared, declared files", False, "none"),
                ("shared, snapshot of ./", True, "none"),
                ("worktree", False, "worktree"),
            ):
                span, wall = _run(repo, _workflow(args.agents, whole), isolate)
                base = span if base is None else base
                per = (span - base) / args.agents * 4  # 4 run at once
                rows.append(f"{files:>6} {label:<28} {span:>7.2f} {wall:>8.2f} {per:>10.3f}")
                print(rows[-1], flush=True)
    text = "\n".join(rows) + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
