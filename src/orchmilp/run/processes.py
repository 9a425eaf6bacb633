"""Agent processes: each command in a shell, in its own process group, its output in one log.

The coordinator sleeps in :meth:`Waiter.wait` until a process exits or the
next deadline comes (Linux pidfds in a selector; elsewhere a short sleep).
Stopping is always the whole process group: SIGTERM, then SIGKILL after a
grace period, so a command's children never outlive it.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["AgentProcess", "launch", "start_in_group", "signal_group", "Waiter", "MEMORY_KILL_CODES"]

#: how a process killed by SIGKILL looks: directly (-9) or through the shell (128 + 9)
MEMORY_KILL_CODES = (-signal.SIGKILL, 128 + signal.SIGKILL)


@dataclass
class AgentProcess:
    """One running attempt."""

    agent: int
    attempt: int
    popen: subprocess.Popen
    log: object  # the open log file
    started_wall: float
    started: float  # time.monotonic()
    deadline: float | None  # timeout: monotonic time to send SIGTERM
    term_sent: float | None = None  # when SIGTERM went to the group
    kill_sent: bool = False
    reason: str | None = None  # why we stopped it: timeout, cancelled
    pidfd: int | None = field(default=None, repr=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def signal_group(self, sig: int) -> None:
        signal_group(self.popen.pid, sig)

    def terminate(self, reason: str, now: float) -> None:
        """SIGTERM to the process group (once); SIGKILL follows from :meth:`escalate`."""
        if self.term_sent is None:
            self.reason = self.reason or reason
            self.term_sent = now
            self.signal_group(signal.SIGTERM)

    def escalate(self, now: float, grace: float) -> None:
        if self.term_sent is not None and not self.kill_sent and now >= self.term_sent + grace:
            self.kill_sent = True
            self.signal_group(signal.SIGKILL)

    def close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        self.log.close()


def signal_group(pid: int, sig: int) -> None:
    """Send ``sig`` to the process group led by ``pid`` (gone already: nothing to do)."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def start_in_group(command: str, cwd, log, env=None) -> subprocess.Popen:
    """``command`` in ``/bin/sh``, in a new session (its own process group), stdout and stderr
    both to ``log``, no stdin: the same locally and on a Dask worker."""
    return subprocess.Popen(
        command,
        shell=True,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )


def launch(agent: int, attempt: int, command: str, cwd: Path, log_path: Path, deadline_after: float | None, env=None):
    """Start ``command`` in ``/bin/sh`` in a new session (its own process group)."""
    log = open(log_path, "ab", buffering=0)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    log.write(f"--- orchmilp: attempt {attempt} at {stamp}Z: {command}\n".encode())
    started = time.monotonic()
    try:
        popen = start_in_group(command, cwd, log, env)
    except OSError:
        log.close()
        raise
    proc = AgentProcess(
        agent=agent,
        attempt=attempt,
        popen=popen,
        log=log,
        started_wall=time.time(),
        started=started,
        deadline=None if deadline_after is None else started + deadline_after,
    )
    if hasattr(os, "pidfd_open"):
        try:
            proc.pidfd = os.pidfd_open(popen.pid)
        except OSError:
            proc.pidfd = None
    return proc


class Waiter:
    """Sleeps until a registered process exits or a deadline passes."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()

    def add(self, proc: AgentProcess) -> None:
        if proc.pidfd is not None:
            self._selector.register(proc.pidfd, selectors.EVENT_READ, proc)

    def remove(self, proc: AgentProcess) -> None:
        if proc.pidfd is not None:
            self._selector.unregister(proc.pidfd)

    def wait(self, timeout: float | None, running: list[AgentProcess]) -> None:
        """Return when a process may have exited, or after ``timeout`` seconds (None: no limit)."""
        if any(p.pidfd is None for p in running):  # no pidfd: poll in short sleeps
            timeout = 0.05 if timeout is None else min(timeout, 0.05)
        if not self._selector.get_map():
            if timeout is not None and timeout > 0:
                time.sleep(timeout)
            return
        self._selector.select(None if timeout is None else max(0.0, timeout))

    def close(self) -> None:
        self._selector.close()
