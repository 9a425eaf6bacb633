"""orchmilp: provably fastest parallel execution plans for workflows of agents.

>>> import orchmilp
>>> result = orchmilp.solve({"agents": [{"id": "lint", "duration": 12}]})
>>> result.status.value, result.makespan
('optimal', 12.0)
"""

from .api import load, solve
from .errors import InvalidPlan, InvalidWorkflow, OrchmilpError, SolverError
from .result import Result, Status

__all__ = ["solve", "load", "Result", "Status", "OrchmilpError", "InvalidWorkflow", "InvalidPlan", "SolverError"]
__version__ = "0.1.0"
