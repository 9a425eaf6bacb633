"""Everything the optimisation report says, gathered once for the Markdown and HTML renderers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..analysis.baseline import baseline
from ..analysis.bottlenecks import (
    capacity_what_if,
    conflict_resolution,
    conflict_what_if,
    costly_conflicts,
    parallel_branches,
    plan_slack,
    utilisation,
)
from ..analysis.structure import analyze
from ..deadline import Deadline
from ..io.modes import in_chosen_modes
from ..io.numbers import plain_number
from ..io.workflow import problem_to_workflow
from ..prediction import predict_plan
from ..result import Result
from .diagrams import mermaid
from .spend import spend_content

__all__ = ["report_content", "WHAT_IF_USED"]

#: share of its turn a what-if re-solve is given: the rest absorbs a search that ends late
#: (a 300-agent report at --time-limit 20 overran by up to 2.5 s in a busy test run)
WHAT_IF_USED = 0.8


def report_content(
    result: Result,
    *,
    workflow: dict[str, Any] | None = None,
    deadline: Deadline | None = None,
    what_if_seconds: float = 10.0,
    what_ifs: bool = True,
    undeclared: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    """The report as data: summary, structure, conflicts, predictions, utilisation.

    The what-if re-solves take turns with what is left of ``deadline`` (default: none,
    ``what_if_seconds`` each), ``what_if_seconds`` each at most; their plans are checked
    against ``workflow`` (default: the result's workflow as written, else the problem's own).
    ``undeclared``: agent -> files the history saw it write without declaring them."""
    p = result.problem
    workflow = workflow or result.workflow or problem_to_workflow(p)
    if result.consumes is not None:  # model choice: the what-ifs keep the chosen modes
        workflow = in_chosen_modes(workflow, dict(result.modes or {}))[0]
    used = utilisation(result)
    runs = sum(row["saturated"] for row in used) + len(costly_conflicts(result))
    turns = (deadline or Deadline.none()).split(runs, most=what_if_seconds, used=WHAT_IF_USED)
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
        "waves": result.wave_list if result.waves is not None else None,
        "dispatch_cost": result.dispatch_cost,
        "schedule": [
            {**entry, "slack": plain_number(slack[j]), "critical": j in set(result.critical_path_index)}
            for j, entry in enumerate(result.schedule)
        ],
        "critical_path": result.critical_path,
        "branches": parallel_branches(result),
        "resolution": conflict_resolution(result),
        "utilisation": used,
        "mermaid": mermaid(p, result),
        "spend": spend_content(result),
        "capacity_what_if": capacity_what_if(result, turns, workflow) if what_ifs else [],
        "conflict_what_if": conflict_what_if(result, turns, workflow) if what_ifs else [],
        "analysis_date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    prediction = result.prediction or predict_plan(result, samples=report_samples(p.n))
    content["prediction"] = _prediction(prediction)
    content["prediction_object"] = prediction  # the samples, for the histogram
    content["undeclared"] = dict(undeclared or {})
    content["risk"] = _risk(result, content)
    content["roadmap"] = _roadmap(content)
    content["validation"] = _validation(content)
    return content


#: Monte Carlo samples of the report's own prediction: 4,000, fewer above 500 agents so that
#: sampling stays near 2 million agent durations (500 samples at 20,000 agents: 2.7 s)
REPORT_SAMPLES = 4000


def report_samples(agents: int) -> int:
    """How many samples the report's prediction draws for a workflow of ``agents`` agents."""
    return max(500, min(REPORT_SAMPLES, 2_000_000 // max(agents, 1)))


#: the product description's claim, made only where the interval really is this narrow
CLAIM_HALF_WIDTH = 0.10


def _prediction(prediction) -> dict[str, Any]:
    lo, hi = prediction.interval
    half = (hi - lo) / 2
    sources: dict[str, int] = {}
    for a in prediction.agents:
        sources[a["source"]] = sources.get(a["source"], 0) + 1
    relative = half / prediction.p50 if prediction.p50 > 0 else 0.0
    return {
        **prediction.to_dict(),
        "half_width": plain_number(round(half, 3)),
        "relative_half_width_percent": round(100 * relative, 1),
        "within_claim": relative <= CLAIM_HALF_WIDTH,
        "sources": sources,
        "most_critical": sorted(prediction.agents, key=lambda a: -a["criticality"])[:5],
        # criticality x p50: how long each agent keeps the run waiting, on average (what to shorten)
        "most_costly": sorted(prediction.agents, key=lambda a: -a["criticality"] * a["p50"])[:3],
    }


def _risk(result: Result, c: dict[str, Any]) -> dict[str, Any]:
    """Low / Medium / High, with the reasons: the spread of the prediction, durations nobody
    measured, orderings the plan depends on, and an unproven plan."""
    pred = c["prediction"]
    reasons, level = [], 0
    spread = pred["relative_half_width_percent"]
    if spread > 50:
        level = max(level, 2)
        reasons.append(f"the {100 * pred['level']:g}% interval is ±{spread}% of the median")
    elif spread > 20:
        level = max(level, 1)
        reasons.append(f"the {100 * pred['level']:g}% interval is ±{spread}% of the median")
    unmeasured = pred["sources"].get("assumed", 0)
    if unmeasured:
        level = max(level, 1)
        reasons.append(f"{unmeasured} agents have no history and no duration_range (assumed spread)")
    added = len(result.orderings)
    if added:
        level = max(level, 1)
        reasons.append(f"the plan adds {added} orderings for resources and files that a runner must keep")
    if result.status.value != "optimal" and result.gap > 0.05:
        level = max(level, 2)
        reasons.append(f"the plan is not proven optimal (gap {100 * result.gap:.1f}%)")
    if c.get("undeclared"):
        level = max(level, 2)
        reasons.append(
            f"past runs saw {len(c['undeclared'])} agents write files they do not declare: the plan cannot keep "
            "those apart (orchmilp infer, or run --isolate worktree)"
        )
    return {"level": ("Low", "Medium", "High")[level], "reasons": reasons or ["measured durations, small spread"]}


def _roadmap(c: dict[str, Any]) -> list[dict[str, Any]]:
    """What to do next, in three phases, from this plan's own findings."""
    first = ["Run the plan: `orchmilp export plan.json --format bash` (each agent starts when its waits_for finish)"]
    if c["resolution"]["resources"] or any(f["settled_by"] == "plan" for f in c["resolution"]["files"]):
        first.append("Keep the orderings the plan adds for shared files and saturated resources")
    second = []
    if c["prediction"]["sources"].get("assumed") or c["prediction"]["sources"].get("range"):
        second.append("Record run times (history JSONL) and re-plan with `orchmilp solve --history`")
    for w in c["capacity_what_if"]:
        if w.get("saving"):
            second.append(f"Raise {w['resource']} to {w['new_capacity']}: saves {w['saving']} {c['unit']}")
    for w in c["conflict_what_if"]:
        if w.get("saving"):
            second.append(
                f"Let {w['agents'][0]} and {w['agents'][1]} stop sharing {', '.join(w['paths'])}: "
                f"saves {w['saving']} {c['unit']}"
            )
    second = second or ["Nothing to change in capacities or files: no what-if saves time"]
    costly = ", ".join(
        f"{a['id']} (on the critical path in {100 * a['criticality']:.0f}% of samples, p50 {a['p50']} {c['unit']})"
        for a in c["prediction"]["most_costly"]
        if a["criticality"] > 0
    )
    third = [
        f"Shorten the agents that keep the run waiting longest, criticality times p50: {costly}; "
        "`orchmilp whatif --scale ID=0.5` shows the gain"
        if costly
        else "No agent is on the critical path in the samples: nothing to shorten",
        "Check the prediction after each batch of runs with `orchmilp backtest`",
    ]
    return [
        {"phase": "Phase 1: immediate", "steps": first},
        {"phase": "Phase 2: next runs", "steps": second},
        {"phase": "Phase 3: longer term", "steps": third},
    ]


def _validation(c: dict[str, Any]) -> dict[str, Any]:
    """Run N times and compare with the interval: how many runs inside it are expected."""
    from scipy import stats

    runs = 10
    level = c["prediction"]["level"]
    at_least = int(stats.binom.ppf(0.05, runs, level))
    return {
        "runs": runs,
        "interval": c["prediction"]["interval"],
        "level": level,
        "expect_inside_at_least": at_least,
        "text": (
            f"Run the workflow {runs} times and record each makespan; if the prediction is honest, at least "
            f"{at_least} of {runs} fall inside {c['prediction']['interval']} {c['unit']} (a binomial 5% test at "
            f"level {level:g}); fewer means the model is overconfident: add the runs to the history "
            "(`--history`) and predict again."
        ),
    }
