"""What-if scenarios: change the workflow, re-solve, re-predict, compare with the base.

Each scenario is one edit of the workflow as written (``--set``, ``--add``,
``--remove``, ``--split``, ``--scale``), applied to the base alone. The
edited workflow goes through the whole pipeline (validation, solve with its
proof, independent check, prediction), so a scenario's figures are as
trustworthy as the base's. With a history, ``--split`` and ``--scale`` also
divide or scale the run time the history predicts for the agent (its
``work``), not only the figures the user wrote.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from ..errors import InvalidOptions, NoPlanFits

__all__ = ["Scenario", "Variant", "scenario", "SCENARIO_FLAGS", "sweep_values", "evaluate", "compare", "knee"]

SCENARIO_FLAGS = ("set", "add", "remove", "split", "scale")


class Variant(NamedTuple):
    """One workflow to solve and predict: the base, a scenario's edit, or a sweep's step."""

    label: str
    workflow: dict[str, Any]
    #: agent id -> multiplier of the run time its kind's history predicts for it
    work: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True)
class Scenario:
    label: str  # the flag as written, e.g. "--split review=3"
    edit: Callable[[dict[str, Any]], dict[str, Any]]
    #: agent id (after the edit) -> multiplier of its history's prediction (split, scale)
    work: Mapping[str, float] = field(default_factory=dict)

    def apply(self, base: dict[str, Any], label: str | None = None) -> Variant:
        """The edited copy of ``base`` as a variant (``label``: instead of the flag)."""
        return Variant(label or self.label, self.edit(base), self.work)


def _agent(workflow: dict[str, Any], agent_id: str, label: str) -> dict[str, Any]:
    for agent in workflow["agents"]:
        if agent.get("id") == agent_id:
            return agent
    raise InvalidOptions(f"{label}: the workflow has no agent '{agent_id}'")


def _pair(text: str, label: str) -> tuple[str, str]:
    if "=" not in text:
        raise InvalidOptions(f"{label}: expected NAME=VALUE")
    key, value = text.split("=", 1)
    return key.strip(), value.strip()


def _number(text: str, label: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidOptions(f"{label}: {text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise InvalidOptions(f"{label}: {text!r} must be a finite number >= 0")
    return value


def _set(text: str, label: str):
    key, raw = _pair(text, label)
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    parts = key.split(".")

    def edit(workflow):
        if parts[0] == "budgets" and len(parts) == 2:
            workflow.setdefault("budgets", {})[parts[1]] = value
        elif parts == ["deadline"]:
            workflow["deadline"] = value
        elif len(parts) == 2 and parts[1] == "mode":  # model choice: keep the agent in one mode
            agent = _agent(workflow, parts[0], label)
            names = [m.get("name") for m in agent.get("modes", [])]
            if value not in names:
                raise InvalidOptions(
                    f"{label}: agent '{parts[0]}' has no mode {value!r} (modes: {', '.join(map(str, names)) or 'none'})"
                )
            agent["modes"] = [m for m in agent["modes"] if m.get("name") == value]
        elif parts[0] == "resources" and len(parts) == 2:
            declared = workflow.get("resources", {})
            if parts[1] not in declared:
                names = ", ".join(declared) or "none"
                raise InvalidOptions(f"{label}: the workflow has no resource '{parts[1]}' (declared: {names})")
            declared[parts[1]] = value
        elif len(parts) >= 2:
            target = _agent(workflow, parts[0], label)
            for part in parts[1:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
        else:
            raise InvalidOptions(
                f"{label}: set resources.NAME=V, budgets.KEY=V, deadline=V or AGENT.FIELD=V (e.g. review.duration=30, "
                "impl.mode=haiku)"
            )
        return workflow

    return edit, {}


def _add(text: str, label: str):
    from ..io.workflow import read_json_file

    extra = read_json_file(text)
    if not isinstance(extra, dict) or not isinstance(extra.get("agents"), list):
        raise InvalidOptions(f"{label}: {text} must be a workflow file with an 'agents' list")

    def edit(workflow):
        ids = {a.get("id") for a in workflow["agents"]}
        for agent in extra["agents"]:
            if agent.get("id") in ids:
                raise InvalidOptions(f"{label}: agent '{agent.get('id')}' is already in the workflow")
            workflow["agents"].append(copy.deepcopy(agent))
            _stage_added(workflow, agent)
        for name, cap in extra.get("resources", {}).items():
            workflow.setdefault("resources", {}).setdefault(name, cap)
        return workflow

    return edit, {}


def _restage(workflow: dict[str, Any], agent_id: str, instead: list[str]) -> None:
    """The user's ``stages`` with ``agent_id`` replaced by ``instead`` (none: removed; a stage
    left empty goes)."""
    if "stages" not in workflow:
        return
    stages = [[x for a in stage for x in (instead if a == agent_id else [a])] for stage in workflow["stages"]]
    workflow["stages"] = [stage for stage in stages if stage]


def _stage_added(workflow: dict[str, Any], agent: dict[str, Any]) -> None:
    """An added agent joins the stage of its latest dependency (the first stage without one)."""
    if "stages" not in workflow:
        return
    stage_of = {a: k for k, stage in enumerate(workflow["stages"]) for a in stage}
    k = max((stage_of[d] for d in agent.get("depends_on", []) if d in stage_of), default=0)
    if not workflow["stages"]:
        workflow["stages"].append([])
    workflow["stages"][k].append(agent["id"])


def _replace_dependency(workflow: dict[str, Any], agent_id: str, instead: list[str], label: str) -> None:
    """Every agent that depends on ``agent_id`` depends on ``instead`` (in its place) from now on;
    an agent whose ``run_if`` names it cannot be rewritten that way and is refused."""
    for agent in workflow["agents"]:
        deps = agent.get("depends_on", [])
        if agent_id in deps:
            agent["depends_on"] = list(dict.fromkeys([d for d in deps if d != agent_id] + instead))
        if isinstance(agent.get("run_if"), dict) and agent["run_if"].get("agent") == agent_id:
            raise InvalidOptions(f"{label}: agent '{agent['id']}' has run_if on '{agent_id}'")


def _remove(text: str, label: str):
    def edit(workflow):
        gone = _agent(workflow, text, label)
        workflow["agents"] = [a for a in workflow["agents"] if a is not gone]
        _restage(workflow, text, [])
        # dependents keep the order: they wait for what it waited for
        _replace_dependency(workflow, text, list(gone.get("depends_on", ())), label)
        return workflow

    return edit, {}


def _split(text: str, label: str):
    agent_id, raw = _pair(text, label)
    parts = _number(raw, label)
    if parts != int(parts) or parts < 2:
        raise InvalidOptions(f"{label}: the number of parts must be a whole number >= 2")
    k = int(parts)

    def edit(workflow):
        whole = _agent(workflow, agent_id, label)
        names = [f"{agent_id}#{i}" for i in range(1, k + 1)]
        pieces = []
        for name in names:
            piece = copy.deepcopy(whole)
            piece["id"] = name
            piece["kind"] = whole.get("kind", agent_id)  # history is matched by kind (default: the id)
            piece["duration"] = whole["duration"] / k
            if "duration_range" in piece:
                piece["duration_range"] = [v / k for v in whole["duration_range"]]
            pieces.append(piece)
        at = workflow["agents"].index(whole)
        workflow["agents"][at : at + 1] = pieces
        _restage(workflow, agent_id, names)
        _replace_dependency(workflow, agent_id, names, label)  # dependents wait for all parts
        return workflow

    return edit, {f"{agent_id}#{i}": 1 / k for i in range(1, k + 1)}


def _scale(text: str, label: str):
    agent_id, raw = _pair(text, label)
    factor = _number(raw, label)

    def edit(workflow):
        agent = _agent(workflow, agent_id, label)
        agent["duration"] = agent["duration"] * factor
        if "duration_range" in agent:
            agent["duration_range"] = [v * factor for v in agent["duration_range"]]
        return workflow

    return edit, {agent_id: factor}


_BUILDERS = {"set": _set, "add": _add, "remove": _remove, "split": _split, "scale": _scale}


def scenario(flag: str, value: str) -> Scenario:
    """The scenario of one command-line flag (``flag`` without dashes)."""
    label = f"--{flag} {value}"
    edit, work = _BUILDERS[flag](value, label)  # work: see Scenario.work

    def on_copy(workflow: dict[str, Any]) -> dict[str, Any]:
        return edit(copy.deepcopy(workflow))

    return Scenario(label, on_copy, work)


def sweep_values(text: str) -> tuple[str, list[float]]:
    """``resources.cores=1..16`` (or ``=1,2,4,8``; or a budget, ``budgets.usd=2..20``) ->
    ("resources.cores", [1, ..., 16])."""
    key, raw = _pair(text, f"--sweep {text}")
    if not key.startswith(("resources.", "budgets.")) or key.count(".") != 1:
        raise InvalidOptions(
            f"--sweep {text}: sweep a resource or a budget, e.g. resources.cores=1..16, budgets.usd=2..20"
        )
    if ".." in raw:
        lo, hi = (_number(v, f"--sweep {text}") for v in raw.split("..", 1))
        if hi < lo or hi - lo > 1000 or lo != int(lo) or hi != int(hi):
            raise InvalidOptions(f"--sweep {text}: give whole numbers LOW..HIGH, at most 1000 apart")
        return key, [float(v) for v in range(int(lo), int(hi) + 1)]
    return key, [_number(v, f"--sweep {text}") for v in raw.split(",")]


def evaluate(variant: Variant, *, time_limit: float, history=None, samples: int = 4000) -> dict[str, Any]:
    """Solve and predict one variant: the row of ``orchmilp whatif --json``."""
    from ..engine import read_inputs, solve

    inputs = read_inputs(variant.workflow, history, variant.work)
    try:
        result = solve(inputs.planned, time_limit=time_limit)
    except NoPlanFits as err:  # model choice: no choice of modes keeps within the budgets
        empty = dict.fromkeys(("makespan", "lower_bound", "p50", "p90", "p50_se", "p90_se"))
        return {"scenario": variant.label, "status": "infeasible", **empty, "reason": str(err)}
    prediction = inputs.predict(result, samples=samples)
    return {
        "scenario": variant.label,
        "status": result.status.value,
        "makespan": result.to_dict()["makespan"],
        "lower_bound": result.to_dict()["lower_bound"],
        "p50": prediction.to_dict()["p50"],
        "p90": prediction.to_dict()["p90"],
        # the Monte Carlo standard errors: a difference within about twice them is noise
        "p50_se": _monte_carlo_error(prediction.makespans, 0.5),
        "p90_se": _monte_carlo_error(prediction.makespans, 0.9),
    }


def _monte_carlo_error(makespans, q: float) -> float:
    from ..prediction.simulate import quantile_error

    return float(f"{quantile_error(makespans, q):.3g}")


def compare(
    variants: list[Variant],
    *,
    seconds: Iterable[float],
    history=None,
    samples: int = 4000,
    on_start: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Each variant solved (for the next of ``seconds``) and predicted: the rows of ``whatif``."""
    rows = []
    for variant, limit in zip(variants, seconds):
        if on_start:
            on_start(variant.label)
        rows.append(evaluate(variant, time_limit=max(limit, 0.1), history=history, samples=samples))
    return rows


def knee(points: list[tuple[float, float]], floor: float = 0.0, tolerance: float = 1e-6) -> float | None:
    """The smallest capacity whose makespan is already the best of the sweep, where more is seen
    not to help: a larger capacity of the sweep is no faster, or the makespan is ``floor`` (the
    longest dependency chain, which no capacity shortens). None when the best is reached only
    at the sweep's end above the floor: more may still help."""
    if not points:
        return None
    best = min(m for _, m in points)
    at = min(v for v, m in points if m <= best * (1 + tolerance) + tolerance)
    if at < max(v for v, _ in points) or best <= floor * (1 + tolerance) + tolerance:
        return at
    return None


def read_workflow_dict(path: str | Path) -> dict[str, Any]:
    from ..engine import load_as_written

    return load_as_written(path).workflow


__all__ += ["read_workflow_dict"]
