"""The readable plan printed by ``orchmilp solve``."""

from __future__ import annotations

import math
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..io.numbers import plain_number
from ..result import Result
from ..statuses import SolveStatus

__all__ = ["print_result", "print_prediction", "print_history", "print_backtest"]


#: longest table printed to the console; the rest is counted (the whole plan: -o or --json)
MAX_ROWS = 200
#: the status line says how much of the solve compiled numba kernels from this many seconds
COMPILE_NOTE_SECONDS = 0.5


def _capped(rows: list, what: str, console: Console) -> list:
    """The first :data:`MAX_ROWS` rows; a line says how many more there are."""
    if len(rows) > MAX_ROWS:
        console.print(f"  (showing {MAX_ROWS} of {len(rows)} {what}: the whole list is in -o FILE or --json)")
    return rows[:MAX_ROWS]


def _ids(ids) -> str:
    return ", ".join(escape(i) for i in ids)


def print_result(result: Result, console: Console | None = None) -> None:
    """Status line, parallel groups, schedule with waits_for, critical path (long tables cut
    at :data:`MAX_ROWS` rows; workflow strings escaped, never read as markup)."""
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    unit = escape(result.problem.time_unit)
    colour = "green" if result.status == SolveStatus.OPTIMAL else "yellow"
    console.print(f"[bold]{escape(result.problem.name)}[/bold]: [{colour}]{result.status.value}[/{colour}] plan")
    grid = ""
    if result.resolution is not None:
        grid = f", grid {plain_number(result.resolution)} {unit}" + ("" if result.exact_grid else " (rounded)")
    console.print(
        f"  makespan [bold]{plain_number(result.makespan)} {unit}[/bold]   "
        f"lower bound {plain_number(result.lower_bound)} {unit} ({result.bound_source})   "
        f"gap {100 * result.gap:.2f}%   solved in {result.solve_seconds:.2f} s{grid}"
    )
    if result.compile_seconds >= COMPILE_NOTE_SECONDS:
        console.print(
            f"  [yellow]{result.compile_seconds:.1f} s of it compiled numba kernels "
            "(the first solves after an install; cached for later runs)[/yellow]"
        )
    title = f"Waves ({len(result.waves)}), each after the last" if result.waves else "Parallel groups"
    groups = Table(title=title, title_justify="left", show_edge=False)
    groups.add_column("start", justify="right")
    groups.add_column("agents")
    for g in _capped(list(result.groups), "groups", console):
        groups.add_row(f"{g['start']}", _ids(g["agents"]))
    console.print(groups)
    table = Table(title="Schedule", title_justify="left", show_edge=False)
    table.add_column("agent")
    table.add_column("start", justify="right")
    table.add_column("finish", justify="right")
    if result.modes:
        table.add_column("mode")
    table.add_column("waits for")
    critical = set(result.critical_path)
    entries = sorted(result.schedule, key=lambda e: (e["start"], e["id"]))
    for entry in _capped(entries, "agents", console):
        name = f"[bold]{escape(entry['id'])}[/bold]" if entry["id"] in critical else escape(entry["id"])
        mode = [escape(entry.get("mode", "-"))] if result.modes else []
        table.add_row(name, f"{entry['start']}", f"{entry['finish']}", *mode, _ids(entry["waits_for"]) or "-")
    console.print(table)
    if result.consumes is not None:
        budgets = result.budgets or {}
        spent = ", ".join(
            f"{plain_number(round(v, 6))} {escape(k)}"
            + (f" of {plain_number(budgets[k])} ({100 * v / budgets[k]:.0f}%)" if budgets.get(k) else "")
            for k, v in result.consumes.items()
        )
        console.print(f"Consumes: {spent}")
    if result.objective is not None:
        o = result.objective
        console.print(
            f"Objective {escape(o['name'])}: {plain_number(o['value'])} ({o['status']}; lower bound "
            f"{plain_number(o['lower_bound'])}), ending by the deadline {plain_number(o['deadline'])} {unit}"
        )
    path = result.critical_path
    shown = " -> ".join(escape(a) for a in path[:MAX_ROWS]) + (
        f" -> ... ({len(path) - MAX_ROWS} more)" if len(path) > MAX_ROWS else ""
    )
    console.print("Critical path: " + shown + f" ({plain_number(result.makespan)} {unit})")


