"""A plan as instructions for an orchestrating coding agent (``export --format claude``).

Markdown, one section per wave: the subagents to launch together in one message (each with its
``prompt``, else its ``command``), what the wave waits for, and the file locks and capacities
that hold. A wave plan (``solve --waves``) is exported as its waves; an event-driven plan as the
levels of its ``waits_for`` (every agent one level after the last agent it waits for): a safe
batching of it, since any run that keeps ``waits_for`` keeps every limit. For the event-driven
plan itself, drive ``orchmilp session`` instead.

Workflow text reaches the Markdown only inside code spans and fences long enough for any run of
backticks it holds, so a prompt cannot end its block and write instructions of its own.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..errors import InvalidPlan
from .export import _entries
from .names import printable

__all__ = ["to_claude"]


def _code(text: str) -> str:
    """``text`` as one inline code span (newlines and control characters escaped)."""
    text = printable(text)
    ticks = max((len(m) for m in re.findall(r"`+", text)), default=0) + 1
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{'`' * ticks}{pad}{text}{pad}{'`' * ticks}"


def _block(text: str, lang: str = "text") -> list[str]:
    """``text`` as a fenced block whose fence no line of it can close."""
    text = "".join(c if c in "\n\t" or c.isprintable() else printable(c) for c in text)
    fence = "`" * max(3, max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    return [f"{fence}{lang}", *text.splitlines(), fence]


def _waves(plan: dict[str, Any], entries: list[dict[str, Any]]) -> list[list[str]]:
    if plan.get("dispatch") == "waves" and isinstance(plan.get("waves"), list):
        out = []
        known = {e["id"] for e in entries}
        for k, wave in enumerate(plan["waves"]):
            agents = wave.get("agents") if isinstance(wave, dict) else None
            if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
                raise InvalidPlan(f"waves[{k}]: 'agents' must be a list of agent ids")
            unknown = [a for a in agents if a not in known]
            if unknown:
                raise InvalidPlan(f"waves[{k}]: agent '{printable(unknown[0])}' is not in the schedule")
            out.append(sorted(agents))
        return out
    level: dict[str, int] = {}
    waits = {e["id"]: e.get("waits_for", []) for e in entries}

    def depth(a: str, seen: tuple[str, ...] = ()) -> int:
        if a not in level:
            if a in seen:
                raise InvalidPlan(f"agent '{printable(a)}': waits_for forms a cycle")
            level[a] = 1 + max((depth(w, (*seen, a)) for w in waits[a]), default=-1)
        return level[a]

    for e in entries:
        depth(e["id"])
    out = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for a, k in level.items():
        out[k].append(a)
    return [sorted(w) for w in out]


def to_claude(
    plan: dict[str, Any], workflow: dict[str, Any] | None = None, conflicts: Sequence[tuple[str, str]] = ()
) -> str:
    """The Markdown; ``workflow`` adds each agent's prompt, subagent type, files and uses, and
    ``conflicts`` (pairs of agent ids that touch one file, one writing) the file locks."""
    entries = _entries(plan)
    written = {a["id"]: a for a in (workflow or {}).get("agents", []) if isinstance(a, dict) and "id" in a}
    by_id = {e["id"]: e for e in entries}
    unit = printable(plan.get("time_unit", "s"))
    waves = _waves(plan, entries)
    lines = [
        f"# Orchestration plan: {_code(str(plan.get('name', 'workflow')))}",
        "",
        f"Planned makespan {printable(plan.get('makespan'))} {unit} ({printable(plan.get('status'))}, "
        f"proven lower bound {printable(plan.get('lower_bound'))} {unit}).",
        "",
        f"Run it in {len(waves)} waves. For each wave: launch every subagent listed in ONE message "
        "(parallel Task calls), wait until all of them have finished, then go to the next wave. "
        "If one fails, stop and report it before launching the next wave.",
    ]
    if plan.get("dispatch") != "waves":
        lines += [
            "",
            "These waves are the levels of an event-driven plan. To start each agent the moment what it "
            "waits for has finished (shorter), drive `orchmilp session start/done` instead.",
        ]
    for k, wave in enumerate(waves, 1):
        length = max((by_id[a].get("finish", 0) - by_id[a].get("start", 0) for a in wave), default=0)
        after = "nothing" if k == 1 else f"every agent of wave {k - 1}"
        lines += ["", f"## Wave {k}: {len(wave)} subagent(s) in one message", ""]
        lines += [f"Waits for {after}. Longest agent: {printable(round(length, 6))} {unit}.", ""]
        for a in wave:
            agent = written.get(a, {})
            kind = agent.get("subagent")
            lines.append(f"### {_code(a)}" + (f" (subagent type {_code(kind)})" if isinstance(kind, str) else ""))
            files = [f"{what} {', '.join(_code(p) for p in agent.get(what, []))}" for what in ("writes", "reads")]
            files = [f for f in files if not f.endswith(" ")]
            uses = ", ".join(f"{_code(r)} {printable(v)}" for r, v in (agent.get("uses") or {}).items())
            if files or uses:
                lines.append("")
                lines.append("; ".join(files + ([f"uses {uses}"] if uses else [])) + ".")
            prompt = agent.get("prompt")
            command = by_id[a].get("command") or agent.get("command")
            if isinstance(prompt, str):
                lines += ["", "Prompt:", *_block(prompt)]
            elif isinstance(command, str):
                lines += ["", "Command:", *_block(command, "bash")]
    lines += [""] + _limits(workflow, conflicts)
    return "\n".join(lines).rstrip() + "\n"


#: file locks listed one by one; more are counted
MAX_LOCKS = 40


def _limits(workflow: dict[str, Any] | None, conflicts: Sequence[tuple[str, str]]) -> list[str]:
    """The capacities and file locks the waves respect."""
    if not workflow:
        return []
    out = ["## Limits these waves respect", ""]
    for name, capacity in (workflow.get("resources") or {}).items():
        out.append(f"- {_code(name)}: at most {printable(capacity)} at a time (the agents' `uses` added up)")
    for a, b in conflicts[:MAX_LOCKS]:
        out.append(f"- {_code(a)} and {_code(b)} touch the same file (one writes it): never in one wave")
    if len(conflicts) > MAX_LOCKS:
        out.append(f"- and {len(conflicts) - MAX_LOCKS} more pairs that touch the same file")
    if len(out) == 2:
        out.append("- none besides the dependencies")
    return out
