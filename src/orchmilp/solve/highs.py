"""HiGHS back-end: one ``passModel`` call with CSC arrays, warm start, progress.

The solver's own status label is not trusted for optimality: HiGHS is asked
to close the gap below one grid step, and the caller compares bound and
makespan itself.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..compile.model import LinearModel
from ..errors import SolverError

__all__ = ["MipOutcome", "solve_mip", "write_model", "integral_bound"]

#: Dual bounds are trusted up to this absolute error before rounding up.
BOUND_TOL = 1e-4


def integral_bound(bound: float) -> int:
    """The smallest integer objective value a dual bound allows.

    >>> integral_bound(266.001), integral_bound(266.00001)
    (267, 266)
    """
    return int(math.ceil(bound - BOUND_TOL))

_BANNER_SHOWN = False


@contextlib.contextmanager
def _no_banner():
    """HiGHS prints a banner to stdout once per process: keep stdout clean for --json."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        _BANNER_SHOWN = True


def _new_highs():
    import highspy

    with _no_banner():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class MipOutcome:
    """What a MILP solve returned: best solution (or None), its objective, the dual bound."""

    x: np.ndarray | None
    objective: float | None
    bound: float
    solver_status: str
    seconds: float
    nodes: int = 0
    trajectory: list[tuple[float, float | None, float]] = field(default_factory=list)


_current_threads: int | None = None

#: Options measured to help time-indexed models (bench/options.py): the root
#: LP by interior point (time-indexed LPs are degenerate for simplex) and a
#: light presolve (full presolve spent >10 s probing on 5,000 binaries).
DEFAULT_OPTIONS = {"mip_lp_solver": "ipm", "presolve_mode": 2}


def _pass_model(h, model: LinearModel, relax: bool = False) -> None:
    import highspy

    lp = highspy.HighsLp()
    lp.num_col_ = model.num_cols
    lp.num_row_ = model.num_rows
    lp.col_cost_ = model.cost
    lp.offset_ = model.offset
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    csc = model.matrix
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.num_col_ = model.num_cols
    lp.a_matrix_.num_row_ = model.num_rows
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(np.float64)
    if not relax:
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in model.integral
        ]
    if model.col_names:
        lp.col_names_ = list(model.col_names)
    if model.row_names:
        lp.row_names_ = list(model.row_names)
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")


def solve_mip(
    model: LinearModel,
    *,
    time_limit: float,
    threads: int = 1,
    warm_start: np.ndarray | None = None,
    relax: bool = False,
    abs_gap: float = 0.999,
    seed: int = 0,
    on_progress: Callable[[float, float | None, float], None] | None = None,
    options: dict | None = None,
) -> MipOutcome:
    """Solve ``model`` with HiGHS within ``time_limit`` wall-clock seconds.

    ``abs_gap`` below one makes HiGHS stop only when an integral objective is
    proven (callers round the bound up after subtracting :data:`BOUND_TOL`). ``relax=True`` solves the LP relaxation instead.
    """
    import highspy

    global _current_threads
    if model.num_cols == 0:  # every start is fixed by its time window
        if np.any(model.row_upper < -1e-9):
            return MipOutcome(None, None, math.inf, "Infeasible", 0.0)
        return MipOutcome(np.zeros(0), model.offset, model.offset, "Empty", 0.0)
    t0 = time.perf_counter()
    deadline = t0 + max(time_limit, 0.0)
    h = _new_highs()
    threads = max(1, int(threads))
    if _current_threads is not None and _current_threads != threads:
        highspy.Highs.resetGlobalScheduler(True)
    _current_threads = threads
    h.setOptionValue("threads", threads)
    h.setOptionValue("time_limit", max(float(time_limit), 0.01))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", float(abs_gap))
    h.setOptionValue("random_seed", int(seed))
    for key, value in {**DEFAULT_OPTIONS, **(options or {})}.items():
        if h.setOptionValue(key, value) == highspy.HighsStatus.kError:
            raise SolverError(f"HiGHS rejected option {key} = {value!r}")
    _pass_model(h, model, relax)

    trajectory: list[tuple[float, float | None, float]] = []

    def improving(event):
        out = event.data_out
        point = (time.perf_counter() - t0, float(out.objective_function_value), float(out.mip_dual_bound))
        trajectory.append(point)
        if on_progress is not None:
            on_progress(*point)

    def interrupt(event):
        if time.perf_counter() > deadline:
            event.interrupt()

    if not relax:
        h.cbMipImprovingSolution.subscribe(improving)
        h.cbMipInterrupt.subscribe(interrupt)
        h.cbIpmInterrupt.subscribe(interrupt)
        h.cbSimplexInterrupt.subscribe(interrupt)
        if warm_start is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(map(float, warm_start))
            sol.value_valid = True
            h.setSolution(sol)
    h.run()
    seconds = time.perf_counter() - t0
    info = h.getInfo()
    status = h.modelStatusToString(h.getModelStatus())
    if relax:
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"HiGHS could not solve the LP relaxation: {status}")
        value = float(info.objective_function_value)
        return MipOutcome(None, value, value, status, seconds)
    x = None
    objective = None
    if info.primal_solution_status == highspy.kSolutionStatusFeasible:
        x = np.asarray(h.getSolution().col_value, float)
        objective = float(info.objective_function_value)
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound):
        bound = -math.inf
    return MipOutcome(x, objective, bound, status, seconds, int(info.mip_node_count), trajectory)


def write_model(model: LinearModel, path: str) -> None:
    """Write the model in the format of the file ending (``.lp`` or ``.mps``)."""
    h = _new_highs()
    _pass_model(h, model)
    status = h.writeModel(str(path))
    import highspy

    if status == highspy.HighsStatus.kError:
        raise SolverError(f"HiGHS could not write {path}")
