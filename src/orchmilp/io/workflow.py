"""Reading workflows: JSON text or a dict -> schema check -> :class:`Instance`.

The JSON Schema shipped with the package (``workflow.schema.json``) is the
machine-readable form of docs/spec/workflow-format.md; its violations are turned
into one-line messages that name the agent and the field.
"""

from __future__ import annotations

import copy
import json
import warnings
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema

from ..errors import InvalidWorkflow, OrchmilpWarning
from ..model.instance import Agent, Instance
from ..statuses import FINAL
from .files import loads_json, read_json
from .modes import has_model_choice, mode_table
from .numbers import plain_number

__all__ = [
    "workflow_schema",
    "parse_json",
    "instance_from_dict",
    "read_json_file",
    "read_workflow",
    "problem_to_workflow",
    "with_durations",
]

_TYPE_NAMES = {
    "number": "a number",
    "integer": "an integer",
    "string": "a string",
    "array": "a list",
    "object": "an object",
}


@lru_cache(maxsize=1)
def workflow_schema() -> dict[str, Any]:
    """The JSON Schema of the workflow format."""
    text = resources.files(__package__).joinpath("workflow.schema.json").read_text()
    return json.loads(text)


class _NonFinite(str):
    """Stands in for NaN, Infinity and -Infinity while parsing, so the error can name where they are."""


def _find_non_finite(data: Any, path: list) -> list | None:
    if isinstance(data, _NonFinite):
        return path
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found = _find_non_finite(value, path + [key])
        if found is not None:
            return found
    return None


def parse_json(text: str, source: str = "<workflow>") -> Any:
    """Parse JSON text; a syntax error names the line and column, a NaN or Infinity the agent and field."""
    return _finite(loads_json(text, source, InvalidWorkflow, parse_constant=_NonFinite), source)


def _finite(data: Any, source: str) -> Any:
    """``data``, unless a NaN or Infinity is in it: an error naming the agent and field."""
    path = _find_non_finite(data, [])
    if path is not None:
        value = data
        for key in path:
            value = value[key]
        raise InvalidWorkflow(f"{source}: {_where(data, path)} = {value} is not a finite number")
    return data


def _where(data: Any, path: list) -> str:
    """'agent 'x': uses.memory' style location for a schema error path."""
    if len(path) >= 2 and path[0] == "agents" and isinstance(path[1], int):
        agent = data["agents"][path[1]]
        if isinstance(agent, dict) and isinstance(agent.get("id"), str) and agent["id"]:
            who = f"agent '{agent['id']}'"
        else:
            who = f"agent #{path[1] + 1}"
        rest = path[2:]
    else:
        who, rest = "", list(path)
    field = ""
    for part in rest:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    if who and field:
        return f"{who}: {field}"
    return who or field or "workflow"


def _schema_message(data: Any, err: jsonschema.ValidationError) -> str:
    path = list(err.absolute_path)
    where = _where(data, path)
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        return f"{where}: missing required field '{missing}'"
    if err.validator == "anyOf" and isinstance(err.instance, dict) and "id" in err.instance:
        return f"{where}: missing required field 'duration' (or 'modes')"
    value = err.instance
    if err.validator == "type":
        expected = err.validator_value
        if expected == "number" and isinstance(value, str):
            return f"{where} = {value!r} is not a number"
        return f"{where} = {json.dumps(value)[:60]} is not {_TYPE_NAMES.get(expected, expected)}"
    if err.validator == "minimum":
        return f"{where} = {value} must be >= {err.validator_value}"
    if err.validator == "exclusiveMinimum":
        return f"{where} = {value} must be > {err.validator_value}"
    if err.validator in ("minItems", "maxItems"):
        return f"{where} = {json.dumps(value)[:60]} must be a list of {err.validator_value} numbers"
    if err.validator == "enum":
        return f"{where} = {json.dumps(value)[:60]} must be one of {', '.join(map(str, err.validator_value))}"
    if err.validator == "additionalProperties":
        return f"{where}: {err.message}"
    if err.validator == "minProperties":
        return f"{where} must name the agent and a 'status' or an 'exit_code'"
    if err.validator == "minLength":
        return f"{where} must be a non-empty string"
    return f"{where}: {err.message}"


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _amounts(value: Any) -> bool:
    return isinstance(value, dict) and all(_num(v) for v in value.values())


