"""HiGHS back-end: one ``passModel`` call with CSC arrays, a hard time limit, runs that can be polled.

HiGHS is asked to close the gap below one grid step; the caller compares
bound and makespan itself (see :mod:`.base`).

HiGHS does not always honour its time limit: in root cut separation on
time-indexed models we measured 318 s of a 30 s limit without a single
interrupt callback. Large models therefore run in a child process (started
from a clean fork server) that reports every improving solution and the
dual bound as it goes; the caller polls it, does other work on its own core
meanwhile, and at the deadline the run kills the child and keeps what was
reported. Small models, which finish in milliseconds, run in-process.
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import time
import types
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..compile.model import LinearModel
from ..errors import SolverError
from .base import GRACE, FinishedRun, MipOutcome, MipRun, SolverStatus, empty_outcome
from .highs_api import new_highs, pass_model

__all__ = ["HiGHS", "solve_mip", "DEFAULT_OPTIONS", "ISOLATE_ABOVE_COLUMNS"]

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

_BOUND_EVERY = 0.25  # seconds between dual-bound reports from the solver

_STATUS = {
    "Optimal": SolverStatus.OPTIMAL,
    "Infeasible": SolverStatus.INFEASIBLE,
    "Time limit reached": SolverStatus.TIME_LIMIT,
    "Interrupted by user": SolverStatus.TIME_LIMIT,
}

_threads_in_use: int | None = None


def _run_highs(model: LinearModel, settings: dict[str, Any], emit: Callable[[tuple], None]) -> dict[str, Any]:
    """Solve in this process; ``emit`` receives ("incumbent", obj, bound, x) and ("bound", bound)."""
    import highspy

    global _threads_in_use
    t0 = time.perf_counter()
    deadline = t0 + settings["time_limit"]
    h = new_highs()
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
    pass_model(h, model, relax)
    last_bound = [0.0]

    def improving(event):
        out = event.data_out
        emit(
            (
                "incumbent",
                float(out.objective_function_value),
                float(out.mip_dual_bound),
                np.asarray(out.mip_solution, float).copy(),
            )
        )

    def interrupt(event):
        now = time.perf_counter()
        if now > deadline:
            event.interrupt()
        elif (
            now - last_bound[0] > _BOUND_EVERY
            and event.callback_type == highspy.cb.HighsCallbackType.kCallbackMipInterrupt
        ):
            last_bound[0] = now
            emit(("bound", float(event.data_out.mip_dual_bound)))

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
        "x": None,
        "objective": None,
        "bound": -math.inf,
        "nodes": 0 if relax else int(info.mip_node_count),
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


@contextmanager
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


class _Best:
    """The best solution and dual bound reported so far."""

    def __init__(self) -> None:
        self.x: np.ndarray | None = None
        self.objective: float | None = None
        self.bound = -math.inf

    def take(self, event: tuple) -> None:
        if event[0] == "incumbent":
            _, obj, bound, x = event
            if self.objective is None or obj < self.objective:
                self.x, self.objective = x, obj
        else:
            _, bound = event
        if math.isfinite(bound):
            self.bound = max(self.bound, bound)


def _outcome(report: dict[str, Any], best: _Best, seconds: float, relax: bool) -> MipOutcome:
    status = _STATUS.get(report["status"], SolverStatus.OTHER)
    if relax:
        if report["objective"] is None:
            raise SolverError(f"HiGHS could not solve the LP relaxation: {report['status']}")
        return MipOutcome(None, report["objective"], report["bound"], status, seconds)
    if status is SolverStatus.INFEASIBLE:
        return MipOutcome(None, None, math.inf, status, seconds, report["nodes"])
    x, objective = report["x"], report["objective"]
    if x is None and best.x is not None:
        x, objective = best.x, best.objective
    return MipOutcome(x, objective, max(report["bound"], best.bound), status, seconds, report["nodes"])


class IsolatedRun:
    """HiGHS in a child process: poll it, read its best so far, stop it; killed at the deadline."""

    def __init__(self, model: LinearModel, settings: dict[str, Any]):
        self.t0 = time.perf_counter()
        self.hard_deadline = self.t0 + settings["time_limit"] + GRACE  # starting the child counts too
        self.relax = settings["relax"]
        self.best_so_far = _Best()
        self.report: dict[str, Any] | None = None  # the child's final report, when it sent one
        self.closed = False
        self.cut_short: SolverStatus | None = None  # why it ended without a report
        ctx = _process_context()
        self.conn, child = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=_child, args=(child, model, settings), daemon=True)
        with _caller_script_hidden():
            self.proc.start()
        child.close()

    def poll(self, timeout: float) -> bool:
        if self.closed:
            return True
        end = min(time.perf_counter() + max(timeout, 0.0), self.hard_deadline)
        while True:
            wait = end - time.perf_counter()
            if not self.conn.poll(max(wait, 0.0)):
                if time.perf_counter() >= self.hard_deadline:
                    self._end(SolverStatus.KILLED)
                    return True
                return False
            try:
                message = self.conn.recv()
            except EOFError:
                self._end(SolverStatus.OTHER)
                raise SolverError("the HiGHS process ended without an answer") from None
            if message[0] == "done":
                self.report = message[1]
                self._end()
                return True
            if message[0] == "error":
                self._end(SolverStatus.OTHER)
                raise SolverError(f"HiGHS failed: {message[1]}")
            self.best_so_far.take(message)

    def best(self) -> tuple[float | None, float]:
        return self.best_so_far.objective, self.best_so_far.bound

    def result(self) -> MipOutcome:
        while not self.poll(self.hard_deadline - time.perf_counter()):
            pass
        return self._finish()

    def stop(self) -> MipOutcome:
        if not self.closed:
            self._end(SolverStatus.STOPPED)
        return self._finish()

    def _end(self, cut_short: SolverStatus | None = None) -> None:
        """Make sure the child is gone (it may still be exiting after its report)."""
        self.closed, self.cut_short = True, cut_short
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()

    def _finish(self) -> MipOutcome:
        seconds = time.perf_counter() - self.t0
        if self.report is None:  # killed or stopped: keep what it reported
            b = self.best_so_far
            return MipOutcome(b.x, b.objective, b.bound, self.cut_short or SolverStatus.OTHER, seconds)
        return _outcome(self.report, self.best_so_far, seconds, self.relax)


class HiGHS:
    """The HiGHS back-end (the default)."""

    name = "highs"

    def start(
        self,
        model: LinearModel,
        *,
        time_limit: float,
        threads: int = 1,
        seed: int = 0,
        options: dict[str, Any] | None = None,
        relax: bool = False,
        abs_gap: float = 0.999,
        isolate: bool | None = None,
    ) -> MipRun:
        """Start solving ``model`` within ``time_limit`` wall-clock seconds.

        ``abs_gap`` below one makes HiGHS stop only when an integral objective is
        proven (round the bound with :func:`.base.integral_bound`). ``relax=True``
        solves the LP relaxation instead. ``isolate`` (default: for models above
        :data:`ISOLATE_ABOVE_COLUMNS` columns) runs HiGHS in a child process that
        is killed at the deadline; smaller models are solved before this returns.
        """
        empty = empty_outcome(model)
        if empty is not None:
            return FinishedRun(empty)
        settings = {
            "time_limit": max(float(time_limit), 0.0),
            "threads": max(1, int(threads)),
            "abs_gap": float(abs_gap),
            "seed": int(seed),
            "options": dict(options or {}),
            "relax": relax,
        }
        if isolate is None:
            isolate = model.num_cols > ISOLATE_ABOVE_COLUMNS
        if isolate:
            return IsolatedRun(model, settings)
        t0 = time.perf_counter()
        best = _Best()
        report = _run_highs(model, settings, best.take)
        return FinishedRun(_outcome(report, best, time.perf_counter() - t0, relax))


def solve_mip(model: LinearModel, *, time_limit: float, **settings: Any) -> MipOutcome:
    """Solve ``model`` with HiGHS and wait for the outcome (settings as :meth:`HiGHS.start`)."""
    return HiGHS().start(model, time_limit=time_limit, **settings).result()
