"""The Markdown optimisation report (``orchmilp solve --report report.md``)."""

from __future__ import annotations

from typing import Any

from .spend import spend_tables

__all__ = ["markdown_report"]


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    if not rows:
        return ["_none_", ""]
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out + [""]


def settled_by_dependencies(c: dict[str, Any]) -> str:
    """How many file conflicts need no ordering from the plan (empty when none)."""
    n = sum(f["settled_by"] != "plan" for f in c["resolution"]["files"])
    if not n:
        return ""
    if n == 1:
        return "1 more conflicting pair is already ordered by its dependencies."
    return f"{n} more conflicting pairs are already ordered by their dependencies."


def undeclared_warning(c: dict[str, Any]) -> str:
    """The history saw agents write files their ``writes`` do not declare."""
    seen = "; ".join(f"{a}: {', '.join(files[:5])}" for a, files in sorted(c["undeclared"].items()))
    return (
        f"past runs saw agents write files they do not declare ({seen}). The plan keeps only declared "
        "files apart: declare them (`orchmilp infer WF --history H -o WF`) or run with `--isolate worktree`."
    )


def conflicts_not_listed(c: dict[str, Any]) -> str:
    """How many conflicting pairs the report leaves out (empty when it lists them all)."""
    listed, total = len(c["resolution"]["files"]), c["resolution"].get("files_total", 0)
    if total <= listed:
        return ""
    return f"Only the first {listed} of {total} conflicting pairs are listed (by agent order)."