_RUN_IF_STATUSES = frozenset(FINAL)


def _surely_valid(data: dict) -> bool:
    """A fast check that implies the JSON Schema holds (stricter where that is simpler):
    jsonschema walks 20,000 agents in seconds, and is asked only when this says no, for
    its error message."""
    if not isinstance(data.get("agents"), list):
        return False
    if not isinstance(data.get("name", ""), str) or not isinstance(data.get("time_unit", ""), str):
        return False
    if not _amounts(data.get("resources", {})):
        return False
    if "stages" in data and not (isinstance(data["stages"], list) and all(_strings(s) for s in data["stages"])):
        return False
    for a in data["agents"]:
        if not isinstance(a, dict) or not isinstance(a.get("id"), str) or not a["id"] or not _num(a.get("duration")):
            return False
        for key in ("depends_on", "reads", "writes"):
            if key in a and not _strings(a[key]):
                return False
        for key in ("uses", "features"):
            if key in a and not _amounts(a[key]):
                return False
        for key in ("command", "prompt", "subagent"):
            if key in a and not isinstance(a[key], str):
                return False
        if "kind" in a and not (isinstance(a["kind"], str) and a["kind"]):
            return False
        if "duration_range" in a:
            r = a["duration_range"]
            if not (isinstance(r, list) and len(r) == 2 and all(_num(v) for v in r)):
                return False
        if "timeout" in a and not (_num(a["timeout"]) and a["timeout"] > 0):
            return False
        if "retries" in a and not (type(a["retries"]) is int and a["retries"] >= 0):
            return False
        if "run_if" in a:
            c = a["run_if"]
            if not isinstance(c, dict) or not isinstance(c.get("agent"), str) or not c["agent"] or len(c) < 2:
                return False
            if set(c) - {"agent", "status", "exit_code"}:
                return False
            if "status" in c and not (isinstance(c["status"], str) and c["status"] in _RUN_IF_STATUSES):
                return False
            if "exit_code" in c and type(c["exit_code"]) is not int:
                return False
    return True


def instance_from_dict(data: Any, source: str = "<workflow>") -> Instance:
    """Check ``data`` against the workflow schema and build an :class:`Instance`."""
    if not isinstance(data, dict):
        raise InvalidWorkflow(f"{source}: a workflow must be a JSON object with an 'agents' list")
    errors = [] if _surely_valid(data) else list(jsonschema.Draft202012Validator(workflow_schema()).iter_errors(data))
    if errors:
        first = min(errors, key=lambda e: [(0, p, "") if isinstance(p, int) else (1, 0, p) for p in e.absolute_path])
        raise InvalidWorkflow(_schema_message(data, first))
    if has_model_choice(data):  # the problem of each agent's first mode that fits; the search chooses
        _warn_unknown_fields(data, source)
        table = mode_table(data, source)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OrchmilpWarning)
            return instance_from_dict(table.apply(data, table.first_runnable(data.get("resources", {}))), source)
    agents = tuple(
        Agent(
            id=a["id"],
            duration=a["duration"],
            depends_on=tuple(a.get("depends_on", ())),
            uses=MappingProxyType(dict(a.get("uses", {}))),
            reads=tuple(a.get("reads", ())),
            writes=tuple(a.get("writes", ())),
            command=a.get("command"),
            kind=a.get("kind"),
            features=MappingProxyType(dict(a.get("features", {}))),
            duration_range=tuple(a["duration_range"]) if "duration_range" in a else None,
            timeout=a.get("timeout"),
            retries=a.get("retries", 0),
            run_if=MappingProxyType(dict(a["run_if"])) if "run_if" in a else None,
        )
        for a in data["agents"]
    )
    _warn_unknown_fields(data, source)
    stages = data.get("stages")
    return Instance(
        agents=agents,
        resources=MappingProxyType(dict(data.get("resources", {}))),
        name=data.get("name", Path(source).stem if source != "<workflow>" else "workflow"),
        time_unit=data.get("time_unit", "s"),
        stages=tuple(tuple(s) for s in stages) if stages is not None else None,
    )


