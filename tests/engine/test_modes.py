"""Model choice (agents' ``modes``, ``budgets``, ``deadline``): against brute force over every
choice of modes, the checker's view of modes and budgets, and one-line errors."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orchmilp
from orchmilp.check import check_plan
from orchmilp.cli import main
from orchmilp.errors import InvalidWorkflow
from orchmilp.io.modes import mode_table
from orchmilp.options import SolveOptions
from orchmilp.search import modes as modes_search
from orchmilp.search import run_search
from orchmilp.search.modes import Relaxation, _dual_feasible, energy_lp, mode_relaxation
from tests.helpers import ROOT, assert_valid_plan
from tests.reference import in_modes, mode_brute_force, reference_optimum
from tests.strategies import mode_workflows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows())
def test_model_choice_against_brute_force_over_every_choice_of_modes(workflow):
    optimum = mode_brute_force(workflow)
    if optimum is None:
        with pytest.raises(InvalidWorkflow, match="budgets.usd"):
            orchmilp.solve(workflow, time_limit=10)
        return
    result = orchmilp.solve(workflow, time_limit=10)
    plan = result.to_dict()
    assert_valid_plan(workflow, plan, optimum=optimum)  # modes, budget and consumes checked too
    assert plan["consumes"]["usd"] <= workflow["budgets"]["usd"]
    assert result.lower_bound <= optimum <= result.makespan
    if result.status.value == "optimal":
        assert result.makespan == optimum


def test_the_budget_decides_the_models_and_the_plan_says_what_it_spends(four_models):
    result = orchmilp.solve(four_models, time_limit=10)
    plan = result.to_dict()
    assert_valid_plan(four_models, plan)
    # two opus agents never run together (their rate bucket), and three opus agents cost 3.75:
    # opus for the plan and the long implementation, haiku for the short one
    assert {e["id"]: e.get("mode") for e in plan["schedule"]} == {
        "plan": "opus",
        "impl-a": "opus",
        "impl-b": "haiku",
        "test": None,
    }
    assert result.status.value == "optimal" and result.makespan == 310
    assert plan["consumes"] == {"usd": pytest.approx(2.9)} and plan["budgets"] == {"usd": 3}
    # money alone buys nothing here: the opus bucket holds one agent; with a bucket for two it does
    assert orchmilp.solve({**four_models, "budgets": {"usd": 10}}, time_limit=10).makespan == 310
    wider = {**four_models, "budgets": {"usd": 10}, "resources": {"slots": 2, "opus_tpm": 200000}}
    assert orchmilp.solve(wider, time_limit=10).makespan == 60 + 200 + 30


def test_the_checker_rejects_a_wrong_mode_an_overrun_budget_and_a_missed_deadline(four_models):
    plan = orchmilp.solve(four_models, time_limit=10).to_dict()
    assert check_plan(four_models, plan) == []
    unknown = copy.deepcopy(plan)
    unknown["schedule"][0]["mode"] = "gpt"
    assert any("not one of its modes" in p for p in check_plan(four_models, unknown))
    missing = copy.deepcopy(plan)
    del missing["schedule"][0]["mode"]
    assert any("not one of its modes" in p for p in check_plan(four_models, missing))
    assert any("over the budget" in p for p in check_plan({**four_models, "budgets": {"usd": 2}}, plan))
    lied = copy.deepcopy(plan)
    lied["consumes"]["usd"] = 1.0
    assert any("consumes.usd" in p for p in check_plan(four_models, lied))
    assert any("past the deadline" in p for p in check_plan({**four_models, "deadline": 300}, plan))
    # another mode changes the duration the plan must respect
    slower = copy.deepcopy(plan)
    slower["schedule"][2]["mode"] = "opus"
    assert check_plan(four_models, slower)


def test_a_deadline_that_no_choice_meets_and_a_budget_below_the_cheapest_are_one_line_errors(four_models):
    with pytest.raises(InvalidWorkflow, match="budgets.usd = 0.2: the cheapest modes consume 0.5"):
        orchmilp.solve({**four_models, "budgets": {"usd": 0.2}}, time_limit=5)
    with pytest.raises(InvalidWorkflow, match="deadline = 200"):
        orchmilp.solve({**four_models, "deadline": 200}, time_limit=5)
    met = orchmilp.solve({**four_models, "deadline": 320}, time_limit=5)
    assert met.makespan <= 320


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w["agents"][0].update(duration=5), "agent 'plan': give 'duration' in each of its modes"),
        (
            lambda w: w["agents"][0]["modes"][1].update(name="opus"),
            "agent 'plan': modes\\[1\\] repeats the name 'opus'",
        ),
        (
            lambda w: w["agents"][0]["modes"][0].pop("duration"),
            "agent 'plan': modes\\[0\\]: missing required field 'duration'",
        ),
        (lambda w: w["agents"][3].pop("duration"), "agent 'test': missing required field 'duration' \\(or 'modes'\\)"),
        (lambda w: w.update(budgets={"eur": 3}), "budgets.eur: no agent consumes 'eur'"),
        (lambda w: w["agents"][0]["modes"][0].update(consumes={"usd": -1}), "must be >= 0"),
    ],
)
def test_bad_modes_are_one_line_errors_naming_the_agent_and_field(tmp_path, capsys, change, message, four_models):
    workflow = copy.deepcopy(four_models)
    change(workflow)
    with pytest.raises(InvalidWorkflow, match=message):
        orchmilp.load(workflow)
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(workflow))
    assert main(["solve", str(path), "-q"]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_the_command_line_shows_the_modes_and_the_spend_and_check_accepts_the_plan(tmp_path, capsys, four_models):
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(four_models))
    out = tmp_path / "plan.json"
    assert main(["solve", str(path), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "mode" in printed and "haiku" in printed and "Consumes: 2.9 usd of 3 (97%)" in printed
    assert main(["check", str(path), str(out)]) == 0
    plan = json.loads(out.read_text())
    plan["consumes"]["usd"] = 9
    out.write_text(json.dumps(plan))
    assert main(["check", str(path), str(out)]) != 0


def test_plain_workflows_are_unchanged():
    workflow = json.loads((ROOT / "instances" / "examples" / "refactor.json").read_text())
    plan = orchmilp.solve(workflow, time_limit=10).to_dict()
    assert "consumes" not in plan and all("mode" not in e for e in plan["schedule"])


def test_the_model_choice_example_is_proven_within_its_budgets_and_its_report_prices_the_models(tmp_path):
    path = ROOT / "instances" / "examples" / "models" / "feature-with-model-choice.json"
    workflow = json.loads(path.read_text())
    report = tmp_path / "report.md"
    assert main(["solve", str(path), "-o", str(tmp_path / "plan.json"), "--report", str(report), "-q"]) == 0
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert_valid_plan(workflow, plan)
    assert plan["status"] == "optimal"
    assert all(plan["consumes"][k] <= cap for k, cap in workflow["budgets"].items())
    assert len({e["mode"] for e in plan["schedule"]}) >= 2  # the budgets make it mix the models
    text = report.read_text()
    assert "## Token and Cost Budget" in text and "### Per parallel group" in text


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows())
def test_least_spend_by_a_deadline_against_brute_force_over_every_choice_of_modes(workflow):
    counts = [len(a.get("modes", [None])) for a in workflow["agents"]]
    plans = []  # (shortest plan, usd) of every choice of modes within the budget
    for choice in itertools.product(*(range(c) for c in counts)):
        single, usd = in_modes(workflow, choice)
        if usd <= workflow["budgets"]["usd"]:
            plans.append((reference_optimum(single), usd))
    if not plans:
        return
    deadline = sorted(m for m, _ in plans)[len(plans) // 2]
    least = min(usd for m, usd in plans if m <= deadline)
    workflow = {**workflow, "deadline": deadline}
    result = orchmilp.solve(workflow, time_limit=10, spend="usd")
    plan = result.to_dict()
    assert_valid_plan(workflow, plan)  # ends by the deadline, within the budget
    objective = plan["objective"]
    assert objective["lower_bound"] <= least + 1e-6 <= objective["value"] + 2e-6
    assert objective["value"] == pytest.approx(plan["consumes"]["usd"])
    if objective["status"] == "optimal":
        assert objective["value"] == pytest.approx(least)


def test_the_command_line_finds_the_least_spend_by_a_deadline(tmp_path, capsys, four_models):
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(four_models))
    out = tmp_path / "plan.json"
    assert main(["solve", str(path), "--objective", "usd", "--deadline", "480", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Objective usd: 1.8 (optimal; lower bound 1.8), ending by the deadline 480 s" in printed
    plan = json.loads(out.read_text())
    # haiku for the plan and the short implementation, opus for the long one: 150 + 220 + 30
    assert plan["makespan"] == 400 and plan["objective"]["value"] == pytest.approx(1.8)
    assert check_plan({**four_models, "deadline": 480}, plan) == []
    assert main(["solve", str(path), "--objective", "usd", "-q"]) != 0  # no deadline
    assert "needs a deadline" in capsys.readouterr().err
    plain = ROOT / "instances" / "examples" / "refactor.json"
    assert main(["solve", str(plain), "--objective", "usd", "--deadline", "900", "-q"]) != 0
    assert "no agent consumes 'usd'" in capsys.readouterr().err


def test_the_front_of_makespan_against_spend_is_the_brute_force_front(tmp_path, capsys, four_models):
    counts = [len(a.get("modes", [None])) for a in four_models["agents"]]
    every = []
    for choice in itertools.product(*(range(c) for c in counts)):
        single, usd = in_modes(four_models, choice)
        if usd <= four_models["budgets"]["usd"] + 1e-9:
            every.append((reference_optimum(single), round(usd, 6)))
    front = sorted(
        {(m, u) for m, u in every if not any(m2 <= m and u2 <= u and (m2, u2) != (m, u) for m2, u2 in every)}
    )
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(four_models))
    plot = tmp_path / "front.png"
    assert main(["pareto", str(path), "--y", "usd", "--plot", str(plot), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["complete"] and [(p["makespan"], round(p["usd"], 6)) for p in out["points"]] == front
    for p in out["points"]:
        assert p["makespan_status"] == "optimal" and p["usd_status"] == "optimal"
        assert check_plan({**four_models, "deadline": p["makespan"]}, p["plan"]) == []
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from orchmilp.api import pareto  # the library reaches the same service

    assert [(p["makespan"], round(p["usd"], 6)) for p in pareto(four_models, "usd").points] == front


def test_a_front_point_whose_least_spend_search_finds_no_plan_is_the_fastest_plan_not_the_end(four_models):
    """When the least spend by a point's makespan finds no plan in its turn, the point is the
    fastest plan with its own spend (unproven); before, the front ended there as if no smaller
    budget fitted."""
    from orchmilp.api import pareto
    from orchmilp.errors import NoPlanFits

    def none_found(*args, **kwargs):
        raise NoPlanFits("no plan that ends by the deadline was found within the time limit")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(modes_search, "solve_min_spend", none_found)
        front = pareto(four_models, "usd", points=3, seconds_each=2)
    assert len(front.points) == 3 and not front.complete
    spends = [p["usd"] for p in front.points]
    assert spends == sorted(spends, reverse=True) and len(set(spends)) == 3
    for p in front.points:
        assert p["usd_status"] == "feasible" and p["usd_bound"] == 0.0
        assert p["usd"] == pytest.approx(p["plan"]["consumes"]["usd"])
        assert check_plan({**four_models, "deadline": p["makespan"]}, p["plan"]) == []


def test_the_spend_is_predicted_from_the_usage_past_runs_recorded_per_kind_and_mode(tmp_path, four_models):
    history = tmp_path / "history.jsonl"
    rows = []
    # impl-a ran twice in opus: 1.0 and 3.0 usd; plan in opus once: 1.5 usd; nothing else recorded
    for run, (agent, mode, usd) in enumerate([("impl-a", "opus", 1.0), ("impl-a", "opus", 3.0), ("plan", "opus", 1.5)]):
        rows.append(
            {
                "run": f"r{run}",
                "agent": agent,
                "kind": agent,
                "mode": mode,
                "start": 0,
                "finish": 60,
                "status": "ok",
                "usage": {"usd": usd},
            }
        )
    history.write_text("".join(json.dumps(r) + "\n" for r in rows))
    prediction = orchmilp.predict(four_models, history=history, samples=4000, level=0.9)
    spend = prediction.spend["usd"]
    # the plan keeps opus, opus, haiku (its durations are the modes' own, not the history's):
    # impl-b 0.15 and test 0.05 declared; plan always 1.5; impl-a 1.0 or 3.0 half the time each
    assert spend["declared"] == pytest.approx(2.9) and spend["learnt_agents"] == 2
    assert spend["p50"] in (pytest.approx(2.7), pytest.approx(4.7))
    assert spend["interval"] == [pytest.approx(2.7), pytest.approx(4.7)]
    assert "predicted usd" in prediction.summary()


def test_a_mode_no_capacity_fits_is_never_chosen_even_when_it_comes_first():
    workflow = {
        "resources": {"tpm": 1},
        "agents": [
            {
                "id": "a",
                "modes": [
                    {"name": "big", "duration": 1, "uses": {"tpm": 5}},
                    {"name": "small", "duration": 3, "uses": {"tpm": 1}},
                ],
            },
            {"id": "b", "duration": 2, "depends_on": ["a"]},
        ],
    }
    plan = orchmilp.solve(workflow, time_limit=5).to_dict()
    assert_valid_plan(workflow, plan)
    assert plan["schedule"][0]["mode"] == "small" and plan["makespan"] == 5
    with pytest.raises(InvalidWorkflow, match="agent 'a': uses.tpm = 5 exceeds capacity 1"):
        orchmilp.load({**workflow, "agents": [{"id": "a", "modes": [workflow["agents"][0]["modes"][0]]}]})


def _plan_attempts(rows, four_models):
    """A history of ok attempts of four_models's agent 'plan': (run, mode, seconds) each."""
    from orchmilp.history import History

    k = len(rows)
    return History(
        run=tuple(r[0] for r in rows),
        workflow=("pick-models",) * k,
        agent=("plan",) * k,
        kind=("plan",) * k,
        status=("ok",) * k,
        start=np.zeros(k),
        finish=np.asarray([r[2] for r in rows]),
        features=({},) * k,
        host=(None,) * k,
        mode=tuple(r[1] for r in rows),
    )


