"""Agents on a Dask distributed cluster (``orchmilp run --cluster ADDRESS``).

The coordinator (the :class:`~.executor.Executor`) stays on this machine and
keeps its live guard over every resource of the workflow, so rate resources
such as ``tokens_per_min`` stay global. Resources that the cluster's workers
declare (``dask worker --resources "cores=8,memory_gb=32"``) are also passed
with each task, so Dask places an agent only on a worker with room for it:
no worker exceeds its own cores or memory. Each agent's command runs on the
worker in its own process group, its output in the same log file as locally:
agents that read and write files, and the logs, need a filesystem shared by
the coordinator and the workers (the same path on every machine).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidOptions

__all__ = ["DaskLauncher", "run_on_worker"]

#: how often a worker checks whether its agent was cancelled
CANCEL_POLL = 0.2


def run_on_worker(command: str, cwd: str, log_path: str, timeout: float | None, grace: float, cancel: str) -> dict:
    """Run one attempt on a Dask worker; stop it on ``timeout`` or when the coordinator sets
    the cluster-wide event ``cancel`` (SIGTERM to its group, SIGKILL after ``grace``)."""
    import signal

    from distributed import Event, get_worker

    from .processes import kill_delay, signal_group, start_in_group

    event = Event(cancel)
    with open(log_path, "ab", buffering=0) as log:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        log.write(f"--- orchmilp: on {get_worker().address} at {stamp}Z: {command}\n".encode())
        started_wall, started = time.time(), time.monotonic()
        popen = start_in_group(command, cwd, log, grace=grace)
        reason, term_at, killed, checked = None, None, False, 0.0
        while popen.poll() is None:
            now = time.monotonic()
            if reason is None:
                if timeout is not None and now - started >= timeout:
                    reason = "timeout"
                elif now - checked >= CANCEL_POLL:
                    checked = now
                    if event.is_set():
                        reason = "cancelled"
                if reason is not None:
                    term_at = now
                    signal_group(popen.pid, signal.SIGTERM)
            elif not killed and term_at is not None and now >= term_at + kill_delay(grace):
                killed = True
                signal_group(popen.pid, signal.SIGKILL)
            time.sleep(0.02)
    return {
        "exit_code": popen.returncode,
        "start": started_wall,
        "finish": time.time(),
        "host": get_worker().address,
        "reason": reason,
        "killed": killed,
    }


class _FuturePoll:
    """What the executor reads of a process (``poll``, ``returncode``), for a Dask future."""

    def __init__(self, handle: RemoteProcess) -> None:
        self.handle = handle
        self.returncode = None

    def poll(self):
        h = self.handle
        if self.returncode is None and h.future.done():
            try:
                result = h.future.result()
            except Exception as err:  # the worker died or the task failed: a failed attempt
                result = {
                    "exit_code": None,
                    "start": h.started_wall,
                    "finish": time.time(),
                    "host": None,
                    "reason": None,
                    "killed": False,
                    "error": str(err),
                }
            h.started_wall = result["start"]
            h.finished_wall = result["finish"]
            h.host = result["host"]
            h.reason = h.reason or result["reason"]
            h.kill_sent = result["killed"]
            code = result["exit_code"]
            self.returncode = code if code is not None else -1
        return self.returncode


@dataclass
class RemoteProcess:
    """One attempt running on a worker: the executor's view of it."""

    agent: int
    attempt: int
    future: Any
    cancel: Any  # distributed.Event
    started_wall: float
    started: float
    deadline: float | None = None  # the worker enforces the timeout
    term_sent: float | None = None
    kill_sent: bool = False
    reason: str | None = None
    pidfd: int | None = None
    finished_wall: float | None = None
    host: str | None = None

    def __post_init__(self) -> None:
        self.popen = _FuturePoll(self)

    def terminate(self, reason: str, now: float) -> None:
        if self.term_sent is None:
            self.reason = self.reason or reason
            self.term_sent = now
            self.cancel.set()

    def escalate(self, now: float, grace: float) -> None:
        """The worker escalates; a worker that does not answer is given up on after grace + 10 s."""
        if self.term_sent is not None and now > self.term_sent + grace + 10 and not self.future.done():
            self.future.cancel()

    def close(self) -> None:
        pass


class DaskLauncher:
    """Starts attempts as Dask tasks; knows which resources the workers declare."""

    def __init__(self, address: str, problem, grace: float) -> None:
        from distributed import Client

        try:
            self.client = Client(address, timeout="10s")
        except (OSError, TimeoutError) as err:
            raise InvalidOptions(f"--cluster {address}: cannot connect to a Dask scheduler ({err})") from None
        self.problem, self.grace = problem, grace
        workers = self.client.scheduler_info()["workers"].values()
        self.worker_resources: dict[str, float] = {}
        for worker in workers:
            for name, amount in (worker.get("resources") or {}).items():
                self.worker_resources[name] = max(self.worker_resources.get(name, 0.0), float(amount))
        if not workers:
            raise InvalidOptions(f"--cluster {address}: the cluster has no workers")
        for j in range(problem.n):
            for k, name in enumerate(problem.resource_names):
                need = float(problem.usage[j, k])
                if name in self.worker_resources and need > self.worker_resources[name]:
                    raise InvalidOptions(
                        f"agent '{problem.ids[j]}': uses.{name} = {need:g} but no worker has more than "
                        f"{self.worker_resources[name]:g}"
                    )

    def __call__(
        self, agent: int, attempt: int, command: str, cwd: Path, log_path: Path, timeout: float | None, grace=None
    ):
        from distributed import Event

        p = self.problem
        resources = {
            name: float(p.usage[agent, k])
            for k, name in enumerate(p.resource_names)
            if name in self.worker_resources and p.usage[agent, k] > 0
        }
        name = f"orchmilp-cancel-{log_path.parent.name}-{agent}-{attempt}"
        cancel = Event(name, client=self.client)
        future = self.client.submit(
            run_on_worker,
            command,
            str(cwd),
            str(log_path.resolve()),
            timeout,
            self.grace,
            name,
            resources=resources or None,
            pure=False,
            key=f"{p.ids[agent]}-{attempt}-{name}",
        )
        return RemoteProcess(agent, attempt, future, cancel, time.time(), time.monotonic())

    def close(self) -> None:
        self.client.close()
