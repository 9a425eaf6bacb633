"""A run's live status as a JSON file (``orchmilp run --status FILE``), rewritten atomically at
every event: what ``run_status`` of the MCP server reads for a run started in the background."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..io.files import write_json_atomic
from ..io.numbers import plain_number

__all__ = ["StatusFile"]


class StatusFile:
    """An ``on_event``/``on_plan`` pair for the executor that keeps ``path`` up to date."""

    def __init__(self, path: str | Path, run_id: str) -> None:
        self.path = Path(path)
        self.run_id = run_id
        self.started = time.time()
        self.state: dict[str, Any] = {"run": run_id, "state": "planning", "started": self.started, "agents": {}}
        self._write()

    def plan(self, problem, waits_for, planned_start, planned_makespan) -> None:
        self.unit = problem.time_unit
        self.state.update(
            state="running",
            planned_makespan=plain_number(float(planned_makespan)),
            time_unit=problem.time_unit,
            agents={a: {"status": "waiting"} for a in problem.ids},
        )
        self.ids = problem.ids
        self._write()

    def __call__(self, what: str, j: int, outcome) -> None:
        if j < 0 or outcome is None:
            if what == "replan":
                self.state["replans"] = self.state.get("replans", 0) + 1
                self._write()
            return
        entry = {"status": str(outcome.status), "attempts": outcome.attempts}
        for key in ("start", "finish"):
            value = getattr(outcome, key)
            if value is not None:
                entry[key] = round(value - self.started, 3)
        if outcome.note:
            entry["note"] = outcome.note
        self.state["agents"][self.ids[j]] = entry
        self._write()

    def ended(self, status: str) -> None:
        self.state.update(state=status, ended=time.time())
        self._write()

    def _write(self) -> None:
        self.state["updated"] = time.time()
        write_json_atomic(self.path, self.state)
