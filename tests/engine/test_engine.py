"""The engine's contracts: only a typed signal proves, probes stop on the clock, what-ifs
are budgeted and checked, the checker reads the workflow as written, options are validated."""

from __future__ import annotations

import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import orchmilp
from orchmilp.analysis.bottlenecks import capacity_what_if
from orchmilp.cli import main
from orchmilp.deadline import Deadline
from orchmilp.errors import HorizonInfeasible, InvalidOptions, SolverError
from orchmilp.exact.branch_and_bound import BranchAndBound
from orchmilp.exact.probe import UNKNOWN
from orchmilp.exact.set_times import probe
from orchmilp.heuristics.portfolio import rule_portfolio
from orchmilp.options import SolveOptions
from orchmilp.report.content import report_content
from orchmilp.search import phases
from orchmilp.solvers import backend
from tests.helpers import ROOT, assert_valid_plan, default_sigint, read_json

REPRO = ROOT / "instances" / "scale" / "time-limit-100.json"
CODE_REVIEW = ROOT / "instances" / "examples" / "code-review.json"
GPU = {
    "resources": {"gpu": 1},
    "agents": [{"id": "a", "duration": 10, "uses": {"gpu": 1}}, {"id": "b", "duration": 10, "uses": {"gpu": 1}}],
}


def _j30():
    problem = orchmilp.load(ROOT / "instances" / "psplib" / "j30" / "j301_1.sm")
    p = problem.durations.astype(np.int64)
    ub = int(rule_portfolio(problem).makespan) + 5  # loose: propagation alone cannot refute ub - 1
    return problem, p, ub


def test_a_bug_in_the_model_builder_is_never_taken_for_a_proof(monkeypatch):
    problem, p, ub = _j30()

    def broken(*args, **kwargs):
        raise ValueError("a bug in the model builder")

    monkeypatch.setattr(phases, "TimeIndexed", broken)
    with pytest.raises(ValueError, match="a bug"):
        phases.start_milp(problem, p, ub, 0, 5.0, backend("highs"))


def test_horizon_infeasible_settles_the_question_without_a_solver(monkeypatch):
    problem, p, ub = _j30()

    def no_room(*args, **kwargs):
        raise HorizonInfeasible("empty time window")

    monkeypatch.setattr(phases, "TimeIndexed", no_room)
    job = phases.start_milp(problem, p, ub, 0, 5.0, backend("highs"))
    assert job.run is None and job.outcome() == (None, ub)


def test_a_milp_too_large_to_build_is_no_proof():
    """Above ``max_columns`` binaries the model is not built, and the job proves nothing:
    its bound is the one it was given, not the incumbent's."""
    problem, p, ub = _j30()
    job = phases.start_milp(problem, p, ub, 7, 5.0, backend("highs"), max_columns=10)
    assert job.run is None and job.too_large
    assert job.widths is not None and len(job.widths) == problem.n and job.widths.sum() > 10
    assert job.outcome() == (None, 7)


def test_probes_stop_at_their_deadline_whatever_their_node_limit():
    """The branch and bound once ran for minutes inside one probe of this workflow."""
    problem = orchmilp.load(REPRO)
    step = 1.0
    p = np.round(problem.durations / step).astype(np.int64)
    horizon = int(rule_portfolio(problem, p.astype(float)).makespan) - 1
    expired = time.perf_counter() - 1.0
    lf = np.full(problem.n, horizon, np.int64)
    out = BranchAndBound(problem, p).probe(horizon, lf, node_limit=10**12, deadline=expired)
    assert out.status == UNKNOWN
    from orchmilp.bounds.propagation import Propagator

    out = probe(Propagator(problem, p), horizon, node_limit=10**12, deadline=expired)
    assert out.status == UNKNOWN and out.nodes < 10**6
    # a node of a few hundred agents costs up to 0.1 s: the set-times search looks at the
    # clock after its first node, not after 64 (which ran 7 s past the limit on 300 agents)
    assert out.nodes <= 1


@pytest.mark.slow
def test_the_time_limit_holds_on_the_workflow_that_never_ended():
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "orchmilp", "solve", str(REPRO), "--time-limit", "5", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    wall = time.perf_counter() - t
    assert done.returncode == 0, done.stderr
    assert_valid_plan(read_json(REPRO), json.loads(done.stdout))
    assert wall < 5 + 2, wall  # the limit plus one second, and one of slack for a busy machine


@pytest.mark.slow
def test_the_time_limit_holds_with_every_chart_and_report(tmp_path):
    """Three copies of the workflow that never ended (300 agents): each chart takes seconds to
    draw, and the solve must leave them that time."""
    workflow = ROOT / "instances" / "scale" / "time-limit-300.json"
    files = ["--gantt", tmp_path / "g.png", "--html", tmp_path / "r.html", "--report", tmp_path / "r.md"]
    t = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchmilp",
            "solve",
            workflow,
            "--time-limit",
            "20",
            "-q",
            "-o",
            tmp_path / "p.json",
            *files,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    wall = time.perf_counter() - t
    assert done.returncode == 0, done.stderr
    assert_valid_plan(read_json(workflow), read_json(tmp_path / "p.json"))
    assert all(path.stat().st_size > 0 for path in files[1::2])
    assert wall < 20 + 2, wall  # as above


def test_what_ifs_past_their_deadline_are_skipped_not_run():
    result = orchmilp.solve(GPU)
    content = report_content(result, workflow=GPU, deadline=Deadline(1e-9))
    assert content["capacity_what_if"] == [{"resource": "gpu", "skipped": "no time left within the time limit"}]


