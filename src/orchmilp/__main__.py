"""``python -m orchmilp`` and the ``orchmilp`` command: the command line, with Ctrl-C answered
the same way at any moment, one line and exit status 130, never a traceback:

* while the command line is still being imported (numba, HiGHS, the commands: up to a second),
  where a ``KeyboardInterrupt`` raised inside an extension module's initialisation would come
  out as an ``ImportError`` with a traceback;
* after an interrupted command: CPython makes a process kill itself with SIGINT at exit (status
  -2 to a parent, not 130) when a ``KeyboardInterrupt`` once passed through ``exec`` of a string,
  as scipy's lazy imports do, even though the command line handled it.
"""

import atexit
import os
import signal
import sys

#: the exit status of an interrupted command (cli.EXIT_STATUS)
INTERRUPTED = 130


def _interrupted_while_importing(signum, frame) -> None:
    """Nothing has started yet: say so and leave."""
    os.write(2, b"orchmilp: interrupted\n")
    os._exit(INTERRUPTED)


def main() -> int:
    """Import the command line and run it; returns the exit status."""
    signal.signal(signal.SIGINT, _interrupted_while_importing)
    from .cli import main as command_line

    signal.signal(signal.SIGINT, signal.default_int_handler)
    status = command_line()
    if status == INTERRUPTED:  # the command has stopped what it started; exit as documented
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        atexit._run_exitfuncs()
        os._exit(INTERRUPTED)
    return status


if __name__ == "__main__":
    sys.exit(main())
