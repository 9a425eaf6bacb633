"""``python -m orchmilp`` and the ``orchmilp`` command: the command line, with Ctrl-C while it
is still being imported (numba, HiGHS, the commands: up to a second) answered like Ctrl-C at
any later point, one line and exit status 130, never a traceback."""

import sys


def main() -> int:
    """Import the command line and run it; returns the exit status."""
    try:
        from .cli import main as command_line
    except KeyboardInterrupt:
        print("orchmilp: interrupted", file=sys.stderr)
        return 130
    return command_line()


if __name__ == "__main__":
    sys.exit(main())
