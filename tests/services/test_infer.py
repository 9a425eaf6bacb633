"""orchmilp infer: the reads and writes a generated workflow's agents really need, recovered
from runs recorded with --isolate worktree, whatever was declared."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys

import pytest

from orchmilp.run import RunOptions, execute
from orchmilp.services.infer import infer

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def generated(seed: int, agents: int = 6, files: int = 12):
    """A workflow whose agents read and write random files (writes disjoint), declared wrongly:
    one true write missing, one file never touched declared, reads not declared at all."""
    rng = random.Random(seed)
    names = [f"src/f{k}.txt" for k in range(files)]
    pool = names[:]
    rng.shuffle(pool)
    truth, declared = {}, []
    for a in range(agents):
        writes = sorted(pool[2 * a : 2 * a + 2])
        reads = sorted(rng.sample([n for n in names if n not in writes], 2))
        truth[f"a{a}"] = (reads, writes)
        command = f"cat {' '.join(reads)} > /dev/null && " + " && ".join(f"echo a{a} >> {w}" for w in writes)
        wrong = [writes[0], "docs/never.txt"]  # writes[1] missing, a path never touched
        declared.append({"id": f"a{a}", "duration": 1, "writes": wrong, "command": command})
    return {"name": "generated", "agents": declared}, truth, names


def test_infer_recovers_the_true_reads_and_writes_from_recorded_runs(tmp_path):
    workflow, truth, names = generated(seed=3)
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    for n in names:
        (repo / n).write_text("0\n")
    (repo / ".gitignore").write_text("runs/\n")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    _git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "start")
    for _ in range(2):
        report = execute(workflow, workdir=repo, options=RunOptions(isolate="worktree"))
        assert not report.failed
    outcome = infer(workflow, repo / "runs" / "history.jsonl")
    learnt = {a["id"]: (a.get("reads", []), a.get("writes", [])) for a in outcome.workflow["agents"]}
    assert learnt == truth
    patch = outcome.patch()
    assert all(patch[a]["drop_writes"] == ["docs/never.txt"] for a in truth)
    assert outcome.undeclared == {a: [w[1]] for a, (_, w) in truth.items()}


def test_infer_keeps_agents_with_too_few_runs_as_declared_and_the_command_writes_the_workflow(tmp_path):
    workflow, truth, names = generated(seed=4, agents=2)
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(workflow))
    history = tmp_path / "h.jsonl"
    lines = [
        {"run": "r1", "agent": "a0", "start": 0, "finish": 1, "status": "ok", "wrote": ["x.txt"], "undeclared": []},
        {"run": "r2", "agent": "a0", "start": 0, "finish": 1, "status": "ok", "wrote": ["x.txt", "y"], "read": []},
        {"run": "r3", "agent": "a0", "start": 0, "finish": 1, "status": "ok", "wrote": ["x.txt"], "read": []},
        {"run": "r1", "agent": "a1", "start": 0, "finish": 1, "status": "ok", "wrote": ["z.txt"]},
    ]
    history.write_text("".join(json.dumps(line) + "\n" for line in lines))
    out = tmp_path / "learnt.json"
    done = subprocess.run(
        [sys.executable, "-m", "orchmilp.cli", "infer", str(path), "--history", str(history), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    learnt = {a["id"]: a for a in json.loads(out.read_text())["agents"]}
    assert learnt["a0"]["writes"] == ["x.txt"]  # y: 1 of 3 attempts, below the share
    assert "reads" not in learnt["a0"]  # reads measured twice, empty both times
    assert learnt["a1"]["writes"] == workflow["agents"][1]["writes"]  # one run: kept as declared
    assert "kept as declared" in done.stdout
