"""Running HiGHS: in its own process or in ours, next to other users of HiGHS."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np

import orchmilp
from orchmilp.compile.time_indexed import TimeIndexed
from orchmilp.solvers.base import SolverStatus
from orchmilp.solvers.highs import solve_mip

WORKFLOW = {
    "resources": {"slots": 2},
    "agents": [
        {"id": "a", "duration": 4, "uses": {"slots": 1}},
        {"id": "b", "duration": 3, "uses": {"slots": 2}},
        {"id": "c", "duration": 5, "uses": {"slots": 1}, "depends_on": ["a"]},
        {"id": "d", "duration": 2, "uses": {"slots": 1}},
    ],
}


def _model():
    problem = orchmilp.load(WORKFLOW)
    p = np.round(problem.durations).astype(np.int64)
    return TimeIndexed(problem, p, int(p.sum()), 0).build()


def test_isolated_and_in_process_agree():
    model = _model()
    here = solve_mip(model, time_limit=10, isolate=False)
    there = solve_mip(model, time_limit=10, isolate=True)
    assert here.status is there.status is SolverStatus.OPTIMAL
    assert here.objective == there.objective == 12  # b alone (3), then a->c (9) beside d


def test_a_script_without_main_guard_can_use_the_isolated_solver(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(f"""
        import numpy as np, orchmilp
        from orchmilp.compile.time_indexed import TimeIndexed
        from orchmilp.solvers.highs import solve_mip
        problem = orchmilp.load({WORKFLOW!r})
        p = np.round(problem.durations).astype(np.int64)
        out = solve_mip(TimeIndexed(problem, p, int(p.sum()), 0).build(), time_limit=10, isolate=True)
        print("objective", out.objective)
    """)
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["objective", "12.0"]


def test_solving_after_the_caller_used_highs_with_other_threads(tmp_path):
    """HiGHS keeps one global scheduler per process; a caller's own HiGHS run must not break ours."""
    script = tmp_path / "mixed.py"
    script.write_text(
        textwrap.dedent(f"""
        import highspy, numpy as np, orchmilp
        from orchmilp.compile.time_indexed import TimeIndexed
        from orchmilp.solvers.highs import solve_mip
        own = highspy.Highs()
        own.silent()
        own.setOptionValue("threads", 2)
        own.addVar(0, 1)
        own.run()
        problem = orchmilp.load({WORKFLOW!r})
        p = np.round(problem.durations).astype(np.int64)
        out = solve_mip(TimeIndexed(problem, p, int(p.sum()), 0).build(), time_limit=10, threads=1, isolate=False)
        print(out.status, out.objective)
    """)
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["optimal", "12.0"]
