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
import threading
import time

from numba import njit, objmode

from .signals import held

__all__ = ["NO_DEADLINE", "now", "deadline_in", "kernel_section", "is_interrupt"]

NO_DEADLINE = math.inf
#: set while a stop signal waits for a kernel to return ([0]: read by :func:`now` at run time)
_STOPPING = [False]
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
    if getattr(_inside, "active", False):
        yield
        return
    _inside.active = True
    try:
        with held(python_handlers_only=True, on_signal=_stopping) as state:
            yield
    finally:
        _inside.active = False
        _STOPPING[0] = False
    if state.came:
        state.handlers[state.came[0]](state.came[0], None)


def _stopping(signum: int) -> None:
    _STOPPING[0] = True


def is_interrupt(err: BaseException | None) -> bool:
    """A ``KeyboardInterrupt``, or what an extension makes of one that a signal handler raised
    inside it (the interrupt is its cause): the ``SystemError`` of numba's dispatcher while it
    converted arguments or results, the ``ImportError`` of a module's initialisation (pybind11:
    "initialization failed", during the lazy imports of a command's first second)."""
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, KeyboardInterrupt):
            return True
        if not isinstance(err, (SystemError, ImportError)):
            return False
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False
