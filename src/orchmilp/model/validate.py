"""Semantic validation: from an :class:`Instance` to a :class:`Problem`.

Each rule of workflow-format.md, "Bad input", that a JSON Schema cannot
express is checked here; the first violation raises
:class:`~orchmilp.errors.InvalidWorkflow` with a one-line message naming the
agent and the field.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

from ..errors import InvalidWorkflow
from .instance import Instance
from .paths import file_locks, normalize_path
from .problem import Problem

__all__ = ["validate", "check_number"]


def _fmt(x: float) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


#: largest total of durations (and largest capacity or use): floats count whole units exactly
#: below 2**53, so plans, bounds and the checker's tolerances stay exact in this range
MAX_TOTAL = 1e15


def check_number(value: object, where: str) -> float:
    """``value`` as a float: a finite number from 0 to :data:`MAX_TOTAL`, else a one-line
    :class:`InvalidWorkflow` naming ``where``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidWorkflow(f"{where} = {value!r} is not a number")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidWorkflow(f"{where} is too large (at most {MAX_TOTAL:g})") from None
    if not math.isfinite(number):
        raise InvalidWorkflow(f"{where} = {value!r} is not a finite number")
    if number < 0:
        raise InvalidWorkflow(f"{where} = {_fmt(number)} must be >= 0")
    if number > MAX_TOTAL:
        hint = ": use a larger time_unit" if "duration" in where or "timeout" in where else ""
        raise InvalidWorkflow(f"{where} = {_fmt(number)} is too large (at most {MAX_TOTAL:g}{hint})")
    return number


def validate(instance: Instance) -> Problem:
    """Check every rule of the workflow format and build the problem arrays.

    >>> from orchmilp.model.instance import Agent, Instance
    >>> validate(Instance(agents=(Agent("a", 1), Agent("b", 2, depends_on=("a",))))).n
    2
    >>> validate(Instance(agents=(Agent("a", 1, depends_on=("z",)),)))
    Traceback (most recent call last):
    orchmilp.errors.InvalidWorkflow: agent 'a': depends_on names unknown agent 'z'
    """
    capacities = {}
    for name, cap in instance.resources.items():
        capacities[name] = check_number(cap, f"resources.{name}")

    index: dict[str, int] = {}
    for pos, agent in enumerate(instance.agents):
        if not isinstance(agent.id, str) or not agent.id:
            raise InvalidWorkflow(f"agent #{pos + 1}: id must be a non-empty string")
        if agent.id in index:
            raise InvalidWorkflow(f"agent '{agent.id}': duplicate id (agents #{index[agent.id] + 1} and #{pos + 1})")
        index[agent.id] = pos

    n = len(instance.agents)
    names = tuple(capacities)
    durations = np.zeros(n)
    usage = np.zeros((n, len(names)))
    edges: set[tuple[int, int]] = set()
    reads: list[tuple[str, ...]] = []
    writes: list[tuple[str, ...]] = []
    for j, agent in enumerate(instance.agents):
        who = f"agent '{agent.id}'"
        durations[j] = check_number(agent.duration, f"{who}: duration")
        for dep in agent.depends_on:
            if dep == agent.id:
                raise InvalidWorkflow(f"{who}: depends_on names the agent itself")
            if dep not in index:
                raise InvalidWorkflow(f"{who}: depends_on names unknown agent '{dep}'")
            edges.add((index[dep], j))
        for res, amount in agent.uses.items():
            if res not in capacities:
                declared = ", ".join(names) if names else "none"
                raise InvalidWorkflow(f"{who}: uses.{res} names an undeclared resource (declared: {declared})")
            amount = check_number(amount, f"{who}: uses.{res}")
            if amount > capacities[res] + 1e-9:
                raise InvalidWorkflow(f"{who}: uses.{res} = {_fmt(amount)} exceeds capacity {_fmt(capacities[res])}")
            usage[j, names.index(res)] = amount
        for field_name, raw_paths, out in (("reads", agent.reads, reads), ("writes", agent.writes, writes)):
            normal = []
            for k, raw in enumerate(raw_paths):
                try:
                    normal.append(normalize_path(raw))
                except ValueError as why:
                    raise InvalidWorkflow(f"{who}: {field_name}[{k}] = {raw!r} {why}") from None
            out.append(tuple(dict.fromkeys(normal)))
        _check_run_fields(agent, durations[j], index, edges, j)

    if durations.sum() > MAX_TOTAL:
        worst = int(np.argmax(durations))
        raise InvalidWorkflow(
            f"agent '{instance.agents[worst].id}': duration: the durations add up to {durations.sum():g}, "
            f"more than {MAX_TOTAL:g} (use a larger time_unit)"
        )
    edge_array = np.asarray(sorted(edges), dtype=np.int64).reshape(-1, 2)
    _reject_cycles(instance, edge_array)

    stages = None
    if instance.stages is not None:
        stages = _stages(instance, index)
        stage_of = {j: s for s, stage in enumerate(stages) for j in stage}
        for i, j in edge_array.tolist():
            if stage_of[i] > stage_of[j]:
                raise InvalidWorkflow(
                    f"agent '{instance.agents[j].id}': stages[{stage_of[j]}] puts it before its dependency "
                    f"'{instance.agents[i].id}' (stages[{stage_of[i]}])"
                )

    locks = file_locks(reads, writes)
    return Problem(
        name=instance.name,
        time_unit=instance.time_unit,
        ids=tuple(a.id for a in instance.agents),
        durations=durations,
        edges=edge_array,
        resource_names=names,
        capacities=np.asarray([capacities[r] for r in names], float),
        usage=usage,
        reads=tuple(reads),
        writes=tuple(writes),
        locks=tuple(locks),
        commands=tuple(a.command for a in instance.agents),
        stages=stages,
        kinds=tuple(a.kind or a.id for a in instance.agents),
        features=tuple(a.features for a in instance.agents),
        duration_ranges=tuple(a.duration_range for a in instance.agents),
        timeouts=tuple(a.timeout for a in instance.agents),
        retries=tuple(a.retries for a in instance.agents),
        run_if=tuple(a.run_if for a in instance.agents),
    )


