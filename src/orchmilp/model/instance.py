"""The workflow as the user wrote it: agents, resources and files, not yet checked.

An :class:`Instance` mirrors the workflow format (docs/spec/workflow-format.md)
field by field. :func:`orchmilp.model.validate.validate` turns it into a
:class:`~orchmilp.model.problem.Problem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["Agent", "Instance"]


@dataclass(frozen=True)
class Agent:
    """One task: how long it runs, what it waits for, what it holds and touches."""

    id: str
    duration: float
    depends_on: tuple[str, ...] = ()
    uses: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    command: str | None = None
    #: history is matched by kind (default: the id)
    kind: str | None = None
    #: sizes that drive the run time, e.g. ``{"input_bytes": 1.2e9}``
    features: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    #: the user's 90% range ``(low, high)`` for the run time
    duration_range: tuple[float, float] | None = None
    timeout: float | None = None
    retries: int = 0
    #: ``{"agent": id, "status": s}`` or ``{"agent": id, "exit_code": c}``
    run_if: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "duration": self.duration}
        if self.depends_on:
            out["depends_on"] = list(self.depends_on)
        if self.uses:
            out["uses"] = dict(self.uses)
        if self.reads:
            out["reads"] = list(self.reads)
        if self.writes:
            out["writes"] = list(self.writes)
        if self.command is not None:
            out["command"] = self.command
        if self.kind is not None:
            out["kind"] = self.kind
        if self.features:
            out["features"] = dict(self.features)
        if self.duration_range is not None:
            out["duration_range"] = list(self.duration_range)
        if self.timeout is not None:
            out["timeout"] = self.timeout
        if self.retries:
            out["retries"] = self.retries
        if self.run_if is not None:
            out["run_if"] = dict(self.run_if)
        return out


@dataclass(frozen=True)
class Instance:
    """A whole workflow: agents, resource capacities and optional current stages."""

    agents: tuple[Agent, ...]
    resources: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    name: str = "workflow"
    time_unit: str = "s"
    stages: tuple[tuple[str, ...], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The workflow-format dictionary of this instance."""
        out: dict[str, Any] = {"name": self.name, "time_unit": self.time_unit}
        if self.resources:
            out["resources"] = dict(self.resources)
        out["agents"] = [a.to_dict() for a in self.agents]
        if self.stages is not None:
            out["stages"] = [list(s) for s in self.stages]
        return out
