"""CBC back-end (the binary shipped with pulp): the same matrix model, solved by another MILP solver.

The model goes to CBC as an MPS file (written by :mod:`orchmilp.compile.export`);
CBC runs as a subprocess with its own time limit and is killed at the
deadline if it does not stop. The solution file gives the values; the log
gives CBC's bound. Install with ``pip install 'orchmilp[pulp]'``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..compile.model import LinearModel
from ..errors import SolverError
from .base import GRACE, FinishedRun, MipOutcome, MipRun, SolverStatus, empty_outcome
from .highs_api import write_model

__all__ = ["CBC", "cbc_path"]


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


class CbcRun:
    """CBC in a subprocess: poll, stop, result (parsed from its log and solution file)."""

    def __init__(self, binary: str, model: LinearModel, time_limit: float, threads: int, abs_gap: float):
        self.t0 = time.perf_counter()
        self.model, self.abs_gap = model, abs_gap
        self.hard_deadline = self.t0 + time_limit + GRACE
        self.tmp = tempfile.TemporaryDirectory(prefix="orchmilp-cbc-")
        mps = Path(self.tmp.name) / "model.mps"
        self.sol = Path(self.tmp.name) / "model.sol"
        self.log = Path(self.tmp.name) / "cbc.log"
        write_model(dataclasses.replace(model, offset=0.0), str(mps))
        cmd = [
            binary,
            str(mps),
            "-timeMode",
            "elapsed",
            "-sec",
            f"{max(time_limit, 0.1):.2f}",
            "-threads",
            str(max(1, threads)),
            "-ratioGap",
            "0",
            "-allowableGap",
            str(abs_gap),
            "-solve",
            "-solu",
            str(self.sol),
        ]
        self.log_handle = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log_handle, stderr=subprocess.STDOUT, text=True)
        self.killed: SolverStatus | None = None
        self.outcome: MipOutcome | None = None

    def poll(self, timeout: float) -> bool:
        if self.outcome is not None:
            return True
        try:
            self.proc.wait(timeout=max(0.0, min(timeout, self.hard_deadline - time.perf_counter())))
            return True
        except subprocess.TimeoutExpired:
            if time.perf_counter() >= self.hard_deadline:
                self._kill(SolverStatus.KILLED)
                return True
            return False

    def best(self) -> tuple[float | None, float]:
        return None, -math.inf  # CBC reports only at the end

    def result(self) -> MipOutcome:
        while not self.poll(self.hard_deadline - time.perf_counter() + 0.05):
            pass
        return self._finish()

    def stop(self) -> MipOutcome:
        if self.outcome is None and self.proc.poll() is None:
            self._kill(SolverStatus.STOPPED)
        return self._finish()

    def _kill(self, status: SolverStatus) -> None:
        self.killed = status
        self.proc.kill()
        self.proc.wait()

    def _finish(self) -> MipOutcome:
        if self.outcome is not None:
            return self.outcome
        self.log_handle.close()
        log = self.log.read_text()
        x = _parse_solution(self.sol, self.model.num_cols)
        self.tmp.cleanup()
        if x is not None and not _feasible(self.model, x):
            x = None  # CBC writes LP values when it stops before finding an integer solution
        seconds = time.perf_counter() - self.t0
        if "proven infeasible" in log or "Problem is infeasible" in log:
            self.outcome = MipOutcome(None, None, math.inf, SolverStatus.INFEASIBLE, seconds)
            return self.outcome
        objective = float(self.model.cost @ x + self.model.offset) if x is not None else None
        bound = -math.inf
        match = re.search(r"Lower bound:\s*(-?[\d.e+-]+)", log)
        if match:
            bound = float(match.group(1)) + self.model.offset
        elif "Optimal solution found" in log and objective is not None:
            bound = objective - self.abs_gap
        if self.killed is not None:
            status = self.killed
        else:
            status = SolverStatus.OPTIMAL if "Optimal solution found" in log else SolverStatus.TIME_LIMIT
        self.outcome = MipOutcome(x, objective, bound, status, seconds)
        return self.outcome


class CBC:
    """The CBC back-end (``--backend cbc``)."""

    name = "cbc"

    def __init__(self) -> None:
        self.binary = cbc_path()  # fail early with a clear message when pulp is missing

    def start(
        self,
        model: LinearModel,
        *,
        time_limit: float,
        threads: int = 1,
        seed: int = 0,
        options: dict[str, Any] | None = None,
        abs_gap: float = 0.999,
    ) -> MipRun:
        """Start CBC on ``model`` within ``time_limit`` seconds (``seed`` and ``options`` are HiGHS's only)."""
        empty = empty_outcome(model)
        if empty is not None:
            return FinishedRun(empty)
        return CbcRun(self.binary, model, time_limit, threads, abs_gap)
