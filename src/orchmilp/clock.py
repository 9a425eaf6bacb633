"""Wall-clock deadlines that numba kernels can read.

Deadlines are absolute :func:`time.perf_counter` values (``math.inf``: none).
Kernels compiled with numba cannot call the ``time`` module directly; they
call :func:`now` (a short trip to the interpreter) every few hundred nodes,
so that a search stops on the clock and not only on a node count.

A ``KeyboardInterrupt`` raised inside a kernel's trip to the interpreter cannot unwind
through numba (it becomes a ``SystemError``). So kernels run inside :func:`kernel_section`:
there a SIGINT, SIGTERM or SIGHUP only makes :func:`now` answer "past every deadline", the
kernel returns, and the signal's own handler runs once it is out.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time

from numba import njit, objmode

__all__ = ["NO_DEADLINE", "now", "deadline_in", "kernel_section", "is_interrupt"]

NO_DEADLINE = math.inf
#: set while a stop signal waits for a kernel to return ([0]: read by :func:`now` at run time)
_STOPPING = [False]
_HELD = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_inside = threading.local()


def _perf_counter() -> float:
    return math.inf if _STOPPING[0] else time.perf_counter()


@njit(cache=True)
def now() -> float:
    """``time.perf_counter()``, callable from numba kernels."""
    with objmode(t="float64"):
        t = _perf_counter()
    return t


def deadline_in(seconds: float) -> float:
    """The deadline ``seconds`` from now."""
    return time.perf_counter() + seconds


@contextlib.contextmanager
def kernel_section():
    """Run a numba kernel with stop signals held: see the module docstring."""
    if threading.current_thread() is not threading.main_thread() or getattr(_inside, "active", False):
        yield
        return
    came: list[int] = []

    def hold(signum, frame):
        came.append(signum)
        _STOPPING[0] = True

    before = {sig: signal.getsignal(sig) for sig in _HELD}
    swapped = {sig: h for sig, h in before.items() if callable(h)}  # SIG_DFL and SIG_IGN act outside Python
    for sig in swapped:
        signal.signal(sig, hold)
    _inside.active = True
    try:
        yield
    finally:
        _inside.active = False
        for sig, handler in swapped.items():
            signal.signal(sig, handler)
        _STOPPING[0] = False
        if came:
            swapped[came[0]](came[0], None)


def is_interrupt(err: BaseException) -> bool:
    """A ``KeyboardInterrupt``, or the ``SystemError`` numba's dispatcher makes of one that a
    signal handler raised while it converted arguments or results (the interrupt is its cause)."""
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, KeyboardInterrupt):
            return True
        if not isinstance(err, SystemError):
            return False
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False
