"""orchmilp: provably fastest parallel execution plans for workflows of agents.

>>> import orchmilp
>>> result = orchmilp.solve({"agents": [{"id": "lint", "duration": 12}]})
>>> result.status.value, result.makespan
('optimal', 12.0)
"""

from .errors import (
    InvalidHistory,
    InvalidOptions,
    InvalidPlan,
    InvalidWorkflow,
    OrchmilpError,
    OrchmilpWarning,
    SolverError,
)

__all__ = [
    "solve",
    "plan",
    "predict",
    "session",
    "open_session",
    "read_history",
    "load",
    "load_as_written",
    "SolveOptions",
    "Result",
    "Status",
    "OrchmilpError",
    "InvalidWorkflow",
    "InvalidPlan",
    "InvalidOptions",
    "SolverError",
    "InvalidHistory",
    "OrchmilpWarning",
]
__version__ = "0.4.0"


def __getattr__(name: str):
    """Import the solver lazily, so that light modules (the HiGHS worker process,
    the command line's help) do not pay for numba and the heuristics."""
    if name == "read_history":
        from .history import read_history

        return read_history
    if name in ("solve", "plan", "predict", "session", "open_session", "load", "load_as_written"):
        from . import api

        return getattr(api, name)
    if name == "SolveOptions":
        from .options import SolveOptions

        return SolveOptions
    if name in ("Result", "Status"):
        from . import result

        return getattr(result, name)
    raise AttributeError(f"module 'orchmilp' has no attribute {name!r}")
