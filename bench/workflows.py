"""Random agent workflows that look like real ones, for benchmarks.

Agents come in waves (plan -> work -> check -> merge), each depends on a
few agents of earlier waves, runs for whole seconds (log-normal around a
minute), holds an agent slot, some memory, and LLM agents a token rate;
agents read and write paths of a source tree (8 modules, one more set of
8 per 64 agents beyond 64), so some of them conflict on files.
"""

from __future__ import annotations

import math
import random

MODULES = ["api", "core", "ui", "db", "auth", "billing", "search", "jobs"]


def random_workflow(n: int, seed: int = 0, mean_seconds: float = 60.0) -> dict:
    """A workflow of ``n`` agents with second-level durations."""
    rng = random.Random(seed)
    modules = MODULES if n <= 64 else [f"{m}{k}" for k in range(n // 64 + 1) for m in MODULES]
    waves = max(2, round(math.sqrt(n) / 1.5))
    wave_of = sorted(rng.randrange(waves) for _ in range(n))
    agents = []
    for j in range(n):
        earlier = [i for i in range(j) if wave_of[i] < wave_of[j]]
        deps = rng.sample(earlier, min(len(earlier), rng.choice([0, 1, 1, 2, 3]))) if earlier else []
        llm = rng.random() < 0.7
        module = rng.choice(modules)
        reads = [f"src/{module}/"] + ([f"docs/{module}.md"] if rng.random() < 0.3 else [])
        writes = []
        r = rng.random()
        if r < 0.25:
            writes = [f"src/{module}/{rng.choice(['models.py', 'views.py', 'util.py'])}"]
        elif r < 0.35:
            writes = [f"tests/{module}/"]
        elif r < 0.40:
            writes = [f"src/{module}/"]
        duration = max(5, min(600, round(rng.lognormvariate(math.log(mean_seconds), 0.6))))
        uses = {"slots": 1, "memory_gb": rng.choice([1, 1, 2, 2, 4])}
        if llm:
            uses["tokens_per_min"] = rng.choice([20000, 30000, 40000, 60000])
        agent = {"id": f"agent-{j:03d}", "duration": duration, "uses": uses, "reads": reads}
        if deps:
            agent["depends_on"] = [f"agent-{i:03d}" for i in sorted(deps)]
        if writes:
            agent["writes"] = writes
        agents.append(agent)
    return {
        "name": f"random-{n}-{seed}",
        "time_unit": "s",
        "resources": {"slots": max(3, n // 6), "memory_gb": max(8, n // 3), "tokens_per_min": 50000 * max(3, n // 8)},
        "agents": agents,
    }


def crowded_workflow(n: int, seed: int = 0, slots: int = 8, files: int = 40) -> dict:
    """``n`` agents on ``slots`` slots sharing a few dozen files (the red team's large case):
    a layered graph with 1-3 dependencies on the layer before, each agent reads one or two of
    the ``files`` and one in ten writes one, so most pairs meet on a slot or a file."""
    rng = random.Random(seed)
    width = max(1, int(n**0.5))
    agents = []
    for k in range(n):
        layer = k // width
        deps = []
        if layer:
            before = range((layer - 1) * width, layer * width)
            deps = [f"t{j}" for j in rng.sample(before, min(len(before), rng.randint(1, 3)))]
        agent = {
            "id": f"t{k}",
            "duration": rng.randint(5, 120),
            "depends_on": deps,
            "uses": {"slots": 1},
            "reads": [f"shared/f{rng.randrange(files)}.txt" for _ in range(rng.randint(1, 2))],
        }
        if rng.random() < 0.1:
            agent["writes"] = [f"shared/f{rng.randrange(files)}.txt"]
        agents.append(agent)
    return {"name": f"crowded-{n}", "resources": {"slots": slots}, "agents": agents}


#: (name, duration factor, usd per 1,000 tokens, tokens factor) of three models: fast and
#: costly, medium, slow and cheap (prices and speeds are illustrative ratios, not quotes)
MODELS = (("opus", 1.0, 0.045, 1.0), ("sonnet", 1.6, 0.009, 1.1), ("haiku", 2.6, 0.0024, 1.3))


def llm_mode_workflow(n: int, seed: int = 0, models: int = 3, budgets: int = 1, tightness: float = 0.35) -> dict:
    """``n`` LLM agents in a layered graph, each with one mode per model (the first ``models``
    of :data:`MODELS`): the faster model costs more, each model's tokens-per-minute bucket is
    its own resource, and ``usd`` (and with ``budgets=2`` also ``tokens``) has a budget
    ``tightness`` of the way from the cheapest choice to the dearest."""
    rng = random.Random(seed)
    layers = max(2, round(math.sqrt(n) / 1.5))
    layer = sorted(rng.randrange(layers) for _ in range(n))
    agents, cheapest, dearest = [], {"usd": 0.0, "tokens": 0.0}, {"usd": 0.0, "tokens": 0.0}
    for j in range(n):
        earlier = [i for i in range(j) if layer[i] < layer[j]]
        deps = rng.sample(earlier, min(len(earlier), rng.choice([0, 1, 1, 2]))) if earlier else []
        base = max(10, round(rng.lognormvariate(math.log(90), 0.5)))
        tokens = rng.choice([20_000, 40_000, 80_000, 150_000])
        modes = []
        for name, slower, price, more in MODELS[:models]:
            used = round(tokens * more)
            modes.append(
                {
                    "name": name,
                    "duration": round(base * slower),
                    "uses": {f"{name}_tpm": rng.choice([20_000, 30_000, 40_000])},
                    "consumes": {"usd": round(used / 1000 * price, 3), "tokens": used},
                }
            )
        for key in cheapest:
            cheapest[key] += min(m["consumes"][key] for m in modes)
            dearest[key] += max(m["consumes"][key] for m in modes)
        agent = {"id": f"agent-{j:03d}", "uses": {"slots": 1}, "modes": modes}
        if deps:
            agent["depends_on"] = [f"agent-{i:03d}" for i in sorted(deps)]
        if rng.random() < 0.3:
            agent["writes"] = [f"src/m{rng.randrange(max(2, n // 4))}.py"]
        agents.append(agent)
    keys = ["usd", "tokens"][:budgets]
    return {
        "name": f"llm-modes-{n}-{seed}",
        "time_unit": "s",
        "resources": {"slots": max(3, n // 4), **{f"{name}_tpm": 80_000 for name, *_ in MODELS[:models]}},
        "budgets": {k: round(cheapest[k] + tightness * (dearest[k] - cheapest[k]), 3) for k in keys},
        "agents": agents,
    }


def psplib_style_multimode(n: int, seed: int = 0, rs_renewable: float = 0.25, rs_budget: float = 0.5) -> dict:
    """A multi-mode instance in the style of PSPLIB's j10-j30 MRCPSP sets (ProGen's parameters,
    generated here: the files are not on this machine): ``n`` jobs with 3 modes each, durations
    1-10 growing from mode to mode, 2 renewable resources and 2 non-renewable ones (budgets)
    whose requests shrink as the mode gets slower, 1-3 successors per job, and capacities set by
    the resource strength: ``min + rs * (max - min)``."""
    rng = random.Random(seed)
    agents, nonrenewable = [], [[], []]
    renewable_max = [0, 0]
    for j in range(n):
        durations = sorted(rng.randint(1, 10) for _ in range(3))
        requests = [sorted((rng.randint(1, 10) for _ in range(3)), reverse=True) for _ in range(2)]
        budgets = [sorted((rng.randint(1, 10) for _ in range(3)), reverse=True) for _ in range(2)]
        modes = []
        for m in range(3):
            mode = {
                "name": f"m{m + 1}",
                "duration": durations[m],
                "uses": {"R1": requests[0][m], "R2": requests[1][m]},
                "consumes": {"N1": budgets[0][m], "N2": budgets[1][m]},
            }
            modes.append(mode)
        for k in range(2):
            nonrenewable[k].append((min(budgets[k]), max(budgets[k])))
            renewable_max[k] = max(renewable_max[k], max(requests[k]))
        agent = {"id": f"j{j + 1}", "modes": modes}
        preds = [i for i in range(j) if rng.random() < 2.0 / max(j, 1)][:3]
        if preds:
            agent["depends_on"] = [f"j{i + 1}" for i in preds]
        agents.append(agent)
    # as ProGen: Kmax is the peak demand of the earliest-start schedule in the largest requests
    start: dict[str, int] = {}
    for a in agents:
        start[a["id"]] = max(
            (start[d] + agents[int(d[1:]) - 1]["modes"][0]["duration"] for d in a.get("depends_on", [])), default=0
        )
    horizon = max(start[a["id"]] + a["modes"][0]["duration"] for a in agents)
    resources = {}
    for k, name in enumerate(("R1", "R2")):
        least = renewable_max[k]  # every mode of every job must fit: at least the largest request
        load = [0] * (horizon + 1)
        for a in agents:
            for t in range(start[a["id"]], start[a["id"]] + a["modes"][0]["duration"]):
                load[t] += max(m["uses"][name] for m in a["modes"])
        resources[name] = least + round(rs_renewable * max(0, max(load) - least))
    budgets = {}
    for k, name in enumerate(("N1", "N2")):
        least = sum(lo for lo, _ in nonrenewable[k])
        most = sum(hi for _, hi in nonrenewable[k])
        budgets[name] = least + round(rs_budget * (most - least))
    return {"name": f"mm-j{n}-{seed}", "time_unit": "s", "resources": resources, "budgets": budgets, "agents": agents}