def print_analysis(facts: dict, console: Console | None = None) -> None:
    """The readable form of :func:`orchmilp.analysis.structure.analyze` (tables cut at
    :data:`MAX_ROWS` rows; workflow strings escaped)."""
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    u = escape(facts["time_unit"])
    b = facts["bounds"]
    console.print(
        f"[bold]{escape(facts['name'])}[/bold]: {facts['agents']} agents, {facts['dependencies']} dependencies, "
        f"{len(facts['levels'])} levels"
    )
    console.print(
        f"  dependencies alone need {b['dependencies']} {u}; capacities on top of them {b['resources']} {u} "
        f"(cliques of incompatible agents {b['incompatible_cliques']} {u}); sequential {b['sequential']} {u}"
    )
    console.print(f"  binding: [bold]{escape(str(b['binding']))}[/bold]")
    chain = lambda ids: " -> ".join(escape(a) for a in ids[:MAX_ROWS]) + (" -> ..." if len(ids) > MAX_ROWS else "")  # noqa: E731
    console.print("  critical path: " + chain(facts["critical_path"]) + f" ({facts['critical_path_length']} {u})")
    console.print(f"  deepest chain ({len(facts['longest_chain'])} agents in a row): " + chain(facts["longest_chain"]))
    levels = Table(title="Levels and parallelism", title_justify="left", show_edge=False)
    for col in ("level", "agents", "longest", "at most in parallel (capacity)"):
        levels.add_column(col)
    for p in _capped(facts["parallelism"], "levels", console):
        members = facts["levels"][p["level"]]
        shown = _ids(members[:20]) + (f", ... ({len(members) - 20} more)" if len(members) > 20 else "")
        levels.add_row(str(p["level"]), shown, str(p["longest"]), str(p["at_most_in_parallel_by_capacity"]))
    console.print(levels)
    slack = Table(title=f"Slack without resources ({u})", title_justify="left", show_edge=False)
    for col in ("agent", "earliest start", "latest start", "slack"):
        slack.add_column(col)
    for agent, s in _capped(list(facts["slack"].items()), "agents", console):
        slack.add_row(escape(agent), str(s["earliest_start"]), str(s["latest_start"]), str(s["slack"]))
    console.print(slack)
    if facts["redundant_dependencies"]:
        console.print("Redundant dependencies:")
        for r in _capped(facts["redundant_dependencies"], "redundant dependencies", console):
            console.print(
                f"  {escape(r['agent'])} depends on {escape(r['depends_on'])}, implied by "
                + " -> ".join(escape(a) for a in r["implied_by"])
            )
    conflicts = Table(title="File conflicts", title_justify="left", show_edge=False)
    for col in ("agents", "paths", "ordered by dependencies"):
        conflicts.add_column(col)
    for c in _capped(facts["file_conflicts"], "file conflicts", console):
        conflicts.add_row(
            " / ".join(escape(a) for a in c["agents"]),
            " ~ ".join(escape(q) for q in c["paths"]),
            "yes" if c["ordered_by_dependencies"] else "no",
        )
    console.print(conflicts if facts["file_conflicts"] else "File conflicts: none")
    total = facts.get("file_conflicts_total", len(facts["file_conflicts"]))
    if total > len(facts["file_conflicts"]):
        console.print(
            f"  ({total} conflicting pairs in all; the analysis lists the first {len(facts['file_conflicts'])})"
        )
    res = Table(title="Resources", title_justify="left", show_edge=False)
    for col in ("resource", "capacity", "total demand", "largest single", "never saturated", "filled by one agent"):
        res.add_column(col)
    for r in facts["resources"]:
        res.add_row(
            escape(r["name"]),
            str(r["capacity"]),
            str(r["total_demand"]),
            str(r["largest_single_demand"]),
            "yes" if r["never_saturated"] else "no",
            _ids(r["filled_by_one_agent"][:20]) or "-",
        )
    console.print(res if facts["resources"] else "Resources: none declared")


