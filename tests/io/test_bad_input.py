"""Red team, input: every bad workflow, plan or option is one line naming the file, agent or
field, a non-zero exit and no traceback; numbers at the edges of the float range are refused or
planned correctly; Ctrl-C or SIGTERM at any moment of a solve exits 130 without a traceback."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import orchmilp
from orchmilp.cli import main
from tests.helpers import ROOT, assert_valid_plan

PY = sys.executable


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0, err
    return err


@pytest.mark.parametrize(
    "text, says",
    [
        ('{"agents":[{"id":"a","duration":1e308},{"id":"b","duration":1e308}]}', "too large"),
        ('{"agents":[{"id":"a","duration":1e18},{"id":"b","duration":0.25}]}', "too large"),
        ('{"resources":{"r":1e308},"agents":[{"id":"a","duration":1,"uses":{"r":1e308}}]}', "resources.r"),
        ('{"agents":[{"id":"a","duration":' + "9" * 400 + "}]}", "agent 'a': duration"),
        ('{"agents":[{"id":"a","duration":6e14},{"id":"b","duration":6e14}]}', "add up to"),
        ('{"agents":[{"id":"a","duration":1}],"agents":[]}', 'key "agents" appears twice'),
        ('{"agents":' + "[" * 5000 + "]" * 5000 + "}", "nested deeper"),
        ('{"agents":[{"id":"a\\ud800","duration":1}]}', "not valid Unicode"),
        ('{"agents":[{"id":"a","modes":1e-320,"reads":["f"]}]}', "agent 'a': modes = 1e-320 is not a list"),
    ],
)
def test_numbers_and_json_at_the_edges_are_one_line(tmp_path, capsys, text, says):
    path = tmp_path / "wf.json"
    path.write_text(text)
    for command in (["solve", str(path), "--time-limit", "2"], ["analyze", str(path)]):
        assert main(command) == 2
        assert says in _one_line(capsys)


MODEL_CHOICE = ROOT / "instances" / "examples" / "models" / "feature-with-model-choice.json"


@pytest.mark.parametrize(
    "mutate, says",
    [
        (lambda w: w["budgets"].__setitem__("usd", 10**400), "budgets.usd is too large"),
        (lambda w: w.__setitem__("deadline", 10**400), "deadline is too large"),
        (lambda w: w["resources"].__setitem__("opus_tpm", 10**400), "resources.opus_tpm is too large"),
        (lambda w: w["agents"][0]["modes"][0].__setitem__("duration", 10**400), "modes[0].duration is too large"),
        (lambda w: w["agents"][0]["modes"][1]["consumes"].__setitem__("usd", 10**400), "modes[1].consumes.usd"),
        (lambda w: w["agents"][0]["modes"][0]["uses"].__setitem__("slots", 10**400), "modes[0].uses.slots"),
        (lambda w: w["budgets"].__setitem__("usd", 1e300), "budgets.usd = 1e+300 is too large"),
    ],
)
def test_numbers_past_the_float_range_in_modes_and_budgets_are_one_line(tmp_path, capsys, mutate, says):
    workflow = json.loads(MODEL_CHOICE.read_text())
    mutate(workflow)
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(workflow))
    for command in (
        ["solve", str(path), "--time-limit", "1"],
        ["analyze", str(path)],
        ["whatif", str(path), "--set", "budgets.usd=5", "--time-limit", "1"],
    ):
        assert main(command) == 2
        line = _one_line(capsys)
        assert says in line and "wf.json" in line


@pytest.mark.parametrize(
    "mutate, says",
    [
        (lambda p: p["schedule"][0].__setitem__("mode", ["opus"]), "has mode ['opus']"),
        (lambda p: p["schedule"][0].__setitem__("mode", {}), "has mode {}"),
        (lambda p: p["consumes"].__setitem__("usd", 10**400), "consumes.usd"),
    ],
)
def test_check_refuses_wrongly_typed_modes_and_consumes(tmp_path, capsys, mutate, says):
    plan = orchmilp.solve(str(MODEL_CHOICE), time_limit=2).to_dict()
    mutate(plan)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert main(["check", str(MODEL_CHOICE), str(path)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.err and says in out.out + out.err


@pytest.mark.parametrize("finish", [None, "NaN", [1], {}, 10**400], ids=["null", "string", "list", "object", "huge"])
def test_export_for_a_coding_agent_refuses_a_finish_that_is_not_a_number(tmp_path, capsys, finish):
    plan = orchmilp.solve(str(ROOT / "instances" / "examples" / "code-review.json")).to_dict()
    plan["schedule"][0]["finish"] = finish
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    for fmt in ("claude", "bash", "make", "json"):
        assert main(["export", str(path), "--format", fmt]) == 2
        assert "'finish' must be a finite number" in _one_line(capsys)


def test_export_of_waves_naming_an_agent_outside_the_schedule_is_one_line(tmp_path, capsys):
    source = ROOT / "instances" / "examples" / "refactor.json"
    plan = orchmilp.solve(str(source), dispatch="waves", time_limit=2).to_dict()
    plan["waves"][0]["agents"].append("ghost\x1b[31m")
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert main(["export", str(path), "--format", "claude"]) == 2
    line = _one_line(capsys)
    assert "waves[0]: agent 'ghost" in line and "is not in the schedule" in line and "\x1b" not in line


def test_a_mix_of_huge_and_tiny_durations_is_planned_correctly():
    workflow = {
        "resources": {"r": 2},
        "agents": [
            {"id": "a", "duration": 1e14, "uses": {"r": 1}},
            {"id": "b", "duration": 0.25, "uses": {"r": 2}},
            {"id": "c", "duration": 3.5, "uses": {"r": 1}, "depends_on": ["b"]},
            {"id": "d", "duration": 1e13, "uses": {"r": 1}},
        ],
    }
    plan = orchmilp.solve(workflow, time_limit=5).to_dict()
    assert_valid_plan(workflow, plan)
    assert plan["makespan"] == pytest.approx(1e14 + 0.25)


def test_ids_with_newlines_and_escape_codes_are_shown_escaped(tmp_path, capsys):
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"agents": [{"id": "a\nb\x1b[31m", "duration": 1, "depends_on": ["zz"]}]}))
    assert main(["solve", str(path)]) == 2
    err = _one_line(capsys)
    assert "\x1b" not in err and "a\\nb\\x1b[31m" in err


@pytest.mark.parametrize(
    "mutate, says",
    [
        (lambda p: p["schedule"][0].pop("finish"), "'finish' must be a finite number"),
        (lambda p: p["schedule"][0].__setitem__("waits_for", None), "'waits_for' must be a list"),
        (lambda p: p.__setitem__("groups", 7), "'groups' must be a list"),
        (lambda p: p["schedule"][0].__setitem__("start", "0"), "'start' must be a finite number"),
        (lambda p: p.__setitem__("makespan", "x"), "'makespan' must be a finite number"),
    ],
)
def test_check_refuses_wrongly_typed_plans(tmp_path, capsys, mutate, says):
    source = ROOT / "instances" / "examples" / "code-review.json"
    plan = orchmilp.solve(str(source)).to_dict()
    mutate(plan)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    assert main(["check", str(source), str(path)]) == 1
    out = capsys.readouterr()
    assert "Traceback" not in out.err and says in out.out + out.err


def test_bench_with_a_missing_reference_is_one_line(tmp_path, capsys):
    assert main(["bench", str(ROOT / "instances" / "psplib" / "j30"), "--reference", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in _one_line(capsys)


def test_solve_into_a_closed_pipe_exits_quietly():
    source = ROOT / "instances" / "examples" / "code-review.json"
    proc = subprocess.run(
        f"{PY} -m orchmilp.cli solve {source} | head -c 1", shell=True, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


def test_a_stop_signal_at_any_moment_of_a_solve_exits_130_without_a_traceback():
    source = ROOT / "instances" / "scale" / "time-limit-300.json"
    rng = random.Random(7)
    for k in range(3):
        child = subprocess.Popen(
            [PY, "-m", "orchmilp.cli", "solve", str(source), "--time-limit", "20"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(rng.uniform(1.0, 5.0))
        child.send_signal(signal.SIGINT if k % 2 else signal.SIGTERM)
        err = child.communicate(timeout=60)[1]
        assert child.returncode == 130, err[-2000:]
        assert "Traceback" not in err, err[-2000:]


def test_ctrl_c_during_clause_learning_on_a_long_grid_exits_130_without_a_traceback():
    """On grids of more than 300 steps the SAT questions go to CaDiCaL in calls of a conflict
    budget. Called from the main thread, python-sat's CaDiCaL caught SIGINT itself and raised
    "pysolvers.error: Caught keyboard interrupt" (a traceback), and a later call on the solver
    it left behind aborted the process; each call now runs in a helper thread."""
    source = ROOT / "instances" / "sat" / "llm-20-second-grid.json"  # 611 steps; clause learning from ~0.5 s
    for delay in (2.0, 4.0):
        child = subprocess.Popen(
            [PY, "-m", "orchmilp.cli", "solve", str(source), "--time-limit", "30"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        err = child.communicate(timeout=60)[1]
        assert child.returncode == 130 and "Traceback" not in err, (delay, child.returncode, err[-2000:])
        assert err.strip() == "orchmilp: interrupted", err


@pytest.mark.parametrize("command", [[PY, "-m", "orchmilp"], [str(Path(PY).with_name("orchmilp"))]])
def test_ctrl_c_while_the_command_line_is_still_importing_exits_130_without_a_traceback(command):
    """The first second of a command is spent importing numba, scipy, HiGHS and the commands;
    Ctrl-C there is answered like Ctrl-C later on. Before, the interpreter printed a traceback
    (or an extension's "ImportError: initialization failed"), or killed itself with SIGINT
    after the command had said "interrupted" (scipy imports through ``exec`` of a string)."""
    source = ROOT / "instances" / "examples" / "refactor.json"
    for delay in (0.05, 0.15, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 1.0):
        child = subprocess.Popen(
            [*command, "solve", str(source), "--time-limit", "20"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(delay)
        child.send_signal(signal.SIGINT)
        err = child.communicate(timeout=60)[1]
        assert child.returncode == 130 and "Traceback" not in err, (delay, child.returncode, err[-2000:])
        assert err.strip() == "orchmilp: interrupted", err


def test_an_interrupt_inside_an_extension_is_still_an_interrupt():
    from orchmilp.clock import is_interrupt

    def raised(outer: type[BaseException]) -> BaseException:
        try:
            try:
                raise KeyboardInterrupt
            except KeyboardInterrupt as inner:
                raise outer("initialization failed") from inner
        except outer as err:
            return err

    assert is_interrupt(raised(ImportError)) and is_interrupt(raised(SystemError))
    assert not is_interrupt(ImportError("no module named x")) and not is_interrupt(raised(ValueError))


def test_json_file_inputs_never_half_write(tmp_path, capsys):
    """A refused workflow leaves no output file behind."""
    path = tmp_path / "wf.json"
    path.write_text('{"agents":[{"id":"a","duration":1e300}]}')
    out = tmp_path / "plan.json"
    assert main(["solve", str(path), "-o", str(out)]) == 2
    _one_line(capsys)
    assert not out.exists() and not any(p.name.startswith(".plan.json") for p in Path(tmp_path).iterdir())


def test_a_stop_signal_during_a_numba_compile_is_held_until_the_compile_ends():
    """LLVM calls back into Python while numba compiles; a KeyboardInterrupt raised there is
    printed as "Exception ignored" and lost, and the command finished with status 0 (seen in
    CI at a Ctrl-C 1 s into `solve`). The signal is held until the compile has ended, then
    raised: the kernel is compiled, and the interrupt still comes."""
    import numba
    from numba.core import event

    import orchmilp.clock  # noqa: F401  (installs the listener)

    seen = []

    class SendDuringCompile(event.Listener):
        def on_start(self, ev):
            seen.append(signal.getsignal(signal.SIGINT))
            os.kill(os.getpid(), signal.SIGINT)

        def on_end(self, ev):
            pass

    @numba.njit(cache=False)
    def fresh(x):
        return x + 1

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    listener = SendDuringCompile()
    event.register("numba:compile", listener)
    try:
        with pytest.raises(KeyboardInterrupt):
            fresh(1)
    finally:
        event.unregister("numba:compile", listener)
        signal.signal(signal.SIGINT, previous)
    assert seen and seen[0] is not signal.default_int_handler  # held while compiling
    assert len(fresh.overloads) == 1  # the compile was not cut short
    assert fresh(1) == 2
