"""Where each agent runs, and which files it really wrote (docs/isolation.md).

:class:`SharedFolder` (``--isolate none``): every agent runs in the work folder. The folder
is snapshotted (size, modification time, inode of every file; ``.git`` and the run's own
folder left out) when an agent starts and when it ends; a file that changed meanwhile and
that no agent running then declared in its ``writes`` is an *undeclared write*, charged to
every agent that ran then (the snapshot cannot tell which of them wrote it).

:class:`Worktrees` (``--isolate worktree``): every agent runs in its own git worktree, on its
own branch from the commit the work folder's repository is at when it starts, so it sees the
changes of the agents it waits for (merged before it starts). What it changed is exactly
what ``git status`` shows in its worktree; what it read, the files whose access time moved
(access times are set back when the worktree is made; a file system mounted ``noatime``
records no reads). When it ends ``ok`` its changes are committed on its branch and merged
into the repository's checked-out branch (``--no-ff``: one merge commit per agent); a merge
conflict fails it, names the files and the agents that changed them before, and so skips
its dependents. Other ends keep the changes as ``runs/RUN/AGENT.patch``. Worktrees and
branches are removed when the agent ends and, whatever is left, when the run ends on any
path; a run resumed, or any later isolated run, removes what a killed run left behind.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidOptions, RunError
from ..model.paths import normalize_path, overlaps
from ..model.problem import Problem

__all__ = ["Leaving", "Workspace", "SharedFolder", "Worktrees", "workspace", "merged_in", "BRANCH_ROOT"]

#: every branch orchmilp makes is under this name, then the run, then the agent
BRANCH_ROOT = "orchmilp"


@dataclass(frozen=True)
class Leaving:
    """What one attempt touched: files it changed (``wrote``), those none of its declared
    ``writes`` covers (``undeclared``), files it read, and why its merge failed."""

    wrote: tuple[str, ...] = ()
    undeclared: tuple[str, ...] = ()
    read: tuple[str, ...] = ()
    conflict: str | None = None
    beside: tuple[str, ...] = ()  # shared folder: the agents that ran meanwhile (any may have written)
    reads_seen: bool = False  # ``read`` was measured (worktrees), even when empty

    def record(self) -> dict[str, object]:
        """The history line's fields (run-format extension, docs/isolation.md)."""
        out: dict[str, object] = {"wrote": list(self.wrote), "undeclared": list(self.undeclared)}
        if self.reads_seen:
            out["read"] = list(self.read)
        if self.conflict:
            out["conflict"] = self.conflict
        if self.undeclared and self.beside:
            out["beside"] = list(self.beside)
        return out


def declared(problem: Problem, j: int, path: str) -> bool:
    """``path`` is covered by one of agent ``j``'s declared ``writes``."""
    return any(overlaps(w, path) for w in problem.writes[j])


class Workspace:
    """Gives each attempt its folder and says what it touched; :meth:`close` removes what is left."""

    def enter(self, j: int) -> Path:
        raise NotImplementedError

    def leave(self, j: int, ok: bool) -> Leaving:
        raise NotImplementedError

    def close(self) -> None:
        """Remove whatever the run still holds (every exit path calls it)."""

    def tick(self) -> None:
        """The coordinator woke up: what it saw of the files before may be out of date."""


# ---- the shared folder ------------------------------------------------------------------


Stamp = tuple[int, int, int]  # size, mtime_ns, inode


def snapshot(root: Path, within: Iterable[str], skip: Iterable[Path]) -> dict[str, Stamp]:
    """The files at or under the ``/``-separated relative paths ``within`` (``""``: all of
    ``root``) -> size, mtime, inode; ``.git`` folders and the folders in ``skip`` left out.
    Symbolic links are not followed."""
    skipped = {os.path.realpath(p) for p in skip}
    files: dict[str, Stamp] = {}

    def stamp(rel: str, path: str) -> None:
        try:
            st = os.lstat(path)
        except OSError:
            return  # gone meanwhile
        files[rel] = (st.st_size, st.st_mtime_ns, st.st_ino)

    for top in sorted(set(within)):
        start = os.path.join(root, top) if top else str(root)
        if not os.path.isdir(start) or os.path.islink(start):
            stamp(top.rstrip("/"), start)
            continue
        for folder, dirs, names in os.walk(start):
            dirs[:] = [d for d in dirs if d != ".git" and os.path.realpath(os.path.join(folder, d)) not in skipped]
            rel = os.path.relpath(folder, root)
            for name in names:
                stamp(name if rel == "." else f"{rel}/{name}".replace(os.sep, "/"), os.path.join(folder, name))
    return files


