"""``orchmilp run``: execute a plan for real (docs/spec/run-format.md).

workflow (and plan) -> plan the agents still to run -> :class:`~.executor.Executor`
(processes, live guards, faults, one history line per attempt) -> :class:`RunReport`
(planned against actual, the predicted interval).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shlex
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidHistory, InvalidOptions, InvalidWorkflow, OrchmilpWarning, RunError
from ..history import RUN_RECORD
from ..io.modes import has_model_choice
from ..io.names import printable
from ..signals import held
from ..statuses import FAILED, FINAL, AgentStatus
from .budgets import BudgetGuard
from .executor import AgentOutcome, Executor, RunOptions, log_names
from .rate_limits import rate_limits
from .workspace import workspace

__all__ = ["RunReport", "RunOptions", "execute", "new_run_id", "last_run", "log_names", "FINAL"]


def new_run_id() -> str:
    """``20261127T150102Z-3f2a``: when the run started (UTC) and a random tag."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


@dataclass(frozen=True)
class RunReport:
    run_id: str
    problem: Any
    outcomes: tuple[AgentOutcome, ...]
    planned_start: np.ndarray
    planned_makespan: float
    started: float  # wall clock
    finished: float
    prediction: Any  # orchmilp.prediction.Prediction or None
    log_dir: Path
    history_path: Path
    resumed: frozenset[int]
    peak_in_use: np.ndarray
    budget_stop: str | None = None  # why the budgets stopped the run (nothing more started)

    @property
    def actual_makespan(self) -> float:
        return self.finished - self.started

    @property
    def failed(self) -> list[str]:
        return [self.problem.ids[j] for j, o in enumerate(self.outcomes) if o.status in FAILED]

    @property
    def incomplete(self) -> bool:
        """True when an agent failed or the budgets stopped the run before everything ran."""
        return bool(self.failed) or self.budget_stop is not None

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for j, o in enumerate(self.outcomes):
            status = "ok (earlier)" if j in self.resumed else o.status if o.status in FINAL else "not started"
            out[status] = out.get(status, 0) + 1
        return out


#: a run id that is safe as a folder name under runs/ (no separators, no "..")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
#: seconds per time unit, for the units ``orchmilp run`` knows (timeouts are in the workflow's unit)
UNIT_SECONDS = {
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "seconds": 1.0,
    "ms": 0.001,
    "min": 60.0,
    "minute": 60.0,
    "minutes": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
    "hours": 3600.0,
    "d": 86400.0,
    "day": 86400.0,
    "days": 86400.0,
}


def valid_run_id(run: str) -> bool:
    """True when ``run`` can name a folder under ``runs/``.

    >>> [valid_run_id(r) for r in ("20261127T150102Z-3f2a", "../x", "/abs/path", "a..b")]
    [True, False, False, False]
    """
    return bool(RUN_ID.fullmatch(run)) and ".." not in run


def workflow_fingerprint(workflow: str | Path | dict) -> tuple[str | None, str]:
    """The workflow's resolved path (None for a dict) and the SHA-256 of its content."""
    if isinstance(workflow, dict):
        return None, hashlib.sha256(json.dumps(workflow, sort_keys=True).encode()).hexdigest()
    path = Path(workflow).resolve()
    try:
        return str(path), hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return str(path), ""


def last_run(
    history_path: Path, run: str | None = None, workflow: tuple[str | None, str] | None = None, name: str | None = None
) -> tuple[str, set[str]]:
    """The run to resume and its agents that ended ``ok``.

    ``run`` names it; else it is the last run of this workflow: same file or same content
    (``workflow``, from :func:`workflow_fingerprint`), or, in lines that record neither, the
    same workflow ``name``. Run ids that could not name a folder are never picked.
    """
    from ..history import read_history

    if not history_path.exists():
        raise InvalidHistory(f"{history_path}: no history to resume from")
    history = read_history(history_path)
    if run is not None:
        if not valid_run_id(run):
            raise InvalidOptions(f"--resume {printable(run)}: not a run id (letters, digits, '_.:-'; no '..')")
        if run not in history.run:
            raise InvalidHistory(f"{history_path}: no run '{run}' (runs: {', '.join(history.runs[-5:])})")
    else:
        path, digest = workflow or (None, None)
        ours = []
        for r, wf_path, wf_hash, wf_name in zip(
            history.run, history.workflow_path, history.workflow_hash, history.workflow
        ):
            if wf_path is None and wf_hash is None:
                mine = name is not None and wf_name == name
            else:
                mine = (path is not None and wf_path == path) or (bool(digest) and wf_hash == digest)
            if mine and valid_run_id(r):
                ours.append(r)
        if not ours:
            raise InvalidHistory(f"{history_path}: no earlier run of this workflow to resume")
        run = ours[-1]
    done = {a for r, a, s in zip(history.run, history.agent, history.status) if r == run and s == AgentStatus.OK}
    return run, done


