"""The two vocabularies of status: what became of an agent (the executor, the history file,
``run_if``) and what a solve proved (the plan, the benchmark rows, the peer)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AgentStatus", "FINAL", "FAILED", "SolveStatus"]


class AgentStatus(StrEnum):
    """An agent of a run: ``waiting`` -> ``ready`` -> ``running`` -> one of :data:`FINAL`
    (docs/spec/run-format.md). Members are strings: they compare equal to the history's."""

    WAITING = "waiting"
    READY = "ready"
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"


#: the statuses an attempt ends with: the values of a history line's ``status``
FINAL = (AgentStatus.OK, AgentStatus.FAILED, AgentStatus.TIMEOUT, AgentStatus.CANCELLED, AgentStatus.SKIPPED)
#: the endings that count as a failure of the agent (retried, and reported)
FAILED = (AgentStatus.FAILED, AgentStatus.TIMEOUT)


class SolveStatus(StrEnum):
    """``optimal``: the makespan equals a proven lower bound; ``feasible``: a valid plan whose
    optimality was not proven within the limits; ``unknown``: no plan (a peer or benchmark run
    that found none)."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    UNKNOWN = "unknown"