def changed(before: dict[str, Stamp], after: dict[str, Stamp]) -> set[str]:
    """Files created, modified or deleted between two snapshots."""
    return {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}


@dataclass
class SharedFolder(Workspace):
    """Every agent in ``folder``; writes found by snapshots (see the module docstring). The
    snapshot covers the folders and files the workflow declares and, in a git repository,
    every file ``git status`` lists (changed or untracked): a write elsewhere goes unseen."""

    problem: Problem
    folder: Path
    skip: tuple[Path, ...] = ()
    running: dict[int, dict[str, Stamp]] = field(default_factory=dict)  # j -> snapshot at its start
    beside: dict[int, set[int]] = field(default_factory=dict)  # j -> the agents that ran with it

    def __post_init__(self) -> None:
        self.declared_paths = {path for paths in (*self.problem.reads, *self.problem.writes) for path in paths}
        top = _git(self.folder, "rev-parse", "--show-toplevel", check=False) if shutil.which("git") else None
        self.in_git = top is not None and top.returncode == 0
        self.seen: dict[str, Stamp] | None = None  # the snapshot of this wake-up of the coordinator

    def tick(self) -> None:
        self.seen = None

    def _snapshot(self) -> dict[str, Stamp]:
        """The files now; one snapshot serves every agent that starts or ends in one wake-up."""
        if self.seen is None:
            self.seen = self._take()
        return self.seen

    def _take(self) -> dict[str, Stamp]:
        within = set(self.declared_paths)
        if self.in_git:
            listed = _git(self.folder, "status", "--porcelain", "-z", "--untracked-files=all", "--", ".", check=False)
            prefix = _git(self.folder, "rev-parse", "--show-prefix", check=False).stdout.strip()
            for path in _status_paths(listed.stdout):
                if path.startswith(prefix):
                    within.add(path[len(prefix) :])
        return snapshot(self.folder, within, self.skip)

    def enter(self, j: int) -> Path:
        for others in self.beside.values():
            others.add(j)
        self.beside[j] = set(self.running)
        self.running[j] = self._snapshot()
        return self.folder

    def leave(self, j: int, ok: bool) -> Leaving:
        before = self.running.pop(j)
        files = changed(before, self._snapshot())  # a clean file git lists only now has changed
        others = self.beside.pop(j)
        mine = sorted(f for f in files if declared(self.problem, j, f))
        nobody = sorted(f for f in files if not any(declared(self.problem, k, f) for k in others | {j}))
        names = tuple(self.problem.ids[k] for k in sorted(others))
        return Leaving(tuple(mine + nobody), tuple(nobody), beside=names)


# ---- git worktrees ----------------------------------------------------------------------


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """``git -C cwd args`` (no shell: workflow strings are arguments, never code)."""
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, errors="replace")
    if check and done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise RunError(f"git {args[0]} in {cwd}: {message[-1] if message else f'exit code {done.returncode}'}")
    return done


def branch_part(text: str) -> str:
    """``text`` as one safe component of a branch name.

    >>> branch_part("fix: a/b..c~1"), branch_part("..")
    ('fix-a-b-c-1', 'x')
    """
    part = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60]
    return part or "x"


def _status_paths(out: str) -> list[str]:
    """Paths from ``git status --porcelain -z`` (both sides of a rename)."""
    paths, fields = [], out.split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename or copy: the next field is where it came from
            paths.append(fields[i])
            i += 1
    return paths


