"""Budgets at run time: an agent is not started when what it is predicted to consume (its
mode's ``consumes``) would overrun what is left of a budget, counting what ended attempts
reported (or were predicted to consume, when they reported nothing) and what running agents
are predicted to consume. ``--on-budget stop`` starts nothing more (running agents end).
``--on-budget cheapest`` re-plans the modes of what has not started whenever an agent starts:
if the agent and everything after it, in their modes, would overrun what is left, agents move
to their cheapest mode (the one that saves most first) until the rest fits; an agent that
still overruns what is left runs in its cheapest mode that fits, if any."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Alternative", "BudgetGuard"]


@dataclass(frozen=True)
class Alternative:
    """One mode an agent could run in instead: its name, command, uses (per resource column)
    and predicted consumption."""

    mode: str
    command: str
    usage: tuple[float, ...]
    consumes: dict[str, float]
    rate_limit: dict | None = None  # the mode's rate_limit as written
    own_uses: dict | None = None  # the mode's own uses as written (its model's buckets)


@dataclass
class BudgetGuard:
    """The budgets, each agent's predicted consumption, and what has been spent so far."""

    budgets: dict[str, float]
    predicted: list[dict[str, float]]
    alternatives: list[list[Alternative]] = field(default_factory=list)
    spent: dict[str, float] = field(default_factory=dict)

    def committed(self, running) -> dict[str, float]:
        """Spent, plus what the running agents are predicted to consume."""
        out = dict(self.spent)
        for j in running:
            for k, v in self.predicted[j].items():
                out[k] = out.get(k, 0.0) + v
        return out

    def shortfall(self, j: int, running, consumes: dict[str, float] | None = None) -> str | None:
        """Why starting ``j`` (predicted to consume ``consumes``) would overrun a budget, or None."""
        consumes = self.predicted[j] if consumes is None else consumes
        committed = self.committed(running)
        for key, cap in self.budgets.items():
            need = consumes.get(key, 0.0)
            left = cap - committed.get(key, 0.0)
            if need > left + 1e-9 * max(1.0, cap):
                return f"budgets.{key}: needs {need:g}, {max(left, 0.0):g} of {cap:g} left"
        return None

    def cheapest_fitting(self, j: int, running) -> Alternative | None:
        """The agent's cheapest other mode whose predicted consumption fits what is left."""
        fitting = (
            [a for a in self.alternatives[j] if self.shortfall(j, running, a.consumes) is None]
            if self.alternatives
            else []
        )
        return min(fitting, key=lambda a: tuple(a.consumes.get(k, 0.0) for k in self.budgets), default=None)

    def rest_within(self, j: int, running, waiting) -> dict[int, Alternative]:
        """``--on-budget cheapest``: new modes for ``j`` and the agents ``waiting`` to start (the
        fewest moves to their cheapest mode, largest saving first) so that all of them together
        are predicted to fit what is left; {} when they fit as they are."""
        committed = self.committed(running)
        left = {k: cap - committed.get(k, 0.0) for k, cap in self.budgets.items()}
        rest = list(dict.fromkeys([j, *waiting]))
        now = {a: self.predicted[a] for a in rest}

        def overrun() -> dict[str, float]:
            totals = {k: sum(now[a].get(k, 0.0) for a in rest) for k in self.budgets}
            return {k: totals[k] - left[k] for k in self.budgets if totals[k] > left[k] + 1e-9 * max(1.0, abs(left[k]))}

        over = overrun()
        if not over or not self.alternatives:
            return {}
        cheapest = {
            a: min(self.alternatives[a], key=lambda m: tuple(m.consumes.get(k, 0.0) for k in self.budgets))
            for a in rest
            if self.alternatives[a]
        }

        def saving(a: int) -> tuple[float, ...]:
            return tuple(now[a].get(k, 0.0) - cheapest[a].consumes.get(k, 0.0) for k in over)

        switches: dict[int, Alternative] = {}
        for a in sorted(cheapest, key=saving, reverse=True):
            if not overrun():
                break
            if max(saving(a), default=0.0) <= 0:
                continue
            switches[a], now[a] = cheapest[a], cheapest[a].consumes
        return switches

    def record(self, j: int, reported: dict[str, float]) -> None:
        """An attempt ended: count what it reported, else what it was predicted to consume."""
        for key, value in self.predicted[j].items():
            self.spent[key] = self.spent.get(key, 0.0) + reported.get(key, value)
        for key, value in reported.items():
            if key not in self.predicted[j]:
                self.spent[key] = self.spent.get(key, 0.0) + value