def test_with_history_each_mode_is_planned_with_its_own_median_run_time(four_models):
    """A kind's run times are learnt per mode: opus 'plan' took ~20 s in past runs (declared 60),
    haiku 'plan' ~300 s (declared 150); the plan uses those figures for the mode it chooses."""
    import json

    from orchmilp.engine import read_inputs

    rows = [
        (f"r{run}-{mode}", mode, took)
        for run in range(4)
        for mode, took in (("opus", 20.0 + run), ("haiku", 300.0 + run))
    ]
    inputs = read_inputs(four_models, _plan_attempts(rows, four_models))
    plan_modes = {m["name"]: m["duration"] for m in inputs.planned.workflow["agents"][0]["modes"]}
    assert plan_modes == {"opus": 21.5, "haiku": 301.5}  # the medians of 20-23 and 300-303
    other = inputs.planned.workflow["agents"][1]["modes"]
    assert [m["duration"] for m in other] == [200, 400]  # no history: as declared
    result = orchmilp.solve(inputs.planned, time_limit=10)
    entry = next(e for e in result.to_dict()["schedule"] if e["id"] == "plan")
    assert entry["finish"] - entry["start"] == plan_modes[entry["mode"]]
    assert_valid_plan(json.loads(json.dumps(inputs.planned.workflow)), result.to_dict())


