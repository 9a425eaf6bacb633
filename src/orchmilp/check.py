"""An independent feasibility checker for plans.

It reads the workflow and the plan as plain dictionaries (the JSON formats of
docs/spec/) and re-derives everything itself, path overlaps included: it imports
nothing from the rest of orchmilp, so a bug in the model or the solver
cannot hide from it. Returns the list of violations (empty when the plan is
valid).
"""

from __future__ import annotations

import bisect
import math
import random
from collections import Counter
from typing import Any

import numpy as np

__all__ = ["check_plan", "check_run", "finite_number"]

TOL = 1e-6


def _norm(path: str) -> str:
    folder = path.endswith("/") or path.endswith("/.") or path in (".", "./")
    segments = [s for s in path.split("/") if s not in ("", ".")]
    joined = "/".join(segments)
    return joined + "/" if folder and joined else joined if not folder else ""


class _Conflicts:
    """Who may not overlap whom because of files: for each written path, its writers and every
    agent touching a path that overlaps it (the path, a folder above it, or one below it).
    Checked by counting overlapping intervals with binary search (no list of pairs, which grows
    with the square of the agents sharing a file). ``owner`` maps a key to its agent (attempts of
    one agent never conflict); ``lifted`` pairs of agents may overlap (what-if analyses)."""

    def __init__(self, agents: dict, owner=None, lifted: frozenset = frozenset()) -> None:
        touched: dict[str, set] = {}
        written: dict[str, set] = {}
        for aid, agent in agents.items():
            for q in agent.get("reads", []):
                touched.setdefault(_norm(q), set()).add(aid)
            for q in agent.get("writes", []):
                touched.setdefault(_norm(q), set()).add(aid)
                written.setdefault(_norm(q), set()).add(aid)
        paths = sorted(touched)
        self.groups: list[tuple[list, list]] = []
        seen = set()
        for w, writers in written.items():
            others: set = set()
            for q in _overlapping(w, paths, touched):
                others |= touched[q]
            key = (frozenset(writers), frozenset(others))
            if len(others) > 1 and key not in seen:
                seen.add(key)
                self.groups.append((sorted(writers), sorted(others)))
        self.owner = owner or (lambda key: key)
        self.lifted = lifted

    def pairs(self) -> list[tuple[str, str]]:
        """Every conflicting pair (quadratic: for small workflows and tests)."""
        out = {(min(a, b), max(a, b)) for writers, others in self.groups for a in writers for b in others if a != b}
        return sorted(out)

    def violations(self, starts: dict, durs: dict, label: str) -> list[str]:
        out: list[str] = []
        for writers, others in self.groups:
            live = [o for o in others if durs[o] > 0]
            if len(live) < 2:
                continue
            begin = np.asarray([starts[o] for o in live])
            end = begin + np.asarray([durs[o] for o in live])
            by_begin, by_end = np.sort(begin), np.sort(end)
            for a in writers:
                if durs[a] <= 0:
                    continue
                s_a, e_a = starts[a], starts[a] + durs[a]
                # intervals beginning before a ends, less those ending before a begins, less a itself
                count = np.searchsorted(by_begin, e_a - TOL, "left") - np.searchsorted(by_end, s_a + TOL, "right") - 1
                if count > 0:
                    partner = self._partner(a, s_a, e_a, live, begin, end)
                    if partner is not None:
                        out.append(
                            f"{label}: conflicting agents '{min(a, partner)}' and '{max(a, partner)}' overlap in time"
                        )
                        return out
        return out

    def _partner(self, a, s_a: float, e_a: float, live: list, begin, end):
        for b, s_b, e_b in zip(live, begin.tolist(), end.tolist()):
            if b == a or self.owner(b) == self.owner(a) or (min(a, b), max(a, b)) in self.lifted:
                continue
            if s_a < e_b - TOL and s_b < e_a - TOL:
                return b
        return None


