"""What the commands share: the parser that fails in one line, argument types, output."""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

from ..errors import InvalidOptions

_IMPORTED = time.perf_counter()
_commands_started = 0


def command_started() -> float:
    """When the command being run started; its deadline counts from here. The first command of a
    process counts its imports too; a later one (``main`` called again in one process, as the
    tests do) counts from its own call."""
    global _commands_started
    _commands_started += 1
    return _IMPORTED if _commands_started == 1 else time.perf_counter()


class Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr and exit status 2 (argparse prints the usage too)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number > 0")
    return value


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be >= 1")
    return value


def level(text: str) -> float:
    value = positive(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1, e.g. 0.95")
    return value


def output(text: str) -> str:
    """A file to write: its folder must exist (checked before any work, so nothing is half-written)."""
    folder = Path(text).parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r}: no such folder {str(folder)!r}")
    if Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    return text


def chart_path(text: str) -> str:
    """A chart file to write (.png, .svg or .pdf)."""
    from ..report.gantt import gantt_format

    try:
        gantt_format(text)
    except InvalidOptions as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return output(text)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def progress_printer(quiet: bool):
    """The solve's progress lines on stderr (a terminal only)."""
    if quiet or not sys.stderr.isatty():
        return None

    def show(phase: str, seconds: float, makespan: float, bound: float) -> None:
        print(f"[{seconds:6.2f} s] {phase:9s} makespan {makespan:g}  bound {bound:g}", file=sys.stderr)

    return show
