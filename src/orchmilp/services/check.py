"""The check service: a plan against its workflow, with the independent checker."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine import Source, read_inputs

__all__ = ["CheckRequest", "CheckOutcome", "check"]


@dataclass(frozen=True)
class CheckRequest:
    """``history``: for a plan made with a history (``solve --history``), the same history, so
    that the plan is checked with the median run times it was made with. ``samples``: random
    duration draws under which ``waits_for`` must stay valid."""

    workflow: Source
    plan: str | Path | dict[str, Any]
    history: Any = None
    samples: int = 50


@dataclass(frozen=True)
class CheckOutcome:
    violations: tuple[str, ...]
    makespan: Any = None
    note: str | None = None

    @property
    def valid(self) -> bool:
        return not self.violations

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"valid": self.valid, "violations": list(self.violations)}
        if self.note:
            out["note"] = self.note
        return out


def check(request: CheckRequest) -> CheckOutcome:
    """Check ``request.plan``; see :class:`CheckRequest`."""
    from ..check import check_plan
    from ..io.plan import read_plan

    inputs = read_inputs(request.workflow, request.history)
    plan = read_plan(request.plan)
    violations = tuple(check_plan(inputs.planned.workflow, plan, samples=request.samples))
    note = None
    if violations and "prediction" in plan and inputs.history is None:
        note = "this plan has a prediction: if it was made with a history, check it with the same history"
    return CheckOutcome(violations, plan.get("makespan"), note)
