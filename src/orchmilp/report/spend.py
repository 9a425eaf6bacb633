"""What a plan with model choice spends (the product's "token budget distribution"): per
agent and per parallel group (or wave), against the budgets, and what a faster model would
save and cost for each agent not already in its fastest mode."""

from __future__ import annotations

from typing import Any

from ..io.modes import mode_table
from ..io.numbers import plain_number
from ..result import Result

__all__ = ["spend_content", "spend_tables"]


def _share(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole > 0 else None


def spend_content(result: Result) -> dict[str, Any] | None:
    """The spend section of the report; None for a plan without model choice."""
    if result.consumes is None or result.workflow is None:
        return None
    table = mode_table(result.workflow)
    names = result.modes or {}
    chosen = []
    for aid, modes in zip(table.ids, table.modes):
        by_name = {m.name: m for m in modes}
        chosen.append(by_name.get(names.get(aid, ""), modes[0]))
    keys = list(result.consumes)
    totals = result.consumes
    critical = set(result.critical_path_index)
    agents = []
    for j, (aid, mode) in enumerate(zip(table.ids, chosen)):
        row: dict[str, Any] = {"id": aid, "mode": (result.modes or {}).get(aid, "-"), "critical": j in critical}
        for k in keys:
            row[k] = plain_number(round(mode.consumes.get(k, 0.0), 6))
            row[f"{k}_percent"] = _share(mode.consumes.get(k, 0.0), totals[k])
        agents.append(row)
    waves = result.wave_list if result.waves is not None else None
    groups = []
    for g in waves if waves is not None else result.groups:
        members = [result.problem.index[a] for a in g["agents"]]
        row = {"start": g["start"], "agents": g["agents"]}
        for k in keys:
            amount = sum(chosen[j].consumes.get(k, 0.0) for j in members)
            row[k] = plain_number(round(amount, 6))
            row[f"{k}_percent"] = _share(amount, totals[k])
        groups.append(row)
    faster = []
    for j, (aid, modes) in enumerate(zip(table.ids, table.modes)):
        here = chosen[j]
        for mode in modes:
            if mode.duration < here.duration:
                faster.append(
                    {
                        "id": aid,
                        "mode": mode.name,
                        "instead_of": here.name,
                        "saves": plain_number(round(here.duration - mode.duration, 6)),
                        "critical": j in critical,
                        **{
                            f"extra_{k}": plain_number(round(mode.consumes.get(k, 0.0) - here.consumes.get(k, 0.0), 6))
                            for k in keys
                        },
                    }
                )
    budgets = table.budgets
    used = ", ".join(
        f"{plain_number(round(totals[k], 6))} {k}"
        + (f" of {plain_number(budgets[k])} ({_share(totals[k], budgets[k])}%)" if k in budgets else "")
        for k in keys
    )
    return {
        "text": f"The plan consumes {used}.",
        "keys": keys,
        "totals": {k: plain_number(round(v, 6)) for k, v in totals.items()},
        "budgets": {k: plain_number(v) for k, v in budgets.items()},
        "used_percent": {k: _share(totals[k], budgets[k]) for k in budgets},
        "deadline": plain_number(table.deadline) if table.deadline is not None else None,
        "agents": agents,
        "groups": groups,
        "grouped_by": "wave" if waves is not None else "parallel group",
        "faster": sorted(faster, key=lambda f: (not f["critical"], -f["saves"])),
    }


def spend_tables(sp: dict[str, Any], unit: str) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The spend section's tables as (title, header, rows), for the Markdown and HTML reports."""
    keys = sp["keys"]
    tables = [
        (
            f"Per {sp['grouped_by']}",
            ["start", "agents", *(f"{k} (%)" for k in keys)],
            [
                [g["start"], ", ".join(g["agents"]), *(f"{g[k]} ({g[k + '_percent']}%)" for k in keys)]
                for g in sp["groups"]
            ],
        ),
        (
            "Per agent: the model chosen",
            ["agent", "mode", "critical", *(f"{k} (%)" for k in keys)],
            [
                [a["id"], a["mode"], "yes" if a["critical"] else "", *(f"{a[k]} ({a[k + '_percent']}%)" for k in keys)]
                for a in sp["agents"]
            ],
        ),
    ]
    tables.append(
        (
            "Faster models not chosen: what each would save and cost",
            ["agent", "mode instead of", f"saves ({unit})", "critical", *(f"extra {k}" for k in keys)],
            [
                [
                    f["id"],
                    f"{f['mode']} instead of {f['instead_of']}",
                    f["saves"],
                    "yes" if f["critical"] else "",
                    *(f[f"extra_{k}"] for k in keys),
                ]
                for f in sp["faster"]
            ],
        )
    )
    return tables
