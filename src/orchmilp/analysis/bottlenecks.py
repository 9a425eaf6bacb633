"""After a solve: utilisation, slack in the plan, conflict resolution, and what-ifs.

What-ifs re-solve a changed workflow (one more unit of a saturated
resource, or one file conflict lifted) and say how much the optimal
makespan moves. The re-solves of one report take turns with the seconds given
(:meth:`orchmilp.deadline.Deadline.split` of the caller's time limit), report whether their answer is proven,
and every plan they return passes the independent checker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..io.numbers import plain_number
from ..model.paths import FileLock
from ..model.problem import Problem
from ..result import Result
from ..statuses import SolveStatus

__all__ = [
    "resource_profile",
    "utilisation",
    "plan_slack",
    "parallel_branches",
    "conflict_resolution",
    "capacity_what_if",
    "conflict_what_if",
    "costly_conflicts",
    "lift_conflict",
    "with_capacity",
    "capacity_unit",
]


def resource_profile(result: Result, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Step function of what resource ``r`` holds: breakpoints and the load after each."""
    p = result.problem
    d = p.durations
    use = p.usage[:, r] * (d > 0)
    events = sorted(
        [(result.start[j], use[j]) for j in range(p.n) if use[j] > 0]
        + [(result.start[j] + d[j], -use[j]) for j in range(p.n) if use[j] > 0]
    )
    times, loads, load = [0.0], [0.0], 0.0
    for t, delta in events:
        load += delta
        if abs(t - times[-1]) <= 1e-9:
            loads[-1] = load
        else:
            times.append(t)
            loads.append(load)
    return np.asarray(times), np.maximum(np.asarray(loads), 0.0)


def utilisation(result: Result) -> list[dict[str, Any]]:
    """Average and peak share of every declared resource over the plan."""
    p = result.problem
    out = []
    for r, name in enumerate(p.resource_names):
        cap = float(p.capacities[r])
        times, loads = resource_profile(result, r)
        peak = float(loads.max()) if len(loads) else 0.0
        energy = float(np.dot(p.usage[:, r], p.durations))
        avg = energy / (cap * result.makespan) if cap > 0 and result.makespan > 0 else 0.0
        out.append(
            {
                "resource": name,
                "capacity": plain_number(cap),
                "average_percent": round(100 * avg, 1),
                "peak": plain_number(peak),
                "peak_percent": round(100 * peak / cap, 1) if cap > 0 else 0.0,
                "saturated": bool(cap > 0 and peak >= cap - 1e-9 and energy > 0),
            }
        )
    return out


def plan_slack(result: Result) -> np.ndarray:
    """How long each agent can slip without delaying the plan, given its ``waits_for``."""
    p = result.problem
    d = p.durations
    finish_latest = np.full(p.n, result.makespan)
    users: list[list[int]] = [[] for _ in range(p.n)]
    for j, waits in enumerate(result.waits_for):
        for i in waits:
            users[i].append(j)
    for j in np.argsort(-result.start, kind="stable"):
        for k in users[j]:
            finish_latest[j] = min(finish_latest[j], finish_latest[k] - d[k])
    return np.maximum(finish_latest - d - result.start, 0.0)


def parallel_branches(result: Result) -> list[dict[str, Any]]:
    """Chains of agents off the critical path, each with the slack it has: a chain goes on to an
    agent that waits for its end last (the one that holds it back), not merely for it."""
    p = result.problem
    finish = result.finish
    critical = set(result.critical_path_index)
    slack = plan_slack(result)
    seen: set[int] = set()
    branches = []
    waiting: list[list[int]] = [[] for _ in range(p.n)]  # who waits for each agent
    for k in range(p.n):
        for w in result.waits_for[k]:
            waiting[w].append(k)
    for j in np.argsort(result.start, kind="stable"):
        j = int(j)
        if j in critical or j in seen:
            continue
        chain = [j]
        seen.add(j)
        while True:  # follow the first non-critical agent held back by the chain's end
            end = chain[-1]
            nxt = [
                k
                for k in waiting[end]
                if k not in critical and k not in seen and finish[end] >= max(finish[w] for w in result.waits_for[k])
            ]
            if not nxt:
                break
            k = min(nxt, key=lambda x: result.start[x])
            chain.append(k)
            seen.add(k)
        branches.append(
            {
                "agents": [p.ids[k] for k in chain],
                "start": plain_number(result.start[chain[0]]),
                "finish": plain_number(result.start[chain[-1]] + p.durations[chain[-1]]),
                "slack": plain_number(float(min(slack[k] for k in chain))),
            }
        )
    return branches