def test_the_prediction_of_a_modal_plan_learns_each_agent_from_its_chosen_mode(four_models):
    """Past 'plan' attempts: opus about 20 s, haiku about 300 s. The prediction of a plan that
    runs 'plan' in opus draws its run time from the opus attempts only (p50 near 21.5 s, not
    the mixture's ~160 s)."""
    from orchmilp.engine import read_inputs

    rng = np.random.default_rng(1)
    rows = [(f"r{k}", "opus", 20.0 * rng.lognormal(0, 0.05)) for k in range(6)]
    rows += [(f"s{k}", "haiku", 300.0 * rng.lognormal(0, 0.05)) for k in range(6)]
    inputs = read_inputs(four_models, _plan_attempts(rows, four_models))
    result = orchmilp.solve(inputs.planned, time_limit=10)
    prediction = inputs.predict(result, samples=2000)
    plan = next(a for a in prediction.agents if a["id"] == "plan")
    mode = result.modes["plan"]
    expected = 20.0 if mode == "opus" else 300.0
    assert abs(plan["p50"] - expected) < 0.15 * expected and plan["kind"] == f"plan@{mode}"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 100), min_size=1, max_size=8), st.integers(1, 3))
def test_the_dual_feasible_functions_keep_any_shares_that_fit_within_one(uses, k):
    capacity = max(sum(uses), 100)
    shares = np.array(uses) / capacity  # they fit together
    assert _dual_feasible(shares, k).sum() <= 1 + 1e-9
    assert np.all(_dual_feasible(shares, k) >= 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows())
