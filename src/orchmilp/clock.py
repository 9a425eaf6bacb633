"""Wall-clock deadlines that numba kernels can read.

Deadlines are absolute :func:`time.perf_counter` values (``math.inf``: none).
Kernels compiled with numba cannot call the ``time`` module directly; they
call :func:`now` (a short trip to the interpreter) every few hundred nodes,
so that a search stops on the clock and not only on a node count.

A ``KeyboardInterrupt`` raised inside a kernel's trip to the interpreter cannot unwind
through numba (it becomes a ``SystemError``). So kernels run inside :func:`kernel_section`:
there a SIGINT, SIGTERM or SIGHUP only makes :func:`now` answer "past every deadline", the
kernel returns, and the signal's own handler runs once it is out.

While numba compiles a kernel (a cache miss), LLVM calls back into Python; a
``KeyboardInterrupt`` raised in such a callback is printed as "Exception ignored" and lost,
and the command went on to finish with status 0. So stop signals are held during every
compile too (:class:`_HeldWhileCompiling`) and handed to their handler once it ends.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time

from numba import njit, objmode
from numba.core import event

from .signals import Held, held

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


class _HeldWhileCompiling(event.Listener):
    """Holds the stop signals from the start of each numba compile in the main thread to its
    end, then hands one that came to the handler it came to (see the module docstring)."""

    def __init__(self) -> None:
        self._open: list[tuple[contextlib.AbstractContextManager[Held], Held]] = []

    def on_start(self, ev: event.Event) -> None:
        if threading.current_thread() is threading.main_thread():
            section = held(python_handlers_only=True)
            self._open.append((section, section.__enter__()))

    def on_end(self, ev: event.Event) -> None:
        if threading.current_thread() is not threading.main_thread() or not self._open:
            return
        section, state = self._open.pop()  # compiles nest: the innermost ends first
        section.__exit__(None, None, None)
        if state.came:
            state.handlers[state.came[0]](state.came[0], None)


event.register("numba:compile", _HeldWhileCompiling())


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
