"""Agent processes: each command in a shell under its own supervisor, its output in one log.

On Linux each attempt runs as ``supervisor -> SHELL -c COMMAND`` (:mod:`.supervisor`): the
supervisor dies with the coordinator (even on SIGKILL), keeps everything the command starts
below it, and stops all of it when the command ends or when it is told to (SIGTERM, then
SIGKILL after the grace period). Elsewhere the shell runs in a process group of its own and
the coordinator stops that group. The shell is bash where present, else ``/bin/sh`` (the
same as ``export --format bash``).

The coordinator sleeps in :meth:`Waiter.wait` until a process exits or the
next deadline comes (Linux pidfds in a selector; elsewhere a short sleep).
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from ..errors import RunError

__all__ = [
    "AgentProcess",
    "launch",
    "start_in_group",
    "signal_group",
    "Waiter",
    "MEMORY_KILL_CODES",
    "SHELL",
    "SUPERVISED",
    "BACKSTOP",
]

#: how a process killed by SIGKILL looks: directly (-9) or through the shell (128 + 9)
MEMORY_KILL_CODES = (-signal.SIGKILL, 128 + signal.SIGKILL)
#: the shell that runs commands: bash where present (as the bash export), else /bin/sh
SHELL = shutil.which("bash") or "/bin/sh"
#: agents run under :mod:`.supervisor` (Linux: it needs prctl and /proc)
SUPERVISED = sys.platform.startswith("linux")
#: seconds past the grace period before the coordinator SIGKILLs a supervisor that did not end
BACKSTOP = 3.0
#: longest single sleep of the coordinator (it wakes and looks again)
MAX_SLEEP = 3600.0
_SUPERVISOR = str(Path(__file__).with_name("supervisor.py"))


@dataclass
class AgentProcess:
    """One running attempt."""

    agent: int
    attempt: int
    popen: subprocess.Popen
    log: IO[bytes]  # the open log file
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
        """SIGKILL once the grace period is over (a supervisor does that itself: only a backstop)."""
        if self.term_sent is not None and not self.kill_sent and now >= self.term_sent + kill_delay(grace):
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


def kill_delay(grace: float) -> float:
    """Seconds from SIGTERM to the coordinator's own SIGKILL."""
    return grace + BACKSTOP if SUPERVISED else grace


def start_in_group(command: str, cwd, log, env=None, grace: float = 5.0) -> subprocess.Popen:
    """``command`` in :data:`SHELL` under its supervisor (see the module docstring), in a new
    session, stdout and stderr both to ``log``, no stdin: the same locally and on a Dask worker.
    Signals to the returned process's group reach the supervisor, which passes them on."""
    if SUPERVISED:
        argv = [sys.executable, "-I", "-S", _SUPERVISOR, str(os.getpid()), repr(float(grace)), SHELL, command]
    else:
        argv = [SHELL, "-c", command]
    return subprocess.Popen(
        argv,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=env,
    )


def launch(
    agent: int,
    attempt: int,
    command: str,
    cwd: Path,
    log_path: Path,
    deadline_after: float | None,
    env=None,
    grace: float = 5.0,
):
    """Start one attempt of ``command`` (see :func:`start_in_group`); its output goes to ``log_path``."""
    try:
        log = open(log_path, "ab", buffering=0)
    except OSError as err:
        raise RunError(f"{log_path}: cannot write the agent's log: {err.strerror or err}") from None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    log.write(f"--- orchmilp: attempt {attempt} at {stamp}Z: {command}\n".encode())
    started = time.monotonic()
    try:
        popen = start_in_group(command, cwd, log, env, grace)
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
        if timeout is not None:
            timeout = min(timeout, MAX_SLEEP)  # a timeout of 1e300 s is no limit, not an OverflowError
        if not self._selector.get_map():
            if timeout is not None and timeout > 0:
                time.sleep(timeout)
            return
        self._selector.select(None if timeout is None else max(0.0, timeout))

    def close(self) -> None:
        self._selector.close()
