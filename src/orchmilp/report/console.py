"""The readable plan printed by ``orchmilp solve``."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.table import Table

from ..result import Result, plain_number

__all__ = ["print_result"]


def print_result(result: Result, console: Console | None = None) -> None:
    """Status line, parallel groups, schedule with waits_for, critical path."""
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    unit = result.problem.time_unit
    colour = "green" if result.status.value == "optimal" else "yellow"
    console.print(f"[bold]{result.problem.name}[/bold]: [{colour}]{result.status.value}[/{colour}] plan")
    grid = ""
    if result.resolution is not None:
        grid = f", grid {plain_number(result.resolution)} {unit}" + ("" if result.exact_grid else " (rounded)")
    console.print(
        f"  makespan [bold]{plain_number(result.makespan)} {unit}[/bold]   "
        f"lower bound {plain_number(result.lower_bound)} {unit} ({result.bound_source})   "
        f"gap {100 * result.gap:.2f}%   solved in {result.solve_seconds:.2f} s{grid}"
    )
    groups = Table(title="Parallel groups", title_justify="left", show_edge=False)
    groups.add_column("start", justify="right")
    groups.add_column("agents")
    for g in result.groups:
        groups.add_row(f"{g['start']}", ", ".join(g["agents"]))
    console.print(groups)
    table = Table(title="Schedule", title_justify="left", show_edge=False)
    table.add_column("agent")
    table.add_column("start", justify="right")
    table.add_column("finish", justify="right")
    table.add_column("waits for")
    critical = set(result.critical_path)
    for entry in sorted(result.schedule, key=lambda e: (e["start"], e["id"])):
        name = f"[bold]{entry['id']}[/bold]" if entry["id"] in critical else entry["id"]
        table.add_row(name, f"{entry['start']}", f"{entry['finish']}", ", ".join(entry["waits_for"]) or "-")
    console.print(table)
    console.print("Critical path: " + " -> ".join(result.critical_path) + f" ({plain_number(result.makespan)} {unit})")