def _overlapping(w: str, paths: list[str], touched: dict) -> list[str]:
    """The touched paths overlapping ``w``: itself, the folders above it, those below it."""
    found = [w] if w in touched else []
    parts = w.rstrip("/").split("/") if w else []
    for k in range(len(parts)):  # folders above w, the root ("") first
        folder = "/".join(parts[:k]) + "/" if k else ""
        if folder in touched and folder != w:
            found.append(folder)
    if w == "" or w.endswith("/"):  # paths below the folder w
        lo = bisect.bisect_left(paths, w)
        for q in paths[lo:]:
            if not q.startswith(w):
                break
            if q != w:
                found.append(q)
    return found


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(a), abs(b))


def _violations_of(
    starts: dict, durs: dict, agents: dict, resources: dict, conflicts: _Conflicts, label: str
) -> list[str]:
    """Dependencies, capacities and file conflicts of one timed schedule."""
    out = []
    for aid, agent in agents.items():
        for dep in agent.get("depends_on", []):
            if starts[dep] + durs[dep] > starts[aid] + TOL * max(1.0, starts[aid]):
                out.append(
                    f"{label}: '{aid}' starts at {starts[aid]:g} before its dependency '{dep}' finishes at {starts[dep] + durs[dep]:g}"
                )
    for res, cap in resources.items():
        users = [a for a, agent in agents.items() if durs[a] > 0 and agent.get("uses", {}).get(res, 0) > 0]
        if not users:
            continue
        raw = np.asarray([starts[a] for a in users], float)
        begin = np.round(raw, 9)  # rounded after adding, as the finish a successor starts at
        end = np.round(raw + np.asarray([durs[a] for a in users], float), 9)
        amount = np.asarray([agents[a]["uses"][res] for a in users], float)
        # events in time order, ends before starts at the same time; the load after each event
        times = np.concatenate([end, begin])
        kind = np.concatenate([np.zeros(len(users)), np.ones(len(users))])
        delta = np.concatenate([-amount, amount])
        order = np.lexsort((kind, times))
        load = np.cumsum(delta[order])
        over = np.flatnonzero(load > cap + TOL * max(1.0, cap))
        if len(over):
            k = over[0]
            out.append(f"{label}: resource '{res}' holds {load[k]:g} > capacity {cap:g} at time {times[order][k]:g}")
    return out + conflicts.violations(starts, durs, label)


def _earliest(order: list[str], waits: dict, durs: dict) -> dict:
    starts: dict[str, float] = {}
    for a in order:
        starts[a] = max((starts[w] + durs[w] for w in waits[a]), default=0.0)
    return starts


