"""The options of a solve, in one record shared by the library, the search and the command line."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .compile.grid import DEFAULT_MAX_BINARIES
from .errors import InvalidOptions

__all__ = ["SolveOptions"]


@dataclass(frozen=True)
class SolveOptions:
    """How to solve.

    Attributes
    ----------
    time_limit
        Wall-clock seconds for the whole solve, plan building and checking included.
    threads
        1: every phase in turn. 2 or more: HiGHS gets ``threads - 1`` and the
        branch and bound and the genetic search run beside it.
    resolution
        Time step of the MILP grid (default: chosen automatically).
    max_binaries
        Budget of start variables for the automatic grid.
    use_milp
        False: bounds, heuristics, propagation and the exact searches' first round only.
    seed
        Seed of the randomised heuristics and of HiGHS.
    ga_schedules
        Schedule budget of the first genetic search (default: 500 per agent,
        5,000 to 50,000; it also stops at its share of the time, or at the bound).
    backend
        MILP solver: ``"highs"`` (default) or ``"cbc"`` (needs pulp).
    highs_options
        Extra HiGHS options (name -> value), for experiments.
    use_sat
        False: no refutation by clause learning (to measure the other searches alone).
    initial_start
        A warm start: start times in agent order (e.g. the plan being re-planned); the
        first incumbent when it is feasible, ignored otherwise.
    dispatch
        ``"events"``: each agent starts when what it waits for has ended (the shortest plan);
        ``"waves"``: agents in batches that start together, each batch when the one before
        has ended (how a coding agent launches subagents), the sum of wave lengths minimised.
    spend
        Model choice: a ``consumes`` key (``"usd"``) to minimise instead of the makespan, among
        the plans that end by the workflow's ``deadline`` (``solve --objective usd``).
    """

    time_limit: float = 30.0
    threads: int = 1
    resolution: float | None = None
    max_binaries: int = DEFAULT_MAX_BINARIES
    use_milp: bool = True
    seed: int = 0
    ga_schedules: int | None = None
    backend: str = "highs"
    highs_options: dict[str, Any] | None = field(default=None, hash=False)
    use_sat: bool = True
    initial_start: tuple[float, ...] | None = field(default=None, hash=False)
    dispatch: str = "events"
    spend: str | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.time_limit, (int, float)) and math.isfinite(self.time_limit) and self.time_limit > 0):
            raise InvalidOptions(f"time_limit must be a positive number of seconds, not {self.time_limit!r}")
        if not isinstance(self.threads, int) or self.threads < 1:
            raise InvalidOptions(f"threads must be a whole number >= 1, not {self.threads!r}")
        if self.resolution is not None and not (math.isfinite(self.resolution) and self.resolution > 0):
            raise InvalidOptions(f"resolution must be a positive time step, not {self.resolution!r}")
        if self.max_binaries < 1:
            raise InvalidOptions(f"max_binaries must be >= 1, not {self.max_binaries!r}")
        if self.ga_schedules is not None and self.ga_schedules < 0:
            raise InvalidOptions(f"ga_schedules must be >= 0, not {self.ga_schedules!r}")
        if self.dispatch not in ("events", "waves"):
            raise InvalidOptions(f"dispatch must be 'events' or 'waves', not {self.dispatch!r}")
        from .solvers import BACKENDS

        if self.backend not in BACKENDS:
            raise InvalidOptions(f"unknown backend {self.backend!r} (choose from {', '.join(BACKENDS)})")
