"""Stop signals (SIGINT, SIGTERM, SIGHUP): held while work must not be cut short, or raised
as ``KeyboardInterrupt`` so that every entry point stops the same way (Ctrl-C's path)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["STOP_SIGNALS", "Held", "held", "raise_interrupt", "run_interruptible"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def raise_interrupt(signum: int, frame: Any) -> None:
    """A signal handler: SIGTERM and SIGHUP take the path of Ctrl-C."""
    raise KeyboardInterrupt


@dataclass
class Held:
    """The signals that came while held (in order), and the handlers they had before."""

    came: list[int] = field(default_factory=list)
    handlers: dict[int, Any] = field(default_factory=dict)


@contextlib.contextmanager
def held(*, python_handlers_only: bool = False, on_signal: Callable[[int], None] | None = None) -> Iterator[Held]:
    """Hold the stop signals until the block ends: one that comes meanwhile is noted in the
    :class:`Held` yielded (and ``on_signal`` is called); the caller decides what follows. The
    handlers are swapped, as a signal mask would not do (any thread may take the signal).
    ``python_handlers_only``: leave ``SIG_DFL`` and ``SIG_IGN`` alone (they act outside Python).
    Outside the main thread Python runs no handler: nothing is held."""
    state = Held()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def hold(signum: int, frame: Any) -> None:
        state.came.append(signum)
        if on_signal is not None:
            on_signal(signum)

    before = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    state.handlers = {sig: h for sig, h in before.items() if callable(h) or not python_handlers_only}
    for sig in state.handlers:
        signal.signal(sig, hold)
    try:
        yield state
    finally:
        for sig, handler in state.handlers.items():
            signal.signal(sig, handler)


def run_interruptible(work: Callable[[], T], stop: Callable[[], None], seconds: float) -> T | None:
    """Run ``work`` (a long C call that releases the GIL: a SAT solver's search) in a helper
    thread while the calling thread waits in Python, so that a stop signal is handled at once
    (Python runs handlers only between bytecodes of the main thread, never inside a C call).
    ``stop`` (the solver's ``interrupt``) is called after ``seconds`` or when an exception
    such as ``KeyboardInterrupt`` comes; ``work`` has always ended when this returns or
    raises (an event it sets, not ``Thread.join``: a join cut short by a signal can report a
    thread that still runs as ended), and its own exception is re-raised."""
    outcome: dict[str, Any] = {}
    finished = threading.Event()

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as err:  # handed to the caller below
            outcome["error"] = err
        finally:
            finished.set()

    threading.Thread(target=target, name="orchmilp-interruptible", daemon=True).start()
    until = time.monotonic() + max(seconds, 0.0)
    try:
        while not finished.wait(min(max(until - time.monotonic(), 0.0), 0.1)):
            if time.monotonic() >= until:
                stop()
    except BaseException:
        stop()
        while not finished.is_set():
            try:
                finished.wait(0.05)
            except BaseException:  # a second Ctrl-C: still wait for the search to end
                stop()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
