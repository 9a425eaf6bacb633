"""CBC back-end (the binary shipped with pulp): the same matrix model, solved by another MILP solver.

The model goes to CBC as an MPS file written by HiGHS; CBC runs as a
subprocess with its own time limit and is killed at the deadline if it does
not stop. The solution file gives the values; the log gives CBC's bound.
Install with ``pip install 'orchmilp[pulp]'``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from ..compile.model import LinearModel
from ..errors import SolverError
from .highs import GRACE, MipOutcome, write_model

__all__ = ["solve_mip_cbc", "cbc_path"]


def cbc_path() -> str:
    """Path of the CBC binary that ships with pulp."""
    try:
        import pulp
    except ImportError:
        raise SolverError("the cbc backend needs pulp: pip install 'orchmilp[pulp]'") from None
    cmd = pulp.apis.PULP_CBC_CMD()
    if not cmd.available():
        raise SolverError("pulp is installed but its CBC binary is not available on this platform")
    return cmd.path


def _parse_solution(path: Path, n: int) -> np.ndarray | None:
    text = path.read_text() if path.exists() else ""
    first = text.splitlines()[0] if text else ""
    if not text or "Infeasible" in first or "infeasible" in first or "no integer" in first.lower():
        return None
    x = np.zeros(n)
    for line in text.splitlines()[1:]:
        parts = line.lstrip("*").split()
        # columns are named c0, c1, ... by the MPS writer; CBC lists only some of them
        if len(parts) >= 3 and re.fullmatch(r"c\d+", parts[1]):
            x[int(parts[1][1:])] = float(parts[2])
    return x


def _feasible(model: LinearModel, x: np.ndarray, tol: float = 1e-6) -> bool:
    """Integral, within column bounds and rows: the only solutions worth keeping."""
    if np.any(np.abs(x - np.round(x))[model.integral] > tol):
        return False
    if np.any(x < model.col_lower - tol) or np.any(x > model.col_upper + tol):
        return False
    rows = model.matrix @ x
    return bool(np.all(rows <= model.row_upper + tol) and np.all(rows >= model.row_lower - tol))


def solve_mip_cbc(
    model: LinearModel,
    *,
    time_limit: float,
    threads: int = 1,
    abs_gap: float = 0.999,
    **_ignored,
) -> MipOutcome:
    """Solve ``model`` with CBC within ``time_limit`` seconds."""
    binary = cbc_path()
    t0 = time.perf_counter()
    if model.num_cols == 0:
        return MipOutcome(np.zeros(0), model.offset, model.offset, "Empty", 0.0)
    with tempfile.TemporaryDirectory(prefix="orchmilp-cbc-") as tmp:
        mps = Path(tmp) / "model.mps"
        sol = Path(tmp) / "model.sol"
        write_model(dataclasses.replace(model, offset=0.0), str(mps))
        cmd = [
            binary, str(mps), "-timeMode", "elapsed", "-sec", f"{max(time_limit, 0.1):.2f}", "-threads", str(max(1, threads)),
            "-ratioGap", "0", "-allowableGap", str(abs_gap), "-solve", "-solu", str(sol),
        ]
        try:
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=time_limit + GRACE)
            log = run.stdout
            killed = False
        except subprocess.TimeoutExpired as err:
            log = (err.stdout or b"").decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
            killed = True
        x = _parse_solution(sol, model.num_cols)
    if x is not None and not _feasible(model, x):
        x = None  # CBC writes LP values when it stops before finding an integer solution
    seconds = time.perf_counter() - t0
    if "proven infeasible" in log or "Problem is infeasible" in log:
        return MipOutcome(None, None, math.inf, "Infeasible", seconds)
    objective = float(model.cost @ x + model.offset) if x is not None else None
    bound = -math.inf
    match = re.search(r"Lower bound:\s*(-?[\d.e+-]+)", log)
    if match:
        bound = float(match.group(1)) + model.offset
    elif "Optimal solution found" in log and objective is not None:
        bound = objective - abs_gap
    status = "Killed at time limit" if killed else ("Optimal" if "Optimal solution found" in log else "Time limit reached")
    return MipOutcome(x, objective, bound, status, seconds)
