"""The executor: start each agent when what it waits for has finished, guard the limits,
survive failures, record every attempt.

An agent is *decided* once every agent in its ``waits_for`` and ``depends_on``
has ended. Then it is skipped (it needs an agent that did not end ``ok``, or
its ``run_if`` is false), or it becomes ready. A ready agent starts only
when the live counters allow it: the running agents' ``uses`` plus its own
stay within every capacity, and no running agent has a file conflict with
it. So whatever the actual durations, limits are never exceeded, even where
the plan's order alone would not ensure it (retries, a memory-killed agent
retried alone). Ready agents start in the plan's order of start times.

Every exit path (success, failure, Ctrl-C, SIGTERM, an error in orchmilp
itself) stops the process groups it started.
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RunError
from ..history import append_attempt
from ..io.names import file_names
from ..model.problem import Problem
from ..signals import held
from ..statuses import FAILED, FINAL, AgentStatus
from .budgets import Alternative, BudgetGuard
from .processes import MEMORY_KILL_CODES, AgentProcess, Waiter, launch
from .rate_limits import FALLBACK_AFTER, MAX_RATE_LIMITED, RateLimit, attempt_output, rate_limit_of, retry_after
from .usage import attempt_rusage, attempt_usage, usage_file
from .workspace import Workspace

__all__ = ["RunOptions", "AgentOutcome", "Executor", "log_names"]


def log_names(ids) -> dict[str, str]:
    """Each agent's log file name: distinct for distinct ids (see :func:`~orchmilp.io.names.file_names`)."""
    return {a: name + ".log" for a, name in file_names(ids).items()}


