"""A brute-force reference optimum, written independently of orchmilp's solver.

Every active schedule comes out of the serial schedule generation scheme for
some precedence-feasible order of the agents, and some active schedule is
optimal; so the best schedule over all such orders is the optimum. For
integer durations this walks all orders depth-first with a time-indexed
resource profile.
"""

from __future__ import annotations

import itertools

from orchmilp.check import _Conflicts  # the checker's own, formulation-free path logic


def reference_optimum(workflow: dict) -> int:
    agents = workflow["agents"]
    ids = [a["id"] for a in agents]
    pos = {a: i for i, a in enumerate(ids)}
    n = len(ids)
    dur = [int(a["duration"]) for a in agents]
    preds = [[pos[d] for d in a.get("depends_on", [])] for a in agents]
    caps = workflow.get("resources", {})
    names = list(caps)
    use = [[a.get("uses", {}).get(r, 0) for r in names] for a in agents]
    conflict = [set() for _ in range(n)]
    for x, y in _Conflicts({a["id"]: a for a in agents}).pairs():
        conflict[pos[x]].add(pos[y])
        conflict[pos[y]].add(pos[x])
    horizon = sum(dur) + 1
    load = [[0.0] * horizon for _ in names]
    start = [None] * n
    best = [sum(dur)]

    def fits(j: int, t: int) -> bool:
        if dur[j] == 0:
            return True
        for k in range(len(names)):
            if use[j][k] and any(load[k][u] + use[j][k] > caps[names[k]] + 1e-9 for u in range(t, t + dur[j])):
                return False
        for i in conflict[j]:
            if start[i] is not None and dur[i] > 0 and start[i] < t + dur[j] and t < start[i] + dur[i]:
                return False
        return True

    def place(j: int, t: int, sign: int) -> None:
        if dur[j] == 0:
            return
        for k in range(len(names)):
            if use[j][k]:
                for u in range(t, t + dur[j]):
                    load[k][u] += sign * use[j][k]

    def dfs(done: int, makespan: int) -> None:
        if done == n:
            best[0] = min(best[0], makespan)
            return
        if makespan >= best[0]:
            return
        for j in range(n):
            if start[j] is None and all(start[i] is not None for i in preds[j]):
                t = max([start[i] + dur[i] for i in preds[j]], default=0)
                while not fits(j, t):
                    t += 1
                start[j] = t
                place(j, t, 1)
                dfs(done + 1, max(makespan, t + dur[j]))
                place(j, t, -1)
                start[j] = None

    dfs(0, 0)
    return best[0]


def in_modes(workflow: dict, choice: tuple[int, ...]) -> tuple[dict, float]:
    """The single-mode workflow of a choice and what it costs (written here, not orchmilp's)."""
    agents, usd = [], 0.0
    for agent, m in zip(workflow["agents"], choice):
        a = {k: v for k, v in agent.items() if k not in ("modes", "consumes")}
        usd += agent.get("consumes", {}).get("usd", 0)
        if "modes" in agent:
            mode = agent["modes"][m]
            a["duration"] = mode["duration"]
            a["uses"] = {**agent.get("uses", {}), **mode.get("uses", {})}
            usd += mode.get("consumes", {}).get("usd", 0)
        agents.append(a)
    return {"resources": workflow.get("resources", {}), "agents": agents}, usd


def mode_brute_force(workflow: dict) -> float | None:
    """The shortest plan over every choice of modes within the budget (None: none fits)."""
    best = None
    counts = [len(a.get("modes", [None])) for a in workflow["agents"]]
    for choice in itertools.product(*(range(c) for c in counts)):
        single, usd = in_modes(workflow, choice)
        if usd <= workflow["budgets"]["usd"]:
            optimum = reference_optimum(single)
            best = optimum if best is None else min(best, optimum)
    return best


def parallel_scheme(priority, durations, preds, usage, capacity, latest_start, wcs) -> list[float]:
    """Kolisch's parallel schedule generation scheme written plainly (whole durations): at each
    time, the agents whose dependencies have finished start in priority order (ties by index)
    while they fit beside the agents still running; with ``wcs`` the priority is the
    worst-case slack ``latest_start - (t + d if another eligible agent cannot run beside it
    else t)``, least first. Then time moves to the next finish."""
    n = len(durations)
    start = [None] * n
    t = 0

    def running_load(k):
        return sum(usage[i][k] for i in range(n) if start[i] is not None and start[i] + durations[i] > t)

    while any(s is None for s in start):
        while True:  # agents of no duration can make others eligible at the same time
            eligible = [
                j
                for j in range(n)
                if start[j] is None and all(start[i] is not None and start[i] + durations[i] <= t for i in preds[j])
            ]

            def key(j, eligible=eligible, t=t):
                if not wcs:
                    return -priority[j]
                clash = any(
                    any(usage[i][k] + usage[j][k] > capacity[k] for k in range(len(capacity)))
                    for i in eligible
                    if i != j
                )
                return latest_start[j] - (t + durations[j] if clash else t)

            started = 0
            for j in sorted(eligible, key=lambda j: (key(j), j)):
                if durations[j] == 0 or all(running_load(k) + usage[j][k] <= capacity[k] for k in range(len(capacity))):
                    start[j] = t
                    started += 1
            if not started:
                break
        finishes = [start[i] + durations[i] for i in range(n) if start[i] is not None and start[i] + durations[i] > t]
        if not finishes:
            break
        t = min(finishes)
    return start
