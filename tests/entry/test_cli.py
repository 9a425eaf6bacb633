"""The command line through main(argv), and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from orchmilp.cli import main
from tests.helpers import ROOT, assert_valid_plan, example_params, read_json

CODE_REVIEW = ROOT / "instances" / "examples" / "code-review.json"


def test_solve_prints_a_readable_plan(capsys):
    assert main(["solve", str(CODE_REVIEW), "-q"]) == 0
    out = capsys.readouterr().out
    assert "optimal" in out
    assert "Parallel groups" in out and "Critical path" in out
    assert "spec-guardian" in out and "waits for" in out


def test_solve_waves_prints_the_waves_and_their_cost_and_check_accepts_them(tmp_path, capsys):
    refactor = ROOT / "instances" / "examples" / "refactor.json"
    plan_file = tmp_path / "waves.json"
    # 60 s: a fresh install compiles the search kernels inside the limit first (the solve ends when proven)
    assert main(["solve", str(refactor), "--waves", "-q", "--time-limit", "60", "-o", str(plan_file)]) == 0
    out = capsys.readouterr().out
    assert "Waves (" in out and "the event-driven plan" in out
    plan = json.loads(plan_file.read_text())
    assert plan["dispatch"] == "waves" and plan["status"] == "optimal"
    assert plan["makespan"] == sum(w["length"] for w in plan["waves"]) >= plan["dispatch_cost"]["events"]
    assert main(["check", str(refactor), str(plan_file)]) == 0
    assert main(["solve", str(refactor), "--waves", "--objective", "p90", "-q"]) == 2
    assert "not with waves" in capsys.readouterr().err


def test_solve_json_prints_only_the_plan(capsys):
    assert main(["solve", str(CODE_REVIEW), "--json"]) == 0
    captured = capsys.readouterr()
    plan = json.loads(captured.out)
    assert_valid_plan(read_json(CODE_REVIEW), plan)
    assert set(plan) >= {
        "status",
        "makespan",
        "lower_bound",
        "gap",
        "schedule",
        "groups",
        "critical_path",
        "solve_seconds",
    }


def test_output_file_is_written(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["solve", str(CODE_REVIEW), "-o", str(out), "-q"]) == 0
    assert_valid_plan(read_json(CODE_REVIEW), read_json(out))
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temporary file left behind


def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {"resources": {"memory_gb": 8}, "agents": [{"id": "review", "duration": 3, "uses": {"memory_gb": 9}}]}
        )
    )
    out = tmp_path / "plan.json"
    assert main(["solve", str(bad), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err == "orchmilp: error: agent 'review': uses.memory_gb = 9 exceeds capacity 8\n"
    assert not out.exists()


def test_check_accepts_a_valid_plan_and_rejects_a_tampered_one(tmp_path, capsys):
    plan_path = tmp_path / "plan.json"
    assert main(["solve", str(CODE_REVIEW), "-o", str(plan_path), "-q"]) == 0
    assert main(["check", str(CODE_REVIEW), str(plan_path)]) == 0
    plan = read_json(plan_path)
    for entry in plan["schedule"]:
        entry["start"] = 0
        entry["finish"] = next(a["duration"] for a in read_json(CODE_REVIEW)["agents"] if a["id"] == entry["id"])
    plan_path.write_text(json.dumps(plan))
    assert main(["check", str(CODE_REVIEW), str(plan_path)]) == 1
    assert "violation" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["solve", str(CODE_REVIEW), "--time-limit", "-1"])
    assert info.value.code == 2


@pytest.mark.parametrize("example", example_params())
def test_every_example_solves_from_the_command_line(example, tmp_path):
    out = tmp_path / "plan.json"
    assert main(["solve", str(example), "-o", str(out), "-q", "--time-limit", "60"]) == 0
    assert_valid_plan(read_json(example), read_json(out))


def test_real_subprocess_json_and_exit_codes(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "orchmilp", "solve", str(CODE_REVIEW), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert_valid_plan(read_json(CODE_REVIEW), json.loads(run.stdout))
    bad = tmp_path / "cycle.json"
    bad.write_text(
        json.dumps(
            {
                "agents": [
                    {"id": "a", "duration": 1, "depends_on": ["b"]},
                    {"id": "b", "duration": 1, "depends_on": ["a"]},
                ]
            }
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "orchmilp", "solve", str(bad)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith("orchmilp: error: agent ") and "cycle" in run.stderr
    assert "Traceback" not in run.stderr and run.stderr.count("\n") == 1


PSPLIB = ROOT / "instances" / "psplib"


def test_convert_writes_an_equivalent_workflow(tmp_path):
    out = tmp_path / "j301_1.json"
    assert main(["convert", str(PSPLIB / "j30" / "j301_1.sm"), "-o", str(out)]) == 0
    workflow = read_json(out)
    assert workflow["resources"] == {"R1": 12, "R2": 13, "R3": 4, "R4": 12}
    assert len(workflow["agents"]) == 30
    import orchmilp

    a, b = orchmilp.solve(out, time_limit=30), orchmilp.solve(PSPLIB / "j30" / "j301_1.sm", time_limit=30)
    assert a.makespan == b.makespan == 43
    assert_valid_plan(workflow, a.to_dict())


def test_compile_exports_a_model_other_solvers_can_read(tmp_path):
    import highspy

    lp, mps = tmp_path / "m.lp", tmp_path / "m.mps"
    assert main(["compile", str(CODE_REVIEW), "--lp", str(lp), "--mps", str(mps)]) == 0
    assert "z_compliance_" in lp.read_text()
    h = highspy.Highs()
    h.silent()
    h.readModel(str(mps))
    h.run()
    assert round(h.getInfo().objective_function_value) == 150  # the proven optimum of the example


def test_bench_writes_rows_and_a_summary(tmp_path, capsys):
    out = tmp_path / "results.csv"
    files = [str(PSPLIB / "j30" / "j301_1.sm"), str(PSPLIB / "patterson" / "pat1.rcp")]
    assert main(["bench", *files, "--method", "all", "--time-limit", "10", "--out", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "orchmilp bench" in text and "milp" in text and "heuristic" in text
    import csv

    rows = list(csv.DictReader(out.open()))
    assert [(r["instance"], r["method"]) for r in rows] == [
        ("j301_1", "milp"),
        ("j301_1", "heuristic"),
        ("pat1", "milp"),
        ("pat1", "heuristic"),
    ]
    assert {r["reference"] for r in rows} == {"43.0", "19.0"}
    assert all(r["problems"] == "" for r in rows)


def test_bench_flags_results_that_contradict_the_reference(tmp_path, capsys):
    ref = tmp_path / "best_known.csv"
    ref.write_text("set,instance,lb,ub,optimal\nj30,j301_1,48,48,true\n")  # a wrong "optimum" above the true 43
    code = main(["bench", str(PSPLIB / "j30" / "j301_1.sm"), "--reference", str(ref), "--time-limit", "10", "-q"])
    assert code == 1
    assert "below the proven optimum" in capsys.readouterr().err


def test_cbc_backend_gives_a_valid_plan():
    import orchmilp

    workflow = read_json(ROOT / "instances" / "examples" / "refactor.json")
    result = orchmilp.solve(workflow, backend="cbc", time_limit=20)
    assert_valid_plan(workflow, result.to_dict())
    assert result.lower_bound <= result.makespan


def test_solve_warns_once_and_keeps_the_files_name(tmp_path):
    """The command reads the workflow once for the warnings; the solve reads it again quietly
    (with a history, the warning once came twice and the plan was called 'workflow')."""
    workflow = tmp_path / "nightly.json"
    workflow.write_text(json.dumps({"agents": [{"id": "a", "duration": 2, "priority": 1}]}))
    history = tmp_path / "h.jsonl"
    history.write_text(json.dumps({"run": "r", "agent": "a", "start": 0, "finish": 3, "status": "ok"}) + "\n")
    for extra in ([], ["--history", str(history)]):
        done = subprocess.run(
            [sys.executable, "-m", "orchmilp", "solve", str(workflow), "-q", *extra], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr.count("unknown field 'priority'") == 1, done.stderr
        assert done.stdout.startswith("nightly: optimal plan"), done.stdout


def test_a_second_command_in_one_process_counts_its_time_limit_from_its_own_call():
    from orchmilp.cli.common import command_started

    command_started()  # the process's first command (if no test ran one before) counts its imports
    time.sleep(0.05)
    called = time.perf_counter()
    assert command_started() >= called  # not from the import, minutes ago in a test session


def test_a_solve_says_how_much_of_it_compiled_the_numba_kernels_on_a_cold_cache(tmp_path):
    """The first solves after an install compile the numba kernels (cached on disk after);
    the status line says so, since no time limit can hold it (README, "How it works")."""
    import os

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # an empty cache: a fresh install
    command = [sys.executable, "-m", "orchmilp", "solve", str(ROOT / "instances/examples/refactor.json")]
    cold = subprocess.run([*command, "--time-limit", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert cold.returncode == 0, cold.stderr
    status, note = cold.stdout.splitlines()[1:3]
    compiled = float(note.split()[0])
    solved = float(status.split("solved in ")[1].split()[0])
    assert "compiled numba kernels" in note and 0.5 <= compiled <= solved
    warm = subprocess.run([*command, "--time-limit", "1"], capture_output=True, text=True, env=env, timeout=300)
    assert warm.returncode == 0 and "numba" not in warm.stdout, warm.stdout[:500]