@contextlib.contextmanager
def signals_held():
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends: one that comes meanwhile is noted
    (the handlers are swapped; a signal mask would not do, as any thread of the process may
    take the signal) and raised as :class:`KeyboardInterrupt` after the block, unless an
    exception already leaves it (see :func:`orchmilp.signals.held`)."""
    with held() as state:
        yield
    if state.came:
        raise KeyboardInterrupt


@dataclass(frozen=True)
class RunOptions:
    on_failure: str = "stop"  # stop | continue
    adaptive: bool = False  # re-plan what has not started when durations drift
    replan_seconds: float = 2.0  # time limit of each re-plan
    grace: float = 5.0  # seconds between SIGTERM and SIGKILL
    backoff: float = 1.0  # first retry delay; doubles per attempt, at most 30 s
    max_backoff: float = 30.0
    max_rate_pause: float = 600.0  # the longest retry-after honoured
    on_budget: str = "stop"  # stop | cheapest (budgets.py)
    isolate: str = "none"  # none | worktree (workspace.py)
    strict_writes: bool = False  # an undeclared write fails the agent
    detect_writes: bool = True  # snapshot the files in a shared folder (worktrees always know)


@dataclass
class AgentOutcome:
    """What happened to one agent (its last attempt)."""

    status: AgentStatus = AgentStatus.WAITING
    attempts: int = 0
    start: float | None = None  # wall clock, first attempt
    finish: float | None = None
    exit_code: int | None = None
    note: str = ""
    not_before: float = 0.0  # monotonic: a retry waits for its backoff
    alone: bool = False  # retry after a memory kill: nothing else runs beside it
    rate_limited: int = 0  # attempts that hit a rate limit (not failures)
    undeclared: tuple[str, ...] = ()  # files its last attempt changed that its writes do not declare
    beside: tuple[str, ...] = ()  # shared folder: agents that ran meanwhile (may have written them)
    conflict: str | None = None  # its changes could not be merged (--isolate worktree)


@dataclass
class Executor:
    """Runs the agents of ``problem`` with the plan's ``waits_for``; see the module docstring."""

    problem: Problem
    waits_for: Sequence[Sequence[int]]  # a list of tuples once running: a re-plan replaces entries
    planned_start: np.ndarray
    commands: tuple[str | None, ...]
    workdir: Path
    log_dir: Path
    history_path: Path
    run_id: str
    workflow_name: str
    workflow_file: tuple[str | None, str] = (None, "")  # path and content hash, for --resume
    seconds_per_unit: float = 1.0  # the workflow's time unit in seconds (timeouts, drift)
    options: RunOptions = field(default_factory=RunOptions)
    on_event: Callable[[str, int, AgentOutcome | None], None] | None = None
    done: frozenset[int] = frozenset()  # agents already ok in an earlier part of this run (resume)
    replanner: Callable[[Executor], bool] | None = None  # --adaptive: new waits_for for what has not started
    launcher: Callable[..., Any] = launch  # local processes, or run.cluster.DaskLauncher
    modes: tuple[str | None, ...] = ()  # each agent's chosen mode (model choice), None without modes
    rate_limits: tuple[RateLimit | None, ...] = ()  # how each agent says it was rate limited (rate_limits.py)
    budget: BudgetGuard | None = None  # the workflow's budgets at run time (budgets.py)
    alternatives: list[list[Alternative]] = field(default_factory=list)  # each agent's other modes
    workspace: Workspace | None = None  # each attempt's folder and what it wrote (workspace.py)

    def __post_init__(self) -> None:
        p = self.problem
        self.outcomes = [AgentOutcome() for _ in range(p.n)]
        for j in self.done:
            self.outcomes[j].status = AgentStatus.OK
        self.running: dict[int, AgentProcess] = {}
        self.capacity = np.asarray(p.capacities, float)
        self.usage = np.asarray(p.usage, float)
        self.in_use = np.zeros(len(self.capacity))
        self.clash = p.conflict_partners
        self.needs = [set(p.preds(j).tolist()) for j in range(p.n)]
        self.order = sorted(range(p.n), key=lambda j: (self.planned_start[j], j))
        self.host = socket.gethostname()
        self.stopping: str | None = None  # why no more agents start: failure, interrupted
        self.peak_in_use = np.zeros(len(self.capacity))
        self.waits_for: list[tuple[int, ...]] = [tuple(w) for w in self.waits_for]
        self.replans = 0  # re-plans adopted
        self.drift_seen: set[int] = set()  # agents whose drift already triggered a re-plan
        self.log_names = log_names(p.ids)
        self.record_error: RunError | None = None  # the history could not be written
        self.paused = np.zeros(len(self.capacity))  # monotonic: a rate-limited bucket is held until then
        # each agent's command and mode now (--on-budget cheapest may switch an agent's mode)
        self.command_of: list[str | None] = list(self.commands)
        self.mode_of: list[str | None] = list(self.modes) if self.modes else [None] * p.n
        self.limit_of: list[RateLimit | None] = list(self.rate_limits) if self.rate_limits else [None] * p.n
        self.budget_stop: str | None = None  # why nothing more starts: a budget would be overrun

    # ---- records -------------------------------------------------------------------------

    def _record(
        self, j: int, attempt: int, start: float, finish: float, status: str, exit_code, host=None, **extra
    ) -> None:
        """One history line; a history that cannot be written stops the run (raised after the cleanup)."""
        try:
            self._append(j, attempt, start, finish, status, exit_code, host, **extra)
        except RunError as err:
            self.record_error = self.record_error or err
            self.stopping = self.stopping or "history"

    def _append(self, j: int, attempt: int, start: float, finish: float, status: str, exit_code, host, **extra) -> None:
        p = self.problem
        append_attempt(
            self.history_path,
            {
                "run": self.run_id,
                "workflow": self.workflow_name,
                "agent": p.ids[j],
                "kind": p.kinds[j] if p.kinds else p.ids[j],
                "attempt": attempt,
                "start": round(start, 6),
                "finish": round(finish, 6),
                "status": status,
                "exit_code": exit_code,
                "features": dict(p.features[j]) if p.features else {},
                "host": host or self.host,
                "workflow_path": self.workflow_file[0],
                "workflow_hash": self.workflow_file[1] or None,
                **({"mode": self.mode_of[j]} if self.mode_of[j] is not None else {}),
                **extra,
            },
        )

    def _event(self, what: str, j: int) -> None:
        if self.on_event:
            self.on_event(what, j, self.outcomes[j] if j >= 0 else None)

    # ---- decisions -----------------------------------------------------------------------

    def _ended(self, i: int) -> bool:
        return self.outcomes[i].status in FINAL

    def _decide(self, j: int, now_wall: float) -> None:
        """A waiting agent whose predecessors have all ended: skip it or make it ready."""
        out = self.outcomes[j]
        if out.status != AgentStatus.WAITING:
            return
        if not all(self._ended(i) for i in self.waits_for[j]) or not all(self._ended(i) for i in self.needs[j]):
            return
        condition = self.problem.run_if[j] if self.problem.run_if else None
        guarded_by = condition.get("agent") if condition else None
        for i in sorted(self.needs[j]):
            if self.problem.ids[i] != guarded_by and self.outcomes[i].status != AgentStatus.OK:
                self._skip(j, now_wall, f"needs '{self.problem.ids[i]}' ({self.outcomes[i].status})")
                return
        if condition is not None and guarded_by is not None:
            other = self.outcomes[self.problem.index[guarded_by]]
            if "status" in condition and other.status != condition["status"]:
                self._skip(j, now_wall, f"run_if: '{guarded_by}' is {other.status}, not {condition['status']}")
                return
            if "exit_code" in condition and other.exit_code != condition["exit_code"]:
                self._skip(j, now_wall, f"run_if: '{guarded_by}' exit code {other.exit_code}")
                return
        out.status = AgentStatus.READY

    def _skip(self, j: int, now_wall: float, why: str) -> None:
        out = self.outcomes[j]
        out.status, out.note, out.start, out.finish = AgentStatus.SKIPPED, why, now_wall, now_wall
        self._record(j, out.attempts, now_wall, now_wall, AgentStatus.SKIPPED, None)
        self._event("skipped", j)

    def _fits(self, j: int) -> bool:
        """The live guard: capacities and file conflicts against what runs now."""
        if self.outcomes[j].alone:
            return not self.running
        if any(self.outcomes[i].alone for i in self.running):
            return False
        if np.any(self.in_use + self.usage[j] > self.capacity + 1e-9):
            return False
        return not (self.clash[j] & self.running.keys())

    # ---- processes -----------------------------------------------------------------------

    def _start(self, j: int, waiter: Waiter) -> None:
        p = self.problem
        out = self.outcomes[j]
        out.attempts += 1
        usage = usage_file(self.log_dir / self.log_names[p.ids[j]], out.attempts)
        command = f"export ORCHMILP_USAGE={shlex.quote(str(usage))}\n{self.command_of[j]}"
        limit = p.timeouts[j] if p.timeouts else None
        timeout = limit * self.seconds_per_unit if limit is not None else None
        folder = self.workspace.enter(j) if self.workspace is not None else self.workdir
        proc = self.launcher(
            j,
            out.attempts,
            command,
            folder,
            self.log_dir / self.log_names[p.ids[j]],
            timeout,
            grace=self.options.grace,
        )
        self.running[j] = proc
        waiter.add(proc)
        self.in_use += self.usage[j]
        np.maximum(self.peak_in_use, self.in_use, out=self.peak_in_use)
        out.status = AgentStatus.RUNNING
        if out.start is None:
            out.start = proc.started_wall
        self._event("start", j)

    def _finish(self, j: int, waiter: Waiter) -> None:
        p = self.problem
        proc = self.running.pop(j)
        waiter.remove(proc)
        proc.close()
        self.in_use -= self.usage[j]
        code = proc.popen.returncode
        finish = getattr(proc, "finished_wall", None) or time.time()
        out = self.outcomes[j]
        out.exit_code = code
        out.finish = finish
        if proc.reason == "cancelled":
            status = AgentStatus.CANCELLED
        elif proc.reason == "timeout":
            status = AgentStatus.TIMEOUT
        else:
            status = AgentStatus.OK if code == 0 else AgentStatus.FAILED
        log = self.log_dir / self.log_names[p.ids[j]]
        output = attempt_output(log)  # read once: rate limit, usage and rusage all come from it
        pause = self._rate_limited(j, status, code, output)
        extra: dict[str, Any] = {"rate_limited": round(pause, 3)} if pause is not None else {}
        why_not_ok = None  # the attempt ended ok but its files say otherwise: failed, not retried
        if self.workspace is not None:
            leaving = self.workspace.leave(j, status == AgentStatus.OK and pause is None)
            extra.update(leaving.record())
            out.undeclared, out.conflict, out.beside = leaving.undeclared, leaving.conflict, leaving.beside
            if status == AgentStatus.OK and leaving.conflict:
                why_not_ok = leaving.conflict
            elif status == AgentStatus.OK and leaving.undeclared and self.options.strict_writes:
                why_not_ok = f"--strict-writes: wrote undeclared {', '.join(leaving.undeclared[:5])}"
            if why_not_ok:
                status = AgentStatus.FAILED
        used = attempt_usage(log, proc.attempt, output)
        if used:
            extra["usage"] = used
        machine = attempt_rusage(output)
        if machine:
            extra["rusage"] = machine
        if self.budget is not None:
            self.budget.record(j, used)
        self._record(j, proc.attempt, proc.started_wall, finish, status, code, getattr(proc, "host", None), **extra)
        if pause is not None:  # not a failure: hold the bucket, then try again
            until = time.monotonic() + pause
            for r in self._buckets(j):
                self.paused[r] = max(self.paused[r], until)
            out.rate_limited += 1
            out.status, out.not_before = AgentStatus.READY, until
            out.note = f"attempt {proc.attempt} rate limited: retried after {pause:g} s"
            limit = self.limit_of[j]
            if limit is not None and limit.fallback and out.rate_limited >= FALLBACK_AFTER and self._fall_back(j):
                out.not_before = 0.0  # its next mode's buckets decide
            self._event("rate_limited", j)
            return
        retries = p.retries[j] if p.retries else 0
        if status in FAILED and proc.attempt - out.rate_limited <= retries and not self.stopping and not why_not_ok:
            memory_killed = code in MEMORY_KILL_CODES and proc.term_sent is None  # killed, not by us
            delay = min(self.options.max_backoff, self.options.backoff * 2 ** (proc.attempt - 1))
            out.status, out.not_before, out.alone = AgentStatus.READY, time.monotonic() + delay, memory_killed
            out.note = f"attempt {proc.attempt} {status}" + (" (killed: retried alone)" if memory_killed else "")
            self._event("retry", j)
            return
        out.status = status
        out.alone = False
        if status == AgentStatus.OK and self.replanner is not None and j not in self.drift_seen:
            from .adaptive import drifted

            if drifted(float(p.durations[j]) * self.seconds_per_unit, finish - proc.started_wall):
                self.drift_seen.add(j)
                self._replan()
        if status in FAILED:
            out.note = why_not_ok or (
                f"exit code {code}"
                if status == AgentStatus.FAILED
                else f"timed out after {p.timeouts[j]:g} {p.time_unit}"
            )
            if self.options.on_failure == "stop" and not self._expected_failure(j):
                self.stopping = self.stopping or "failure"
        self._event(status, j)

    def _affordable(self, j: int, now_wall: float) -> bool:
        """True when starting ``j`` keeps within the budgets (or it switched to a mode that does);
        else the run stops starting agents, and says so once. ``--on-budget cheapest`` first
        re-plans the modes of ``j`` and what has not started so that the rest fits."""
        if self.budget is None:
            return True
        if self.budget_stop is not None:
            return False
        if self.options.on_budget == "cheapest":
            waiting = [
                a for a in self.order if a != j and self.outcomes[a].status in (AgentStatus.WAITING, AgentStatus.READY)
            ]
            for a, alternative in self.budget.rest_within(j, self.running, waiting).items():
                self._switch(a, alternative, "so that the rest of the run fits the budgets")
        why = self.budget.shortfall(j, self.running)
        if why is None:
            return self._fits(j)
        cheaper = self.budget.cheapest_fitting(j, self.running) if self.options.on_budget == "cheapest" else None
        if cheaper is not None:
            self._switch(j, cheaper, f"its planned mode would overrun {why}")
            return self._fits(j)
        self.outcomes[j].note = f"would overrun {why}: nothing more starts (--on-budget {self.options.on_budget})"
        self.budget_stop = f"not started: the budgets stopped the run at '{self.problem.ids[j]}'"
        self._event("budget", j)
        return False

    def _switch(self, j: int, alternative: Alternative, why: str) -> None:
        """Run ``j`` (not started) in another mode."""
        if self.mode_of[j] == alternative.mode:
            return
        assert self.budget is not None
        self.command_of[j], self.mode_of[j] = alternative.command, alternative.mode
        self.in_use_row(j, alternative.usage)
        self.budget.predicted[j] = alternative.consumes
        self.outcomes[j].note = f"mode {alternative.mode}: {why}"
        self._event("budget", j)

    def in_use_row(self, j: int, usage: tuple[float, ...]) -> None:
        """``j`` runs with other uses (another mode); not while it runs."""
        self.usage[j] = np.asarray(usage, float)

    def _rate_limited(self, j: int, status: str, code, output: str) -> float | None:
        """The pause a failed attempt asks for when it hit its rate limit (None: an ordinary end);
        ``output``: the attempt's own output (its log after its header)."""
        limit = self.limit_of[j]
        out = self.outcomes[j]
        if limit is None or status != AgentStatus.FAILED or self.stopping or out.rate_limited >= MAX_RATE_LIMITED:
            return None
        if not limit.hit(code, output):
            return None
        asked = retry_after(output)
        backoff = min(self.options.max_backoff, self.options.backoff * 2**out.rate_limited)
        return min(asked, self.options.max_rate_pause) if asked is not None else backoff

    def _fall_back(self, j: int) -> bool:
        """``j``'s model stays saturated: run it in its next mode (after the current one in the
        agent's list, within the budgets); False when there is none."""
        current = self.mode_of[j]
        others = self.alternatives[j] if self.alternatives else []
        for alternative in others:
            if alternative.mode == current or (
                self.budget is not None and self.budget.shortfall(j, self.running, alternative.consumes)
            ):
                continue
            self.command_of[j], self.mode_of[j] = alternative.command, alternative.mode
            self.in_use_row(j, alternative.usage)
            if self.budget is not None:
                self.budget.predicted[j] = alternative.consumes
            uses = {r: u for r, u in zip(self.problem.resource_names, alternative.usage) if u > 0}
            self.limit_of[j] = rate_limit_of(self.problem.ids[j], alternative.rate_limit, uses, alternative.own_uses)
            self.outcomes[j].rate_limited = 0
            self.outcomes[j].note = f"{current} stayed rate limited: falls back to mode {alternative.mode}"
            return True
        return False

    def _buckets(self, j: int) -> list[int]:
        limit = self.limit_of[j]
        names = set(limit.buckets) if limit is not None else set()
        return [r for r, name in enumerate(self.problem.resource_names) if name in names]

    def _held_until(self, j: int) -> float:
        """When the rate-limited buckets that ``j`` uses are free again (0: none held)."""
        used = self.usage[j] > 0
        return float(self.paused[used].max()) if used.any() else 0.0

    def _replan(self) -> None:
        if self.replanner is not None and not self.stopping and self.replanner(self):
            self.replans += 1
            self._event("replan", -1)

    def _overrun_at(self, j: int, proc: AgentProcess) -> float:
        """--adaptive: when a running agent has overrun its plan by more than the allowance."""
        from .adaptive import allowance

        planned = float(self.problem.durations[j]) * self.seconds_per_unit
        return proc.started + planned + allowance(planned)

    def _check_overruns(self, now: float) -> None:
        """--adaptive: a running agent well past its planned duration triggers a re-plan once."""
        for j, proc in list(self.running.items()):
            if j not in self.drift_seen and now > self._overrun_at(j, proc):
                self.drift_seen.add(j)
                self._replan()

    def _expected_failure(self, j: int) -> bool:
        """A failure some agent's ``run_if`` is written for (e.g. tests failed -> fix) is no reason to stop."""
        name = self.problem.ids[j]
        return any(c is not None and c.get("agent") == name for c in (self.problem.run_if or ()))

    def _stop_all(self, reason: str, waiter: Waiter) -> None:
        """Terminate every running group, SIGKILL after the grace period, and reap them."""
        now = time.monotonic()
        for proc in self.running.values():
            proc.terminate(reason, now)
        while self.running:
            now = time.monotonic()
            for j, proc in list(self.running.items()):
                proc.escalate(now, self.options.grace)
                if proc.popen.poll() is not None:
                    self._finish(j, waiter)
            if self.running:
                waiter.wait(0.05, list(self.running.values()))

    # ---- the loop ------------------------------------------------------------------------

    def run(self) -> list[AgentOutcome]:
        """Run to the end; returns each agent's outcome. Ctrl-C stops everything and re-raises."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.history_path.parent.mkdir(parents=True, exist_ok=True)
        waiter = Waiter()
        try:
            self._loop(waiter)
        except BaseException:
            self.stopping = "interrupted"
            with signals_held():  # a second Ctrl-C or SIGTERM does not cut the cleanup short
                self._stop_all("cancelled", waiter)
            raise
        finally:
            waiter.close()
        if self.record_error is not None:
            raise self.record_error
        return self.outcomes

    def _loop(self, waiter: Waiter) -> None:
        while True:
            if self.workspace is not None:
                self.workspace.tick()
            now, now_wall = time.monotonic(), time.time()
            for j, proc in list(self.running.items()):
                if proc.popen.poll() is not None:
                    self._finish(j, waiter)
            if self.stopping:
                self._stop_all("cancelled", waiter)
                return
            if self.replanner is not None:
                self._check_overruns(now)
            changed = True
            while changed:  # skipping one agent may decide others
                changed = False
                for j in self.order:
                    if self.outcomes[j].status == AgentStatus.WAITING:
                        self._decide(j, now_wall)
                        changed |= self.outcomes[j].status != AgentStatus.WAITING
            wake = None
            for j in self.order:
                out = self.outcomes[j]
                if out.status != AgentStatus.READY:
                    continue
                hold = max(out.not_before, self._held_until(j))
                if hold > now:
                    wake = hold if wake is None else min(wake, hold)
                    continue
                if self._fits(j) and self._affordable(j, now_wall):
                    self._start(j, waiter)
            if self.replanner is not None:
                for j, proc in self.running.items():
                    if j not in self.drift_seen:
                        t_drift = self._overrun_at(j, proc) + 0.01
                        wake = t_drift if wake is None else min(wake, t_drift)
            for proc in self.running.values():
                if proc.deadline is not None and proc.term_sent is None and now >= proc.deadline:
                    proc.terminate("timeout", now)
                proc.escalate(now, self.options.grace)
                for t in (
                    proc.deadline if proc.term_sent is None else None,
                    proc.term_sent + self.options.grace if proc.term_sent and not proc.kill_sent else None,
                ):
                    if t is not None:
                        wake = t if wake is None else min(wake, t)
            if not self.running:
                if self.budget_stop is not None:  # nothing runs: what is left cannot start
                    for j in self.order:
                        if self.outcomes[j].status not in FINAL:
                            self._skip(j, now_wall, self.budget_stop)
                if all(o.status in FINAL for o in self.outcomes):
                    return
                if wake is None:  # nothing runs, nothing can start: cannot happen with a valid plan
                    stuck = [self.problem.ids[j] for j, o in enumerate(self.outcomes) if o.status not in FINAL]
                    raise RuntimeError(f"internal error: agents can never start: {', '.join(stuck[:5])}")
            waiter.wait(None if wake is None else wake - time.monotonic(), list(self.running.values()))

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.status] = counts.get(o.status, 0) + 1
        return counts