def markdown_report(c: dict[str, Any]) -> str:
    """Render :func:`orchmilp.report.content.report_content` as Markdown."""
    u = c["unit"]
    s = c["summary"]
    st = c["structure"]
    proof = (
        f"proven optimal; lower bound {s['lower_bound']} {u}, gap 0%"
        if s["status"] == "optimal"
        else f"not proven optimal; lower bound {s['lower_bound']} {u}, gap {s['gap_percent']}%"
    )
    pr = c["prediction"]
    lines = [
        "# Parallel Orchestration Optimization Report",
        f"**Workflow**: {c['name']}   **Analysis Date**: {c['analysis_date']}   "
        "**Optimization Target**: minimum makespan",
        "",
        "## Executive Summary",
        f"- Current Performance: {s['baseline']} {u} (baseline: {s['baseline_label']})",
        f"- Optimized Performance: {s['makespan']} {u} ({proof}; bound from {s['bound_source']})",
        f"- Performance Gain: {s['gain_percent']}% reduction ({s['speedup']}x faster)"
        if s["speedup"]
        else "- Performance Gain: none (empty workflow)",
        f"- Confidence Level: {confidence(pr, u)}",
        f"- Risk Assessment: {c['risk']['level']} ({'; '.join(c['risk']['reasons'])})",
        f"- Critical path: {' -> '.join(c['critical_path'])}",
        f"- What binds without the optimiser's choices: {st['bounds']['binding']} "
        f"(dependencies alone allow {st['bounds']['dependencies']} {u}, capacities on top of them "
        f"{max(st['bounds']['resources'], st['bounds']['incompatible_cliques'])} {u})",
        f"- Solved in {s['solve_seconds']} s",
        "",
        "## Dependency Analysis",
        "### Current structure",
        f"{st['agents']} agents, {st['dependencies']} dependencies, {len(st['levels'])} levels; "
        f"deepest chain ({len(st['longest_chain'])} agents in a row): {' -> '.join(st['longest_chain'])}.",
        "",
    ]
    lines += _table(
        ["level", "agents", "at most in parallel (capacity)"],
        [
            [p["level"], ", ".join(st["levels"][p["level"]]), p["at_most_in_parallel_by_capacity"]]
            for p in st["parallelism"]
        ],
    )
    if st["redundant_dependencies"]:
        lines.append("Redundant dependencies (implied by others, safe to drop):")
        lines += [
            f"- `{r['agent']}` depends on `{r['depends_on']}`, already implied by {' -> '.join(r['implied_by'])}"
            for r in st["redundant_dependencies"]
        ]
        lines.append("")
    lines += ["```mermaid", c["mermaid"], "```", ""]
    if c["waves"] is not None:
        lines += ["### Optimized plan: waves (launch a wave's agents together, the next when all have ended)"]
        lines += _table(
            ["wave", "start", "length", "agents"],
            [
                [k, f"{w['start']} {u}", f"{w['length']} {u}", ", ".join(sorted(w["agents"]))]
                for k, w in enumerate(c["waves"], 1)
            ],
        )
        lines += [wave_cost(c), ""]
    else:
        lines += ["### Optimized plan: parallel groups"]
        lines += _table(["start", "agents"], [[f"{g['start']} {u}", ", ".join(g["agents"])] for g in c["groups"]])
    lines += ["### Schedule (each agent starts when everything it waits for has finished)"]
    lines += _table(
        ["agent", "start", "finish", "slack", "waits for"],
        [
            [
                ("**" + e["id"] + "**") if e["critical"] else e["id"],
                e["start"],
                e["finish"],
                e["slack"],
                ", ".join(e["waits_for"]) or "-",
            ]
            for e in c["schedule"]
        ],
    )

    lines += ["## Resource Conflict Analysis"]
    if c.get("undeclared"):
        lines += [f"> **Warning**: {undeclared_warning(c)}", ""]
    lines += ["### File conflicts and the order chosen"]
    files = [f for f in c["resolution"]["files"] if f["settled_by"] == "plan"]
    lines += _table(
        ["first", "then", "paths", f"idle between ({u})"],
        [[f["first"], f["then"], ", ".join(f["paths"]), f["idle_between"]] for f in files],
    )
    if conflicts_not_listed(c):
        lines += [conflicts_not_listed(c), ""]
    if settled_by_dependencies(c):
        lines += [settled_by_dependencies(c), ""]
    lines.append("### Saturated resources and the orderings they forced")
    res_rows = [
        [r["resource"], "; ".join(f"{o['first']} -> {o['then']}" for o in r["orderings"])]
        for r in c["resolution"]["resources"]
    ]
    lines += _table(["resource", "orderings added by the plan"], res_rows)
    lines.append("### What would make it faster")
    what = []
    for w in c["capacity_what_if"]:
        if "skipped" in w:
            what.append(f"- {w['resource']}: one more unit not tried ({w['skipped']})")
            continue
        tag = "" if w["proven"] else " (not proven)"
        what.append(
            f"- {w['resource']}: {w['capacity']} -> {w['new_capacity']} gives {w['makespan']} {u}"
            f" ({'saves ' + str(w['saving']) + ' ' + u if w['saving'] else 'no gain'}){tag}"
        )
    for w in c["conflict_what_if"]:
        if "skipped" in w:
            what.append(f"- lifting the conflict {w['agents'][0]} / {w['agents'][1]} not tried ({w['skipped']})")
            continue
        tag = "" if w["proven"] else " (not proven)"
        what.append(
            f"- lifting the conflict {w['agents'][0]} / {w['agents'][1]} on {', '.join(w['paths'])} gives "
            f"{w['makespan']} {u} ({'saves ' + str(w['saving']) + ' ' + u if w['saving'] else 'no gain'}){tag}"
        )
    lines += (what or ["_nothing to try: no resource is saturated and no file conflict costs time_"]) + [""]

    lines += [
        "## Performance Predictions",
        f"- Critical path ({s['makespan']} {u}): {' -> '.join(c['critical_path'])}",
        "- Any delay of a critical agent delays the whole run by as much; other agents may slip by their slack.",
        f"- Total Predicted Time: p50 {pr['p50']} {u}, p90 {pr['p90']} {u}, "
        f"{100 * pr['level']:g}% interval {pr['interval']} {u} (± {pr['half_width']} {u}, {pr['samples']} samples)",
        "- Most often on the critical path under the predicted run times: "
        + ", ".join(f"{a['id']} ({100 * a['criticality']:.0f}%)" for a in pr["most_critical"]),
        "",
        "### Parallel branches (off the critical path)",
    ]
    lines += _table(
        ["agents", "start", "finish", f"slack ({u})"],
        [[" -> ".join(b["agents"]), b["start"], b["finish"], b["slack"]] for b in c["branches"]],
    )
    lines += ["## Resource Utilization"]
    lines += _table(
        ["resource", "capacity", "average %", "peak", "peak %"],
        [[r["resource"], r["capacity"], r["average_percent"], r["peak"], r["peak_percent"]] for r in c["utilisation"]],
    )
    lines += spend_section(c, u)
    lines += ["## Implementation Roadmap"]
    for phase in c["roadmap"]:
        lines += [f"### {phase['phase']}"] + [f"- [ ] {step}" for step in phase["steps"]] + [""]
    v = c["validation"]
    lines += [
        "## Validation Strategy",
        f"- Performance Benchmarks: {v['text']}",
        "- Success Criteria: the makespans fall inside the interval as often as its level says",
        "- Rollback Plan: keep the current stages; the plan is only an order of starts, nothing to undo",
    ]
    return "\n".join(lines)


