"""Isolation and detected writes (run/workspace.py) on real git repositories and real
processes: declared changes land, undeclared writes are reported, two agents writing one
undeclared file give a reported merge conflict, and no worktree or branch is left behind
after success, failure, Ctrl-C or --resume."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from orchmilp.check import check_run
from orchmilp.errors import InvalidOptions
from orchmilp.run import RunOptions, execute
from tests.helpers import default_sigint, wait_for

PY = sys.executable
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def make_repo(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    git(folder, "init", "-q")
    git(folder, "config", "user.email", "test@example.com")
    git(folder, "config", "user.name", "test")
    for name, text in {**files, ".gitignore": "runs/\n"}.items():
        (folder / name).write_text(text)
    git(folder, "add", "-A")
    git(folder, "commit", "-q", "-m", "start")
    return folder


def editor(agent: str, own: str, undeclared: str | None = None, wait: float = 0.3) -> str:
    """Append a line to its own file (and to an undeclared one), after ``wait`` seconds."""
    extra = f" && echo {agent} >> {undeclared}" if undeclared else ""
    return f"sleep {wait} && echo {agent} >> {own}{extra}"


def four_editors(undeclared: dict[str, str]) -> dict:
    return {
        "name": "edit",
        "resources": {"slots": 4},
        "agents": [
            {
                "id": a,
                "duration": 1,
                "uses": {"slots": 1},
                "writes": [f"{a}.txt"],
                "command": editor(a, f"{a}.txt", undeclared.get(a)),
            }
            for a in ("a", "b", "c", "d")
        ]
        + [
            {
                "id": "check",
                "duration": 1,
                "depends_on": ["a", "b", "c", "d"],
                "reads": ["a.txt", "d.txt"],
                "command": "grep -q a a.txt && grep -q d d.txt",
            }
        ],
    }


def history(repo: Path) -> list[dict]:
    return [json.loads(line) for line in (repo / "runs" / "history.jsonl").read_text().splitlines()]


def leftovers(repo: Path) -> tuple[list[str], list[str]]:
    """orchmilp's worktrees (beyond the main one) and branches still in the repository."""
    trees = [line for line in git(repo, "worktree", "list", "--porcelain").splitlines() if line.startswith("worktree ")]
    branches = git(repo, "branch", "--list", "orchmilp/*").split()
    return trees[1:], branches


def files_of(repo: Path) -> dict[str, str]:
    return {n: (repo / n).read_text() for n in ("a.txt", "b.txt", "c.txt", "d.txt", "notes.txt", "shared.txt")}


START = {f"{a}.txt": f"{a}0\n" for a in "abcd"} | {"notes.txt": "n0\n", "shared.txt": "s0\n"}


