"""The library's entry points: ``load`` a workflow, ``solve`` it, ``plan`` it with history,
objective and reports, ``predict`` how long it really takes, drive a coordinator ``session``.

``solve`` is the engine's own (:mod:`orchmilp.engine`): validated problem -> the search of
:mod:`orchmilp.search` -> plan -> independent check of the plan against the workflow as
written -> result. The others turn their keywords into a request of
:mod:`orchmilp.services`, as the command line and the MCP server do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import Loaded, Source, compile_model, load, load_as_written, read_inputs, solve
from .options import SolveOptions

__all__ = [
    "load",
    "load_as_written",
    "load_with_history",
    "solve",
    "plan",
    "predict",
    "with_history_durations",
    "session",
    "open_session",
    "pareto",
    "stats",
    "infer",
    "certify",
    "check_certificate",
    "Coordinator",
    "compile_model",
    "SolveOptions",
    "Loaded",
]


def plan(source: Source, **request: Any):
    """Plan a workflow as ``orchmilp solve`` does: a :class:`~orchmilp.services.PlanOutcome`.

    Keywords are the fields of :class:`~orchmilp.services.PlanRequest` (``time_limit``,
    ``history``, ``objective="p90"``, ``reports=Reports(markdown="r.md")``, ...), and the
    fields of :class:`SolveOptions` (``threads``, ``use_milp``, ...) for the search.

    >>> out = plan({"agents": [{"id": "a", "duration": 3, "duration_range": [2, 5]}]}, objective="p90")
    >>> out.plan["makespan"], out.plan["objective"]["name"]
    (3, 'p90')
    """
    import dataclasses

    from .services import PlanRequest
    from .services import plan as plan_service

    solve_fields = {f.name for f in dataclasses.fields(SolveOptions)} - {"time_limit"}
    options = SolveOptions(**{k: request.pop(k) for k in list(request) if k in solve_fields})
    return plan_service(PlanRequest(source, solve=options, **request))


def predict(
    source: Source,
    plan: str | Path | dict | Any | None = None,
    history=None,
    *,
    samples: int = 10_000,
    level: float = 0.95,
    seed: int = 0,
    time_limit: float = 10.0,
):
    """Predict how long a plan of the workflow really takes: a :class:`~orchmilp.prediction.Prediction`.

    ``history``: JSONL files or WfCommons traces (paths or folders) or a
    :class:`~orchmilp.history.History`. Without ``plan`` the workflow is solved
    first (within ``time_limit``), with the history's medians as durations.
    A plan file or dict is checked against the workflow before it is used.

    >>> p = predict({"agents": [{"id": "a", "duration": 10, "duration_range": [8, 14]}]}, level=0.9)
    >>> [round(x) for x in p.interval]  # the user's 90% range, with no history
    [8, 14]
    """
    from .services import PredictRequest
    from .services import predict as predict_service

    return predict_service(PredictRequest(source, plan, history, samples, level, seed, time_limit))


def with_history_durations(source: str | Path | dict, history) -> dict[str, Any]:
    """The workflow as written, each agent whose kind has history given the predicted median
    run time as its ``duration`` (its ``duration_range`` dropped: the history replaces it)."""
    return read_inputs(source, history).planned.workflow


def load_with_history(
    source: str | Path | dict, history, work: Mapping[str, float] | None = None
) -> tuple[Any, dict[str, Any]]:
    """The workflow as written (its problem: the prediction's prior) and, read once with it,
    :func:`with_history_durations` of it (what to plan with)."""
    inputs = read_inputs(source, history, work)
    return inputs.problem, inputs.planned.workflow


@dataclass
class Coordinator:
    """A coordinator session as ``orchmilp session`` keeps it (on disk, under ``state``): launch
    the agents of ``view["launch"]``, report each that ends with :meth:`done`, launch what that
    answers, until ``view["remaining"]`` is 0. Each call returns the new view and keeps it in
    :attr:`view`. Any process may take the session over with :func:`open_session`."""

    state: Path
    id: str
    view: dict[str, Any] = field(repr=False)

    def done(self, *agents: str, status: str = "ok", exit_code: int | None = None, at: float | None = None):
        """``agents`` ended (``status``: ok, failed or timeout; ``at``: seconds since the session
        started, default the clock's): what to launch now."""
        from .services.session import session_done

        self.view = session_done(self.state, self.id, list(agents), status=status, exit_code=exit_code, at=at)
        return self.view

    def status(self, at: float | None = None) -> dict[str, Any]:
        """The session as it stands; changes nothing."""
        from .services.session import session_status

        self.view = session_status(self.state, self.id, at)
        return self.view

    def cancel(self, at: float | None = None) -> dict[str, Any]:
        """Launch nothing more; ``view["stop"]`` lists the agents still running, to stop now."""
        from .services.session import session_cancel

        self.view = session_cancel(self.state, self.id, at)
        return self.view


def session(workflow: str | Path, **request: Any) -> Coordinator:
    """Plan the workflow file and open a coordinator session on the plan, as ``orchmilp session
    start`` does. Keywords are the fields of :class:`~orchmilp.services.session.SessionStart`
    (``waves=True``, ``history``, ``state``, ``time_limit``, ``on_failure``, ``record``, ``at``)."""
    from .run.session import default_state
    from .services.session import SessionStart, session_start

    start = SessionStart(workflow, **request)
    view = session_start(start)
    state = Path(start.state) if start.state is not None else default_state(Path(workflow))
    return Coordinator(state, view["session"], view)


def open_session(state: str | Path, session_id: str) -> Coordinator:
    """A session started elsewhere (by the command line, the MCP server or another process)."""
    from .services.session import session_status

    return Coordinator(Path(state), session_id, session_status(Path(state), session_id))


def pareto(source: Source, key: str = "usd", *, points: int = 10, seconds_each: float = 10.0, plot=None):
    """The front of makespan against ``key`` spend for a workflow with model choice, as
    ``orchmilp pareto`` computes it: a :class:`~orchmilp.services.pareto.ParetoOutcome`."""
    from .services.pareto import ParetoRequest
    from .services.pareto import pareto as pareto_service

    return pareto_service(ParetoRequest(source, key, points, seconds_each, plot))


def stats(paths):
    """Past runs, as ``orchmilp stats`` shows them: the runs (oldest first) and one row per
    workflow (success rate, makespans, plan error, interval coverage, failures, retries, spend)."""
    from .services import stats as stats_service

    return stats_service(paths)


def infer(source: Source, history, *, min_runs: int = 2, share: float = 0.5):
    """The reads and writes each agent really needed, from the files its recorded runs touched,
    as ``orchmilp infer`` learns them: a :class:`~orchmilp.services.infer.InferOutcome`."""
    from .services.infer import infer as infer_service

    return infer_service(source, history, min_runs=min_runs, share=share)


def certify(
    source: Source,
    bound: float | None = None,
    folder=None,
    *,
    time_limit: float = 60.0,
    check: bool = True,
    method: str = "sat",
):
    """A lower bound on every plan with a certificate anyone can check, as ``orchmilp certify``
    writes it (``method="sat"``: CNF + DRAT proof, checked with dratify; ``"lp"``: LP shaving
    steps, checked in whole numbers): a :class:`~orchmilp.services.certify.CertifyOutcome`.
    Without ``bound``, the bound a solve proves."""
    from .services.certify import CertifyRequest
    from .services.certify import certify as certify_service

    return certify_service(CertifyRequest(source, bound, folder, time_limit, check, method))


def check_certificate(folder):
    """Check a certificate folder: a :class:`~orchmilp.certificate.Verified` (``ok``, ``reason``)."""
    from .services.certify import check_certificate as check_service

    return check_service(folder)
