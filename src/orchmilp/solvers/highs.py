"""HiGHS back-end: one ``passModel`` call with CSC arrays, progress, a hard time limit.

The solver's own status label is not trusted for optimality: HiGHS is asked
to close the gap below one grid step, and the caller compares bound and
makespan itself.

HiGHS does not always honour its time limit: in root cut separation on
time-indexed models we measured 318 s of a 30 s limit without a single
interrupt callback. Large models therefore run in a child process (started
from a clean fork server) that reports every improving solution and the
dual bound as it goes; at the deadline the parent kills it and keeps what
was reported. Small models, which finish in milliseconds, run in-process.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import sys
import time
import types
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..compile.model import LinearModel
from ..errors import SolverError

__all__ = ["MipOutcome", "solve_mip", "write_model", "integral_bound", "DEFAULT_OPTIONS"]

#: Dual bounds are trusted up to this absolute error before rounding up.
BOUND_TOL = 1e-4

#: Options measured to help time-indexed models (see models/time-indexed.md):
#: the root LP by interior point (time-indexed LPs are degenerate for simplex)
#: and a light presolve (full presolve spent >10 s probing on 5,000 binaries).
#: No RINS/RENS sub-MIPs: the horizon sits just below the best known makespan,
#: so the model is usually infeasible and those heuristics took 60% of the
#: time at the root (on the 66 slowest j30 instances: 39 proven instead of 38,
#: those proven by both in 17% less time).
DEFAULT_OPTIONS: dict[str, Any] = {
    "mip_lp_solver": "ipm",
    "presolve_mode": 2,
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
}

#: Models with more columns than this run in a child process with a hard deadline
#: (HiGHS checks its time limit only between root cut rounds: in-process j30
#: models of 1,300 columns overran a 30 s limit by up to 2.4 s on a busy machine).
ISOLATE_ABOVE_COLUMNS = 500

#: Seconds granted beyond the time limit before the child is killed.
GRACE = 0.3

_BOUND_EVERY = 0.25  # seconds between dual-bound reports from the solver


def integral_bound(bound: float) -> int:
    """The smallest integer objective value a dual bound allows.

    >>> integral_bound(266.001), integral_bound(266.00001)
    (267, 266)
    """
    return int(math.ceil(bound - BOUND_TOL))


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
    if h.passModel(lp) == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model")


_threads_in_use: int | None = None


def _run_highs(model: LinearModel, settings: dict[str, Any], emit: Callable[[tuple], None]) -> dict[str, Any]:
    """Solve in this process; ``emit`` receives ("incumbent", t, obj, bound, x) and ("bound", t, bound)."""
    import highspy

    global _threads_in_use
    t0 = time.perf_counter()
    deadline = t0 + settings["time_limit"]
    h = _new_highs()
    threads = settings["threads"]
    if _threads_in_use != threads:  # HiGHS refuses to run with another thread count than its
        highspy.Highs.resetGlobalScheduler(True)  # scheduler's, which other HiGHS users may have set
    _threads_in_use = threads
    h.setOptionValue("threads", threads)
    h.setOptionValue("time_limit", max(settings["time_limit"], 0.01))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", settings["abs_gap"])
    h.setOptionValue("random_seed", settings["seed"])
    for key, value in {**DEFAULT_OPTIONS, **settings["options"]}.items():
        if h.setOptionValue(key, value) == highspy.HighsStatus.kError:
            raise SolverError(f"HiGHS rejected option {key} = {value!r}")
    relax = settings["relax"]
    _pass_model(h, model, relax)
    last_bound = [0.0]

    def improving(event):
        out = event.data_out
        emit(("incumbent", time.perf_counter() - t0, float(out.objective_function_value),
              float(out.mip_dual_bound), np.asarray(out.mip_solution, float).copy()))

    def interrupt(event):
        now = time.perf_counter()
        if now > deadline:
            event.interrupt()
        elif now - last_bound[0] > _BOUND_EVERY and event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt:
            last_bound[0] = now
            emit(("bound", now - t0, float(event.data_out.mip_dual_bound)))

    if not relax:
        h.cbMipImprovingSolution.subscribe(improving)
        h.cbMipInterrupt.subscribe(interrupt)
    h.cbIpmInterrupt.subscribe(interrupt)
    h.cbSimplexInterrupt.subscribe(interrupt)
    h.run()
    info = h.getInfo()
    status = h.getModelStatus()
    out: dict[str, Any] = {
        "status": h.modelStatusToString(status),
        "optimal": status == highspy.HighsModelStatus.kOptimal,
        "x": None,
        "objective": None,
        "bound": -math.inf,
        "nodes": 0 if relax else int(info.mip_node_count),
        "seconds": time.perf_counter() - t0,
    }
    if relax:
        if status == highspy.HighsModelStatus.kOptimal:
            out["objective"] = out["bound"] = float(info.objective_function_value)
        return out
    if info.primal_solution_status == highspy.kSolutionStatusFeasible:
        out["x"] = np.asarray(h.getSolution().col_value, float)
        out["objective"] = float(info.objective_function_value)
    if math.isfinite(info.mip_dual_bound):
        out["bound"] = float(info.mip_dual_bound)
    return out


def _child(conn, model: LinearModel, settings: dict[str, Any]) -> None:
    try:
        conn.send(("done", _run_highs(model, settings, conn.send)))
    except BaseException as err:  # report, never hang the parent
        conn.send(("error", f"{type(err).__name__}: {err}"))
    finally:
        conn.close()


_context = None


def _process_context():
    """A fork server started from a clean process: children start fast and share no solver threads."""
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["orchmilp.solvers.highs"])
        else:
            _context = multiprocessing.get_context("spawn")
    return _context


@contextlib.contextmanager
def _caller_script_hidden():
    """Start children without re-running the caller's script in them.

    A fork-server child normally imports the parent's ``__main__`` first; a
    script calling ``orchmilp.solve`` without an ``if __name__ == "__main__"``
    guard would then solve again in the child and fail. The child needs
    nothing from that script, so an empty ``__main__`` stands in while it starts.
    """
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved


def _run_isolated(model, settings, emit, beside=None) -> dict[str, Any] | None:
    """Run in a child; returns its final report, or None when it was killed at the deadline.

    ``beside(seconds)`` is called for slices of other work while the child
    runs (on the other core); it returns False when it has nothing more to do,
    and ``"stop"`` when the child is not needed any more.
    """
    hard_deadline = time.perf_counter() + settings["time_limit"] + GRACE  # starting the child counts too
    ctx = _process_context()
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, model, settings), daemon=True)
    with _caller_script_hidden():
        proc.start()
    child.close()
    try:
        while True:
            wait = hard_deadline - time.perf_counter()
            if wait <= 0:
                return None
            if beside is not None and not parent.poll(0):
                more = beside(min(wait - GRACE, 2.0))
                if more == "stop":  # the other work settled the question
                    return None
                if not more:
                    beside = None
                continue
            if not parent.poll(wait):
                return None
            try:
                message = parent.recv()
            except EOFError:
                raise SolverError("the HiGHS process ended without an answer") from None
            if message[0] == "done":
                return message[1]
            if message[0] == "error":
                raise SolverError(f"HiGHS failed: {message[1]}")
            emit(message)
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5)
        parent.close()


def solve_mip(
    model: LinearModel,
    *,
    time_limit: float,
    threads: int = 1,
    relax: bool = False,
    abs_gap: float = 0.999,
    seed: int = 0,
    on_progress: Callable[[float, float | None, float], None] | None = None,
    options: dict | None = None,
    isolate: bool | None = None,
    beside: Callable[[float], bool] | None = None,
) -> MipOutcome:
    """Solve ``model`` with HiGHS within ``time_limit`` wall-clock seconds.

    ``abs_gap`` below one makes HiGHS stop only when an integral objective is
    proven (round the bound with :func:`integral_bound`). ``relax=True``
    solves the LP relaxation instead. ``isolate`` (default: for models above
    :data:`ISOLATE_ABOVE_COLUMNS` columns) runs HiGHS in a child process that
    is killed at the deadline; the best solution and bound it reported are kept.
    ``beside(seconds)`` runs slices of other work in this process meanwhile
    (it forces ``isolate``).
    """
    if model.num_cols == 0:  # every start is fixed by its time window
        if np.any(model.row_upper < -1e-9):
            return MipOutcome(None, None, math.inf, "Infeasible", 0.0)
        return MipOutcome(np.zeros(0), model.offset, model.offset, "Empty", 0.0)
    settings = {
        "time_limit": max(float(time_limit), 0.0),
        "threads": max(1, int(threads)),
        "abs_gap": float(abs_gap),
        "seed": int(seed),
        "options": dict(options or {}),
        "relax": relax,
    }
    t0 = time.perf_counter()
    best: dict[str, Any] = {"x": None, "objective": None, "bound": -math.inf}
    trajectory: list[tuple[float, float | None, float]] = []

    def emit(event: tuple) -> None:
        if event[0] == "incumbent":
            _, t, obj, bound, x = event
            if best["objective"] is None or obj < best["objective"]:
                best.update(x=x, objective=obj)
        else:
            _, t, bound = event
        best["bound"] = max(best["bound"], bound) if math.isfinite(bound) else best["bound"]
        trajectory.append((t, best["objective"], best["bound"]))
        if on_progress is not None:
            on_progress(t, best["objective"], best["bound"])

    if isolate is None:
        isolate = model.num_cols > ISOLATE_ABOVE_COLUMNS or beside is not None
    report = _run_isolated(model, settings, emit, beside) if isolate else _run_highs(model, settings, emit)
    seconds = time.perf_counter() - t0
    if report is None:  # killed at the deadline: keep what it reported
        return MipOutcome(best["x"], best["objective"], best["bound"], "Killed at time limit", seconds, 0, trajectory)
    if relax:
        if report["objective"] is None:
            raise SolverError(f"HiGHS could not solve the LP relaxation: {report['status']}")
        return MipOutcome(None, report["objective"], report["bound"], report["status"], seconds)
    x, objective = report["x"], report["objective"]
    if x is None and best["x"] is not None:
        x, objective = best["x"], best["objective"]
    bound = max(report["bound"], best["bound"]) if report["status"] != "Infeasible" else math.inf
    if report["status"] == "Infeasible":
        x, objective = None, None
    return MipOutcome(x, objective, bound, report["status"], seconds, report["nodes"], trajectory)


def write_model(model: LinearModel, path: str) -> None:
    """Write the model in the format of the file ending (``.lp`` or ``.mps``)."""
    import highspy

    h = _new_highs()
    _pass_model(h, model)
    if h.writeModel(str(path)) == highspy.HighsStatus.kError:
        raise SolverError(f"HiGHS could not write {path}")