def test_the_mode_relaxation_never_bounds_above_the_brute_force_optimum(workflow):
    optimum = mode_brute_force(workflow)
    relaxed = mode_relaxation(mode_table(workflow), orchmilp.load(workflow), 5.0, SolveOptions())
    if optimum is None:
        assert relaxed.choice is None  # no choice within the budget: the relaxation is infeasible too
    else:
        assert relaxed.proven and relaxed.bound <= optimum + 1e-9
        # the energy LP's bound is valid too, and the relaxation's optimum never below it; its
        # choice keeps the budgets
        energy = energy_lp(mode_table(workflow), orchmilp.load(workflow), 5.0, SolveOptions())
        assert energy.bound <= relaxed.bound + 1e-9
        assert energy.choice is not None and mode_table(workflow).within_budgets(energy.choice)


def test_when_the_relaxation_does_not_finish_the_energy_lp_bounds_the_plan_and_names_a_choice(four_models):
    """At 20,000 agents the relaxation MILP proves nothing in its time (bound 0); the plan then
    keeps the energy LP's bound, and its choice is planned."""
    real = modes_search.mode_relaxation
    calls = []

    def unfinished(*args, **kwargs):  # no relaxation finishes or names a choice
        calls.append(real(*args, **kwargs))
        return Relaxation(0.0, None, False)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(modes_search, "mode_relaxation", unfinished)
        mp.setattr(modes_search, "_fastest_within_budgets", lambda *args: None)  # the energy LP's choice only
        result = orchmilp.solve(four_models, time_limit=2, use_sat=False)  # no clause learning's bound
    assert_valid_plan(four_models, result.to_dict())
    energy = energy_lp(mode_table(four_models), orchmilp.load(four_models), 5.0, SolveOptions())
    assert 0 < energy.bound == result.lower_bound <= result.makespan
    assert result.bound_source == "mode energy lp"


