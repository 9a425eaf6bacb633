"""Hypothesis strategies that build valid workflows by construction:
draw an order, add only forward dependencies, keep every demand within capacity."""

from __future__ import annotations

from hypothesis import strategies as st

PATHS = ["a.txt", "b/", "b/x.py", "b/y.py", "c/", "c/d/e.md"]


@st.composite
def workflows(
    draw,
    min_agents: int = 2,
    max_agents: int = 8,
    max_duration: int = 6,
    integral: bool = True,
    contended: bool = False,
):
    """Random valid workflows; ``contended`` ones share a tight resource and have few dependencies,
    so that heuristics and simple bounds rarely settle them and the MILP has to."""
    n = draw(st.integers(min_agents, max_agents))
    n_res = draw(st.integers(1 if contended else 0, 2))
    caps = {f"r{k}": draw(st.integers(2 if contended else 1, 4)) for k in range(n_res)}
    dep_percent = 8 if contended else 25
    agents = []
    for j in range(n):
        if integral:
            duration = draw(st.integers(0, max_duration))
        else:
            duration = draw(st.sampled_from([0, 0.5, 1.25, 2, 2.5, 3.75, 4.1]))
        agent = {"id": f"t{j}", "duration": duration}
        deps = [f"t{i}" for i in range(j) if draw(st.integers(0, 99)) < dep_percent]
        if deps:
            agent["depends_on"] = deps
        uses = {r: draw(st.integers(1 if contended and r == "r0" else 0, c)) for r, c in caps.items()}
        uses = {r: u for r, u in uses.items() if u > 0}
        if uses:
            agent["uses"] = uses
        reads = draw(st.lists(st.sampled_from(PATHS), max_size=2, unique=True))
        writes = draw(st.lists(st.sampled_from(PATHS), max_size=1 if draw(st.booleans()) else 0, unique=True))
        if reads:
            agent["reads"] = reads
        if writes:
            agent["writes"] = writes
        agents.append(agent)
    return {"name": "random", "resources": caps, "agents": agents}


@st.composite
def mode_workflows(draw, max_agents: int = 5):
    """Small workflows with model choice: some agents get 2-3 ``modes`` (each its duration,
    uses within the capacities and a ``usd`` cost), every agent costs something, and a ``usd``
    budget lies between the cheapest and the dearest choice (sometimes below the cheapest)."""
    workflow = draw(workflows(max_agents=max_agents))
    caps = workflow["resources"]
    cheapest = dearest = 0
    for agent in workflow["agents"]:
        if draw(st.integers(0, 9)) < 6:
            modes = []
            for k in range(draw(st.integers(2, 3))):
                mode = {
                    "name": f"m{k}",
                    "duration": draw(st.integers(1, 6)),
                    "consumes": {"usd": draw(st.integers(0, 5))},
                }
                uses = {r: draw(st.integers(0, c)) for r, c in caps.items()}
                if any(uses.values()):
                    mode["uses"] = {r: u for r, u in uses.items() if u}
                modes.append(mode)
            agent.pop("duration")
            agent["modes"] = modes
            costs = [m["consumes"]["usd"] for m in modes]
        else:
            agent["consumes"] = {"usd": draw(st.integers(0, 2))}
            costs = [agent["consumes"]["usd"]]
        cheapest += min(costs)
        dearest += max(costs)
    workflow["budgets"] = {"usd": draw(st.integers(max(cheapest - 1, 0), dearest))}
    return workflow