@contextlib.contextmanager
def run_lock(folder: Path, run_id: str):
    """Hold ``folder/.lock`` for the run: one coordinator per run (a second one is refused)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as err:
        raise InvalidOptions(f"{folder}: cannot create the run's folder: {err.strerror or err}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"run '{run_id}' is still running (another orchmilp holds {folder / '.lock'})") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)


def _writable(history_path: Path) -> None:
    """The history file can be appended to: checked before the first agent starts."""
    try:
        history_path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(history_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666))
    except OSError as err:
        raise InvalidOptions(f"{history_path}: the history cannot be written: {err.strerror or err}") from None


def _write_run_record(folder: Path, workflow: str, started: float, finished: float, planned: float, prediction, unit):
    """``runs/RUN/run.json``: the planned makespan and the predicted interval, in seconds."""
    from ..io.files import write_json_atomic

    record: dict[str, Any] = {"workflow": workflow, "started": started, "finished": finished, "planned": planned}
    if prediction is not None:
        record["prediction"] = {
            "level": prediction.level,
            "p50": prediction.p50 * unit,
            "interval": [prediction.interval[0] * unit, prediction.interval[1] * unit],
        }
    try:
        write_json_atomic(folder / RUN_RECORD, record)
    except OSError:
        pass  # the history has the run; only stats' plan-against-actual column misses it


def unit_seconds(time_unit: str) -> float:
    """Seconds per ``time_unit``; a unit orchmilp run does not know is an error naming it."""
    try:
        return UNIT_SECONDS[time_unit.strip().lower()]
    except KeyError:
        known = "s, ms, min, h, d"
        raise InvalidWorkflow(
            f"time_unit '{printable(time_unit)}': orchmilp run needs a unit of time ({known})"
        ) from None


def _commands(problem, modes: Sequence[str | None] = ()) -> tuple[str, ...]:
    """Each agent's command; an agent in a chosen mode has ``ORCHMILP_MODE`` (the mode's name,
    shell-quoted) in its environment."""
    out = []
    for j in range(problem.n):
        command = problem.commands[j]
        if command is None:
            if problem.durations[j] > 0:
                raise InvalidWorkflow(f"agent '{problem.ids[j]}': command is missing (orchmilp run runs commands)")
            command = ":"  # a milestone
        out.append(_in_mode(command, modes[j] if modes else None))
    return tuple(out)


def _in_mode(command: str, mode: str | None) -> str:
    """``command`` with ``ORCHMILP_MODE`` (shell-quoted) in its environment, for a chosen mode."""
    return command if mode is None else f"export ORCHMILP_MODE={shlex.quote(mode)}\n{command}"


def _other_modes(written: dict, problem, modes: Sequence[str | None]):
    """Each agent's other modes, in the order it lists them (for ``--on-budget cheapest`` and
    ``rate_limit.fallback``), and the chosen mode's predicted consumption."""
    from ..io.modes import mode_table
    from .budgets import Alternative

    table = mode_table(written)
    predicted, alternatives = [], []
    for agent, own, name in zip(written["agents"], table.modes, modes):
        chosen = next((m for m in own if m.name == name), own[0])
        predicted.append(dict(chosen.consumes))
        others = []
        for m in own:
            command = m.fields.get("command", agent.get("command"))
            if m is chosen or command is None:
                continue
            usage = tuple(float(m.uses.get(r, 0.0)) for r in problem.resource_names)
            rate_limit = m.fields.get("rate_limit", agent.get("rate_limit"))
            own_uses = _own_uses(agent, m.name) if "modes" in agent else None
            alternative = Alternative(m.name, _in_mode(command, m.name), usage, dict(m.consumes), rate_limit, own_uses)
            others.append(alternative)
        alternatives.append(others)
    return table.budgets, predicted, alternatives


