"""Model choice in a workflow: agents' ``modes``, the workflow's ``budgets`` and ``deadline``
(docs/format-extensions.md).

An agent may do its work in one of several modes (typically one per model), each with its own
``duration``, ``uses`` (renewable, while it runs: that model's rate bucket) and ``consumes``
(non-renewable, for the whole run: ``{"usd": 1.8, "tokens": 120000}``). ``budgets`` cap what
all agents consume together; ``deadline`` caps the makespan. :class:`ModeTable` reads them
from the workflow as written and turns a choice of modes into the plain single-mode workflow
that everything else plans, checks and runs.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ..errors import InvalidPlan, InvalidWorkflow
from ..model.validate import check_number
from .names import printable

__all__ = ["Mode", "ModeTable", "mode_table", "has_model_choice", "in_chosen_modes", "DEFAULT_MODE"]

#: The name of an agent's only mode when it has no ``modes``
DEFAULT_MODE = "default"


class Mode(NamedTuple):
    """One way to do an agent's work."""

    name: str
    duration: float
    uses: dict[str, float]  # the agent's uses, with the mode's over them
    consumes: dict[str, float]
    fields: dict[str, Any]  # the mode's other fields (command, duration_range, ...), as written


def has_model_choice(workflow: dict[str, Any]) -> bool:
    """True when the workflow has ``modes``, ``consumes``, ``budgets`` or a ``deadline``."""
    return isinstance(workflow, dict) and (
        "budgets" in workflow
        or "deadline" in workflow
        or any(isinstance(a, dict) and ("modes" in a or "consumes" in a) for a in workflow.get("agents", ()))
    )


@dataclass(frozen=True)
class ModeTable:
    """Each agent's modes (an agent without ``modes`` has one, :data:`DEFAULT_MODE`), the
    budgets and the deadline. A choice is one mode index per agent, in workflow order."""

    ids: tuple[str, ...]
    modes: tuple[tuple[Mode, ...], ...]
    budgets: dict[str, float]
    deadline: float | None

    def named(self, choice: list[int] | tuple[int, ...]) -> dict[str, str]:
        """Agent id -> the chosen mode's name, for the agents that have ``modes``."""
        return {
            a: self.modes[j][choice[j]].name for j, a in enumerate(self.ids) if self.modes[j][0].name != DEFAULT_MODE
        }

    @property
    def width(self) -> int:
        """The most modes of any agent (the arrays' second axis)."""
        return max((len(modes) for modes in self.modes), default=1)

    @functools.cached_property
    def durations(self) -> np.ndarray:
        """(agent, mode) -> duration; 0 past an agent's last mode."""
        out = np.zeros((len(self.modes), self.width))
        for j, modes in enumerate(self.modes):
            out[j, : len(modes)] = [m.duration for m in modes]
        return out

    @functools.cached_property
    def step(self) -> float | None:
        """The step every duration of every mode is a whole multiple of (None: no common step;
        0.24 s over the 60,000 modes of 20,000 agents, so computed once)."""
        from ..compile.grid import exact_step

        return exact_step(self.durations.ravel())

    def consumed(self, key: str) -> np.ndarray:
        """(agent, mode) -> what the mode consumes of ``key`` (0 past an agent's modes)."""
        out = np.zeros((len(self.modes), self.width))
        for j, modes in enumerate(self.modes):
            for m, mode in enumerate(modes):
                out[j, m] = mode.consumes.get(key, 0.0)
        return out

    @functools.cached_property
    def budget_costs(self) -> np.ndarray:
        """(agent, mode, budget) -> what the mode consumes of the budget (budgets in order)."""
        out = np.zeros((len(self.modes), self.width, len(self.budgets)))
        for b, key in enumerate(self.budgets):
            out[:, :, b] = self.consumed(key)
        return out

    @functools.cached_property
    def budget_limits(self) -> np.ndarray:
        """Each budget with the tolerance :meth:`within_budgets` allows."""
        caps = np.array(list(self.budgets.values()), float)
        return caps + 1e-9 * np.maximum(1.0, caps)

    def runnable(self, capacity: dict[str, float]) -> np.ndarray:
        """(agent, mode) -> True when the mode's uses fit the capacities; False past an
        agent's last mode."""
        out = np.zeros((len(self.modes), self.width), bool)
        for j, modes in enumerate(self.modes):
            for m, mode in enumerate(modes):
                out[j, m] = all(v <= capacity.get(r, math.inf) + 1e-9 for r, v in mode.uses.items())
        return out

    def first_runnable(self, capacity: dict[str, float]) -> list[int]:
        """Each agent's first mode whose uses fit the capacities (its first mode when none does,
        so that loading it names what does not fit): the choice that stands for the workflow
        where one mode is needed without a plan."""
        return [
            next(
                (
                    k
                    for k, m in enumerate(modes)
                    if all(v <= capacity.get(r, math.inf) + 1e-9 for r, v in m.uses.items())
                ),
                0,
            )
            for modes in self.modes
        ]

    def consumption(self, choice: list[int] | tuple[int, ...]) -> dict[str, float]:
        """What all agents consume together in ``choice``, per key (budgets' keys first)."""
        total = {k: 0.0 for k in self.budgets}
        for j, m in enumerate(choice):
            for k, v in self.modes[j][m].consumes.items():
                total[k] = total.get(k, 0.0) + v
        return total

    def within_budgets(self, choice: list[int] | tuple[int, ...]) -> bool:
        used = self.consumption(choice)
        return all(used[k] <= cap + 1e-9 * max(1.0, cap) for k, cap in self.budgets.items())

    def apply(self, workflow: dict[str, Any], choice: list[int] | tuple[int, ...]) -> dict[str, Any]:
        """The single-mode workflow of ``choice``: each agent with modes gets its chosen mode's
        duration, uses and fields, and ``mode`` (its name); budgets and deadline are dropped."""
        out = {k: v for k, v in workflow.items() if k not in ("budgets", "deadline")}
        agents = []
        for j, agent in enumerate(workflow["agents"]):
            mode = self.modes[j][choice[j]]
            plain = {k: v for k, v in agent.items() if k not in ("modes", "consumes")}
            if "modes" in agent:
                plain.update(mode.fields)
                plain["duration"] = mode.duration
                plain["uses"] = dict(mode.uses)
                plain["mode"] = mode.name
            agents.append(plain)
        out["agents"] = agents
        return out