def _coarse_only(mp: pytest.MonkeyPatch) -> None:
    """The coarse Benders phase on small workflows: no fine clause learning, and a coarse grid
    of 2 steps or more from makespans of 4 up."""
    mp.setattr(modes_search, "SAT_MAX_STEPS", 0)
    mp.setattr(modes_search, "COARSE_STEPS", 3)
    mp.setattr(modes_search, "COARSE_EARLY_SECONDS", 0.0)  # before the local moves, as at 20 s and more


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows())
def test_the_coarse_benders_phase_against_brute_force(workflow):
    optimum = mode_brute_force(workflow)
    if optimum is None:
        return
    with pytest.MonkeyPatch.context() as mp:
        _coarse_only(mp)
        result = orchmilp.solve(workflow, time_limit=10)
    assert_valid_plan(workflow, result.to_dict(), optimum=optimum)
    assert result.lower_bound <= optimum <= result.makespan
    if result.status.value == "optimal":
        assert result.makespan == optimum


def _from_the_worst_choice(workflow):
    """Run the coarse Benders phase from the plan of the choice whose optimum is longest."""
    table, first = mode_table(workflow), orchmilp.load(workflow)
    counts = [len(a.get("modes", [None])) for a in workflow["agents"]]
    within = [c for c in itertools.product(*(range(k) for k in counts)) if table.within_budgets(c)]
    worst = max(within, key=lambda c: reference_optimum(in_modes(workflow, c)[0]))

    def build(choice):
        return orchmilp.load(table.apply(workflow, choice))

    tried, best = {}, []

    def attempt(choice, share):
        if choice in tried:
            return
        tried[choice] = result = run_search(build(choice), SolveOptions(time_limit=5))
        if not best or result.makespan < best[-1][0].makespan:
            best.append((result, choice))

    attempt(worst, 1.0)
    step = 1.0
    proven = modes_search._coarse_benders(
        table, first, step, build, tried, attempt, lambda: best[-1], time.perf_counter() + 20
    )
    return proven, best[-1][0], best[0][0]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows())
