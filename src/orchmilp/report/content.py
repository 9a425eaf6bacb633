"""Everything the optimisation report says, gathered once for the Markdown and HTML renderers."""

from __future__ import annotations

import math
from typing import Any

from ..analysis.baseline import baseline
from ..analysis.bottlenecks import (
    WhatIfBudget,
    capacity_what_if,
    conflict_resolution,
    conflict_what_if,
    costly_conflicts,
    parallel_branches,
    plan_slack,
    utilisation,
)
from ..analysis.structure import analyze
from ..io.workflow import problem_to_workflow
from ..result import Result, plain_number
from .diagrams import mermaid

__all__ = ["report_content"]


def report_content(
    result: Result,
    *,
    workflow: dict[str, Any] | None = None,
    what_if_deadline: float | None = None,
    what_if_seconds: float = 10.0,
    what_ifs: bool = True,
) -> dict[str, Any]:
    """The report as data: summary, structure, conflicts, predictions, utilisation.

    The what-if re-solves share the time until ``what_if_deadline`` (a ``perf_counter``
    time; default: ``what_if_seconds`` each) in equal parts, ``what_if_seconds`` each at most;
    their plans are checked against ``workflow`` (default: the result's workflow as written,
    else the problem's own)."""
    p = result.problem
    workflow = workflow or result.workflow or problem_to_workflow(p)
    used = utilisation(result)
    runs = sum(row["saturated"] for row in used) + len(costly_conflicts(result))
    budget = WhatIfBudget(math.inf if what_if_deadline is None else what_if_deadline, what_if_seconds, runs)
    base, base_label, _ = baseline(p)
    gain = 100 * (base - result.makespan) / base if base > 0 else 0.0
    slack = plan_slack(result)
    content: dict[str, Any] = {
        "name": p.name,
        "unit": p.time_unit,
        "summary": {
            "baseline": plain_number(base),
            "baseline_label": base_label,
            "makespan": plain_number(result.makespan),
            "status": result.status.value,
            "lower_bound": plain_number(result.lower_bound),
            "gap_percent": round(100 * result.gap, 2),
            "bound_source": result.bound_source,
            "gain_percent": round(gain, 1),
            "solve_seconds": round(result.solve_seconds, 2),
            "speedup": round(base / result.makespan, 2) if result.makespan > 0 else None,
        },
        "structure": analyze(p),
        "groups": result.groups,
        "schedule": [
            {**entry, "slack": plain_number(slack[j]), "critical": j in set(result.critical_path_index)}
            for j, entry in enumerate(result.schedule)
        ],
        "critical_path": result.critical_path,
        "branches": parallel_branches(result),
        "resolution": conflict_resolution(result),
        "utilisation": used,
        "mermaid": mermaid(p, result),
        "capacity_what_if": capacity_what_if(result, budget, workflow) if what_ifs else [],
        "conflict_what_if": conflict_what_if(result, budget, workflow) if what_ifs else [],
    }
    return content