def _own_uses(agent: dict, mode: str | None) -> dict | None:
    """The chosen mode's own ``uses`` (its model's buckets); None for an agent without modes."""
    if mode is None:
        return None
    return next(m.get("uses", {}) for m in agent["modes"] if m["name"] == mode)


def _replanner(written: dict, problem):
    """The executor's --adaptive hook: re-plan what has not started (see :mod:`.adaptive`)."""
    from ..prediction.simulate import makespans
    from .adaptive import replan

    ids = problem.ids

    def hook(ex: Executor) -> bool:
        now = time.monotonic()
        done = {ids[j] for j, o in enumerate(ex.outcomes) if o.status in FINAL}
        remaining = {}
        for j, proc in ex.running.items():
            planned = float(problem.durations[j])
            remaining[ids[j]] = max(planned - (now - proc.started) / ex.seconds_per_unit, 0.25 * planned)
        d = np.asarray(
            [0.0 if ids[j] in done else remaining.get(ids[j], problem.durations[j]) for j in range(problem.n)]
        )
        current_left = float(makespans(ex.waits_for, d[None, :])[0])
        current = {ids[j]: [ids[i] for i in ex.waits_for[j]] for j in range(problem.n)}
        new = replan(written, done, remaining, current_left, ex.options.replan_seconds, current_waits=current)
        if new is None:
            return False
        policy = list(ex.waits_for)
        for aid, waits in new.items():
            policy[problem.index[aid]] = tuple(problem.index[w] for w in waits)
        ex.waits_for = policy
        return True

    return hook


