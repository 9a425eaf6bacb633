"""The report service: the Markdown and HTML optimisation reports (with their what-if
re-solves), the Gantt chart and the dependency diagrams of a plan, written atomically."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..deadline import Deadline
from ..errors import OrchmilpWarning
from ..result import Result

__all__ = ["Reports", "ReportOutcome", "report", "report_reservations", "drawing_seconds"]

#: Seconds to draw one Gantt chart, per agent and at least, and to import matplotlib once
#: (measured on 2 cores with the other core busy: 260 agents 4.0 s, 1,000 agents 10.4 s,
#: import 0.65 s; idle, 1,000 agents took 7.5 s): the limit holds on a loaded machine too.
CHART_SECONDS_PER_AGENT = 0.0125
#: and per agent above the labelled ones, drawn as line collections (20,000 agents: 1.7 s a PNG)
COLLECTION_SECONDS_PER_AGENT = 1e-4
CHART_SECONDS = 0.3
MATPLOTLIB_IMPORT_SECONDS = 0.7
#: Seconds kept after the what-if re-solves for composing and writing the Markdown and HTML
#: reports (260 agents with every report overran a 20 s limit by 0.75 s with 0.2 s kept)
REPORT_WRITE_SECONDS = 1.5
#: and per agent: the analysis, prediction and tables of the reports (20,000 agents: 10-13 s
#: for a 5 MB Markdown and an 11 MB HTML report)
REPORT_WRITE_SECONDS_PER_AGENT = 5e-4


@dataclass(frozen=True)
class Reports:
    """The reports to make: files to write (None: not that one), and ``text=True`` to return
    the Markdown report as text too (the MCP server's ``report`` argument). ``what_if_seconds``:
    at most this long for each what-if re-solve of the Markdown/HTML report."""

    markdown: str | Path | None = None
    html: str | Path | None = None
    gantt: str | Path | None = None
    mermaid: str | Path | None = None
    dot: str | Path | None = None
    text: bool = False
    what_if_seconds: float = 10.0

    @property
    def what_ifs(self) -> bool:
        """The Markdown or HTML report, whose what-ifs re-solve the workflow, is asked for."""
        return bool(self.markdown or self.html or self.text)

    @property
    def charts(self) -> int:
        return bool(self.gantt) + bool(self.html)


@dataclass(frozen=True)
class ReportOutcome:
    """The Markdown report's text (when asked for) and the files written."""

    markdown: str | None
    written: tuple[str, ...]


def drawing_seconds(agents: int, charts: int) -> float:
    """About how long ``charts`` charts of ``agents`` agents take to draw: a bar and label per
    agent up to ``LABELLED_AGENTS``, line collections above (measured 1.7 s at 20,000 agents)."""
    from ..report.gantt import LABELLED_AGENTS

    if not charts:
        return 0.0
    labelled = agents if agents <= LABELLED_AGENTS else 0
    per_chart = CHART_SECONDS + CHART_SECONDS_PER_AGENT * labelled + COLLECTION_SECONDS_PER_AGENT * agents
    return MATPLOTLIB_IMPORT_SECONDS + charts * per_chart


def report_reservations(reports: Reports, agents: int, deadline: Deadline) -> None:
    """Keep the seconds the reports need out of what the solve may use: drawing the charts (at
    most half the time left; a warning when that is not enough) and writing the reports."""
    drawing = drawing_seconds(agents, reports.charts)
    writing = REPORT_WRITE_SECONDS + REPORT_WRITE_SECONDS_PER_AGENT * agents if reports.what_ifs else 0.0
    kept = deadline.reserve("charts", drawing, most_share=0.5)
    if writing:
        kept += deadline.reserve("report writing", writing, most_share=0.5)
    if drawing + writing > kept + 1.0:
        warnings.warn(
            f"the reports of {agents} agents take about {drawing + writing:.0f} s to draw and write; they may "
            f"end after the time limit ({deadline.seconds:g} s)",
            OrchmilpWarning,
            stacklevel=3,
        )


def report(
    result: Result, reports: Reports, deadline: Deadline | None = None, undeclared: dict[str, list[str]] | None = None
) -> ReportOutcome:
    """Make the reports of ``result``: the diagrams and charts first, then the what-ifs in the
    time left before ``deadline`` (default: ``reports.what_if_seconds`` each). ``undeclared``:
    agent -> files the history saw it write without declaring (a warning in the report)."""
    from ..io.files import write_text_atomic

    deadline = deadline or Deadline.none()
    deadline.release("charts")
    written: list[str] = []
    if reports.mermaid or reports.dot:
        from ..report.diagrams import dot, mermaid

        if reports.mermaid:
            write_text_atomic(reports.mermaid, mermaid(result.problem, result) + "\n")
            written.append(str(reports.mermaid))
        if reports.dot:
            write_text_atomic(reports.dot, dot(result.problem, result) + "\n")
            written.append(str(reports.dot))
    if reports.gantt:
        from ..report.gantt import save_gantt

        save_gantt(result, reports.gantt)
        written.append(str(reports.gantt))
    text = None
    if reports.what_ifs:
        from ..prediction import predict_plan
        from ..report.content import report_content, report_samples
        from ..report.html import html_figures, html_report
        from ..report.markdown import markdown_report

        if result.prediction is None:  # without history: the duration_range or the assumed spread
            result = dataclasses.replace(
                result, prediction=predict_plan(result, samples=report_samples(result.problem.n))
            )
        figures = html_figures(result) if reports.html else None  # the charts before the what-ifs
        content = report_content(
            result, deadline=deadline, what_if_seconds=reports.what_if_seconds, undeclared=undeclared
        )
        text = markdown_report(content) + "\n" if reports.markdown or reports.text else None
        if reports.markdown and text is not None:
            write_text_atomic(reports.markdown, text)
            written.append(str(reports.markdown))
        if reports.html:
            write_text_atomic(reports.html, html_report(content, result, figures))
            written.append(str(reports.html))
    deadline.release("report writing")
    return ReportOutcome(text if reports.text else None, tuple(written))