def _console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 120)


def _g(x: float) -> str:
    return f"{x:.4g}" if abs(x) < 1e6 else f"{x:.3e}"


#: kinds learnt from fewer runs than this get a warning under the prediction
FEW_RUNS = 3


def print_prediction(prediction, console: Console | None = None, top: int = 15) -> None:
    """Makespan quantiles and interval, then the agents by criticality."""
    console = console or _console()
    lo, hi = prediction.interval
    console.print(
        f"predicted makespan: p50 [bold]{_g(prediction.p50)}[/bold]  p90 {_g(prediction.p90)}  "
        f"mean {_g(prediction.mean)}  {100 * prediction.level:g}% interval [{_g(lo)}, {_g(hi)}]   "
        f"(planned {_g(prediction.planned)}, {prediction.samples} samples)"
    )
    sources: dict[str, int] = {}
    for a in prediction.agents:
        sources[a["source"]] = sources.get(a["source"], 0) + 1
    console.print("  run times from: " + ", ".join(f"{k} {v} agents" for k, v in sources.items()))
    few = sorted({a["kind"] for a in prediction.agents if a["source"] == "history" and a["runs"] < FEW_RUNS})
    if few:
        console.print(
            f"  [yellow]few runs:[/yellow] {', '.join(few[:5])}{' ...' if len(few) > 5 else ''} "
            f"learnt from fewer than {FEW_RUNS} runs: how slow or fast a whole run is, is barely known, "
            "so the interval is wide; more runs of history narrow it"
        )
    table = Table(title=f"Agents by criticality (top {top})", title_justify="left", show_edge=False)
    for col in ("agent", "kind", "source", "runs", "p10", "p50", "p90", "criticality"):
        table.add_column(col, justify="left" if col in ("agent", "kind", "source") else "right")
    for a in sorted(prediction.agents, key=lambda a: -a["criticality"])[:top]:
        table.add_row(
            a["id"],
            a["kind"],
            a["source"],
            str(a["runs"]),
            _g(a["p10"]),
            _g(a["p50"]),
            _g(a["p90"]),
            f"{100 * a['criticality']:.0f}%",
        )
    console.print(table)


def print_history(history, models, console: Console | None = None) -> None:
    """Per kind: attempts, runs, median, p10/p90 and the fitted model; the medians by host
    where a kind ran on several."""
    console = console or _console()
    runs = len(history.runs)
    console.print(f"{_count(len(history), 'attempt')} in {_count(runs, 'run')} ({len(history.ok())} ok)")
    table = Table(show_edge=False)
    for col in ("kind", "attempts", "runs", "p10", "median", "p90", "model (log scale)"):
        table.add_column(col, justify="left" if col in ("kind", "model (log scale)") else "right")
    for m in sorted(models.values(), key=lambda m: m.kind):
        p10, med, p90 = m.quantiles
        table.add_row(m.kind, str(m.n), str(m.runs), _g(p10), _g(med), _g(p90), m.describe())
    console.print(table)
    from ..prediction.model import kinds_sharing_runs

    groups = [g for g in kinds_sharing_runs(models) if models[g[0]].run_correlation > 0]
    for group in groups:
        rho = models[group[0]].run_correlation
        among = f" among {', '.join(group)}" if len(groups) > 1 or len(group) < len(models) else ""
        console.print(
            f"run factors shared across kinds{among}: correlation {rho:.2f} (a slow run is slow for every kind)"
        )
    by_host = history.medians_by_host()
    if by_host:
        console.print("median run time by host (kinds that ran on more than one):")
        for kind, hosts in by_host.items():
            console.print(f"  {kind}: " + ", ".join(f"{h} {_g(med)} ({n})" for h, (n, med) in hosts.items()))


def print_backtest(summary, console: Console | None = None) -> None:
    """One line per method: coverage, widths, errors."""
    console = console or _console()
    table = Table(title="Backtest, leave one run out", title_justify="left", show_edge=False)
    for col in summary[0]:
        table.add_column(col, justify="left" if col == "method" else "right")
    for line in summary:
        table.add_row(*[f"{v:.2f}" if isinstance(v, float) else str(v) for v in line.values()])
    console.print(table)
    console.print(
        "coverage: share of held-out runs inside the interval; width: interval width / actual makespan; "
        "errors: median |p50 - actual| / actual and |plan - actual| / actual"
    )