def _check_run_fields(agent, duration: float, index: dict[str, int], edges: set, j: int) -> None:
    """docs/spec/run-format.md: ``duration_range`` brackets ``duration``; ``run_if`` names another
    agent, which must finish first (the condition is decided by it), so it becomes a dependency."""
    who = f"agent '{agent.id}'"
    for name, value in agent.features.items():
        check_number(value, f"{who}: features.{name}")
    if agent.duration_range is not None:
        low, high = (check_number(v, f"{who}: duration_range") for v in agent.duration_range)
        if not low <= duration <= high:
            raise InvalidWorkflow(
                f"{who}: duration_range = [{_fmt(low)}, {_fmt(high)}] must contain duration {_fmt(duration)}"
            )
    if agent.timeout is not None and not (check_number(agent.timeout, f"{who}: timeout") > 0):
        raise InvalidWorkflow(f"{who}: timeout = {_fmt(agent.timeout)} must be > 0")
    if isinstance(agent.retries, bool) or not isinstance(agent.retries, int) or agent.retries < 0:
        raise InvalidWorkflow(f"{who}: retries = {agent.retries!r} must be a whole number >= 0")
    if agent.run_if is not None:
        other = agent.run_if.get("agent")
        if other == agent.id:
            raise InvalidWorkflow(f"{who}: run_if names the agent itself")
        if other not in index:
            raise InvalidWorkflow(f"{who}: run_if names unknown agent '{other}'")
        if "status" not in agent.run_if and "exit_code" not in agent.run_if:
            raise InvalidWorkflow(f"{who}: run_if needs a 'status' or an 'exit_code'")
        edges.add((index[other], j))


def _reject_cycles(instance: Instance, edges: np.ndarray) -> None:
    """A cycle in the dependencies is an error naming it. Kahn's algorithm (linear) decides;
    networkx finds the cycle only when there is one."""
    n = len(instance.agents)
    indegree = np.bincount(edges[:, 1], minlength=n) if len(edges) else np.zeros(n, np.int64)
    order = np.argsort(edges[:, 0], kind="stable") if len(edges) else np.zeros(0, np.int64)
    heads, tails = edges[order, 0], edges[order, 1]
    first = np.searchsorted(heads, np.arange(n + 1))
    ready = np.flatnonzero(indegree == 0).tolist()
    indegree = indegree.tolist()
    seen = 0
    while ready:
        u = ready.pop()
        seen += 1
        for v in tails[first[u] : first[u + 1]].tolist():
            indegree[v] -= 1
            if indegree[v] == 0:
                ready.append(v)
    if seen == n:
        return
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(instance.agents)))
    graph.add_edges_from(map(tuple, edges.tolist()))
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return
    ids = [instance.agents[u].id for u, _ in cycle] + [instance.agents[cycle[0][0]].id]
    raise InvalidWorkflow(
        f"agent '{ids[-1]}': depends_on forms a cycle: " + " -> ".join(ids[::-1]) + " (each agent depends on the next)"
    )


def _stages(instance: Instance, index: dict[str, int]) -> tuple[tuple[int, ...], ...]:
    seen: dict[str, int] = {}
    out = []
    for s, stage in enumerate(instance.stages or ()):
        for agent_id in stage:
            if agent_id not in index:
                raise InvalidWorkflow(f"stages[{s}] names unknown agent '{agent_id}'")
            if agent_id in seen:
                raise InvalidWorkflow(f"agent '{agent_id}': listed in stages[{seen[agent_id]}] and stages[{s}]")
            seen[agent_id] = s
        out.append(tuple(index[a] for a in stage))
    missing = [a.id for a in instance.agents if a.id not in seen]
    if missing:
        raise InvalidWorkflow(f"agent '{missing[0]}': missing from stages (every agent must be in one stage)")
    return tuple(out)
