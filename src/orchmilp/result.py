"""The outcome of a solve: status, makespan, proven bound, the plan and statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .io.numbers import plain_number
from .model.problem import Problem
from .schedule.build import groups as _groups
from .solve_statistics import Statistics
from .statuses import SolveStatus

__all__ = ["Status", "Result"]


#: the solve status (``orchmilp.Status``)
Status = SolveStatus


@dataclass(frozen=True, eq=False)
class Result:
    """A plan with its proof: use :meth:`to_dict` for the plan format (docs/spec/plan-format.md)."""

    problem: Problem = field(repr=False)
    status: Status
    makespan: float
    lower_bound: float
    start: np.ndarray = field(repr=False)
    waits_for: tuple[tuple[int, ...], ...] = field(repr=False)
    critical_path_index: tuple[int, ...] = field(repr=False)
    solve_seconds: float
    bound_source: str = ""
    resolution: float | None = None
    exact_grid: bool = True
    trajectory: tuple[tuple[float, float, float], ...] = field(default=(), repr=False)
    statistics: Statistics = field(default_factory=Statistics, repr=False)
    orderings: tuple[tuple[int, int, str], ...] = field(default=(), repr=False)
    #: the workflow as written, when :func:`orchmilp.solve` read one (the independent checker's input)
    workflow: dict[str, Any] | None = field(default=None, repr=False)
    #: the predicted makespan distribution, when history or ranges were used (orchmilp.prediction)
    prediction: Any = field(default=None, repr=False)
    #: a wave plan (``SolveOptions(dispatch="waves")``): agent indices per wave, in order
    waves: tuple[tuple[int, ...], ...] | None = field(default=None, repr=False)
    #: beside a wave plan: the event-driven plan and the workflow's stages (services.plan sets it)
    dispatch_cost: dict[str, Any] | None = field(default=None, repr=False)
    #: model choice (format-extensions.md): agent id -> the chosen mode, for agents with ``modes``
    modes: dict[str, str] | None = field(default=None, repr=False)
    #: what the agents consume together in the chosen modes (usd, tokens, ...), and the budgets
    consumes: dict[str, float] | None = field(default=None, repr=False)
    budgets: dict[str, float] | None = field(default=None, repr=False)
    #: a spend objective (``SolveOptions(spend=...)``): its name, value, proven lower bound, status
    objective: dict[str, Any] | None = field(default=None, repr=False)
    #: of ``solve_seconds``, those numba spent compiling kernels (the first solves after an
    #: install; cached on disk afterwards): the time limit cannot hold them
    compile_seconds: float = field(default=0.0, repr=False)

    @property
    def gap(self) -> float:
        """``(makespan - lower_bound) / makespan``; 0 for an empty workflow."""
        return 0.0 if self.makespan <= 0 else max(0.0, (self.makespan - self.lower_bound) / self.makespan)

    @property
    def finish(self) -> np.ndarray:
        return self.start + self.problem.durations

    @property
    def schedule(self) -> list[dict[str, Any]]:
        ids, commands = self.problem.ids, self.problem.commands
        entries = []
        for j in range(self.problem.n):
            entry: dict[str, Any] = {
                "id": ids[j],
                "start": plain_number(self.start[j]),
                "finish": plain_number(self.finish[j]),
                "waits_for": [ids[i] for i in self.waits_for[j]],
            }
            if commands[j] is not None:
                entry["command"] = commands[j]
            if self.problem.timeouts and self.problem.timeouts[j] is not None:
                entry["timeout"] = self.problem.timeouts[j]
            if self.problem.retries and self.problem.retries[j]:
                entry["retries"] = self.problem.retries[j]
            if self.modes and ids[j] in self.modes:
                entry["mode"] = self.modes[ids[j]]
            entries.append(entry)
        return entries

    @property
    def groups(self) -> list[dict[str, Any]]:
        ids = self.problem.ids
        return [{"start": plain_number(t), "agents": [ids[j] for j in js]} for t, js in _groups(self.start)]

    @property
    def critical_path(self) -> list[str]:
        return [self.problem.ids[j] for j in self.critical_path_index]

    def to_dict(self) -> dict[str, Any]:
        """The plan object of docs/spec/plan-format.md, plus orchmilp's extra fields."""
        return {
            "status": self.status.value,
            "makespan": plain_number(self.makespan),
            "lower_bound": plain_number(self.lower_bound),
            "gap": round(self.gap, 6),
            "schedule": self.schedule,
            "groups": self.groups,
            "critical_path": self.critical_path,
            "solve_seconds": round(self.solve_seconds, 3),
            "name": self.problem.name,
            "time_unit": self.problem.time_unit,
            "bound_source": self.bound_source,
            "resolution": None if self.resolution is None else plain_number(self.resolution),
            "exact_grid": self.exact_grid,
            "orderings": [
                {"before": self.problem.ids[i], "after": self.problem.ids[j], "reason": why}
                for i, j, why in self.orderings
            ],
            **({"prediction": self.prediction.to_dict()} if self.prediction is not None else {}),
            **({"dispatch": "waves", "waves": self.wave_list} if self.waves is not None else {}),
            **({"dispatch_cost": self.dispatch_cost} if self.dispatch_cost is not None else {}),
            **(
                {"consumes": {k: plain_number(v) for k, v in self.consumes.items()}}
                if self.consumes is not None
                else {}
            ),
            **({"budgets": {k: plain_number(v) for k, v in self.budgets.items()}} if self.budgets else {}),
            **({"objective": self.objective} if self.objective is not None else {}),
        }

    @property
    def wave_list(self) -> list[dict[str, Any]]:
        """Each wave: its agents, its start and its length (the longest agent in it)."""
        ids, d = self.problem.ids, self.problem.durations
        out = []
        for wave in self.waves or ():
            length = max((float(d[j]) for j in wave), default=0.0)
            start = float(self.start[wave[0]]) if wave else 0.0
            out.append({"agents": [ids[j] for j in wave], "start": plain_number(start), "length": plain_number(length)})
        return out

    def summary(self) -> str:
        """One line: status, makespan, bound, gap, time."""
        unit = self.problem.time_unit
        return (
            f"{self.status.value}: makespan {plain_number(self.makespan)} {unit}, "
            f"lower bound {plain_number(self.lower_bound)} {unit} ({self.bound_source}), "
            f"gap {100 * self.gap:.2f}%, {self.solve_seconds:.2f} s"
        )

    def __str__(self) -> str:
        lines = [f"{self.problem.name}: {self.summary()}"]
        for group in self.groups:
            lines.append(f"  t={group['start']}: " + ", ".join(group["agents"]))
        lines.append("  critical path: " + " -> ".join(self.critical_path))
        return "\n".join(lines)