def print_whatif(rows, sweep_rows, sweep_key, knee_value, console: Console | None = None) -> None:
    """Scenarios beside the base with the differences; the sweep as a bar chart with its knee."""
    console = console or _console()
    base = rows[0]
    table = Table(title="What if", title_justify="left", show_edge=False)
    for col in ("scenario", "status", "makespan", "Δ", "lower bound", "p50", "Δ p50", "p90", "Δ p90"):
        table.add_column(col, justify="left" if col in ("scenario", "status") else "right")
    for r in rows:

        def delta(key, r=r):
            if r is base or r[key] is None or base[key] is None:
                return ""
            d = r[key] - base[key]
            noise = 2 * math.hypot(r.get(f"{key}_se", 0.0), base.get(f"{key}_se", 0.0))
            if d != 0 and abs(d) <= noise:  # within the Monte Carlo error of the two predictions
                return f"{d:+.4g} (noise)"
            colour = "green" if d < 0 else "red" if d > 0 else ""
            return f"[{colour}]{d:+.4g}[/{colour}]" if colour else "0"

        table.add_row(
            r["scenario"],
            r["status"],
            _g(r["makespan"]),
            delta("makespan"),
            _g(r["lower_bound"]),
            _g(r["p50"]),
            delta("p50"),
            _g(r["p90"]),
            delta("p90"),
        )
    console.print(table)
    if sweep_rows:
        top = max((r["makespan"] for r in sweep_rows if r["makespan"] is not None), default=1) or 1
        console.print(f"Sweep of {sweep_key}: makespan (bar) and p90")
        for r in sweep_rows:
            if r["makespan"] is None:
                console.print(f"  {r['scenario'].split('=')[1]:>6} no plan: {escape(r.get('reason', ''))}")
                continue
            bar = "█" * max(1, round(40 * r["makespan"] / top))
            console.print(f"  {r['scenario'].split('=')[1]:>6} {bar} {_g(r['makespan'])}  (p90 {_g(r['p90'])})")
        if knee_value is not None:
            what = "budget" if sweep_key.startswith("budgets.") else "capacity"
            console.print(f"  more {what} stops helping at {sweep_key} = {knee_value:g}")
        else:
            end = sweep_rows[-1]["scenario"].split("=")[1]
            what = "budget" if sweep_key.startswith("budgets.") else "capacity"
            console.print(f"  more {what} still helps at the sweep's end ({sweep_key} = {end}): sweep further")


def print_front(outcome, console: Console | None = None) -> None:
    """The front of makespan against spend: one row per point, fastest first."""
    console = console or _console()
    key, unit = escape(outcome.key), escape(outcome.unit)
    table = Table(title=f"Fastest plan per {key} budget", title_justify="left", show_edge=False)
    for col in (f"makespan ({unit})", "makespan bound", key, f"{key} bound", "modes"):
        table.add_column(col, justify="left" if col == "modes" else "right")
    for p in outcome.points:
        modes = ", ".join(f"{escape(a)}={escape(m)}" for a, m in sorted((p["modes"] or {}).items()))
        table.add_row(
            _g(p["makespan"]) + ("" if p["makespan_status"] == "optimal" else " *"),
            _g(p["makespan_bound"]),
            _g(p[outcome.key]) + ("" if p[f"{outcome.key}_status"] == "optimal" else " *"),
            _g(p[f"{outcome.key}_bound"]),
            modes if len(modes) <= 80 else modes[:77] + "...",
        )
    console.print(table)
    unproven = any(p["makespan_status"] != "optimal" or p[f"{outcome.key}_status"] != "optimal" for p in outcome.points)
    console.print(
        ("* not proven within the time limit (its bound beside it). " if unproven else "Every point proven. ")
        + ("The last point is the cheapest: no smaller budget fits." if outcome.complete else "More points may follow.")
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
