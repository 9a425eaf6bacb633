"""Re-planning while running (``orchmilp run --adaptive``).

When actual durations drift from the plan, the agents not yet started are
planned again: finished agents are gone, running agents stay where they
are (they become agents of their expected remaining time that must start
at once), pending agents keep their planned durations. A new plan is used
only if it starts every running agent at time 0 and is not longer than what
the current plan leaves; otherwise the current plan stays. The same function
drives the real executor and the trace simulation of ``bench/adaptive.py``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["allowance", "drifted", "residual_workflow", "replan"]

#: an agent has drifted when it ends this much earlier or later than planned (relative) ...
DRIFT = 0.2
#: ... and at least this many seconds
MIN_DRIFT_SECONDS = 1.0


def allowance(planned: float) -> float:
    """How far from its planned duration an agent may end before the plan is re-made."""
    return max(DRIFT * planned, MIN_DRIFT_SECONDS)


def drifted(planned: float, actual: float) -> bool:
    return abs(actual - planned) > allowance(planned)


def residual_workflow(
    written: dict[str, Any],
    done: set[str],
    remaining: Mapping[str, float],
    durations: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The workflow of what is left: ``done`` agents removed (their dependents no longer wait
    for them), running agents (``remaining``: id -> expected seconds left) without dependencies,
    every other agent with its planned duration (or ``durations``)."""
    out = copy.deepcopy(written)
    agents = []
    for agent in out["agents"]:
        aid = agent["id"]
        if aid in done:
            continue
        agent.pop("duration_range", None)
        agent.pop("run_if", None)  # decided at run time; its dependency stays in depends_on
        if aid in remaining:
            agent["duration"] = max(float(remaining[aid]), 0.0)
            agent.pop("depends_on", None)
        else:
            if durations and aid in durations:
                agent["duration"] = durations[aid]
            agent["depends_on"] = [d for d in agent.get("depends_on", []) if d not in done]
            condition = (written_agent(written, aid) or {}).get("run_if")
            if condition and condition["agent"] not in done and condition["agent"] not in agent["depends_on"]:
                agent["depends_on"].append(condition["agent"])
        agents.append(agent)
    out["agents"] = agents
    out.pop("stages", None)
    return out


def written_agent(written: dict[str, Any], aid: str) -> dict[str, Any] | None:
    return next((a for a in written["agents"] if a["id"] == aid), None)


def replan(
    written: dict[str, Any],
    done: set[str],
    remaining: Mapping[str, float],
    current_left: float,
    time_limit: float,
    durations: Mapping[str, float] | None = None,
    current_waits: Mapping[str, list[str]] | None = None,
) -> dict[str, list[str]] | None:
    """New ``waits_for`` (id -> ids) for the agents not yet started, or None to keep the plan.

    ``current_left``: how long the current plan still needs from now (for the comparison);
    ``current_waits``: the current plan's waits_for (id -> ids), the solve's warm start."""
    from ..engine import solve

    residual = residual_workflow(written, done, remaining, durations)
    if not residual["agents"]:
        return None
    warm = _current_schedule(residual, done, current_waits) if current_waits is not None else None
    result = solve(residual, time_limit=time_limit, initial_start=warm)
    plan = result.to_dict()
    starts = {e["id"]: e["start"] for e in plan["schedule"]}
    if any(starts[a] > 1e-9 for a in remaining):
        return None  # the new plan would delay an agent that already runs
    if result.makespan > current_left + 1e-9:
        return None
    return {e["id"]: list(e["waits_for"]) for e in plan["schedule"] if e["id"] not in remaining}


def _current_schedule(residual: dict[str, Any], done: set[str], waits: Mapping[str, list[str]]):
    """The current plan's policy replayed on the residual workflow: a feasible warm start."""
    ids = [a["id"] for a in residual["agents"]]
    durations = {a["id"]: float(a["duration"]) for a in residual["agents"]}
    finish: dict[str, float] = {}
    start: dict[str, float] = {}
    pending = list(ids)
    while pending:
        progressed = False
        for aid in list(pending):
            before = [w for w in waits.get(aid, []) if w not in done]
            if all(w in finish for w in before):
                start[aid] = max((finish[w] for w in before), default=0.0)
                finish[aid] = start[aid] + durations[aid]
                pending.remove(aid)
                progressed = True
        if not progressed:
            return None
    return tuple(start[a] for a in ids)
