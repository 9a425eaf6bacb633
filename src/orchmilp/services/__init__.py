"""The application layer: what orchmilp does, once, for the command line, the MCP server and
the library.

Each service takes a typed request and returns a typed outcome; the entry points
(:mod:`orchmilp.cli`, :mod:`orchmilp.mcp_server`, :mod:`orchmilp.api`) only turn their
arguments into a request and the outcome into text, JSON or an exit code. A feature added
here is in all three at once. Each call gets one :class:`~orchmilp.deadline.Deadline`.

=========  ======================================================================
service    does
=========  ======================================================================
plan       read, plan (history medians, objective p90), predict, write reports
report     the Markdown/HTML reports, Gantt chart and diagrams of a plan
predict    how long a plan (given, or solved first) really takes
whatif     scenarios and capacity sweeps, solved and predicted
check      a plan against its workflow, with the independent checker
certify    a lower bound on every plan as a CNF and a DRAT proof; checking one
run        run a workflow's commands for real
analyze    structure, critical path, conflicts, bounds (no solving)
history    per kind of agent: runs, quantiles, fitted model
stats      past runs per workflow: makespan vs plan and prediction, success, failures
infer      the reads/writes agents really needed, from the files their runs touched
=========  ======================================================================
"""

from .check import CheckOutcome, CheckRequest, check
from .inspect import analyze, describe_history, stats
from .plan import PlanOutcome, PlanRequest, plan
from .predict import PredictRequest, predict
from .report import ReportOutcome, Reports, report
from .run import RunRequest, run, run_summary
from .whatif import WhatIfOutcome, WhatIfRequest, whatif

__all__ = [
    "PlanRequest",
    "PlanOutcome",
    "plan",
    "Reports",
    "ReportOutcome",
    "report",
    "PredictRequest",
    "predict",
    "WhatIfRequest",
    "WhatIfOutcome",
    "whatif",
    "CheckRequest",
    "CheckOutcome",
    "check",
    "RunRequest",
    "run",
    "run_summary",
    "analyze",
    "describe_history",
    "stats",
]