def test_every_what_if_plan_is_checked(monkeypatch):
    """Checked against the workflow of the what-if: against the original one, the plan
    that uses the second GPU is (rightly) rejected."""
    result = orchmilp.solve(GPU)
    assert capacity_what_if(result, iter([20.0]), GPU)[0]["makespan"] == 10
    import orchmilp.analysis.bottlenecks as bottlenecks

    real = bottlenecks._resolve
    monkeypatch.setattr(
        bottlenecks,
        "_resolve",
        lambda problem, seconds, workflow, allow_together=(), **kw: real(problem, seconds, GPU, allow_together, **kw),
    )
    with pytest.raises(SolverError, match="plan fails its check"):
        capacity_what_if(result, iter([20.0]), GPU)


def test_the_self_check_reads_the_workflow_as_written(monkeypatch):
    """A reading bug that drops the files an agent writes must not pass unnoticed: the
    checker compares the plan with the workflow as written, not with orchmilp's reading of it."""
    workflow = {
        "agents": [{"id": "w", "duration": 5, "writes": ["src/"]}, {"id": "r", "duration": 5, "reads": ["src/a.py"]}]
    }
    import orchmilp.engine as engine

    real = engine.validate

    def forgets_writes(instance):
        agents = tuple(dataclasses.replace(a, writes=()) for a in instance.agents)
        return real(dataclasses.replace(instance, agents=agents))

    monkeypatch.setattr(engine, "validate", forgets_writes)
    with pytest.raises(SolverError, match="overlap"):
        orchmilp.solve(workflow)


def test_check_command_reads_the_workflow_as_written(tmp_path, capsys, monkeypatch):
    plan = tmp_path / "plan.json"
    assert main(["solve", str(CODE_REVIEW), "-o", str(plan), "-q"]) == 0
    import orchmilp.io.workflow as workflow_io

    monkeypatch.setattr(workflow_io, "problem_to_workflow", lambda problem: {"agents": []})
    assert main(["check", str(CODE_REVIEW), str(plan)]) == 0  # problem_to_workflow is not what it reads
    assert "ok:" in capsys.readouterr().out


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"time_limit": 0}, "time_limit"),
        ({"time_limit": float("nan")}, "time_limit"),
        ({"threads": 0}, "threads"),
        ({"backend": "gurobi"}, "backend"),
        ({"resolution": -1.0}, "resolution"),
    ],
)
def test_bad_options_are_refused_with_the_field_named(fields, message):
    with pytest.raises(InvalidOptions, match=message):
        SolveOptions(**fields)


def test_unknown_solve_keyword_is_refused():
    with pytest.raises(InvalidOptions, match="unknown solve option 'time_limt'"):
        orchmilp.solve(GPU, time_limt=3)


def test_statistics_are_typed_and_flat_for_csv():
    result = orchmilp.solve(ROOT / "instances" / "psplib" / "j30" / "j301_1.sm", time_limit=10)
    stats = result.statistics
    assert stats.agents == 30 and stats.phases and stats.phases[0][0] == "bounds"
    row = stats.as_row()
    assert all(isinstance(v, (int, float, str, type(None))) for v in row.values())


@pytest.mark.parametrize(
    "argv",
    [
        ["solve", "WF", "--gantt", "chart.jpg"],
        ["solve", "WF", "--threads", "0"],
        ["solve", "WF", "--time-limit", "nan"],
        ["solve", "WF", "--time-limit", "-3"],
        ["solve", "WF", "--no-such-flag"],
        ["solve", "WF", "-o", "no/such/folder/plan.json"],
        ["bench", "WF", "--jobs", "zero"],
        ["frobnicate"],
    ],
)
def test_every_bad_argument_gets_one_line_and_exit_2(argv, tmp_path):
    argv = [str(CODE_REVIEW) if a == "WF" else a for a in argv]
    done = subprocess.run(
        [sys.executable, "-m", "orchmilp", *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def _descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid`` (from /proc), with its command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                try:
                    found[child] = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    found[child] = ""
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("backend, signum", [("highs", signal.SIGINT), ("cbc", signal.SIGTERM)])
def test_interrupting_a_solve_stops_the_solver_processes_it_started(backend, signum):
    """Ctrl-C or SIGTERM while the MILP runs: exit 130, and no solver process is left behind."""
    hard = ROOT / "instances" / "psplib" / "j30" / "j3013_1.sm"  # without clause learning, not proven in 60 s
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchmilp",
            "solve",
            str(hard),
            "--time-limit",
            "60",
            "-q",
            "--no-sat",
            "--backend",
            backend,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,
    )
    solver: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 45
        while not solver and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            below = _descendants(proc.pid)
            # HiGHS: a worker started by the fork server (two levels down); CBC: the cbc binary
            solver = (
                {p: c for p, c in below.items() if "cbc" in c.lower()}
                if backend == "cbc"
                else {p: c for p, c in below.items() if any(q in below and p in _descendants(q) for q in below)}
            )
        assert solver, "the MILP never started"
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    time.sleep(0.5)
    assert not [p for p in solver if _alive(p)], solver


def test_the_public_names_of_the_readme_exist():
    problem, workflow = orchmilp.load_as_written(CODE_REVIEW)
    result = orchmilp.solve(CODE_REVIEW, orchmilp.SolveOptions(time_limit=10))
    assert result.workflow == workflow == read_json(CODE_REVIEW) and problem.n == len(workflow["agents"])
    assert_valid_plan(workflow, result.to_dict())
    assert issubclass(orchmilp.InvalidOptions, orchmilp.OrchmilpError)
