"""What a plan with model choice will spend: each budget key's total, learnt from the usage
that past attempts recorded per kind of agent and mode (``usage`` in the history), else the
chosen mode's declared ``consumes`` (with no spread: nothing says how it varies).

Each agent's amount is drawn from its kind-and-mode's recorded attempts (a bootstrap; an
agent whose kind has no record in that mode takes its declared figure); the totals' quantiles
give p50, p90 and the interval."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..history import History
from ..io.modes import DEFAULT_MODE, ModeTable

__all__ = ["predict_spend", "backtest_spend"]


def _recorded(history: History | None) -> dict[tuple[str, str | None, str], list[float]]:
    """(kind, mode, key) -> amounts recorded by past attempts that ended ok."""
    out: dict[tuple[str, str | None, str], list[float]] = {}
    if history is None:
        return out
    for kind, mode, status, usage in zip(history.kind, history.mode, history.status, history.usage):
        if status != "ok":
            continue
        for key, value in usage.items():
            out.setdefault((kind, mode, key), []).append(float(value))
    return out


def predict_spend(
    table: ModeTable,
    kinds: list[str],
    modes: dict[str, str],
    history: History | None,
    *,
    samples: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Per key consumed: p50, p90, the ``level`` interval, the declared total, and how many
    agents' figures were learnt from history."""
    rng = np.random.default_rng(seed)
    recorded = _recorded(history)
    keys = list(dict.fromkeys([*table.budgets, *(k for ms in table.modes for m in ms for k in m.consumes)]))
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        totals = np.zeros(samples)
        declared, learnt = 0.0, 0
        for agent_id, kind, agent_modes in zip(table.ids, kinds, table.modes):
            name = modes.get(agent_id, DEFAULT_MODE)
            mode = next((m for m in agent_modes if m.name == name), agent_modes[0])
            figure = mode.consumes.get(key, 0.0)
            declared += figure
            past = recorded.get((kind, None if name == DEFAULT_MODE else name, key))
            if past:
                totals += rng.choice(np.asarray(past), size=samples)
                learnt += 1
            else:
                totals += figure
        lo, hi = np.quantile(totals, [(1 - level) / 2, (1 + level) / 2])
        out[key] = {
            "p50": round(float(np.quantile(totals, 0.5)), 6),
            "p90": round(float(np.quantile(totals, 0.9)), 6),
            "interval": [round(float(lo), 6), round(float(hi), 6)],
            "declared": round(declared, 6),
            "learnt_agents": learnt,
        }
    return out


def backtest_spend(
    table: ModeTable,
    kinds: list[str],
    modes: dict[str, str] | None,
    history: History,
    key: str,
    *,
    level: float = 0.9,
    samples: int = 4000,
) -> dict[str, Any]:
    """Leave one run out: each past run's total ``key`` spend (over the plan's agents) against
    the interval predicted from the other runs, for the modes ``modes`` (None: the modes that
    run recorded). Coverage (share inside) and mean width. Runs that recorded no ``key`` at all
    are left out (they measured nothing)."""
    inside, widths, runs = 0, [], 0
    agents = set(table.ids)
    for run in history.runs:
        held = history.only_run(run)
        if not any(key in u for a, u in zip(held.agent, held.usage) if a in agents):
            continue
        actual = sum(
            u.get(key, 0.0) for a, s, u in zip(held.agent, held.status, held.usage) if a in agents and s == "ok"
        )
        chosen = modes
        if chosen is None:
            chosen = {a: m for a, m, s in zip(held.agent, held.mode, held.status) if s == "ok" and m is not None}
        predicted = predict_spend(table, kinds, chosen, history.without_run(run), samples=samples, level=level)[key]
        lo, hi = predicted["interval"]
        inside += lo - 1e-9 <= actual <= hi + 1e-9
        widths.append(hi - lo)
        runs += 1
    return {
        "runs": runs,
        "coverage": inside / runs if runs else None,
        "mean_width": float(np.mean(widths)) if widths else None,
    }