def test_the_coarse_benders_phase_proves_only_the_optimum_even_from_the_worst_choice(workflow):
    optimum = mode_brute_force(workflow)
    if optimum is None:
        return
    with pytest.MonkeyPatch.context() as mp:
        _coarse_only(mp)
        proven, incumbent, _ = _from_the_worst_choice(workflow)
    assert incumbent.makespan >= optimum
    if proven:
        assert incumbent.makespan == optimum


def test_the_coarse_benders_phase_finds_and_proves_a_shorter_choice():
    workflow = {
        "resources": {"a_tpm": 2, "b_tpm": 2},
        "budgets": {"usd": 6},
        "agents": [
            {
                "id": f"t{k}",
                "modes": [
                    {"name": "a", "duration": 5 + k, "uses": {"a_tpm": 2}, "consumes": {"usd": 2}},
                    {"name": "b", "duration": 8 + k, "uses": {"b_tpm": 2}, "consumes": {"usd": 1}},
                ],
            }
            for k in range(4)
        ],
    }
    optimum = mode_brute_force(workflow)
    with pytest.MonkeyPatch.context() as mp:
        _coarse_only(mp)
        proven, incumbent, worst = _from_the_worst_choice(workflow)
    assert worst.makespan > optimum  # it started from a longer plan
    assert proven and incumbent.makespan == optimum


def test_the_coarse_benders_phase_proves_what_the_relaxation_cannot():
    # t1 reads what t2 writes: they never overlap, which the relaxation's energies miss (3)
    mode = [{"name": "m0", "duration": 1}, {"name": "m1", "duration": 1}]
    workflow = {
        "resources": {"r0": 1},
        "agents": [
            {"id": "t0", "modes": mode},
            {"id": "t1", "depends_on": ["t0"], "reads": ["a.txt"], "modes": mode},
            {"id": "t2", "depends_on": ["t0"], "writes": ["a.txt"], "modes": mode},
            {"id": "t3", "depends_on": ["t0", "t1", "t2"], "modes": mode},
        ],
    }
    relaxed = mode_relaxation(mode_table(workflow), orchmilp.load(workflow), 5.0, SolveOptions())
    with pytest.MonkeyPatch.context() as mp:
        _coarse_only(mp)
        solved = orchmilp.solve(workflow, time_limit=10)
        mp.setattr(modes_search, "COARSE_EARLY_SECONDS", math.inf)  # after the local moves
        later = orchmilp.solve(workflow, time_limit=10)
    assert relaxed.bound == 3
    for result in (solved, later):
        assert result.status.value == "optimal" and result.makespan == 4
        assert result.bound_source == modes_search.COARSE_SOURCE
        assert_valid_plan(workflow, result.to_dict(), optimum=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows(), st.sampled_from([2000, 1]))