@dataclass
class Worktrees(Workspace):
    """A git worktree and branch per attempt (see the module docstring)."""

    problem: Problem
    folder: Path  # the work folder: inside the repository
    run_id: str
    run_folder: Path  # runs/RUN: the worktrees live under it, the patches of failed agents too
    strict: bool = False  # an attempt with an undeclared write is not merged (--strict-writes)
    restored: dict | None = None  # a coordinator session's saved state (:meth:`saved`): no checks, no sweep
    session: bool = False  # a coordinator session: registered live until closed, so that no sweep takes it
    repo: Path = field(init=False)
    within: str = field(init=False)  # the work folder relative to the repository's top
    trees: dict[int, tuple[Path, str]] = field(default_factory=dict)  # j -> (worktree, branch)
    merged_by: dict[str, str] = field(default_factory=dict)  # repository path -> the agent that merged it last
    attempts: dict[int, int] = field(default_factory=dict)
    pool: list[str] = field(default_factory=list)  # worktrees of ended agents, cleaned, for the next ones

    def __post_init__(self) -> None:
        if self.restored is not None:  # a later call of a coordinator session
            self.repo = Path(self.restored["repo"])
            self.within = self.restored["within"]
            self.identity = list(self.restored["identity"])
            self.trees = {int(j): (Path(t), b) for j, (t, b) in self.restored["trees"].items()}
            self.merged_by = dict(self.restored["merged_by"])
            self.attempts = {int(j): n for j, n in self.restored["attempts"].items()}
            self.pool = list(self.restored.get("pool", []))
            return
        if shutil.which("git") is None:
            raise InvalidOptions("--isolate worktree: git is not installed (use --isolate none)")
        top = _git(self.folder, "rev-parse", "--show-toplevel", check=False)
        if top.returncode != 0:
            raise InvalidOptions(f"--isolate worktree: {self.folder} is not in a git repository (use --isolate none)")
        self.repo = Path(top.stdout.strip()).resolve()
        self.within = os.path.relpath(self.folder.resolve(), self.repo).replace(os.sep, "/")
        if _git(self.repo, "rev-parse", "--verify", "-q", "HEAD", check=False).returncode != 0:
            raise InvalidOptions(f"--isolate worktree: {self.repo} has no commit yet to start the agents from")
        dirty = _git(self.repo, "status", "--porcelain", "-z", "--untracked-files=no").stdout
        if dirty.strip("\0"):
            first = _status_paths(dirty)[0]
            raise InvalidOptions(
                f"--isolate worktree: {self.repo} has uncommitted changes ({first}, ...): commit or stash them first"
            )
        self.identity = (
            []
            if _git(self.repo, "config", "user.email", check=False).stdout.strip()
            else ["-c", "user.name=orchmilp", "-c", "user.email=orchmilp@localhost"]
        )
        self.sweep()
        if self.session:
            live = self._live(self.run_id)
            live.parent.mkdir(parents=True, exist_ok=True)
            live.write_text(str(self.run_folder.resolve()))

    def saved(self) -> dict:
        """What a coordinator session keeps between its calls (JSON)."""
        return {
            "repo": str(self.repo),
            "within": self.within,
            "identity": self.identity,
            "trees": {str(j): [str(t), b] for j, (t, b) in self.trees.items()},
            "merged_by": self.merged_by,
            "attempts": {str(j): n for j, n in self.attempts.items()},
            "pool": self.pool,
        }

    # -- lifecycle --

    def _prefix(self, run: str) -> str:
        return f"{BRANCH_ROOT}/{branch_part(run)}/"

    def _live(self, run: str) -> Path:
        """The marker of a live coordinator session ``run`` (it names the session's folder): in
        the repository's git folder, since a session holds no lock between its calls."""
        common = _git(self.repo, "rev-parse", "--git-common-dir").stdout.strip()
        return (self.repo / common).resolve() / "orchmilp-sessions" / branch_part(run)

    def _session_lives(self, run: str) -> bool:
        """``run`` is a coordinator session that has not ended (its folder is still there)."""
        live = self._live(run)
        try:
            folder = Path(live.read_text().strip())
        except OSError:
            return False
        if folder.is_dir():
            return True
        live.unlink(missing_ok=True)  # its folder was deleted: the session is abandoned
        return False

    def sweep(self) -> None:
        """Remove the worktrees and branches of this run (a resume) and of runs nobody runs now."""
        from . import run_lock

        _git(self.repo, "worktree", "prune", check=False)
        refs = _git(self.repo, "for-each-ref", "--format=%(refname:short)", f"refs/heads/{BRANCH_ROOT}/").stdout
        runs: dict[str, list[str]] = {}
        for branch in refs.split():
            runs.setdefault(branch.split("/")[1], []).append(branch)
        trees = self._worktrees()
        for run, branches in runs.items():
            if run != branch_part(self.run_id):
                if self._session_lives(run):
                    continue
                folder = self.folder / "runs" / run
                try:
                    with run_lock(folder, run) if folder.is_dir() else _nothing():
                        pass
                except RunError:
                    continue  # that run is live
            for branch in branches:
                if branch in trees:
                    self._remove_tree(trees[branch])
                _git(self.repo, "branch", "-D", branch, check=False)

    def _worktrees(self) -> dict[str, Path]:
        """branch -> worktree, for the worktrees on orchmilp's branches."""
        out, path = {}, None
        for line in _git(self.repo, "worktree", "list", "--porcelain").stdout.splitlines():
            if line.startswith("worktree "):
                path = Path(line[len("worktree ") :])
            elif line.startswith("branch refs/heads/") and path is not None:
                branch = line[len("branch refs/heads/") :]
                if branch.startswith(f"{BRANCH_ROOT}/"):
                    out[branch] = path
        return out

    def _remove_tree(self, path: Path) -> None:
        _git(self.repo, "worktree", "remove", "--force", "--force", str(path), check=False)
        shutil.rmtree(path, ignore_errors=True)
        _git(self.repo, "worktree", "prune", check=False)

    def close(self) -> None:
        for j in list(self.trees):
            self._drop(j)
        for tree in self.pool:
            self._remove_tree(Path(tree))
        self.pool = []
        self.sweep()
        self._live(self.run_id).unlink(missing_ok=True)
        shutil.rmtree(self.run_folder / "worktrees", ignore_errors=True)

    # -- agents --

    def enter(self, j: int) -> Path:
        if j in self.trees:
            self._drop(j)
        self.attempts[j] = self.attempts.get(j, 0) + 1
        name = f"{j}-{branch_part(self.problem.ids[j])}-{self.attempts[j]}"
        branch = self._prefix(self.run_id) + name
        head = _git(self.repo, "rev-parse", "HEAD").stdout.strip()
        if self.pool:  # a cleaned worktree: checking the new commit out rewrites only what differs
            tree = Path(self.pool.pop())
            _git(tree, "checkout", "-q", "-B", branch, head)
        else:
            tree = self.run_folder / "worktrees" / f"t{len(self.trees) + len(self.attempts)}-{name}"
            tree.parent.mkdir(parents=True, exist_ok=True)
            _git(self.repo, "worktree", "add", "-q", "-b", branch, str(tree), head)
        self.trees[j] = (tree, branch)
        _age_access_times(tree)
        folder = tree / self.within if self.within != "." else tree
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _relative(self, repo_path: str) -> str:
        """A repository path as the workflow writes it (relative to the work folder)."""
        if self.within == ".":
            return repo_path
        return os.path.relpath(repo_path, self.within).replace(os.sep, "/")

    def leave(self, j: int, ok: bool) -> Leaving:
        tree, branch = self.trees[j]
        accessed = _read_since(tree)  # before git looks at the files (it reads those it doubts)
        status = _git(tree, "status", "--porcelain", "-z", "--untracked-files=all").stdout
        touched = sorted(set(_status_paths(status)))
        wrote = tuple(self._relative(p) for p in touched)
        undeclared = tuple(p for p in wrote if not _is_declared(self.problem, j, p))
        read = tuple(self._relative(p) for p in accessed if p not in set(touched))
        conflict = None
        ok = ok and not (self.strict and undeclared)
        if touched:
            _git(tree, "add", "-A")
            if ok:
                message = f"orchmilp: agent {self.problem.ids[j]} (run {self.run_id})"
                _git(tree, *self.identity, "commit", "-q", "--no-verify", "-m", message)
                conflict = self._merge(j, branch, touched)
            if not ok or conflict:
                patch = _git(
                    tree, "diff", "--binary", "HEAD^" if conflict else "--cached", *(["HEAD"] if conflict else [])
                ).stdout
                (self.run_folder / f"{branch_part(self.problem.ids[j])}.patch").write_text(patch, encoding="utf-8")
        self._drop(j)
        return Leaving(wrote, undeclared, read, conflict, reads_seen=True)

    def _merge(self, j: int, branch: str, touched: list[str]) -> str | None:
        """Merge ``branch`` into the checked-out branch; on a conflict, undo it and say why."""
        name = self.problem.ids[j]
        message = f"orchmilp: merge agent {name} (run {self.run_id})"
        done = _git(
            self.repo, *self.identity, "merge", "--no-ff", "--no-verify", "-q", "-m", message, branch, check=False
        )
        if done.returncode == 0:
            for path in touched:
                self.merged_by[path] = name
            return None
        clashing = _git(self.repo, "diff", "--name-only", "--diff-filter=U", check=False).stdout.split()
        _git(self.repo, "merge", "--abort", check=False)
        if not clashing:
            lines = (done.stderr or done.stdout).strip().splitlines()
            return f"merge failed: {lines[-1] if lines else 'git merge exit code ' + str(done.returncode)}"
        others = sorted({self.merged_by[p] for p in clashing if p in self.merged_by})
        files = ", ".join(self._relative(p) for p in clashing)
        by = f" (changed by {', '.join(repr(o) for o in others)} before)" if others else ""
        return f"merge conflict on {files}{by}"

    def _drop(self, j: int) -> None:
        """Clean ``j``'s worktree back to its commit and park it for the next agent (on a
        branch of this run, so that a sweep finds it if the run is killed)."""
        tree, branch = self.trees.pop(j)
        parked = self._prefix(self.run_id) + f"pool-{tree.name}"
        cleaned = (
            _git(tree, "reset", "-q", "--hard", check=False).returncode == 0
            and _git(tree, "clean", "-q", "-f", "-f", "-d", "-x", check=False).returncode == 0
            and _git(tree, "checkout", "-q", "-B", parked, check=False).returncode == 0
        )
        if cleaned:
            self.pool.append(str(tree))
        else:
            self._remove_tree(tree)
        _git(self.repo, "branch", "-D", branch, check=False)


