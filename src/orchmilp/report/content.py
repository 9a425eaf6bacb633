"""Everything the optimisation report says, gathered once for the Markdown and HTML renderers."""

from __future__ import annotations

from typing import Any

from ..analysis.baseline import baseline
from ..analysis.bottlenecks import (
    capacity_what_if,
    conflict_resolution,
    conflict_what_if,
    parallel_branches,
    plan_slack,
    utilisation,
)
from ..analysis.structure import analyze
from ..result import Result, plain_number
from .diagrams import mermaid

__all__ = ["report_content"]


def report_content(result: Result, *, what_if_seconds: float = 10.0, what_ifs: bool = True) -> dict[str, Any]:
    """The report as data: summary, structure, conflicts, predictions, utilisation."""
    p = result.problem
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
        "utilisation": utilisation(result),
        "mermaid": mermaid(p, result),
        "capacity_what_if": capacity_what_if(result, what_if_seconds) if what_ifs else [],
        "conflict_what_if": conflict_what_if(result, what_if_seconds) if what_ifs else [],
    }
    return content
