"""The what-if service: scenarios and a capacity sweep beside the base, solved and predicted."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..deadline import Deadline
from ..engine import Source, load, load_as_written, read_history_source, read_inputs
from ..errors import InvalidOptions

__all__ = ["WhatIfRequest", "WhatIfOutcome", "whatif"]


@dataclass(frozen=True)
class WhatIfRequest:
    """``scenarios``: ``(flag, value)`` pairs, flags ``set``, ``add``, ``remove``, ``split``,
    ``scale`` (see :mod:`orchmilp.analysis.scenarios`); ``sweep``: ``resources.NAME=LO..HI``.
    Each solve gets ``seconds_each`` at most, and an equal part of the deadline's time left."""

    workflow: Source
    scenarios: Sequence[tuple[str, str]] = ()
    sweep: str | None = None
    history: Any = None
    seconds_each: float = 10.0
    samples: int = 4000
    plot: str | Path | None = None
    on_start: Callable[[str], None] | None = None


@dataclass(frozen=True)
class WhatIfOutcome:
    """One row per variant (base first), the sweep's rows and its knee (None: more may help)."""

    rows: list[dict[str, Any]]
    sweep_rows: list[dict[str, Any]]
    sweep_key: str | None = None
    knee: float | None = None

    def to_list(self) -> list[dict[str, Any]]:
        return self.rows + self.sweep_rows


def whatif(request: WhatIfRequest, deadline: Deadline | None = None) -> WhatIfOutcome:
    """Compare ``request``'s scenarios with the base; every edit is checked before any solving."""
    from ..analysis.scenarios import Variant, compare, knee, scenario, sweep_values

    deadline = deadline or Deadline.none()
    base = load_as_written(request.workflow).workflow
    edited = [scenario(flag, value).apply(base) for flag, value in request.scenarios]
    sweep = sweep_values(request.sweep) if request.sweep else None
    if not edited and sweep is None:
        raise InvalidOptions("whatif: give at least one scenario (set, add, remove, split, scale) or a sweep")
    if request.plot and sweep is None:
        raise InvalidOptions("whatif: the plot draws a sweep; give a sweep too")
    steps = []
    if sweep is not None:
        key, values = sweep
        steps = [scenario("set", f"{key}={v:g}").apply(base, f"{key}={v:g}") for v in values]
    variants = [Variant("base", base), *edited]
    history = read_history_source(request.history)
    turns = deadline.split(len(variants) + len(steps), most=request.seconds_each)

    def each(batch: list[Variant]) -> list[dict[str, Any]]:
        return compare(batch, seconds=turns, history=history, samples=request.samples, on_start=request.on_start)

    rows = each(variants)
    if sweep is None:
        return WhatIfOutcome(rows, [])
    from ..bounds.critical_path import critical_path_bound

    sweep_rows = each(steps)
    # no capacity shortens the longest chain; a budget can (a faster model shortens it)
    chain = critical_path_bound(load(read_inputs(base, history).planned)) if sweep[0].startswith("resources.") else 0.0
    planned = [(v, r["makespan"]) for v, r in zip(sweep[1], sweep_rows) if r["makespan"] is not None]
    point = knee(planned, floor=chain)
    if request.plot:
        from ..report.gantt import save_sweep

        save_sweep(sweep[0], sweep[1], sweep_rows, point, request.plot)
    return WhatIfOutcome(rows, sweep_rows, sweep[0], point)