def mode_table(workflow: dict[str, Any], source: str = "<workflow>") -> ModeTable:
    """The modes, budgets and deadline of a workflow whose shape the schema has checked;
    what the schema cannot say is a one-line error naming the agent and field."""
    prefix = "" if source == "<workflow>" else f"{source}: "
    for name, cap in workflow.get("resources", {}).items():  # compared with the modes' uses below
        check_number(cap, f"{prefix}resources.{printable(name)}")
    ids: list[str] = []
    modes: list[tuple[Mode, ...]] = []
    for agent in workflow["agents"]:
        aid = agent["id"]
        ids.append(aid)
        where = f"{prefix}agent '{printable(aid)}'"
        shared, uses = dict(agent.get("consumes", {})), dict(agent.get("uses", {}))
        for field, amounts in (("consumes", shared), ("uses", uses)):
            for key, value in amounts.items():
                check_number(value, f"{where}: {field}.{printable(key)}")
        if "modes" not in agent:
            duration = check_number(agent["duration"], f"{where}: duration")
            modes.append((Mode(DEFAULT_MODE, duration, uses, shared, {}),))
            continue
        if "duration" in agent or "duration_range" in agent:
            raise InvalidWorkflow(f"{where}: give 'duration' in each of its modes, not beside 'modes'")
        if not agent["modes"]:
            raise InvalidWorkflow(f"{where}: 'modes' is empty")
        seen: set[str] = set()
        own = []
        for k, mode in enumerate(agent["modes"]):
            name = mode["name"]
            at = f"{where}: modes[{k}]"
            if name in seen:
                raise InvalidWorkflow(f"{where}: modes[{k}] repeats the name '{printable(name)}'")
            seen.add(name)
            consumes = dict(shared)
            for key, value in mode.get("consumes", {}).items():
                consumes[key] = consumes.get(key, 0.0) + check_number(value, f"{at}.consumes.{printable(key)}")
            fields = {f: v for f, v in mode.items() if f not in ("name", "duration", "uses", "consumes")}
            for r, value in mode.get("uses", {}).items():
                check_number(value, f"{at}.uses.{printable(r)}")
            duration = check_number(mode["duration"], f"{at}.duration")
            own.append(Mode(name, duration, {**uses, **mode.get("uses", {})}, consumes, fields))
        modes.append(tuple(own))
    budgets = {k: check_number(v, f"{prefix}budgets.{printable(k)}") for k, v in workflow.get("budgets", {}).items()}
    deadline = workflow.get("deadline")
    if deadline is not None:
        deadline = check_number(deadline, f"{prefix}deadline")
    consumed = {k for agent_modes in modes for m in agent_modes for k in m.consumes}
    for key in budgets:
        if key not in consumed:
            raise InvalidWorkflow(f"{prefix}budgets.{printable(key)}: no agent consumes '{printable(key)}'")
    return ModeTable(tuple(ids), tuple(modes), budgets, None if deadline is None else float(deadline))


def in_chosen_modes(
    workflow: dict[str, Any], chosen: dict[str, str | None]
) -> tuple[dict[str, Any], tuple[str | None, ...]]:
    """The single-mode workflow of the modes a plan chose (agent id -> mode name; agents
    without ``modes`` need none), and each agent's mode name (None without ``modes``)."""
    table = mode_table(workflow)
    choice, names = [], []
    for agent_id, modes in zip(table.ids, table.modes):
        by_name = {m.name: k for k, m in enumerate(modes)}
        name = chosen.get(agent_id) or DEFAULT_MODE
        if name not in by_name:
            raise InvalidPlan(
                f"agent '{printable(agent_id)}': the plan's mode {printable(str(name))!r} is not one of its modes"
            )
        choice.append(by_name[name])
        names.append(None if name == DEFAULT_MODE else name)
    return table.apply(workflow, choice), tuple(names)