def _is_declared(problem: Problem, j: int, path: str) -> bool:
    try:
        return declared(problem, j, normalize_path(path))
    except ValueError:  # outside the work folder ('..'): no declaration covers it
        return False


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _files(tree: Path) -> Iterable[tuple[str, str]]:
    """(repository path, file path) of every file of a worktree, ``.git`` left out."""
    for folder, dirs, names in os.walk(tree):
        dirs[:] = [d for d in dirs if d != ".git"]
        rel = os.path.relpath(folder, tree)
        for name in names:
            yield (name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")), os.path.join(folder, name)


def _age_access_times(tree: Path) -> None:
    """Set every file's access time a second before its modification time: a read moves it
    (Linux ``relatime`` updates an access time that is not after the modification time)."""
    for _, path in _files(tree):
        try:
            st = os.lstat(path)
            if not os.path.islink(path):
                os.utime(path, ns=(st.st_mtime_ns - 1_000_000_000, st.st_mtime_ns))
        except OSError:
            pass


def _read_since(tree: Path) -> list[str]:
    """Files whose access time moved up to their modification time or past it."""
    read = []
    for rel, path in _files(tree):
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if st.st_atime_ns >= st.st_mtime_ns:
            read.append(rel)
    return sorted(read)


def merged_in(folder: Path, run_id: str) -> set[str]:
    """The agents whose changes a run merged into ``folder``'s repository (its merge commits on
    the checked-out branch): a coordinator killed between a merge and its history line must not
    run the agent again on ``--resume``. Empty outside a git repository."""
    top = _git(folder, "rev-parse", "--show-toplevel", check=False)
    if top.returncode != 0:
        return set()
    log = _git(Path(top.stdout.strip()), "log", "--format=%s", check=False)
    head, tail = "orchmilp: merge agent ", f" (run {run_id})"
    return {
        line[len(head) : -len(tail)]
        for line in log.stdout.splitlines()
        if line.startswith(head) and line.endswith(tail) and len(line) > len(head) + len(tail)
    }


def workspace(
    isolate: str, problem: Problem, folder: Path, run_id: str, run_folder: Path, skip: tuple[Path, ...], strict: bool
) -> Workspace:
    """The workspace ``--isolate`` asks for: ``none`` (shared folder) or ``worktree``;
    ``strict``: an attempt that wrote undeclared files is not merged."""
    if isolate == "worktree":
        return Worktrees(problem, folder, run_id, run_folder, strict)
    if isolate == "none":
        return SharedFolder(problem, folder, skip)
    raise InvalidOptions(f"--isolate {isolate!r}: use none or worktree")
