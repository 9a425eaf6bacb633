"""What ``orchmilp run`` shows while it runs: a rich live table on a terminal, plain lines
otherwise, nothing with ``-q``; and the table of planned against actual at the end."""

from __future__ import annotations

import sys
import time

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from ..io.names import printable
from ..model.problem import Problem
from ..prediction.simulate import makespans
from ..statuses import AgentStatus

__all__ = ["RunView", "print_run_report"]


class RunView:
    """Receives the executor's events; shows them live or as lines."""

    def __init__(self, quiet: bool = False, live: bool | None = None) -> None:
        self.quiet = quiet
        self.live_wanted = sys.stderr.isatty() if live is None else live
        self.console = Console(stderr=True, highlight=False)
        self.t0 = time.monotonic()
        self.started: dict[int, float] = {}
        self.actual: dict[int, float] = {}
        self.counts = {"done": 0, "failed": 0, "skipped": 0, "cancelled": 0}
        self._problem: Problem | None = None
        self.live: Live | None = None
        self.replans = 0

    # on_plan
    def plan(self, problem, waits_for, planned_start, planned_makespan) -> None:
        self._problem, self.waits_for = problem, waits_for
        self.planned_start, self.planned_makespan = planned_start, planned_makespan
        self.t0 = time.monotonic()
        if not self.quiet and self.live_wanted:
            self.live = Live(self, console=self.console, refresh_per_second=2, transient=False)
            self.live.start()
        elif not self.quiet:
            self._line(f"plan: {problem.n} agents, planned makespan {planned_makespan:.4g} {problem.time_unit}")

    def _line(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:8.1f} s] {text}", file=sys.stderr, flush=True)

    @property
    def problem(self) -> Problem:
        """The workflow being run (the plan comes before any event)."""
        if self._problem is None:
            raise RuntimeError("RunView: an event before the plan")
        return self._problem

    # on_event
    def __call__(self, what: str, j: int, outcome) -> None:
        now = time.monotonic()
        if what == "replan":
            self.replans += 1
            if self.live is None and not self.quiet:
                self._line("replan    durations drifted: the agents not started follow a new plan")
            return
        name = self.problem.ids[j]
        if what == "start":
            self.started[j] = now
        elif what in (AgentStatus.OK, AgentStatus.FAILED, AgentStatus.TIMEOUT, AgentStatus.CANCELLED):
            self.actual[j] = now - self.started.pop(j, now)
            key = {"ok": "done", "timeout": "failed"}.get(what, what)
            self.counts[key] += 1
        elif what in ("retry", "rate_limited"):
            self.started.pop(j, None)
        elif what == "skipped":
            self.counts["skipped"] += 1
        if self.live is None and not self.quiet:
            planned = self.problem.durations[j]
            extra = {
                "start": f"(attempt {outcome.attempts}, planned {planned:.4g} s)",
                "retry": outcome.note,
                "rate_limited": outcome.note,
                "budget": outcome.note,
                "skipped": outcome.note,
                "failed": outcome.note,
                "timeout": outcome.note,
            }.get(what, f"{self.actual.get(j, 0):.1f} s (planned {planned:.4g} s)")
            self._line(f"{what:9s} {name} {extra}")

    def eta(self) -> float:
        """Seconds left: the plan's policy replayed with actual durations so far."""
        p = self.problem
        d = p.durations.astype(float).copy()
        now = time.monotonic()
        for j, sec in self.actual.items():
            d[j] = sec
        for j, t in self.started.items():
            d[j] = max(d[j], now - t)
        total = float(makespans(self.waits_for, d[None, :])[0]) if p.n else 0.0
        return max(0.0, total - (now - self.t0))

    def __rich__(self):
        p = self.problem
        now = time.monotonic()
        table = Table(show_edge=False, title_justify="left")
        table.add_column("running")
        table.add_column("elapsed", justify="right")
        table.add_column("planned", justify="right")
        for j, t in sorted(self.started.items(), key=lambda kv: kv[1]):
            elapsed = now - t
            late = elapsed > p.durations[j]
            table.add_row(p.ids[j], f"[{'red' if late else 'green'}]{elapsed:.1f}[/]", f"{p.durations[j]:.4g}")
        c = self.counts
        head = (
            f"[bold]{now - self.t0:.1f} s[/bold]  done {c['done']}  failed {c['failed']}  skipped {c['skipped']}  "
            f"running {len(self.started)}  of {p.n}   ETA {self.eta():.0f} s (plan {self.planned_makespan:.4g} s)"
        )
        return Group(head, table)

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None


def file_findings(report) -> list[str]:
    """One line per agent that wrote files it did not declare, or whose merge failed."""
    lines = []
    for j, o in enumerate(report.outcomes):
        agent = printable(report.problem.ids[j])
        if o.undeclared:
            shown = ", ".join(printable(f) for f in o.undeclared[:8]) + (", ..." if len(o.undeclared) > 8 else "")
            if o.beside:
                others = ", ".join(f"'{printable(a)}'" for a in o.beside[:5]) + (", ..." if len(o.beside) > 5 else "")
                lines.append(f"undeclared writes: {shown} changed while agent '{agent}' ran (or {others} beside it)")
            else:
                lines.append(f"undeclared writes: agent '{agent}' changed {shown} (not in its writes)")
        if o.conflict:
            lines.append(f"not merged: agent '{agent}': {printable(o.conflict)}")
    return lines


def print_run_report(report, console: Console | None = None) -> None:
    """Planned against actual per agent, then the makespans and the predicted interval."""
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 120)
    p = report.problem
    table = Table(title=f"run {report.run_id}", title_justify="left", show_edge=False)
    for col in ("agent", "status", "attempts", "planned start", "actual start", "planned", "actual"):
        table.add_column(col, justify="left" if col in ("agent", "status") else "right")
    for j in np.argsort(report.planned_start, kind="stable"):
        o = report.outcomes[j]
        status = "ok (earlier)" if j in report.resumed else o.status if o.status != "waiting" else "not started"
        actual_start = f"{o.start - report.started:.1f}" if o.start is not None and j not in report.resumed else "-"
        took = f"{o.finish - o.start:.1f}" if o.finish is not None and o.start is not None else "-"
        colour = {"ok": "green", "failed": "red", "timeout": "red", "cancelled": "yellow"}.get(o.status, "")
        table.add_row(
            p.ids[j],
            f"[{colour}]{status}[/{colour}]" if colour else status,
            str(o.attempts),
            f"{report.planned_start[j]:.4g}",
            actual_start,
            f"{p.durations[j]:.4g}",
            took,
        )
    console.print(table)
    for line in file_findings(report):
        console.print(escape(line))
    pred = report.prediction
    interval = (
        f"; predicted {100 * pred.level:g}% interval [{pred.interval[0]:.4g}, {pred.interval[1]:.4g}]" if pred else ""
    )
    console.print(
        f"makespan: planned {report.planned_makespan:.4g} s, actual {report.actual_makespan:.4g} s{interval}   "
        + "  ".join(f"{k} {v}" for k, v in report.counts().items())
    )
    console.print(f"logs: {report.log_dir}/   history: {report.history_path}")
