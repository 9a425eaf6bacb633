"""The infer service: the ``reads`` and ``writes`` each agent really needed, learnt from the
files its recorded runs touched (``wrote`` and ``read`` in the history, docs/isolation.md).

For each agent with at least ``min_runs`` attempts that ended ok (or whose changes only
failed to merge) and recorded files, a file is kept
when at least ``share`` of those attempts touched it (an LLM agent that once edits an
unrelated file does not widen its declaration for good). A declared path that covers a kept
file stays as written (a folder stays a folder); a kept file no declared path covers is
added; a declared path no attempt used is dropped. Reads are learnt only from attempts that
measured them (``--isolate worktree``); without, an agent's reads stay as declared.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..engine import Source, load_as_written, read_history_source
from ..errors import InvalidOptions
from ..model.paths import normalize_path, overlaps
from ..statuses import AgentStatus

__all__ = ["Inferred", "InferOutcome", "infer"]


@dataclass(frozen=True)
class Inferred:
    """One agent's declarations: as written, as learnt, and from how many attempts."""

    agent: str
    attempts: int
    reads: tuple[str, ...] | None  # None: not learnt (too few attempts, or reads never measured)
    writes: tuple[str, ...] | None
    declared_reads: tuple[str, ...]
    declared_writes: tuple[str, ...]

    def changes(self) -> dict[str, list[str]]:
        """What the patch does to this agent: paths added to and dropped from each field."""
        out: dict[str, list[str]] = {}
        for name, learnt, written in (
            ("reads", self.reads, self.declared_reads),
            ("writes", self.writes, self.declared_writes),
        ):
            if learnt is None:
                continue
            added = [p for p in learnt if p not in written]
            dropped = [p for p in written if p not in learnt]
            if added:
                out[f"add_{name}"] = added
            if dropped:
                out[f"drop_{name}"] = dropped
        return out


@dataclass(frozen=True)
class InferOutcome:
    agents: tuple[Inferred, ...]
    workflow: dict[str, Any]  # the workflow with the learnt declarations
    undeclared: dict[str, list[str]]  # agent -> files some attempt wrote without declaring them

    def patch(self) -> dict[str, Any]:
        """The changes as JSON: agent -> add_/drop_ reads/writes (agents without change left out)."""
        return {a.agent: a.changes() for a in self.agents if a.changes()}


def _learnt(counts: Counter, attempts: int, share: float) -> list[str]:
    return sorted(p for p, c in counts.items() if c >= share * attempts)


def _merge(declared: list[str], kept: list[str]) -> list[str]:
    """Declared paths that cover a kept file (as written), then kept files none covers."""
    normal = {raw: normalize_path(raw) for raw in declared}
    used = [raw for raw in declared if any(overlaps(normal[raw], k) for k in kept)]
    extra = [k for k in kept if not any(overlaps(normal[raw], k) for raw in used)]
    return used + extra


def infer(workflow: Source, history: Any, *, min_runs: int = 2, share: float = 0.5) -> InferOutcome:
    """Learn each agent's reads and writes from ``history`` (see the module docstring)."""
    loaded = load_as_written(workflow)
    written = loaded.workflow
    records = read_history_source(history)
    if records is None:
        raise InvalidOptions("infer needs a history (--history)")
    wrote: dict[str, Counter] = {}
    read: dict[str, Counter] = {}
    attempts: Counter = Counter()
    read_attempts: Counter = Counter()
    undeclared: dict[str, set[str]] = {}
    for agent, status, files in zip(records.agent, records.status, records.files):
        if "wrote" not in files:
            continue
        if files.get("undeclared"):
            undeclared.setdefault(agent, set()).update(files["undeclared"])
        if status != AgentStatus.OK and "conflict" not in files:  # a conflict: its command did end ok
            continue
        attempts[agent] += 1
        wrote.setdefault(agent, Counter()).update(set(files["wrote"]))
        if "read" in files:
            read_attempts[agent] += 1
            read.setdefault(agent, Counter()).update(set(files["read"]))
    out_agents, learnt_agents = [], []
    for agent in written["agents"]:
        name = agent["id"]
        declared_reads, declared_writes = list(agent.get("reads", [])), list(agent.get("writes", []))
        new = dict(agent)
        writes = reads = None
        if attempts[name] >= min_runs:
            writes = _merge(declared_writes, _learnt(wrote.get(name, Counter()), attempts[name], share))
            new["writes"] = writes
        if read_attempts[name] >= min_runs:
            kept = _learnt(read.get(name, Counter()), read_attempts[name], share)
            covered = writes if writes is not None else declared_writes
            kept = [p for p in kept if not any(overlaps(normalize_path(w), p) for w in covered)]
            reads = _merge(declared_reads, kept)
            new["reads"] = reads
        for key in ("reads", "writes"):
            if key in new and not new[key]:
                del new[key]
        learnt_agents.append(new)
        out_agents.append(
            Inferred(
                name,
                int(attempts[name]),
                None if reads is None else tuple(reads),
                None if writes is None else tuple(writes),
                tuple(declared_reads),
                tuple(declared_writes),
            )
        )
    names = {a["id"] for a in written["agents"]}
    return InferOutcome(
        tuple(out_agents),
        {**written, "agents": learnt_agents},
        {a: sorted(f) for a, f in sorted(undeclared.items()) if a in names},
    )