def check_plan(
    workflow: dict[str, Any],
    plan: dict[str, Any],
    *,
    samples: int = 20,
    seed: int = 0,
    optimum: float | None = None,
    allow_together: tuple[tuple[str, str], ...] = (),
) -> list[str]:
    """All the ways ``plan`` breaks the rules of ``workflow`` (an empty list when none).

    Checks the schedule (every agent once, finish = start + duration,
    dependencies, capacities over time, file conflicts), the makespan, the
    bound and status, the groups, the critical path, and that starting each
    agent when its ``waits_for`` have finished reproduces the plan and stays
    feasible for ``samples`` random draws of other durations. With
    ``optimum`` (a known optimal makespan) also ``lower_bound <= optimum <= makespan``.
    ``allow_together`` lists pairs of agents whose file conflict is lifted (what-if analyses).
    """
    problems = _plan_shape(plan)
    if problems:
        return problems
    chosen, mode_problems = _chosen_modes(workflow, plan)
    if chosen is None:
        return mode_problems
    workflow = chosen
    problems += mode_problems
    agents = {a["id"]: a for a in workflow.get("agents", [])}
    resources = dict(workflow.get("resources", {}))
    durs = {a: float(agents[a]["duration"]) for a in agents}
    entries = plan.get("schedule", [])
    seen: dict[str, dict] = {}
    for e in entries:
        if e.get("id") not in agents:
            problems.append(f"schedule names unknown agent {e.get('id')!r}")
        elif e["id"] in seen:
            problems.append(f"schedule lists '{e['id']}' twice")
        else:
            seen[e["id"]] = e
    for a in agents:
        if a not in seen:
            problems.append(f"schedule misses agent '{a}'")
    if problems:
        return problems

    starts = {a: float(seen[a]["start"]) for a in agents}
    for a in agents:
        if starts[a] < -TOL:
            problems.append(f"'{a}' starts at negative time {starts[a]:g}")
        if not _close(float(seen[a]["finish"]), starts[a] + durs[a]):
            problems.append(f"'{a}' finish {seen[a]['finish']} != start + duration {starts[a] + durs[a]:g}")

    conflicts = _Conflicts(agents, lifted=frozenset((min(a, b), max(a, b)) for a, b in allow_together))
    problems += _violations_of(starts, durs, agents, resources, conflicts, "plan")

    makespan = max((starts[a] + durs[a] for a in agents), default=0.0)
    if not _close(float(plan.get("makespan", -1)), makespan):
        problems.append(f"makespan {plan.get('makespan')} != latest finish {makespan:g}")
    lb = float(plan.get("lower_bound", float("inf")))
    if lb > makespan + TOL * max(1.0, makespan):
        problems.append(f"lower_bound {lb:g} exceeds makespan {makespan:g}")
    if plan.get("status") not in ("optimal", "feasible"):
        problems.append(f"unknown status {plan.get('status')!r}")
    if plan.get("status") == "optimal" and not _close(lb, makespan):
        problems.append(f"status optimal but lower_bound {lb:g} != makespan {makespan:g}")
    gap = (makespan - lb) / makespan if makespan > 0 else 0.0
    if abs(float(plan.get("gap", -1)) - gap) > 1e-5:
        problems.append(f"gap {plan.get('gap')} != (makespan - lower_bound) / makespan = {gap:.6f}")
    if optimum is not None:
        if lb > optimum + TOL * max(1.0, optimum):
            problems.append(f"lower_bound {lb:g} exceeds the known optimum {optimum:g}")
        if makespan < optimum - TOL * max(1.0, optimum):
            problems.append(f"makespan {makespan:g} is below the known optimum {optimum:g}")

    problems += _check_groups(plan.get("groups", []), starts)

    waits = {a: list(seen[a].get("waits_for", [])) for a in agents}
    order = _waits_order(waits, agents, problems)
    if order is None:
        return problems
    bit = {a: 1 << k for k, a in enumerate(agents)}
    ancestors: dict[str, int] = {}  # bit sets: linear memory in words, not a set per agent
    for a in order:
        anc = 0
        for w in waits[a]:
            anc |= ancestors[w] | bit[w]
        ancestors[a] = anc
    for a, agent in agents.items():
        for dep in agent.get("depends_on", []):
            if not ancestors[a] & bit[dep]:
                problems.append(f"'{a}' does not wait (directly or through others) for its dependency '{dep}'")
    planned = _earliest(order, waits, durs)
    for a in agents:
        if not _close(planned[a], starts[a]):
            problems.append(f"waits_for of '{a}' gives start {planned[a]:g}, plan says {starts[a]:g}")
            break
    rng = random.Random(seed)
    for s in range(samples):
        other = {
            a: (durs[a] * rng.choice([0.0, 0.5, 1.0, 1.5, 3.0, rng.uniform(0, 4)]) if durs[a] > 0 else 0.0)
            for a in agents
        }
        # a duration that shrinks to zero still is not a milestone: keep it tiny but positive
        other = {a: (max(v, 1e-3 * durs[a]) if durs[a] > 0 else 0.0) for a, v in other.items()}
        found = _violations_of(
            _earliest(order, waits, other),
            other,
            agents,
            resources,
            conflicts,
            f"waits_for with other durations (sample {s})",
        )
        if found:
            problems.append(found[0])
            break

    problems += _check_critical_path(plan.get("critical_path", []), starts, durs, waits, makespan)
    deadline = workflow.get("deadline")
    if isinstance(deadline, (int, float)) and makespan > deadline + TOL * max(1.0, deadline):
        problems.append(f"makespan {makespan:g} is past the deadline {deadline:g}")
    if "waves" in plan or plan.get("dispatch") == "waves":
        problems += _check_waves(plan.get("waves"), starts, durs, waits, makespan)
    return problems


