"""The per-agent supervisor: the one process between the coordinator and an agent's command.

Run as ``python -I -S supervisor.py COORDINATOR_PID GRACE SHELL COMMAND`` (standard library
only, so it starts in milliseconds). On Linux it

- watches the coordinator (a pidfd, and its parent pid as a fallback): when the coordinator's
  process ends, even by SIGKILL, the agent is stopped. (``PR_SET_PDEATHSIG`` is not used: it
  fires when the *thread* that started the supervisor ends, as a Dask worker's threads do.)
- becomes a child subreaper (``PR_SET_CHILD_SUBREAPER``): whatever the command starts, even
  through ``setsid`` or a double fork, stays below it instead of escaping to init;
- runs ``SHELL -c COMMAND`` in a process group of its own;
- when all is over, writes the peak memory and CPU time of everything below it (``getrusage``
  of its reaped children) as the last line of the log;
- stops everything below it when the command ends (background children of an agent that
  ended ``ok`` do not outlive it), or when it gets SIGTERM, SIGINT or SIGHUP: SIGTERM to all,
  SIGKILL after ``GRACE`` seconds, then reaps them. A second signal does not cut that short.

It exits as the command did (the same code, or killed by the same signal), so the coordinator
reads the command's own status. What still escapes: a process handed to another service
(``systemd-run``, ``at``, ``ssh``) and a SIGKILL of this supervisor itself.
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
#: the start of the log line with the agent's peak memory and CPU time (read by run/usage.py)
RUSAGE_MARK = "--- orchmilp: rusage "
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class _Stop(Exception):
    pass


def _prctl(option: int, value: int) -> None:
    try:
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the coordinator's own cleanup still applies
        pass


def _descendants() -> list[int]:
    """Every process below this one (one pass over /proc)."""
    parent_of: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    fields = stat.read().rsplit(b")", 1)[1].split()
                parent_of[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    below, frontier = [], [os.getpid()]
    children: dict[int, list[int]] = {}
    for pid, ppid in parent_of.items():
        children.setdefault(ppid, []).append(pid)
    while frontier:
        pid = frontier.pop()
        for child in children.get(pid, ()):
            below.append(child)
            frontier.append(child)
    return below


def _signal_all(group: int, sig: int) -> None:
    try:
        os.killpg(group, sig)
    except OSError:
        pass
    for pid in _descendants():
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def _reap(agent: int, status: list[int]) -> bool:
    """Reap every exited child; True when nothing is left below. The agent's status goes to ``status``."""
    while True:
        try:
            pid, code = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return True
        if pid == 0:
            return False
        if pid == agent:
            status.append(code)


def _stop_everything(agent: int, grace: float, status: list[int]) -> None:
    """SIGTERM to everything below, SIGKILL after ``grace``; return when all are reaped."""
    for sig in STOP_SIGNALS:  # a second signal is noted, never cuts this short
        signal.signal(sig, signal.SIG_IGN)
    _signal_all(agent, signal.SIGTERM)
    _signal_all(agent, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
    kill_at = time.monotonic() + grace
    while not _reap(agent, status):
        if time.monotonic() >= kill_at:
            _signal_all(agent, signal.SIGKILL)
            kill_at = float("inf")
        time.sleep(0.01)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


def _wait(agent: int, coordinator: int, watch: int | None) -> int:
    """The agent's wait status; :class:`_Stop` when a stop signal comes or the coordinator ends."""
    agent_fd = _pidfd(agent)
    fds = [fd for fd in (agent_fd, watch) if fd is not None]
    while True:
        pid, code = os.waitpid(agent, os.WNOHANG)
        if pid == agent:
            return code
        if os.getppid() != coordinator:
            raise _Stop
        if fds:
            readable, _, _ = select.select(fds, [], [], 1.0)
            if watch is not None and watch in readable:
                raise _Stop
        else:
            time.sleep(0.1)


def _exit_like(code: int) -> None:
    if os.WIFSIGNALED(code):
        sig = os.WTERMSIG(code)
        if sig not in (signal.SIGKILL, signal.SIGSTOP):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
        os.kill(os.getpid(), sig)
        time.sleep(1)
        os._exit(128 + sig)
    os._exit(os.WEXITSTATUS(code) if os.WIFEXITED(code) else 1)


def main(argv: list[str]) -> None:
    coordinator, grace, shell, command = int(argv[1]), float(argv[2]), argv[3], argv[4]

    def stop(signum, frame):
        raise _Stop

    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    status: list[int] = []
    watch = _pidfd(coordinator)
    if os.getppid() != coordinator:  # the coordinator died before we could watch it
        os._exit(128 + signal.SIGTERM)
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)  # no stop between fork and knowing the pid
    agent = os.fork()
    if agent == 0:
        try:
            os.setpgid(0, 0)
            for sig in STOP_SIGNALS:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            os.execv(shell, [shell, "-c", command])
        finally:
            os._exit(127)
    try:
        os.setpgid(agent, agent)
    except OSError:
        pass
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        status.append(_wait(agent, coordinator, watch))
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        _stop_everything(agent, grace, status)  # background children do not outlive the agent
    except _Stop:
        _stop_everything(agent, grace, status)
    _report_rusage()
    _exit_like(status[0] if status else signal.SIGKILL)


def _report_rusage() -> None:
    """One last line in the log: the peak memory of the largest process below (MiB) and the CPU
    time of all of them (everything below is reaped here, the subreaper included orphans)."""
    try:
        import json
        import resource

        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        line = {"max_rss_mib": round(used.ru_maxrss / 1024, 1), "cpu_seconds": round(used.ru_utime + used.ru_stime, 3)}
        os.write(1, f"\n{RUSAGE_MARK}{json.dumps(line)}\n".encode())
    except Exception:  # noqa: BLE001 - a report, never a reason to change the exit status
        pass


if __name__ == "__main__":
    main(sys.argv)
