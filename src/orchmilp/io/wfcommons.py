"""WfCommons execution traces (WfFormat 1.4 and 1.5): real workflows and real history.

A trace records one run of a workflow: each task's parents, input and output
files with their sizes, category and measured run time. :func:`read_trace`
reads one into a :class:`Trace` (checked against the fields this module
uses, ``wfformat.schema.json``); :func:`trace_to_workflow` turns it into a
workflow (docs/spec/workflow-format.md and run-format.md).

The ``wfcommons`` package is not used as the reader: it pulls in pandas,
requests, pathos and ten more packages, and fetches its schema from GitHub
at run time, which fails offline.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..errors import InvalidHistory
from .files import read_json
from .numbers import plain_number

__all__ = ["TraceTask", "Trace", "read_trace", "is_trace", "trace_to_workflow"]

_ID_SUFFIX = re.compile(r"_ID\d+$")


@dataclass(frozen=True)
class TraceTask:
    """One task of a trace, as measured."""

    id: str
    kind: str
    parents: tuple[str, ...]
    inputs: dict[str, int]  # file name -> bytes
    outputs: dict[str, int]
    runtime: float
    cores: float
    machine: str | None

    @property
    def input_bytes(self) -> int:
        return sum(self.inputs.values())

    @property
    def output_bytes(self) -> int:
        return sum(self.outputs.values())


@dataclass(frozen=True)
class Trace:
    """One run of a workflow: its tasks in file order and what the run was on."""

    name: str
    source: str
    executed_at: str | None
    makespan: float | None
    tasks: tuple[TraceTask, ...]
    machine_cores: int | None  # summed over the machines the trace lists


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("wfformat.schema.json").read_text())


def is_trace(data: Any) -> bool:
    """Whether parsed JSON looks like a WfCommons trace (has ``workflow`` and ``schemaVersion``)."""
    return isinstance(data, dict) and "workflow" in data and "schemaVersion" in data


def read_trace(source: str | Path | dict[str, Any], name: str | None = None) -> Trace:
    """Read a WfFormat 1.4 or 1.5 trace (a path or parsed JSON); errors name the file and task."""
    where = str(source) if not isinstance(source, dict) else (name or "<trace>")
    data = read_json(Path(source), InvalidHistory) if not isinstance(source, dict) else source
    if not is_trace(data):
        raise InvalidHistory(f"{where}: not a WfCommons trace (no 'workflow' and 'schemaVersion')")
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        path = ".".join(str(p) for p in err.absolute_path) or "trace"
        raise InvalidHistory(f"{where}: {path}: {err.message}")
    workflow = data["workflow"]
    if "specification" in workflow:
        tasks = _tasks_15(workflow, where)
        execution = workflow.get("execution", {})
        machines = execution.get("machines", [])
        cores = [m.get("cpu", {}).get("coreCount") for m in machines]
    else:
        tasks = _tasks_14(workflow, where)
        execution = workflow
        machines = workflow.get("machines", [])
        cores = [m.get("cpu", {}).get("count") or m.get("cpu", {}).get("coreCount") for m in machines]
    known = {t.id for t in tasks}
    for task in tasks:
        for parent in task.parents:
            if parent not in known:
                raise InvalidHistory(f"{where}: task '{task.id}': parent '{parent}' is not a task of the trace")
    return Trace(
        name=Path(where).stem if not isinstance(source, dict) else (data.get("name") or where),
        source=where,
        executed_at=execution.get("executedAt"),
        makespan=execution.get("makespanInSeconds"),
        tasks=tuple(tasks),
        machine_cores=sum(cores) if cores and all(isinstance(c, int) for c in cores) else None,
    )


def _kind(task: dict[str, Any]) -> str:
    return task.get("category") or _ID_SUFFIX.sub("", task["name"])


def _tasks_14(workflow: dict[str, Any], where: str) -> list[TraceTask]:
    """1.4: one task list; parents name tasks by ``name``; files inline with ``link``."""
    out = []
    for task in workflow["tasks"]:
        if "runtimeInSeconds" not in task:
            raise InvalidHistory(f"{where}: task '{task['name']}': missing runtimeInSeconds")
        files = task.get("files", [])
        out.append(
            TraceTask(
                id=task["name"],
                kind=_kind(task),
                parents=tuple(task.get("parents", ())),
                inputs={f["name"]: f.get("sizeInBytes", 0) for f in files if f.get("link") == "input"},
                outputs={f["name"]: f.get("sizeInBytes", 0) for f in files if f.get("link") == "output"},
                runtime=float(task["runtimeInSeconds"]),
                cores=float(task.get("cores") or task.get("coreCount") or 1),
                machine=task.get("machine"),
            )
        )
    return out


def _tasks_15(workflow: dict[str, Any], where: str) -> list[TraceTask]:
    """1.5: specification (ids, parents by id, file ids) and execution (run times) apart."""
    spec = workflow["specification"]
    sizes = {f["id"]: f.get("sizeInBytes", 0) for f in spec.get("files", [])}
    runs = {t["id"]: t for t in workflow.get("execution", {}).get("tasks", [])}
    out = []
    for task in spec["tasks"]:
        run = runs.get(task["id"])
        if run is None:
            raise InvalidHistory(f"{where}: task '{task['id']}': no execution record (runtimeInSeconds)")
        out.append(
            TraceTask(
                id=task["id"],
                kind=_kind(task),
                parents=tuple(task.get("parents", ())),
                inputs={f: sizes.get(f, 0) for f in task.get("inputFiles", ())},
                outputs={f: sizes.get(f, 0) for f in task.get("outputFiles", ())},
                runtime=float(run["runtimeInSeconds"]),
                cores=float(run.get("coreCount") or 1),
                machine=run.get("machine"),
            )
        )
    return out


def trace_to_workflow(trace: Trace, cores: float | None = None) -> dict[str, Any]:
    """The workflow of a trace: tasks -> agents (parents -> depends_on, input/output files ->
    reads/writes, category -> kind, summed input sizes -> features.input_bytes (and output
    sizes -> features.output_bytes, an extension: a download's work is its output), run time ->
    duration, cores each as the trace says, else one), on ``cores`` cores (default: the
    trace's machines, else as many as the widest task needs times the number of tasks)."""
    capacity = cores or trace.machine_cores or max((t.cores for t in trace.tasks), default=1) * len(trace.tasks)
    agents = []
    for task in trace.tasks:
        agent: dict[str, Any] = {"id": task.id, "kind": task.kind, "duration": task.runtime}
        if task.parents:
            agent["depends_on"] = list(task.parents)
        agent["uses"] = {"cores": plain_number(min(task.cores, capacity))}
        if task.inputs:
            agent["reads"] = sorted(task.inputs)
        if task.outputs:
            agent["writes"] = sorted(task.outputs)
        agent["features"] = {"input_bytes": task.input_bytes, "output_bytes": task.output_bytes}
        agents.append(agent)
    return {"name": trace.name, "time_unit": "s", "resources": {"cores": plain_number(capacity)}, "agents": agents}