def _chosen_modes(workflow: dict[str, Any], plan: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The workflow with each agent in the mode the plan chose (format-extensions.md: modes,
    consumes, budgets, deadline), and what breaks the modes or the budgets. None when a mode
    is missing or unknown (nothing else can be checked)."""
    agents = workflow.get("agents", [])
    if not ("budgets" in workflow or "deadline" in workflow or any("modes" in a or "consumes" in a for a in agents)):
        return workflow, []
    chosen = {e.get("id"): e.get("mode") for e in plan.get("schedule", []) if isinstance(e, dict)}
    problems: list[str] = []
    plain, used = [], Counter()  # type: ignore[var-annotated]
    for agent in agents:
        a = dict(agent)
        for key, value in agent.get("consumes", {}).items():
            used[key] += value
        if "modes" in agent:
            modes = {m["name"]: m for m in agent["modes"]}
            name = chosen.get(agent["id"])
            if not isinstance(name, str) or name not in modes:
                problems.append(f"'{agent['id']}' has mode {name!r}, not one of its modes {sorted(modes)}")
                continue
            mode = modes[name]
            a.update({k: v for k, v in mode.items() if k not in ("name", "uses", "consumes")})
            a["uses"] = {**agent.get("uses", {}), **mode.get("uses", {})}
            for key, value in mode.get("consumes", {}).items():
                used[key] += value
        elif chosen.get(agent["id"]) is not None:
            problems.append(f"'{agent['id']}' has no modes, the plan gives it mode {chosen[agent['id']]!r}")
        a.pop("modes", None)
        plain.append(a)
    if problems:
        return None, problems
    for key, cap in workflow.get("budgets", {}).items():
        if used[key] > cap + TOL * max(1.0, cap):
            problems.append(f"the plan consumes {used[key]:g} {key}, over the budget of {cap:g}")
    stated = plan.get("consumes")
    if not isinstance(stated, dict):
        problems.append("the plan misses 'consumes' (what its agents consume together)")
    else:
        for key in set(used) | set(stated):
            if not (finite_number(stated.get(key)) and _close(float(stated[key]), used[key])):
                problems.append(f"consumes.{key} {stated.get(key)} != what the agents consume, {used[key]:g}")
    return {**workflow, "agents": plain}, problems


def _check_waves(waves: Any, starts: dict, durs: dict, waits: dict, makespan: float) -> list[str]:
    """A wave plan (format-extensions.md): every agent in one wave; a wave's agents start
    together, when the wave before has ended; its length is its longest agent's; each agent
    waits for the whole wave before (so that following ``waits_for`` keeps the waves)."""
    if not isinstance(waves, list) or not all(
        isinstance(w, dict)
        and isinstance(w.get("agents"), list)
        and all(isinstance(a, str) for a in w["agents"])
        and finite_number(w.get("start"))
        and finite_number(w.get("length"))
        for w in waves
    ):
        return ["'waves' must be a list of {'agents': [ids], 'start': number, 'length': number}"]
    out = []
    placed = Counter(a for w in waves for a in w["agents"])
    for a in sorted(set(starts) - set(placed)):
        out.append(f"'{a}' is in no wave")
    for a in sorted(a for a, times in placed.items() if times > 1):
        out.append(f"'{a}' is in more than one wave")
    for a in sorted(set(placed) - set(starts)):
        out.append(f"wave names unknown agent {a!r}")
    if out:
        return out
    expected, previous = 0.0, []  # type: tuple[float, list[str]]
    for k, w in enumerate(waves):
        if not _close(float(w["start"]), expected):
            out.append(f"wave {k + 1} starts at {w['start']:g}, but the wave before ends at {expected:g}")
        longest = max((durs[a] for a in w["agents"]), default=0.0)
        if not _close(float(w["length"]), longest):
            out.append(f"wave {k + 1}: length {w['length']:g} but its longest agent takes {longest:g}")
        for a in w["agents"]:
            if not _close(starts[a], float(w["start"])):
                out.append(f"'{a}' starts at {starts[a]:g}, not with its wave {k + 1} at {w['start']:g}")
            waited = set(waits[a])
            missing = [b for b in previous if b not in waited]
            if missing:
                out.append(f"'{a}' (wave {k + 1}) does not wait for '{missing[0]}' of the wave before")
        expected, previous = float(w["start"]) + longest, w["agents"]
    if waves and not _close(expected, makespan):
        out.append(f"the waves end at {expected:g}, the makespan is {makespan:g}")
    return out


def finite_number(value: Any) -> bool:
    """A finite JSON number (an integer too large for a float is not)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _plan_shape(plan: Any) -> list[str]:
    """The plan's fields and their types (plan-format.md), before any arithmetic on them."""
    if not isinstance(plan, dict):
        return ["the plan is not a JSON object"]
    out = []
    for key in ("makespan", "lower_bound", "gap"):
        if key in plan and not finite_number(plan[key]):
            out.append(f"'{key}' must be a finite number, not {plan[key]!r}"[:200])
    if "makespan" not in plan:
        out.append("the plan has no 'makespan'")
    schedule = plan.get("schedule")
    if not isinstance(schedule, list):
        return out + ["the plan has no 'schedule' list"]
    for k, entry in enumerate(schedule):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            out.append(f"schedule[{k}]: an entry must be an object with a string 'id'")
            continue
        for key in ("start", "finish"):
            if not finite_number(entry.get(key)):
                out.append(
                    f"schedule[{k}] ('{entry['id']}'): '{key}' must be a finite number, not {entry.get(key)!r}"[:200]
                )
        waits = entry.get("waits_for", [])
        if not isinstance(waits, list) or not all(isinstance(w, str) for w in waits):
            out.append(f"schedule[{k}] ('{entry['id']}'): 'waits_for' must be a list of agent ids")
    groups = plan.get("groups", [])
    if not isinstance(groups, list) or not all(
        isinstance(g, dict)
        and finite_number(g.get("start"))
        and isinstance(g.get("agents"), list)
        and all(isinstance(a, str) for a in g["agents"])
        for g in groups
    ):
        out.append("'groups' must be a list of objects with a numeric 'start' and an 'agents' list")
    path = plan.get("critical_path", [])
    if not isinstance(path, list) or not all(isinstance(a, str) for a in path):
        out.append("'critical_path' must be a list of agent ids")
    return out


def _waits_order(waits: dict, agents: dict, problems: list[str]) -> list[str] | None:
    for a, ws in waits.items():
        for w in ws:
            if w not in agents:
                problems.append(f"'{a}' waits for unknown agent {w!r}")
                return None
            if w == a:
                problems.append(f"'{a}' waits for itself")
                return None
    indeg = {a: len(set(ws)) for a, ws in waits.items()}
    users: dict[str, list[str]] = {a: [] for a in agents}
    for a, ws in waits.items():
        for w in set(ws):
            users[w].append(a)
    ready = [a for a in agents if indeg[a] == 0]
    order = []
    while ready:
        a = ready.pop()
        order.append(a)
        for b in users[a]:
            indeg[b] -= 1
            if indeg[b] == 0:
                ready.append(b)
    if len(order) != len(agents):
        problems.append("waits_for contains a cycle")
        return None
    return order


def _check_groups(groups: list, starts: dict) -> list[str]:
    out = []
    listed: dict[str, float] = {}
    previous = None
    for g in groups:
        t = float(g.get("start", -1))
        if previous is not None and t <= previous + TOL * max(1.0, abs(t)):
            out.append(f"groups not in strictly increasing start order at {t:g}")
        previous = t
        for a in g.get("agents", []):
            if a in listed:
                out.append(f"'{a}' is in two groups")
            listed[a] = t
            if a in starts and not _close(starts[a], t):
                out.append(f"'{a}' is in the group at {t:g} but starts at {starts[a]:g}")
    for a in starts:
        if a not in listed:
            out.append(f"'{a}' is in no group")
    return out


def _check_critical_path(path: list, starts: dict, durs: dict, waits: dict, makespan: float) -> list[str]:
    if not path:
        return ["critical path is empty"] if makespan > 0 else []
    out = []
    for a in path:
        if a not in starts:
            return [f"critical path names unknown agent {a!r}"]
    if not _close(starts[path[0]], 0.0):
        out.append(f"critical path starts with '{path[0]}' at {starts[path[0]]:g}, not 0")
    for prev, nxt in zip(path, path[1:]):
        if prev not in waits[nxt]:
            out.append(f"critical path: '{nxt}' does not wait for '{prev}'")
        if not _close(starts[prev] + durs[prev], starts[nxt]):
            out.append(f"critical path: '{nxt}' does not start when '{prev}' finishes")
    total = sum(durs[a] for a in path)
    if not _close(total, makespan):
        out.append(f"critical path durations add up to {total:g}, not the makespan {makespan:g}")
    return out


def check_run(workflow: dict[str, Any], lines: list[dict[str, Any]]) -> list[str]:
    """All the ways the attempts of one real run (its history lines, docs/spec/run-format.md)
    break the rules of ``workflow``: an agent started before a dependency finished ``ok``,
    a capacity exceeded or a file conflict overlapping at some moment (every attempt that ran
    counts, failed and cancelled ones included), an agent that ended ``ok`` twice, or a
    ``skipped`` line with a duration."""
    problems: list[str] = []
    agents = {a["id"]: a for a in workflow.get("agents", [])}
    resources = dict(workflow.get("resources", {}))
    ran: dict[str, dict] = {}
    starts: dict[str, float] = {}
    durs: dict[str, float] = {}
    ok_key: dict[str, str] = {}
    for k, line in enumerate(lines):
        aid = str(line.get("agent"))
        if line.get("agent") not in agents:
            problems.append(f"line {k + 1}: unknown agent {aid!r}")
            continue
        if line["status"] == "skipped":
            if not _close(line["start"], line["finish"]):
                problems.append(f"line {k + 1}: '{aid}' is skipped but ran {line['finish'] - line['start']:g} s")
            continue
        key = f"{aid}#{line.get('attempt', k)}#{k}"
        starts[key], durs[key] = line["start"], max(line["finish"] - line["start"], 1e-9)
        uses = agents[aid].get("uses", {})
        if "modes" in agents[aid]:  # model choice: the uses of the mode the attempt ran in
            modes = {m["name"]: m for m in agents[aid]["modes"]}
            if line.get("mode") not in modes:
                problems.append(f"line {k + 1}: '{aid}' ran in mode {line.get('mode')!r}, not one of its modes")
                continue
            uses = {**uses, **modes[line["mode"]].get("uses", {})}
        ran[key] = {
            "uses": uses,
            "reads": agents[aid].get("reads", []),
            "writes": agents[aid].get("writes", []),
            "agent": aid,
        }
        if line["status"] == "ok":
            if aid in ok_key:
                problems.append(f"'{aid}' ended ok twice in one run")
            ok_key[aid] = key
    last_key = {entry["agent"]: key for key, entry in ran.items()}  # lines are in time order
    for entry in ran.values():
        agent = agents[entry["agent"]]
        condition = agent.get("run_if") or {}
        needs = list(agent.get("depends_on", []))
        if condition.get("agent") and condition["agent"] not in needs:
            needs.append(condition["agent"])
        entry["depends_on"] = []
        for d in needs:
            if d in ok_key:
                entry["depends_on"].append(ok_key[d])
            elif d == condition.get("agent") and d in last_key:
                entry["depends_on"].append(last_key[d])  # run_if on a failure: after that attempt
            else:
                problems.append(f"'{entry['agent']}' ran although its dependency '{d}' did not end ok")
    conflicts = _Conflicts(ran, owner=lambda key: ran[key]["agent"])
    return problems + _violations_of(starts, durs, ran, resources, conflicts, "run")