def test_the_fastest_choice_within_budgets_keeps_them(workflow, batch_agents):
    """Every agent in a mode that can run, every budget kept; with the budgets out of the way,
    each agent's fastest mode. ``batch_agents`` 1 switches every agent's best at once (the
    batches of 20,000 agents)."""
    table = mode_table(workflow)
    capacity = orchmilp.load(workflow).capacity_by_name
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(modes_search, "SWITCH_BATCH_AGENTS", batch_agents)
        choice = modes_search._fastest_within_budgets(table, capacity)
        loose = dataclasses.replace(table, budgets={k: math.inf for k in table.budgets})
        fastest = modes_search._fastest_within_budgets(loose, capacity)
    runnable = table.runnable(capacity)
    if len(table.budgets) == 1:  # the switches end at the cheapest modes: when those fit, a choice is found
        cheapest = [
            min(np.flatnonzero(runnable[j]), key=lambda m: table.budget_costs[j, m, 0]) for j in range(len(table.ids))
        ]
        assert choice is not None or not table.within_budgets(cheapest)
    if choice is not None:
        assert table.within_budgets(choice)
        assert all(runnable[j, m] for j, m in enumerate(choice))
    assert fastest is not None
    for j, m in enumerate(fastest):
        assert table.durations[j, m] == min(table.durations[j, k] for k in range(len(table.modes[j])) if runnable[j, k])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows())
def test_the_local_moves_keep_the_budgets(workflow):
    """Each move switches one or two agents to modes that can run, within every budget."""
    table = mode_table(workflow)
    problem = orchmilp.load(workflow)
    capacity = problem.capacity_by_name
    choice = modes_search._fastest_within_budgets(table, capacity)
    if choice is None:
        return
    result = run_search(orchmilp.load(table.apply(workflow, choice)), SolveOptions(time_limit=1.0))
    runnable = table.runnable(capacity)
    moves = list(modes_search._moves(table, result, choice, capacity))
    assert len(set(moves)) == len(moves) and choice not in moves
    for move in moves:
        switched = [j for j in range(len(choice)) if move[j] != choice[j]]
        assert 1 <= len(switched) <= 2
        assert table.within_budgets(move) and all(runnable[j, move[j]] for j in switched)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mode_workflows(), st.data())
def test_a_settled_choices_cut_leaves_out_only_choices_no_shorter(workflow, data):
    """_core's cut (a settled choice's agents whose modes keep the quick bounds with every
    other agent relaxed) may leave out many choices at once: brute force confirms that no
    choice taking all its pairs has a shorter plan."""
    table = mode_table(workflow)
    counts = [len(a.get("modes", [None])) for a in workflow["agents"]]
    choices = list(itertools.product(*(range(c) for c in counts)))
    optimum = {c: reference_optimum(in_modes(workflow, c)[0]) for c in choices}
    choice = data.draw(st.sampled_from(choices))

    def build(c):
        return orchmilp.load(table.apply(workflow, c))

    for shortest in (optimum[choice], optimum[choice] - 0.5):  # settled at its optimum, and below
        cut = modes_search._core(table, build, choice, shortest, time.perf_counter() + 5)
        assert all(choice[j] == m for j, m in cut)
        for other in choices:
            if all(other[j] == m for j, m in cut):
                assert optimum[other] >= shortest, (cut, other)


def test_least_spend_falls_back_to_the_shortest_plan_when_its_search_finds_none_by_the_deadline(four_models):
    """When the least-spend search names no choice in its time (here: its relaxation never
    finishes), the shortest plan within the budgets is the answer if it meets the deadline,
    with the spend unproven; before, the solve ended in 'no plan ... by the deadline'."""
    workflow = {**four_models, "deadline": 480}
    real = modes_search.mode_relaxation

    def unfinished(*args, spend=None, **kwargs):
        if spend is not None:
            return Relaxation(0.0, None, False)
        return real(*args, spend=spend, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(modes_search, "mode_relaxation", unfinished)
        result = orchmilp.solve(workflow, time_limit=4, spend="usd")
    plan = result.to_dict()
    assert_valid_plan(workflow, plan)
    assert plan["makespan"] <= 480
    objective = plan["objective"]
    assert objective["status"] == "feasible" and objective["lower_bound"] == 0
    assert objective["value"] == pytest.approx(plan["consumes"]["usd"]) and objective["value"] >= 1.8
