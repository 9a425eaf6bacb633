"""The one exception hierarchy of orchmilp.

Every error the library raises on purpose derives from :class:`OrchmilpError`.
Only the command line turns them into exit codes.
"""

__all__ = [
    "OrchmilpError",
    "OrchmilpWarning",
    "InvalidHistory",
    "InvalidWorkflow",
    "NoPlanFits",
    "InvalidPlan",
    "InvalidOptions",
    "SolverError",
    "HorizonInfeasible",
    "RunError",
]


class OrchmilpError(Exception):
    """Root of all orchmilp errors; the message is one line meant for users."""


class InvalidWorkflow(OrchmilpError, ValueError):
    """Raised when a workflow (JSON, dict, PSPLIB or Patterson file) is malformed
    or violates the workflow format; the message names the agent and the field."""


class NoPlanFits(InvalidWorkflow):
    """Raised when no choice of modes keeps within the workflow's budgets and deadline (proven
    by the mode relaxation, or none found within the time limit); the message says which."""


class InvalidHistory(OrchmilpError, ValueError):
    """Raised when a history file has no readable line, or a WfCommons trace is malformed;
    the message names the file (and the line or task)."""


class OrchmilpWarning(UserWarning):
    """Input orchmilp reads but partly ignores: an unknown agent field, a skipped history line."""


class InvalidPlan(OrchmilpError, ValueError):
    """Raised when a plan file given to ``check`` or ``export`` is malformed."""


class SolverError(OrchmilpError, RuntimeError):
    """Raised when a solver back-end fails or is unavailable, or returns a
    solution that does not pass the feasibility check."""


class InvalidOptions(OrchmilpError, ValueError):
    """Raised when a solve option is out of range (a time limit of 0, no threads, ...)."""


class HorizonInfeasible(OrchmilpError):
    """A proof, not a failure: no schedule fits the horizon a model was asked for
    (the windows from dependencies or propagation are empty, or a row cannot be met
    inside them). The search catches it; it is the only signal from which a model
    builder may let the search call its incumbent optimal."""


class RunError(OrchmilpError, RuntimeError):
    """Raised when a run cannot go on for a reason outside the workflow: the history or a log
    cannot be written (a full disk, a deleted ``runs/`` folder), or another coordinator holds the
    run. The agents started are stopped before it is raised."""
