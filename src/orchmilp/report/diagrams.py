"""Dependency diagrams as text: Mermaid and Graphviz DOT.

Dependencies are solid arrows; with a plan, the orderings the optimiser
added (resources, files) are dashed and the critical path is highlighted.
"""

from __future__ import annotations

import re

from ..io.numbers import plain_number
from ..model.problem import Problem
from ..result import Result

__all__ = ["mermaid", "dot"]


def _node(agent_id: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", "_", agent_id)


def _label(problem: Problem, j: int, result: Result | None) -> str:
    text = f"{problem.ids[j]} ({plain_number(problem.durations[j])} {problem.time_unit})"
    if result is not None:
        text += f" @{plain_number(result.start[j])}"
    return text


def _added(problem: Problem, result: Result | None) -> list[tuple[int, int, str]]:
    if result is None:
        return []
    deps = {tuple(e) for e in problem.edges.tolist()}
    waits = {(i, j) for j, w in enumerate(result.waits_for) for i in w}
    return [(i, j, why) for i, j, why in result.orderings if (i, j) in waits and (i, j) not in deps]


def mermaid(problem: Problem, result: Result | None = None) -> str:
    """Mermaid ``flowchart`` text of the dependencies (and the plan's orderings).

    >>> from orchmilp.api import load
    >>> print(mermaid(load({"agents": [{"id": "a", "duration": 1}, {"id": "b", "duration": 2, "depends_on": ["a"]}]})))
    flowchart LR
      n_a["a (1 s)"]
      n_b["b (2 s)"]
      n_a --> n_b
    """
    lines = ["flowchart LR"]
    for j in range(problem.n):
        label = _label(problem, j, result).replace('"', "'")
        lines.append(f'  {_node(problem.ids[j])}["{label}"]')
    for i, j in problem.edges.tolist():
        lines.append(f"  {_node(problem.ids[i])} --> {_node(problem.ids[j])}")
    for i, j, why in _added(problem, result):
        lines.append(f'  {_node(problem.ids[i])} -. "{why}" .-> {_node(problem.ids[j])}')
    if result is not None and result.critical_path_index:
        lines.append("  classDef critical fill:#fde2e2,stroke:#c0392b,stroke-width:2px")
        lines.append("  class " + ",".join(_node(problem.ids[j]) for j in result.critical_path_index) + " critical")
    return "\n".join(lines)


def dot(problem: Problem, result: Result | None = None) -> str:
    """Graphviz DOT text of the dependencies (and the plan's orderings).

    >>> from orchmilp.api import load
    >>> print(dot(load({"agents": [{"id": "a", "duration": 1}]})))
    digraph workflow {
      rankdir=LR;
      node [shape=box, style=rounded];
      n_a [label="a (1 s)"];
    }
    """
    critical = set(result.critical_path_index) if result is not None else set()
    lines = ["digraph workflow {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
    for j in range(problem.n):
        style = ', color="#c0392b", penwidth=2' if j in critical else ""
        label = _label(problem, j, result).replace('"', "'")
        lines.append(f'  {_node(problem.ids[j])} [label="{label}"{style}];')
    for i, j in problem.edges.tolist():
        lines.append(f"  {_node(problem.ids[i])} -> {_node(problem.ids[j])};")
    for i, j, why in _added(problem, result):
        lines.append(f'  {_node(problem.ids[i])} -> {_node(problem.ids[j])} [style=dashed, label="{why}"];')
    lines.append("}")
    return "\n".join(lines)