def _ordered_pairs(result: Result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every file conflict as (first, then) in the plan's order, and whether dependencies order them."""
    pairs = result.problem.conflict_pairs
    if not len(pairs):
        empty = np.zeros(0, np.int64)
        return empty, empty, np.zeros(0, bool)
    swap = result.start[pairs[:, 0]] > result.start[pairs[:, 1]]
    first = np.where(swap, pairs[:, 1], pairs[:, 0])
    then = np.where(swap, pairs[:, 0], pairs[:, 1])
    before = result.problem.precedence_matrix
    return first, then, before[first, then] | before[then, first]


def conflict_resolution(result: Result) -> dict[str, Any]:
    """The order the plan chose for the file conflicts (the first ``MAX_CONFLICT_PAIRS``;
    ``files_total`` counts them all), and the orderings each saturated resource forced."""
    from .structure import MAX_CONFLICT_PAIRS

    p = result.problem
    ids, finish = p.ids, result.finish
    first, then, by_dependencies = _ordered_pairs(result)
    files = []
    for k in range(min(len(first), MAX_CONFLICT_PAIRS)):
        a, b = int(first[k]), int(then[k])
        c = p.conflict(*p.conflict_pairs[k].tolist())
        files.append(
            {
                "first": ids[a],
                "then": ids[b],
                "paths": sorted({c.path_a or "./", c.path_b or "./"}),
                "settled_by": "dependencies" if by_dependencies[k] else "plan",
                "idle_between": plain_number(max(0.0, result.start[b] - finish[a])),
            }
        )
    resources: dict[str, list[dict[str, str]]] = {}
    for i, j, why in result.orderings:
        if why.startswith("resource "):
            resources.setdefault(why[len("resource ") :], []).append({"first": ids[i], "then": ids[j]})
    return {
        "files": files,
        "files_total": len(first),
        "resources": [{"resource": k, "orderings": v} for k, v in resources.items()],
    }


def with_capacity(problem: Problem, r: int, delta: float) -> Problem:
    """The same workflow with ``delta`` more of resource ``r``."""
    caps = problem.capacities.copy()
    caps[r] += delta
    return problem.changed(capacities=caps)


def lift_conflict(problem: Problem, a: int, b: int) -> Problem:
    """The same workflow where agents ``a`` and ``b`` may run together (all other conflicts stay):
    a lock holding both becomes two, one without ``a`` and one without ``b`` (every other
    pair of it lacks one of the two), so the locks stay linear in the agents."""
    locks = []
    for lock in problem.locks:
        members = set(lock.writers) | set(lock.others)
        if a not in members or b not in members or (a in lock.others and b in lock.others):
            locks.append(lock)
            continue
        for gone in (a, b):
            part = FileLock(
                lock.path, tuple(w for w in lock.writers if w != gone), tuple(o for o in lock.others if o != gone)
            )
            if part.writers and len(part.writers) + len(part.others) >= 2:
                locks.append(part)
    lifted = problem.lifted | {(min(a, b), max(a, b))}
    return problem.changed(lifted=lifted, locks=tuple(locks))


_NO_TIME = "no time left within the time limit"


def first_plan_seconds(result: Result) -> float:
    """How long the solve of ``result`` took to its first plan (its priority rules): a what-if
    re-solve given less would overrun (4 s at 20,000 agents)."""
    ends = [t for phase, t in result.statistics.phases if phase == "priority rules"]
    return ends[0] if ends else 0.0


def _resolve(
    problem: Problem, seconds: float, workflow: dict[str, Any], allow_together=(), least: float = 0.2
) -> Result | None:
    """Re-solve a changed problem (None when fewer than ``least`` seconds are left); its plan
    must pass the independent checker against ``workflow`` (the changed workflow as written)."""
    from ..engine import self_check
    from ..options import SolveOptions
    from ..search import run_search

    if seconds < max(least, 0.2):
        return None
    return self_check(run_search(problem, SolveOptions(time_limit=seconds)), workflow, allow_together=allow_together)


def capacity_unit(problem: Problem, r: int) -> float:
    """ "One unit" of a resource: 1 for small counts (slots, GPUs), else the smallest
    amount an agent uses (one more agent's worth of tokens per minute or memory)."""
    cap = float(problem.capacities[r])
    use = problem.usage[:, r]
    if cap <= 64 and np.all(use == np.round(use)):
        return 1.0
    positive = use[use > 0]
    return float(positive.min()) if len(positive) else 1.0


def capacity_what_if(result: Result, turns: Iterator[float], workflow: dict[str, Any]) -> list[dict[str, Any]]:
    """For every saturated resource: the makespan with one more unit (:func:`capacity_unit`);
    ``workflow`` is the workflow as written, for checking each plan."""
    p = result.problem
    least = 2 * first_plan_seconds(result)
    out = []
    for r, row in enumerate(utilisation(result)):
        if not row["saturated"]:
            continue
        delta = capacity_unit(p, r)
        changed = {
            **workflow,
            "resources": {**workflow.get("resources", {}), p.resource_names[r]: plain_number(p.capacities[r] + delta)},
        }
        other = _resolve(with_capacity(p, r, delta), next(turns, 0.0), changed, least=least)
        if other is None:
            out.append({"resource": row["resource"], "skipped": _NO_TIME})
            continue
        out.append(
            {
                "resource": row["resource"],
                "capacity": row["capacity"],
                "new_capacity": plain_number(p.capacities[r] + delta),
                "makespan": plain_number(other.makespan),
                "saving": plain_number(max(0.0, result.makespan - other.makespan)),
                "proven": other.status == SolveStatus.OPTIMAL and result.status == SolveStatus.OPTIMAL,
            }
        )
    return out


def costly_conflicts(result: Result, limit: int = 5) -> list:
    """The file conflicts the plan settles back to back (most critical first, ``limit`` at most):
    those whose order may cost time."""
    p = result.problem
    critical = set(result.critical_path_index)
    first, then, by_dependencies = _ordered_pairs(result)
    back_to_back = ~by_dependencies & (np.abs(result.finish[first] - result.start[then]) <= 1e-9)
    candidates = []
    for k in np.flatnonzero(back_to_back).tolist():  # b starts the moment a ends: the order may cost time
        a, b = int(first[k]), int(then[k])
        candidates.append((-(a in critical) - (b in critical), result.start[b], k))
    chosen = sorted(candidates, key=lambda x: (x[0], x[1]))[:limit]
    return [p.conflict(*p.conflict_pairs[k].tolist()) for _, _, k in chosen]


def conflict_what_if(
    result: Result, turns: Iterator[float], workflow: dict[str, Any], limit: int = 5
) -> list[dict[str, Any]]:
    """For the :func:`costly_conflicts`: the makespan if that single conflict were lifted."""
    p = result.problem
    least = 2 * first_plan_seconds(result)
    out = []
    for c in costly_conflicts(result, limit):
        other = _resolve(
            lift_conflict(p, c.a, c.b),
            next(turns, 0.0),
            workflow,
            allow_together=((p.ids[c.a], p.ids[c.b]),),
            least=least,
        )
        if other is None:
            out.append({"agents": [p.ids[c.a], p.ids[c.b]], "skipped": _NO_TIME})
            continue
        row: dict[str, Any] = {
            "agents": [p.ids[c.a], p.ids[c.b]],
            "paths": sorted({c.path_a or "./", c.path_b or "./"}),
            "makespan": plain_number(other.makespan),
            "saving": plain_number(max(0.0, result.makespan - other.makespan)),
            "proven": other.status == SolveStatus.OPTIMAL and result.status == SolveStatus.OPTIMAL,
        }
        out.append(row)
    return out