def test_worktrees_land_every_declared_change_and_report_the_undeclared_write(tmp_path):
    repo = make_repo(tmp_path / "repo", START)
    workflow = four_editors({"b": "notes.txt"})
    report = execute(workflow, workdir=repo, options=RunOptions(isolate="worktree"))
    assert not report.failed
    text = files_of(repo)
    for a in "abcd":
        assert text[f"{a}.txt"] == f"{a}0\n{a}\n"  # every declared change is on the checked-out branch
    assert text["notes.txt"] == "n0\nb\n"  # the undeclared one lands too, and is reported
    lines = history(repo)
    by_agent = {line["agent"]: line for line in lines}
    assert by_agent["b"]["undeclared"] == ["notes.txt"] and by_agent["b"]["wrote"] == ["b.txt", "notes.txt"]
    assert all(by_agent[a]["undeclared"] == [] for a in "acd")
    assert by_agent["check"]["read"] == ["a.txt", "d.txt"]  # the reader saw a's and d's merged changes
    assert report.outcomes[report.problem.index["b"]].undeclared == ("notes.txt",)
    assert git(repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert leftovers(repo) == ([], [])
    assert check_run(workflow, lines) == []


def test_two_agents_writing_one_undeclared_file_give_a_reported_merge_conflict(tmp_path):
    repo = make_repo(tmp_path / "repo", START)
    workflow = four_editors({"b": "shared.txt", "c": "shared.txt"})
    workflow["agents"][2]["command"] = editor("c", "c.txt", "shared.txt", wait=0.8)  # c ends after b
    report = execute(workflow, workdir=repo, options=RunOptions(isolate="worktree", on_failure="continue"))
    c = report.outcomes[report.problem.index["c"]]
    assert c.status == "failed" and "merge conflict on shared.txt" in c.conflict and "'b'" in c.conflict
    assert report.outcomes[report.problem.index["check"]].status == "skipped"  # c's dependent
    text = files_of(repo)
    assert text["shared.txt"] == "s0\nb\n" and text["c.txt"] == "c0\n"  # no silent overwrite
    assert "c\n" in (repo / "runs" / report.run_id / "c.patch").read_text()  # c's work is kept
    assert leftovers(repo) == ([], [])
    assert check_run(workflow, history(repo)) == []


def test_without_isolation_the_undeclared_write_is_detected_too(tmp_path):
    repo = make_repo(tmp_path / "repo", START)
    workflow = four_editors({"b": "notes.txt"})
    workflow["agents"][1]["command"] = "sleep 0.6 && echo b >> b.txt && echo b >> notes.txt"
    for agent in workflow["agents"][:4]:
        if agent["id"] != "b":
            agent["command"] = f"echo {agent['id']} >> {agent['id']}.txt"  # done before b writes
    report = execute(workflow, workdir=repo, options=RunOptions(isolate="none"))
    by_agent = {line["agent"]: line for line in history(repo)}
    assert by_agent["b"]["undeclared"] == ["notes.txt"]
    assert "notes.txt" in report.outcomes[report.problem.index["b"]].undeclared
    assert (repo / "notes.txt").read_text() == "n0\nb\n"


def test_without_git_a_snapshot_of_the_declared_folders_finds_the_undeclared_write(tmp_path):
    (tmp_path / "out").mkdir()
    workflow = {
        "agents": [
            {"id": "w", "duration": 1, "writes": ["out/a.txt"], "reads": ["out/"], "command": "echo 1 > out/a.txt"},
            {"id": "x", "duration": 1, "depends_on": ["w"], "writes": ["out/b.txt"], "command": "echo 2 > out/c.txt"},
        ]
    }
    report = execute(workflow, workdir=tmp_path, options=RunOptions())
    assert report.outcomes[1].undeclared == ("out/c.txt",) and report.outcomes[0].undeclared == ()


def test_strict_writes_fail_the_agent_that_wrote_an_undeclared_file(tmp_path):
    repo = make_repo(tmp_path / "repo", START)
    workflow = four_editors({"b": "notes.txt"})
    report = execute(
        workflow, workdir=repo, options=RunOptions(isolate="worktree", strict_writes=True, on_failure="continue")
    )
    b = report.outcomes[report.problem.index["b"]]
    assert b.status == "failed" and "undeclared notes.txt" in b.note and b.attempts == 1
    assert (repo / "b.txt").read_text() == "b0\n" and (repo / "a.txt").read_text() == "a0\na\n"
    assert leftovers(repo) == ([], [])


def test_a_failed_agent_leaves_nothing_behind_and_its_changes_do_not_land(tmp_path):
    repo = make_repo(tmp_path / "repo", START)
    workflow = four_editors({})
    workflow["agents"][0]["command"] = "echo a >> a.txt && exit 3"
    report = execute(workflow, workdir=repo, options=RunOptions(isolate="worktree", on_failure="continue"))
    assert report.failed == ["a"] and (repo / "a.txt").read_text() == "a0\n"
    assert (repo / "b.txt").read_text() == "b0\nb\n"
    assert leftovers(repo) == ([], [])


@pytest.mark.parametrize("how", ["ctrl-c", "sigkill-then-resume"])
def test_interrupted_runs_leave_no_worktree_or_branch(tmp_path, how):
    repo = make_repo(tmp_path / "repo", START)
    workflow = four_editors({})
    workflow["agents"][3]["command"] = "sleep 60"
    (repo / "wf.json").write_text(json.dumps(workflow))
    git(repo, "add", "wf.json")
    git(repo, "commit", "-q", "-m", "workflow")
    child = subprocess.Popen(
        [PY, "-m", "orchmilp.cli", "run", str(repo / "wf.json"), "-q", "--grace", "1", "--isolate", "worktree"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    try:
        merged = lambda: all((repo / f"{a}.txt").read_text() != f"{a}0\n" for a in "abc")  # noqa: E731
        assert wait_for(merged, 60)  # a, b and c are merged: only d runs (sleep 60)
        if how == "ctrl-c":
            child.send_signal(signal.SIGINT)
            assert child.wait(timeout=30) != 0
            assert leftovers(repo) == ([], [])
        else:
            child.kill()
            child.wait(timeout=10)
            assert leftovers(repo)[1]  # a killed coordinator cannot clean up: the resume does
            workflow["agents"][3]["command"] = "echo d >> d.txt"
            (repo / "wf.json").write_text(json.dumps(workflow))
            git(repo, "commit", "-q", "-am", "d no longer sleeps")
            done = subprocess.run(
                [PY, "-m", "orchmilp.cli", "run", str(repo / "wf.json"), "-q", "--resume", "--isolate", "worktree"],
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, done.stderr
            assert leftovers(repo) == ([], [])
            assert files_of(repo)["d.txt"] == "d0\nd\n" and files_of(repo)["a.txt"] == "a0\na\n"
    finally:
        if child.poll() is None:
            child.kill()


def test_bad_setups_are_one_line_errors(tmp_path):
    workflow = four_editors({})
    with pytest.raises(InvalidOptions, match="not in a git repository"):
        execute(workflow, workdir=tmp_path, options=RunOptions(isolate="worktree"))
    repo = make_repo(tmp_path / "repo", START)
    (repo / "a.txt").write_text("edited by hand\n")
    with pytest.raises(InvalidOptions, match="uncommitted changes"):
        execute(workflow, workdir=repo, options=RunOptions(isolate="worktree"))


def test_agent_names_cannot_inject_into_branch_names_or_git_arguments(tmp_path):
    repo = make_repo(tmp_path / "repo", START)
    evil = "--upload-pack=touch PWNED;$(touch PWNED2)/../x"
    workflow = {"agents": [{"id": evil, "duration": 1, "writes": ["a.txt"], "command": "echo x >> a.txt"}]}
    report = execute(workflow, workdir=repo, options=RunOptions(isolate="worktree"))
    assert not report.failed and (repo / "a.txt").read_text() == "a0\nx\n"
    assert not list(repo.rglob("PWNED*")) and not list(tmp_path.rglob("PWNED*"))
    assert leftovers(repo) == ([], [])


def test_a_coordinator_session_hands_each_agent_its_worktree_and_merges_what_ends_ok(tmp_path):
    """A coding agent drives the session: it runs each launched agent in the ``workdir`` of its
    launch entry and reports it done; the changes land, the conflict is reported, nothing is left."""
    from orchmilp.services.session import SessionStart, session_done, session_start

    repo = make_repo(tmp_path / "repo", START)
    workflow = four_editors({"b": "shared.txt", "c": "shared.txt", "a": "notes.txt"})
    (repo / "wf.json").write_text(json.dumps(workflow))
    git(repo, "add", "wf.json")
    git(repo, "commit", "-q", "-m", "workflow")
    view = session_start(SessionStart(repo / "wf.json", isolate="worktree", on_failure="continue"))
    folders = set()
    while not view.get("done"):
        assert view["launch"], view
        for entry in view["launch"]:
            folder = Path(entry["workdir"])
            assert folder.is_dir() and folder != repo and folder not in folders
            folders.add(folder)
            subprocess.run(["bash", "-c", entry["command"].replace("sleep 0.3 && ", "")], cwd=folder, check=True)
        for entry in view["launch"]:  # reported one by one: b before c, so c's merge conflicts
            view = session_done(repo / "runs", view["session"], [entry["id"]])
    text = files_of(repo)
    assert text["a.txt"] == "a0\na\n" and text["b.txt"] == "b0\nb\n" and text["d.txt"] == "d0\nd\n"
    assert text["notes.txt"] == "n0\na\n" and text["shared.txt"] == "s0\nb\n" and text["c.txt"] == "c0\n"
    assert view["undeclared_writes"]["a"] == ["notes.txt"]
    (failed,) = view["failed"]
    assert failed["id"] == "c" and "merge conflict on shared.txt" in failed["note"]
    assert leftovers(repo) == ([], []) and not any(f.exists() for f in folders)
    lines = history(repo)
    assert {line["agent"]: line["undeclared"] for line in lines if line["status"] != "skipped"}["b"] == ["shared.txt"]


def test_an_isolated_run_beside_a_live_session_leaves_the_session_its_worktrees(tmp_path):
    """A session holds no lock between its calls: the run's sweep must still see it as live,
    and sweep it only once its folder is gone (an abandoned session)."""
    from orchmilp.services.session import SessionStart, session_done, session_start

    repo = make_repo(tmp_path / "repo", START)
    (repo / "wf.json").write_text(json.dumps(four_editors({})))
    git(repo, "add", "wf.json")
    git(repo, "commit", "-q", "-m", "workflow")
    view = session_start(SessionStart(repo / "wf.json", isolate="worktree"))
    trees = [Path(entry["workdir"]) for entry in view["launch"]]
    assert len(trees) == 4 and all(t.is_dir() for t in trees)
    other = {"name": "other", "agents": [{"id": "x", "duration": 1, "writes": ["x.txt"], "command": "echo x > x.txt"}]}
    assert not execute(other, workdir=repo, options=RunOptions(isolate="worktree")).failed
    assert all(t.is_dir() for t in trees), "the run swept a live session's worktrees"
    for entry in view["launch"]:
        subprocess.run(["bash", "-c", entry["command"]], cwd=entry["workdir"], check=True)
    view = session_done(repo / "runs", view["session"], [e["id"] for e in view["launch"]])
    assert [e["id"] for e in view["launch"]] == ["check"]
    assert all(files_of(repo)[f"{a}.txt"] == f"{a}0\n{a}\n" for a in "abcd")
    # abandoned: the coding agent never reports 'check' and the session's folder is deleted
    shutil.rmtree(repo / "runs" / view["session"])
    assert leftovers(repo)[1]
    assert not execute(other, workdir=repo, options=RunOptions(isolate="worktree")).failed
    assert leftovers(repo) == ([], [])


def test_resume_does_not_run_again_an_agent_merged_before_its_history_line(tmp_path):
    """A coordinator killed between an agent's merge and its history line: the merge commit
    says the agent's work landed, so --resume does not run it (and append its line) again."""
    repo = make_repo(tmp_path / "repo", {f"{a}.txt": f"{a}0\n" for a in "abcd"})
    workflow = four_editors({})
    (repo / "wf.json").write_text(json.dumps(workflow))
    report = execute(repo / "wf.json", workdir=repo, options=RunOptions(isolate="worktree"))
    assert all(o.status == "ok" for o in report.outcomes)
    lines = (repo / "runs" / "history.jsonl").read_text().splitlines()
    kept = [line for line in lines if json.loads(line)["agent"] != "a"]  # a's line was never written
    (repo / "runs" / "history.jsonl").write_text("".join(line + "\n" for line in kept))
    resumed = execute(repo / "wf.json", workdir=repo, options=RunOptions(isolate="worktree"), resume=True)
    assert (repo / "a.txt").read_text() == "a0\na\n"
    assert resumed.resumed == frozenset(range(5))  # a from its merge commit, the rest from the history
    assert not any(
        json.loads(line)["agent"] == "a" for line in (repo / "runs" / "history.jsonl").read_text().splitlines()
    )