def spend_section(c: dict[str, Any], u: str) -> list[str]:
    """Token and money budget distribution (plans with model choice only)."""
    sp = c.get("spend")
    if not sp:
        return []
    lines = ["## Token and Cost Budget", f"- {sp['text']}"]
    if sp["deadline"] is not None:
        lines.append(f"- Deadline {sp['deadline']} {u}; the plan ends at {c['summary']['makespan']} {u}.")
    lines.append("")
    for title, header, rows in spend_tables(sp, u):
        faster = title.startswith("Faster")
        if faster and not rows:
            continue  # every agent already in its fastest mode
        lines.append(f"### {title}")
        if faster:
            lines += [
                "An agent's own time saved shortens the plan only when the agent is on the critical path "
                "(and then by at most that much); the budgets decide what fits.",
                "",
            ]
        lines += _table(header, rows)
    return lines


def wave_cost(c: dict[str, Any]) -> str:
    """What the waves cost against the event-driven plan, and what they gain on the workflow's stages."""
    cost, u = c["dispatch_cost"], c["unit"]
    if not cost:
        return f"The waves take {c['summary']['makespan']} {u}."
    waves, events = cost["waves"], cost["events"]
    extra = 100 * (waves - events) / events if events else 0.0
    text = (
        f"The waves take {waves} {u}; the event-driven plan ({cost['events_status']}) {events} {u}: "
        f"launching in waves costs {extra:.1f}% (drive `orchmilp session` for the event-driven plan)."
    )
    if "stages" in cost:
        gain = 100 * (cost["stages"] - waves) / cost["stages"] if cost["stages"] else 0.0
        text += f" The workflow's own stages take {cost['stages']} {u}: the waves are {gain:.1f}% shorter."
    return text


def confidence(pr: dict[str, Any], u: str) -> str:
    """The confidence statement: the interval the data give, and the ±10% claim only where it holds."""
    sources = ", ".join(f"{k} {v}" for k, v in pr["sources"].items())
    claim = (
        f"within ±10% at {100 * pr['level']:g}% confidence"
        if pr["within_claim"]
        else f"not ±10%: the data give ±{pr['relative_half_width_percent']}%"
    )
    calibrated = ""
    if pr.get("calibration"):
        c = pr["calibration"]
        calibrated = (
            f"; calibrated on the {c['runs']} past runs of this workflow, each predicted without it "
            f"({c['loo_inside']} of {c['loo_runs']} inside the interval the others give); "
            f"the model alone: {c['model_interval'][0]}-{c['model_interval'][1]} {u}"
        )
    return (
        f"{100 * pr['level']:g}% interval {pr['interval'][0]}-{pr['interval'][1]} {u} "
        f"(p50 {pr['p50']} {u}, ± {pr['half_width']} {u}; {claim}; run times from: {sources}{calibrated})"
    )