def execute(
    workflow: str | Path | dict,
    plan: str | Path | dict | None = None,
    *,
    history_path: str | Path | None = None,
    workdir: str | Path | None = None,
    time_limit: float = 10.0,
    options: RunOptions | None = None,
    resume: str | bool | None = None,
    on_event=None,
    on_plan=None,
    cluster: str | None = None,
    run_id: str | None = None,
) -> RunReport:
    """Plan (unless ``plan`` is given) and run the workflow's commands; see :mod:`orchmilp.run`.

    ``resume``: ``True`` for the last run in the history, or a run id: agents that ended ``ok``
    there are not run again; the rest is re-planned and runs under the same run id.
    ``cluster``: a Dask scheduler address: agents run on its workers (see :mod:`.cluster`).
    ``run_id``: the new run's id (default: made here; the MCP server names background runs).
    """
    from ..engine import checked_plan, load, load_as_written, solve
    from ..history import read_history
    from ..io.modes import in_chosen_modes
    from ..io.workflow import with_durations
    from ..prediction import predict_policy

    problem, written = load_as_written(workflow)
    seconds = unit_seconds(problem.time_unit)
    fingerprint = workflow_fingerprint(workflow)
    base = Path(workflow).resolve().parent if isinstance(workflow, (str, Path)) else Path.cwd()
    workdir = Path(workdir).resolve() if workdir is not None else base
    if not workdir.is_dir():
        raise InvalidOptions(f"--workdir {workdir}: no such folder")
    history_path = Path(history_path) if history_path is not None else workdir / "runs" / "history.jsonl"
    if not has_model_choice(written):
        _commands(problem)  # a missing command is an error before anything is planned
    done_ids: set[str] = set()
    if run_id is not None and not valid_run_id(run_id):
        raise InvalidOptions(f"--run-id {printable(run_id)}: not a run id (letters, digits, '_.:-'; no '..')")
    run_id = run_id or new_run_id()
    if resume:
        folder = workdir / "runs" / str(resume)
        if resume is not True and valid_run_id(str(resume)) and folder.is_dir():  # refuse a live run at once
            with run_lock(folder, str(resume)):
                pass
        run_id, done_ids = last_run(history_path, None if resume is True else str(resume), fingerprint, problem.name)
        if (options or RunOptions()).isolate == "worktree":  # merged, but killed before its history line
            from .workspace import merged_in

            done_ids |= merged_in(workdir, run_id) & set(problem.ids)
        if plan is not None:
            raise InvalidOptions("--resume re-plans what is left: give the workflow, not a plan")
    with run_lock(workdir / "runs" / run_id, run_id):  # one coordinator per run
        if plan is not None:
            plan_dict, waits_for = checked_plan(problem, written, plan)
            by_id = {e["id"]: e for e in plan_dict["schedule"]}
            planned_start = np.asarray([float(by_id[a]["start"]) for a in problem.ids])
            planned_makespan = float(plan_dict.get("makespan", 0.0))
        else:
            # agents already finished (resume): nothing left of them to plan
            result = solve(with_durations(written, dict.fromkeys(done_ids, 0)), time_limit=time_limit)
            waits_for, planned_start, planned_makespan = result.waits_for, result.start, result.makespan
        modes: tuple[str | None, ...] = ()
        single = written
        mode_uses: list[dict[str, float] | None] = [None] * problem.n
        if has_model_choice(written):  # run each agent in the mode its plan chose
            chosen = (
                dict(result.modes or {}) if plan is None else {e["id"]: e.get("mode") for e in plan_dict["schedule"]}
            )
            single, modes = in_chosen_modes(written, chosen)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OrchmilpWarning)
                problem = load(single)
            mode_uses = [_own_uses(agent, name) for agent, name in zip(written["agents"], modes)]
        commands = _commands(problem, modes)
        limits = rate_limits(single["agents"], mode_uses)
        guard, alternatives = None, None
        if has_model_choice(written):
            budgets, predicted, alternatives = _other_modes(written, problem, modes)
            guard = BudgetGuard(dict(budgets), predicted, alternatives) if budgets else None
        if on_plan:
            on_plan(problem, waits_for, planned_start, planned_makespan)
        history = None
        if history_path.exists():
            try:
                history = read_history(history_path)
            except InvalidHistory:
                history = None
        prediction = predict_policy(problem, waits_for, planned_makespan, history, samples=4000)
        done = frozenset(problem.index[a] for a in done_ids if a in problem.index)
        executor = Executor(
            problem=problem,
            waits_for=waits_for,
            planned_start=planned_start,
            commands=commands,
            workdir=workdir,
            log_dir=workdir / "runs" / run_id,
            history_path=history_path,
            run_id=run_id,
            workflow_name=problem.name,
            workflow_file=fingerprint,
            seconds_per_unit=seconds,
            options=options or RunOptions(),
            on_event=on_event,
            done=done,
            modes=modes,
            rate_limits=limits,
            budget=guard,
            alternatives=alternatives or [],
        )
        for j in done:
            executor.outcomes[j].exit_code = 0
        if cluster and executor.options.isolate == "worktree":
            raise InvalidOptions("--isolate worktree runs the agents on this machine: not with --cluster")
        executor.workspace = (
            None
            if not executor.options.detect_writes and executor.options.isolate == "none"
            else workspace(
                executor.options.isolate,
                problem,
                workdir,
                run_id,
                executor.log_dir,
                skip=(workdir / "runs", history_path.parent.resolve()),
                strict=executor.options.strict_writes,
            )
        )
        if executor.options.adaptive:
            executor.replanner = _replanner(written, problem)
        launcher = None
        if cluster:
            from .cluster import DaskLauncher

            launcher = executor.launcher = DaskLauncher(cluster, problem, executor.options.grace)
        _writable(history_path)
        started = time.time()
        try:
            outcomes = executor.run()
        finally:
            if executor.workspace is not None:
                with held():  # a second Ctrl-C does not leave worktrees behind
                    executor.workspace.close()
            if launcher is not None:
                launcher.close()
        finished = max([started] + [o.finish for o in outcomes if o.finish is not None])
        _write_run_record(
            executor.log_dir, problem.name, started, finished, planned_makespan * seconds, prediction, seconds
        )
        return RunReport(
            run_id=run_id,
            problem=problem,
            outcomes=tuple(outcomes),
            planned_start=planned_start,
            planned_makespan=planned_makespan,
            started=started,
            finished=finished,
            prediction=prediction,
            log_dir=workdir / "runs" / run_id,
            history_path=history_path,
            resumed=done,
            peak_in_use=executor.peak_in_use,
            budget_stop=executor.budget_stop,
        )
