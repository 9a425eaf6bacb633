"""The ``orchmilp`` command line: one module per command, each with ``register(subparsers)``
and ``run(args) -> exit status``; the commands turn their arguments into a request of
:mod:`orchmilp.services` and the outcome into text or JSON.

Only :func:`main` turns errors into exit codes: 0 success, 1 solver or run failure, 2 bad
input or usage, 130 interrupted. Errors are one line on stderr.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import warnings

from .. import __version__
from ..clock import is_interrupt
from ..errors import InvalidHistory, InvalidOptions, InvalidPlan, InvalidWorkflow, OrchmilpError
from ..io.names import one_line
from . import (
    analyze,
    backtest,
    bench,
    certify,
    check,
    compile,
    convert,
    export,
    history,
    infer,
    mcp,
    pareto,
    predict,
    run,
    session,
    solve,
    stats,
    whatif,
)
from .common import Parser, command_started

__all__ = ["main", "COMMANDS"]

#: the commands in the order ``--help`` lists them
COMMANDS = {
    "solve": solve,
    "analyze": analyze,
    "export": export,
    "bench": bench,
    "convert": convert,
    "compile": compile,
    "predict": predict,
    "history": history,
    "stats": stats,
    "infer": infer,
    "backtest": backtest,
    "whatif": whatif,
    "pareto": pareto,
    "run": run,
    "session": session,
    "mcp": mcp,
    "check": check,
    "certify": certify,
}

#: exit status of each kind of error (the first that matches)
EXIT_STATUS = (((InvalidWorkflow, InvalidPlan, InvalidOptions, InvalidHistory), 2), ((OrchmilpError,), 1))


def parser() -> Parser:
    top = Parser(prog="orchmilp", description="Provably fastest parallel execution plans for workflows of agents.")
    top.add_argument("--version", action="version", version=f"orchmilp {__version__}")
    sub = top.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in COMMANDS.values():
        module.register(sub)
    return top


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM and SIGHUP take the path of Ctrl-C: the processes started are stopped, exit 130."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from ..signals import raise_interrupt

    previous = {sig: signal.signal(sig, raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _warnings_as_lines():
    """orchmilp's warnings (unknown fields, skipped history lines) as one line each on stderr."""
    from ..errors import OrchmilpWarning

    shown: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = one_line(message)
        if text not in shown:  # the same warning once (what-ifs read the history per scenario)
            shown.add(text)
            print(f"orchmilp: warning: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.simplefilter("always", OrchmilpWarning)
        warnings.showwarning = show
        yield


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    started = command_started()
    try:
        args = parser().parse_args(argv)
        args.started = started
        with _sigterm_as_interrupt(), _warnings_as_lines():
            return COMMANDS[args.command].run(args)
    except OrchmilpError as err:
        print(f"orchmilp: error: {one_line(err)}", file=sys.stderr)
        return next(status for kinds, status in EXIT_STATUS if isinstance(err, kinds))
    except (KeyboardInterrupt, SystemError, ImportError) as err:
        if not is_interrupt(err):
            raise
        print("orchmilp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `orchmilp solve ... | head -1`: the reader has gone, exit quietly
        _quiet_stdout()
        return 0
