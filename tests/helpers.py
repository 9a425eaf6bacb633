"""Test helpers: every solver test checks its plan with the independent checker."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from orchmilp.check import check_plan

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "instances" / "examples").glob("*.json"))


def example_params():
    """The examples as test parameters; map-reduce (10-20 s to prove) runs in the slow suite."""
    import pytest

    return [pytest.param(p, id=p.stem, marks=pytest.mark.slow if p.stem == "map-reduce" else ()) for p in EXAMPLES]


def assert_valid_plan(workflow: dict, plan: dict, *, samples: int = 25, optimum: float | None = None) -> None:
    """Fail with the checker's findings when ``plan`` is not a valid plan for ``workflow``."""
    problems = check_plan(workflow, plan, samples=samples, optimum=optimum)
    assert not problems, "\n".join(problems[:10])


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def default_sigint() -> None:
    """``preexec_fn`` for a child that a test interrupts: Ctrl-C handled as in a terminal.
    A shell that starts the tests in the background ignores SIGINT, the child inherits that,
    and Python then installs no KeyboardInterrupt handler (the usual meaning of ``cmd &``)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def alive_with(marker: str, also=lambda argv: True) -> list[int]:
    """Processes (zombies aside, this one aside) whose command line holds ``marker`` and whose
    arguments pass ``also``."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != b"Z" and also(cmdline.split(b"\0")):
            out.append(int(entry))
    return out


def sleepers_alive(marker: str) -> list[int]:
    """The test's sleepers (``python -c ...``) whose arguments hold ``marker``; zombies count as gone."""
    return alive_with(marker, lambda argv: len(argv) > 2 and argv[1] == b"-c" and b"time.sleep" in argv[2])


def wait_for(predicate, seconds: float) -> bool:
    """Poll ``predicate`` every 50 ms for up to ``seconds``; its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def converted_trace(trace: str, out: Path) -> Path:
    """``orchmilp convert`` of an SRA-search trace (by file name) into ``out``."""
    import subprocess
    import sys

    source = ROOT / "instances" / "wfcommons" / "srasearch" / trace
    subprocess.run([sys.executable, "-m", "orchmilp.cli", "convert", str(source), "-o", str(out)], check=True)
    return out
