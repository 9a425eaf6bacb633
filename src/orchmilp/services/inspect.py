"""Services that look without solving: the analysis of a workflow, the summary of a history."""

from __future__ import annotations

from typing import Any

from ..engine import Source, load, read_history_source

__all__ = ["analyze", "describe_history", "stats"]


def analyze(workflow: Source) -> dict[str, Any]:
    """Structure, critical path and slack, conflicts, bounds: the analysis object."""
    from ..analysis.structure import analyze as analysis

    return analysis(load(workflow))


def describe_history(history: Any) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    """The history, its fitted model per kind, and one row per kind (runs, quantiles, model,
    median per host) for JSON."""
    from ..prediction.model import fit_kinds

    history = read_history_source(history)
    models = fit_kinds(history)
    by_host = history.medians_by_host()
    rows = [
        {
            "kind": m.kind,
            "attempts": m.n,
            "runs": m.runs,
            "p10": m.quantiles[0],
            "median": m.quantiles[1],
            "p90": m.quantiles[2],
            "feature": m.feature,
            "slope": m.slope,
            "sigma": m.sigma,
            "tau": m.tau,
            "run_correlation": m.run_correlation,
            "by_host": {h: {"attempts": n, "median": med} for h, (n, med) in by_host.get(m.kind, {}).items()},
        }
        for m in models.values()
    ]
    return history, models, rows


def stats(paths: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    """Every run in the histories and traces ``paths`` (oldest first), and per workflow: runs,
    success rate, makespans, plan error, interval coverage, failures, retries, idle, spend."""
    from ..analysis.run_stats import run_stats, workflow_stats

    runs = run_stats([paths] if isinstance(paths, (str, bytes)) or hasattr(paths, "__fspath__") else paths)
    return runs, workflow_stats(runs)