def _warn_unknown_fields(data: dict[str, Any], source: str) -> None:
    """One :class:`OrchmilpWarning` per field the engine does not know (never dropped silently)."""
    schema = workflow_schema()
    known_top = set(schema["properties"])
    known_agent = set(schema["$defs"]["agent"]["properties"])
    prefix = "" if source == "<workflow>" else f"{source}: "
    for key in data:
        if key not in known_top:
            warnings.warn(f"{prefix}unknown workflow field '{key}' is ignored", OrchmilpWarning, stacklevel=3)
    for agent in data["agents"]:
        for key in agent:
            if key not in known_agent:
                warnings.warn(
                    f"{prefix}agent '{agent['id']}': unknown field '{key}' is ignored", OrchmilpWarning, stacklevel=3
                )


def read_json_file(path: str | Path) -> Any:
    """The parsed JSON of a workflow file, as written (for the independent checker)."""
    path = Path(path)
    if path.is_dir():
        raise InvalidWorkflow(f"{path}: is a folder, not a workflow file")
    return _finite(read_json(path, InvalidWorkflow, parse_constant=_NonFinite), str(path))


def read_workflow(path: str | Path) -> Instance:
    """Read a workflow JSON file into an :class:`Instance` (not yet validated semantically)."""
    return instance_from_dict(read_json_file(path), str(path))


def _run_fields(problem, j: int, agent: dict[str, Any]) -> None:
    """The run-format fields of agent ``j`` (docs/spec/run-format.md), where given."""
    if problem.kinds and problem.kinds[j] != problem.ids[j]:
        agent["kind"] = problem.kinds[j]
    if problem.features and problem.features[j]:
        agent["features"] = dict(problem.features[j])
    if problem.duration_ranges and problem.duration_ranges[j] is not None:
        agent["duration_range"] = list(problem.duration_ranges[j])
    if problem.timeouts and problem.timeouts[j] is not None:
        agent["timeout"] = problem.timeouts[j]
    if problem.retries and problem.retries[j]:
        agent["retries"] = problem.retries[j]
    if problem.run_if and problem.run_if[j] is not None:
        agent["run_if"] = dict(problem.run_if[j])


def problem_to_workflow(problem) -> dict[str, Any]:
    """The workflow-format dictionary of a validated problem (paths normalised)."""
    ids = problem.ids
    agents = []
    for j in range(problem.n):
        agent: dict[str, Any] = {"id": ids[j], "duration": plain_number(problem.durations[j])}
        deps = [ids[i] for i in problem.preds(j)]
        if deps:
            agent["depends_on"] = deps
        uses = {
            r: plain_number(problem.usage[j, k])
            for k, r in enumerate(problem.resource_names)
            if problem.usage[j, k] > 0
        }
        if uses:
            agent["uses"] = uses
        if problem.reads[j]:
            agent["reads"] = [p or "./" for p in problem.reads[j]]
        if problem.writes[j]:
            agent["writes"] = [p or "./" for p in problem.writes[j]]
        if problem.commands[j] is not None:
            agent["command"] = problem.commands[j]
        _run_fields(problem, j, agent)
        agents.append(agent)
    out: dict[str, Any] = {"name": problem.name, "time_unit": problem.time_unit}
    if problem.resource_names:
        out["resources"] = {r: plain_number(c) for r, c in zip(problem.resource_names, problem.capacities)}
    out["agents"] = agents
    if problem.stages is not None:
        out["stages"] = [[ids[j] for j in stage] for stage in problem.stages]
    return out


def with_durations(workflow: dict[str, Any], durations: dict[str, float]) -> dict[str, Any]:
    """A copy of a workflow as written with the given agents' ``duration`` replaced (and their
    ``duration_range`` dropped, which the new figure replaces); an agent with ``modes`` gets
    the figure in every mode."""
    out = copy.deepcopy(workflow)
    for agent in out["agents"]:
        if agent.get("id") in durations:
            for target in agent["modes"] if "modes" in agent else [agent]:
                target["duration"] = durations[agent["id"]]
                target.pop("duration_range", None)
    return out
