"""One SAT question with a hard time limit: asked in a forked child process.

Glucose 4.2 looks at an interrupt only when it restarts, and on long grids it restarts
seldom: on the 611 steps of a 20-agent LLM workflow timed to the second, a probe given 0.5 s
returned after 21 s. MapleChrono stops on time there but proves less (two of the five model
choice proofs of bench/modes.py were lost with it). So a long grid's question is asked in a
child: the child inherits the solver as it is (fork copies it), asks with the interrupt, and
writes the answer to a pipe; a child that has not answered :data:`GRACE` seconds after its
time is killed. What a child learnt is lost to the next question (the parent's solver stays
as it was): the price of the limit. The child dies with orchmilp, even by SIGKILL
(``PR_SET_PDEATHSIG``; the thread that forks waits for the child, so the signal cannot come
early from that thread ending).
"""

from __future__ import annotations

import ctypes
import os
import select
import signal
import threading
import time
from typing import Any

import numpy as np

__all__ = ["available", "solve_in_child", "GRACE"]

#: seconds a child may take past its time before it is killed
GRACE = 0.2
_PR_SET_PDEATHSIG = 1
_ANSWERS = {b"S": True, b"N": False}


def available() -> bool:
    """Whether this system can fork (POSIX)."""
    return hasattr(os, "fork")


def solve_in_child(solver: Any, assumptions: list[int], seconds: float) -> tuple[bool | None, np.ndarray | None]:
    """``solver.solve_limited(assumptions)`` within ``seconds`` (plus :data:`GRACE`): True
    with the model's true variables, False, or None (out of time, or the child failed)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child (coverage cannot see it)
        _child(solver, assumptions, seconds, read, write)
    os.close(write)
    chunks: list[bytes] = []
    ended = False
    until = time.monotonic() + max(seconds, 0.0) + GRACE
    try:
        while not ended:
            left = until - time.monotonic()
            if left <= 0 or not select.select([read], [], [], left)[0]:
                break
            chunk = os.read(read, 1 << 20)
            ended = not chunk
            chunks.append(chunk)
    finally:  # also on Ctrl-C: no child outlives its question
        os.close(read)
        if not ended:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    data = b"".join(chunks)
    if not ended or os.waitstatus_to_exitcode(status) != 0 or data[:1] not in _ANSWERS:
        return None, None
    if not _ANSWERS[data[:1]]:
        return False, None
    return True, np.frombuffer(data[1:], np.int32)


def _child(solver: Any, assumptions: list[int], seconds: float, read: int, write: int) -> None:
    """Ask, write "S" and the true variables, "N", or "U"; exit without Python's cleanup."""
    code = 1
    try:
        os.close(read)
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # not Linux: the parent still kills it on time
            pass
        for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop, signal.SIG_DFL)
        timer = threading.Timer(max(seconds, 0.0), solver.interrupt)
        timer.daemon = True
        timer.start()
        answer = solver.solve_limited(assumptions=assumptions, expect_interrupt=True)
        data = b"U"
        if answer is True:
            model = np.asarray(solver.get_model(), np.int32)
            data = b"S" + model[model > 0].tobytes()
        elif answer is False:
            data = b"N"
        view = memoryview(data)
        while view:
            view = view[os.write(write, view) :]
        code = 0
    finally:
        os._exit(code)
