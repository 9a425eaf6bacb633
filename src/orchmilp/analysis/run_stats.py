"""What past runs say, per run and per workflow: makespan against plan and prediction,
success, failures by agent, retries, idle time, spend, undeclared writes (``orchmilp stats``).

A JSONL history (written by ``orchmilp run``) gives one :class:`RunStats` per run id: its
makespan is the last finish minus the first start of its attempts; the plan and the
predicted interval come from ``runs/RUN/run.json`` beside the history when the run wrote
one. A WfCommons trace is one run of its own (its recorded makespan; every task ok); its
workflow is its name without the run number (``srasearch-chameleon-10a-004`` is a run of
``srasearch-chameleon-10a``).
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidHistory
from ..history import RUN_RECORD, history_files, looks_like_trace, read_history
from ..statuses import FAILED, AgentStatus

__all__ = ["RunStats", "run_stats", "workflow_stats"]
_RUN_NUMBER = re.compile(r"-\d+$")


@dataclass(frozen=True)
class RunStats:
    """One run. Times in seconds; ``started`` is the wall clock (None when not known)."""

    workflow: str
    run: str
    started: float | None
    makespan: float
    agents: int
    attempts: int
    ok: bool  # every agent's last attempt ended ok
    failures: dict[str, int] = field(default_factory=dict)  # agent -> failed or timed-out attempts
    retries: int = 0  # attempts after an agent's first
    idle: float = 0.0  # seconds of the run when no attempt was running
    spend: dict[str, float] = field(default_factory=dict)  # usage summed (usd, tokens, ...)
    undeclared: int = 0  # attempts that wrote files their agent did not declare
    planned: float | None = None
    p50: float | None = None
    interval: tuple[float, float] | None = None
    level: float | None = None

    @property
    def inside(self) -> bool | None:
        """The makespan fell inside the predicted interval (None: no prediction recorded)."""
        if self.interval is None:
            return None
        return self.interval[0] <= self.makespan <= self.interval[1]


def _union_length(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -np.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def _from_jsonl(path: Path) -> list[RunStats]:
    history = read_history(path)
    rows: dict[str, list[int]] = defaultdict(list)
    for i, run in enumerate(history.run):
        rows[run].append(i)
    out = []
    for run, idx in rows.items():
        start = float(min(history.start[i] for i in idx))
        finish = float(max(history.finish[i] for i in idx))
        last: dict[str, str] = {}
        failures: Counter = Counter()
        spend: Counter = Counter()
        tries: Counter = Counter()
        undeclared = 0
        for i in sorted(idx, key=lambda i: history.start[i]):
            agent, status = history.agent[i], history.status[i]
            last[agent] = status
            if status != AgentStatus.SKIPPED:
                tries[agent] += 1
            if status in FAILED:
                failures[agent] += 1
            spend.update(history.usage[i])
            undeclared += bool(history.files[i].get("undeclared"))
        busy = [
            (float(history.start[i]), float(history.finish[i])) for i in idx if history.finish[i] > history.start[i]
        ]
        record = _run_record(path.parent / run / RUN_RECORD)
        prediction = record.get("prediction") or {}
        out.append(
            RunStats(
                workflow=next((w for i in idx if (w := history.workflow[i])), path.stem),
                run=run,
                started=start,
                makespan=finish - start,
                agents=len(last),
                attempts=sum(tries.values()),
                ok=all(s == AgentStatus.OK for s in last.values()),
                failures=dict(failures),
                retries=sum(max(0, t - 1) for t in tries.values()),
                idle=max(0.0, (finish - start) - _union_length(busy)),
                spend={k: float(v) for k, v in spend.items()},
                undeclared=undeclared,
                planned=record.get("planned"),
                p50=prediction.get("p50"),
                interval=tuple(prediction["interval"]) if "interval" in prediction else None,
                level=prediction.get("level"),
            )
        )
    return out


def _run_record(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def _when(text: str | None) -> float | None:
    """A trace's ``executedAt`` as epoch seconds (the formats the traces use), or None."""
    for form in ("%Y%m%dT%H%M%S%z", "%m-%d-%yT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return datetime.strptime(text or "", form).timestamp()
        except ValueError:
            continue
    return None


def _from_trace(path: Path) -> RunStats:
    from ..io.wfcommons import read_trace

    trace = read_trace(path)
    busy = float(sum(t.runtime for t in trace.tasks))
    makespan = float(trace.makespan) if trace.makespan is not None else busy
    return RunStats(
        workflow=_RUN_NUMBER.sub("", trace.name),
        run=trace.name,
        started=_when(trace.executed_at),
        makespan=makespan,
        agents=len(trace.tasks),
        attempts=len(trace.tasks),
        ok=True,
    )


def run_stats(paths: Iterable[str | Path]) -> list[RunStats]:
    """Every run in the JSONL histories and traces named (files or folders), oldest first."""
    out: list[RunStats] = []
    for path in history_files(paths):
        if path.suffix.lower() == ".json":
            if looks_like_trace(path):
                out.append(_from_trace(path))
        else:
            out.extend(_from_jsonl(path))
    if not out:
        raise InvalidHistory("no run in " + ", ".join(str(p) for p in paths))
    return sorted(out, key=lambda r: (r.started is None, r.started or 0.0, r.run))


def workflow_stats(runs: list[RunStats]) -> list[dict[str, Any]]:
    """Per workflow: runs, success rate, makespans, plan error, interval coverage, failures by
    agent, retries, idle time, spend, undeclared writes."""
    by: dict[str, list[RunStats]] = defaultdict(list)
    for r in runs:
        by[r.workflow].append(r)
    rows = []
    for workflow, rs in sorted(by.items()):
        makespans = np.asarray([r.makespan for r in rs])
        planned = [(r.makespan, r.planned) for r in rs if r.planned]
        predicted = [r for r in rs if r.inside is not None]
        failures: Counter = Counter()
        spend: Counter = Counter()
        for r in rs:
            failures.update(r.failures)
            spend.update(r.spend)
        rows.append(
            {
                "workflow": workflow,
                "runs": len(rs),
                "success_rate": sum(r.ok for r in rs) / len(rs),
                "makespan_median": float(np.median(makespans)),
                "makespan_min": float(makespans.min()),
                "makespan_max": float(makespans.max()),
                "plan_error": float(np.mean([abs(a - p) / p for a, p in planned])) if planned else None,
                "predicted_runs": len(predicted),
                "inside_interval": sum(bool(r.inside) for r in predicted),
                "coverage": sum(bool(r.inside) for r in predicted) / len(predicted) if predicted else None,
                "failures": dict(failures.most_common()),
                "retries": sum(r.retries for r in rs),
                "idle_seconds": float(sum(r.idle for r in rs)),
                "spend": {k: float(v) for k, v in sorted(spend.items())},
                "undeclared_writes": sum(r.undeclared for r in rs),
            }
        )
    return rows
