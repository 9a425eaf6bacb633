"""Prediction: calibration on synthetic history, the Monte Carlo against a direct replay, CLI and library."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from graphlib import TopologicalSorter
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import orchmilp
from orchmilp.check import check_plan
from orchmilp.errors import InvalidOptions, InvalidPlan
from orchmilp.history import History
from orchmilp.prediction.model import fit_kinds, forecast
from orchmilp.prediction.simulate import makespans, sample_durations, simulate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "instances" / "examples"
SRA = ROOT / "instances" / "wfcommons" / "srasearch"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "orchmilp.cli", *map(str, args)], capture_output=True, text=True)


def _synthetic_history(rng, runs, per_run, mu=3.0, tau=0.3, sigma=0.2, slope=0.0, kind="k"):
    """Attempts of one kind: log t = mu + slope * (log1p(x) - 10) + u_run + e."""
    cols = {"run": [], "agent": [], "kind": [], "dur": [], "feat": []}
    for r in range(runs):
        u = rng.normal(0, tau)
        for a in range(per_run):
            x = float(np.exp(rng.uniform(8, 12)))
            y = mu + slope * (np.log1p(x) - 10) + u + rng.normal(0, sigma)
            cols["run"].append(f"r{r}")
            cols["agent"].append(f"a{a}")
            cols["kind"].append(kind)
            cols["dur"].append(float(np.exp(y)))
            cols["feat"].append({"input_bytes": x})
    n = len(cols["run"])
    return History(
        run=tuple(cols["run"]),
        workflow=(None,) * n,
        agent=tuple(cols["agent"]),
        kind=tuple(cols["kind"]),
        status=("ok",) * n,
        start=np.zeros(n),
        finish=np.asarray(cols["dur"]),
        features=tuple(cols["feat"]),
        host=(None,) * n,
    )


def test_fit_recovers_the_parameters_of_synthetic_history():
    rng = np.random.default_rng(1)
    model = fit_kinds(_synthetic_history(rng, runs=40, per_run=20, slope=0.8))["k"]
    assert model.feature == "input_bytes" and model.slope == pytest.approx(0.8, abs=0.05)
    assert model.sigma == pytest.approx(0.2, abs=0.03) and model.tau == pytest.approx(0.3, abs=0.1)
    flat = fit_kinds(_synthetic_history(rng, runs=40, per_run=20, slope=0.0))["k"]
    assert flat.feature is None  # no slope where there is none


@pytest.mark.parametrize("runs", [3, 8])
def test_intervals_cover_held_out_runs_at_their_level(runs):
    """Calibration: for many synthetic histories, the 90% interval of one agent's run time in a
    new run covers the truth about 90% of the time (binomial tolerance), few runs included."""
    rng = np.random.default_rng(runs)
    workflow = orchmilp.load(
        {"agents": [{"id": "a0", "kind": "k", "duration": 20, "features": {"input_bytes": 22026}}]}
    )
    trials, hits = 300, 0
    for _ in range(trials):
        history = _synthetic_history(rng, runs=runs + 1, per_run=5, slope=0.5)
        held = history.only_run(f"r{runs}")
        train = history.without_run(f"r{runs}")
        f = forecast(workflow, fit_kinds(train))[0]
        draws = sample_durations([f], 4000, rng)[:, 0]
        lo, hi = np.quantile(draws, [0.05, 0.95])
        truth = held.duration[0] * np.exp(0.5 * (np.log1p(22026) - np.log1p(held.features[0]["input_bytes"])))
        hits += lo <= truth <= hi
    low = stats.binom.ppf(0.001, trials, 0.9) / trials
    assert hits / trials >= low, hits / trials


def test_within_run_noise_is_drawn_from_the_residuals_not_a_long_tailed_law():
    """Real noise is often bounded: with log t = 3 + u_run + e, e uniform on [-0.5, 0.5], the
    slowest of 50 parallel agents is close to exp(3.5); a normal law of the same sd (0.29) would
    put it near exp(3 + 2.25 * 0.29) = exp(3.65)."""
    rng = np.random.default_rng(3)
    runs, per_run = 20, 50
    history = _synthetic_history(rng, runs=runs, per_run=per_run, tau=0.05, sigma=0.0)
    noise = rng.uniform(-0.5, 0.5, len(history))
    history = dataclasses.replace(history, finish=history.finish * np.exp(noise))
    model = fit_kinds(history)["k"]
    assert len(model.residuals) == runs * per_run
    assert model.residuals.max() == pytest.approx(0.5, abs=0.1)  # + the run mean's own error
    workflow = orchmilp.load({"agents": [{"id": f"a{i}", "kind": "k", "duration": 20} for i in range(per_run)]})
    prediction = orchmilp.prediction.predict_policy(workflow, [()] * per_run, 20.0, history, samples=4000)
    truth = np.exp(3 + rng.normal(0, 0.05, 4000) + rng.uniform(-0.5, 0.5, (4000, per_run)).max(axis=1))
    assert abs(np.log(prediction.p50 / np.median(truth))) < 0.06, (prediction.p50, np.median(truth))
    assert fit_kinds(history, baseline=True)["k"].residuals.size == 0  # the baseline stays log-normal


def test_a_new_run_draws_its_noise_from_past_runs_of_its_size():
    """Runs of 40 agents at once are noisy (sd 0.4), runs of 5 calm (sd 0.02): the slowest of
    5 parallel agents in a new run of 5 stays close to the median even at p90, not at a noisy
    run's maximum (about +0.7 on the log scale)."""
    rng = np.random.default_rng(8)
    parts = []
    for r in range(20):
        per_run, sigma = (5, 0.02) if r % 2 else (40, 0.4)
        h = _synthetic_history(rng, runs=1, per_run=per_run, tau=0.02, sigma=sigma)
        parts.append(dataclasses.replace(h, run=(f"r{r}",) * len(h)))
    history = History.concat(parts)
    workflow = orchmilp.load({"agents": [{"id": f"a{i}", "kind": "k", "duration": 20} for i in range(5)]})
    prediction = orchmilp.prediction.predict_policy(workflow, [()] * 5, 20.0, history, samples=4000, shrink=False)
    intercept = fit_kinds(history)["k"].intercept
    assert abs(np.log(prediction.p50) - intercept) < 0.1, (np.log(prediction.p50), intercept)
    assert np.log(prediction.p90) - intercept < 0.15, (np.log(prediction.p90), intercept)


def test_a_feature_that_varies_only_between_runs_is_learned_across_run_means():
    """Each run has one input size for all its agents (a bigger data set for the whole run):
    the slope cannot be seen within runs, only across them."""
    rng = np.random.default_rng(5)
    parts = []
    for r in range(10):
        size = float(np.exp(rng.uniform(8, 14)))
        h = _synthetic_history(rng, runs=1, per_run=8, tau=0.0, sigma=0.1)
        log_t = 1.0 + 0.8 * (np.log1p(size) - 10) + rng.normal(0, 0.05) + rng.normal(0, 0.1, len(h))
        parts.append(
            dataclasses.replace(
                h, run=(f"r{r}",) * len(h), finish=np.exp(log_t), features=tuple({"input_bytes": size} for _ in h.run)
            )
        )
    model = fit_kinds(History.concat(parts))["k"]
    assert model.feature == "input_bytes" and model.slope == pytest.approx(0.8, abs=0.1)
    assert model.tau < 0.15  # the run means' spread is the feature's, not a run factor
    big = orchmilp.load({"agents": [{"id": "a", "kind": "k", "duration": 5, "features": {"input_bytes": 1e6}}]})
    median = forecast(big, {"k": model})[0].median
    assert median == pytest.approx(np.exp(1.0 + 0.8 * (np.log1p(1e6) - 10)), rel=0.2)


@pytest.mark.parametrize("rho", [0.0, 0.8])
def test_run_factors_shared_across_kinds_are_learned_and_sampled(rho):
    """Two kinds whose run factors have correlation rho (a slow run is slow for both): the fit
    finds rho, and the sampled run times of the two kinds are correlated as much."""
    rng = np.random.default_rng(12)
    parts = []
    for r in range(150):
        common, own = rng.normal(), rng.normal(size=2)
        for k, kind in enumerate(("download", "align")):
            u = 0.4 * (np.sqrt(rho) * common + np.sqrt(1 - rho) * own[k])
            h = _synthetic_history(rng, runs=1, per_run=6, tau=0.0, sigma=0.1, mu=3.0 + u, kind=kind)
            parts.append(dataclasses.replace(h, run=(f"r{r}",) * len(h), agent=tuple(f"{kind}{a}" for a in h.agent)))
    models = fit_kinds(History.concat(parts))
    assert models["download"].run_correlation == pytest.approx(rho, abs=0.2)  # 2.5 standard errors
    workflow = orchmilp.load(
        {"agents": [{"id": "d", "kind": "download", "duration": 20}, {"id": "a", "kind": "align", "duration": 20}]}
    )
    draws = np.log(sample_durations(forecast(workflow, models), 20_000, rng))
    assert np.corrcoef(draws[:, 0], draws[:, 1])[0, 1] == pytest.approx(rho * 0.4**2 / 0.41**2, abs=0.1)


def test_each_workflow_of_a_history_gets_its_own_run_factor_correlation():
    """Two workflows in one history (no run in common): one whose kinds are slow together
    (correlation 0.8), one whose kinds are not (0). Pooled over both, each would get ~0.4."""
    rng = np.random.default_rng(3)
    parts = []
    for rho, kinds in ((0.8, ("download", "align")), (0.0, ("render", "stitch"))):
        for r in range(150):
            common, own = rng.normal(), rng.normal(size=2)
            for k, kind in enumerate(kinds):
                u = 0.4 * (np.sqrt(rho) * common + np.sqrt(1 - rho) * own[k])
                h = _synthetic_history(rng, runs=1, per_run=6, tau=0.0, sigma=0.1, mu=3.0 + u, kind=kind)
                run = f"{kinds[0]}-r{r}"
                parts.append(dataclasses.replace(h, run=(run,) * len(h), agent=tuple(f"{kind}{a}" for a in h.agent)))
    models = fit_kinds(History.concat(parts))
    assert models["download"].run_correlation == models["align"].run_correlation == pytest.approx(0.8, abs=0.2)
    assert models["render"].run_correlation == models["stitch"].run_correlation == pytest.approx(0.0, abs=0.2)


def test_predict_warns_when_kinds_are_learnt_from_fewer_than_three_runs(tmp_path):
    montage = ROOT / "instances" / "wfcommons" / "montage"
    traces = sorted(montage.glob("*.json"))
    workflow = tmp_path / "montage.json"
    assert _cli("convert", traces[0], "-o", workflow).returncode == 0
    proc = _cli("predict", workflow, "--history", *traces[1:], "--samples", "500")
    assert proc.returncode == 0, proc.stderr
    assert "few runs:" in proc.stdout and "mDiffFit" in proc.stdout
    proc = _cli("predict", workflow, "--history", *traces, "--samples", "500")  # 3 runs each
    assert proc.returncode == 0 and "few runs:" not in proc.stdout


def test_planning_with_the_medians_does_not_count_the_history_twice():
    """predict() without a plan solves with the history's medians; the prior of the prediction
    must still be the user's own figure (as when the plan is given), not those medians."""
    rng = np.random.default_rng(2)
    history = _synthetic_history(rng, runs=3, per_run=4, mu=np.log(100), tau=0.8, sigma=0.1)
    workflow = {"agents": [{"id": "a", "kind": "k", "duration": 10}, {"id": "b", "kind": "k", "duration": 10}]}
    without_plan = orchmilp.predict(workflow, history=history, samples=2000)
    plan = orchmilp.solve(orchmilp.api.with_history_durations(workflow, history)).to_dict()
    with_plan = orchmilp.predict(workflow, plan=plan, history=history, samples=2000)
    assert without_plan.agents[0]["p50"] == pytest.approx(with_plan.agents[0]["p50"], rel=1e-9)
    assert without_plan.agents[0]["p50"] < 0.8 * np.exp(fit_kinds(history)["k"].intercept)  # shrunk towards 10


def test_backtest_skips_a_run_with_a_kind_no_other_run_has():
    """Its durations are that run's answers: planning with them would leak them."""
    from orchmilp.prediction.backtest import Case, backtest

    rng = np.random.default_rng(4)
    parts = []
    for r in range(4):
        h = _synthetic_history(rng, runs=1, per_run=3, kind="k" if r < 3 else "new")
        parts.append(dataclasses.replace(h, run=(f"r{r}",) * len(h)))
    history = History.concat(parts)
    cases = [
        Case(f"r{r}", {"agents": [{"id": f"a{i}", "kind": "k" if r < 3 else "new", "duration": 1} for i in range(3)]})
        for r in range(4)
    ]
    with pytest.warns(orchmilp.OrchmilpWarning, match="run 'r3' skipped"):
        rows = backtest(history, cases, samples=200, time_limit=2)
    assert {row.run for row in rows} == {"r0", "r1", "r2"}
    with pytest.warns(orchmilp.OrchmilpWarning), pytest.raises(orchmilp.errors.InvalidHistory, match="no run can"):
        backtest(history, cases[3:], samples=200, time_limit=2)


def test_backtest_on_traces_of_other_sizes_plans_and_checks_every_held_out_run():
    """Epigenomics: six traces of different sizes (the history's medians once gave two plan
    groups 2e-8 apart, which the independent checker refused)."""
    proc = _cli("backtest", ROOT / "instances" / "wfcommons" / "epigenomics", "--json", "--samples", "500")
    assert proc.returncode == 0, proc.stderr
    summary = {row["method"]: row for row in json.loads(proc.stdout)}
    assert summary["model"]["runs"] == 6 and summary["baseline"]["runs"] == 6


def test_a_held_out_run_is_planned_from_the_others_and_replayed_with_its_own_times():
    from orchmilp.history import history_files, read_history
    from orchmilp.prediction.backtest import cases_from, hold_out

    files = history_files([SRA])[:4]
    history = read_history(files)
    case = cases_from(files, history)[1]
    held = hold_out(history, case, time_limit=2)
    assert case.run not in held.train.runs and len(held.train.runs) == 3
    assert check_plan(held.result.workflow, held.result.to_dict()) == []
    own = history.only_run(case.run).ok()
    times = dict(zip(own.agent, own.duration.tolist()))
    assert held.durations.tolist() == [times[a] for a in held.result.problem.ids]
    finish: dict[int, float] = {}
    for j in TopologicalSorter(dict(enumerate(held.result.waits_for))).static_order():
        finish[j] = max((finish[p] for p in held.result.waits_for[j]), default=0.0) + held.durations[j]
    assert held.actual == pytest.approx(max(finish.values()))


def _random_plan(rng, n):
    return [tuple(sorted(rng.choice(j, size=min(j, rng.integers(0, 3)), replace=False).tolist())) for j in range(n)]


def test_monte_carlo_replay_equals_a_direct_event_driven_computation():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n = int(rng.integers(1, 15))
        waits_for = _random_plan(rng, n)
        durations = rng.exponential(5, size=(50, n))
        got = makespans(waits_for, durations)
        for s in range(50):
            finish = {}
            for j in range(n):
                finish[j] = max((finish[p] for p in waits_for[j]), default=0.0) + durations[s, j]
            assert got[s] == pytest.approx(max(finish.values()))


def test_criticality_of_a_chain_and_a_dominated_branch():
    # a -> b, c alone: c is far shorter, so a and b are always critical, c never
    problem = orchmilp.load(
        {
            "agents": [
                {"id": "a", "duration": 10, "duration_range": [9, 11]},
                {"id": "b", "duration": 10, "duration_range": [9, 11], "depends_on": ["a"]},
                {"id": "c", "duration": 1, "duration_range": [0.9, 1.1]},
            ]
        }
    )
    forecasts = forecast(problem, {})
    sim = simulate([(), (0,), ()], forecasts, 2000, seed=3)
    assert sim.critical.tolist() == [1.0, 1.0, 0.0]
    assert [f.source for f in forecasts] == ["range", "range", "range"]
    # the 90% range given is the agent's 90% range
    assert sim.quantiles[0, 0] == pytest.approx(
        np.exp(np.log(9) + (np.log(11) - np.log(9)) * (0.5 - 1.2816 / 3.2897)), rel=0.03
    )


def test_predict_an_example_assumed_spread_and_the_plan_is_checked():
    result = orchmilp.solve(EXAMPLES / "code-review.json", time_limit=10)
    assert check_plan(result.workflow, result.to_dict()) == []
    prediction = orchmilp.predict(EXAMPLES / "code-review.json", plan=result.to_dict(), samples=5000)
    assert prediction.planned == result.makespan
    lo, hi = prediction.interval
    assert lo < prediction.p50 < prediction.p90 < hi
    assert all(a["source"] == "assumed" for a in prediction.agents)
    crit = {a["id"]: a["criticality"] for a in prediction.agents}
    assert all(crit[a] > 0 for a in result.critical_path)
    # the same plan replayed with the planned durations gives the planned makespan
    planned = np.asarray([result.problem.durations])
    assert makespans(result.waits_for, planned)[0] == pytest.approx(result.makespan)


def test_predict_rejects_a_plan_of_another_workflow_and_bad_options(tmp_path):
    other = orchmilp.solve(EXAMPLES / "map-reduce.json", time_limit=5).to_dict()
    with pytest.raises(InvalidPlan):
        orchmilp.predict(EXAMPLES / "code-review.json", plan=other)
    with pytest.raises(InvalidOptions):
        orchmilp.predict(EXAMPLES / "code-review.json", level=1.5)


def test_solve_with_history_plans_with_medians_and_writes_the_prediction(tmp_path):
    workflow = tmp_path / "sra.json"
    assert _cli("convert", SRA / "srasearch-chameleon-10a-001.json", "-o", workflow).returncode == 0
    plan_path = tmp_path / "plan.json"
    proc = _cli("solve", workflow, "--history", SRA, "-o", plan_path, "--samples", "2000", "-q")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(plan_path.read_text())
    pred = plan["prediction"]
    assert pred["samples"] == 2000 and pred["level"] == 0.95
    assert pred["interval"][0] < pred["p50"] < pred["p90"] < pred["interval"][1]
    assert {a["source"] for a in pred["agents"]} == {"history"} and all(a["runs"] == 10 for a in pred["agents"])
    # planned with the history's medians: the plan checks against the workflow with those durations
    from orchmilp.api import with_history_durations

    medians = with_history_durations(workflow, orchmilp.read_history(SRA))
    assert check_plan(medians, plan) == []
    proc = _cli("predict", workflow, "--plan", plan_path, "--history", SRA, "--json", "--samples", "2000")
    assert proc.returncode == 0, proc.stderr
    again = json.loads(proc.stdout)
    assert again["p50"] == pytest.approx(pred["p50"], rel=0.05)


def test_a_plan_made_with_history_is_checked_with_the_same_history(tmp_path):
    workflow, plan = tmp_path / "sra.json", tmp_path / "plan.json"
    assert _cli("convert", SRA / "srasearch-chameleon-10a-001.json", "-o", workflow).returncode == 0
    proc = _cli("solve", workflow, "--history", SRA, "-q", "-o", plan, "--time-limit", "10", "--samples", "500")
    assert proc.returncode == 0, proc.stderr
    proc = _cli("check", workflow, plan, "--history", SRA)
    assert proc.returncode == 0 and proc.stdout.startswith("ok:"), proc.stdout + proc.stderr
    proc = _cli("check", workflow, plan)  # its own durations are not the medians planned with
    assert proc.returncode == 1 and "check it with the same --history" in proc.stdout


def test_history_and_backtest_commands(tmp_path):
    proc = _cli("history", SRA, "--json")
    assert proc.returncode == 0, proc.stderr
    kinds = {row["kind"]: row for row in json.loads(proc.stdout)}
    assert set(kinds) == {"bowtie2-build", "fasterq-dump", "bowtie2", "merge"}
    assert kinds["fasterq-dump"]["attempts"] == 150 and kinds["fasterq-dump"]["runs"] == 10
    out = tmp_path / "bt.csv"
    proc = _cli("backtest", SRA, "--json", "--samples", "1000", "--out", out)
    assert proc.returncode == 0, proc.stderr
    summary = {row["method"]: row for row in json.loads(proc.stdout)}
    assert summary["model"]["runs"] == 10 and 0 <= summary["model"]["coverage 0.9"] <= 1
    assert summary["calibrated"]["runs"] == summary["simple"]["runs"] == 10  # 9 other runs calibrate each
    assert len(out.read_text().strip().splitlines()) == 1 + 40


def test_bad_history_on_the_command_line_is_one_line(tmp_path):
    bad = tmp_path / "h.jsonl"
    bad.write_text("nope\n")
    proc = _cli("predict", EXAMPLES / "code-review.json", "--history", bad)
    assert (
        proc.returncode == 2
        and proc.stderr.strip().splitlines()[-1] == f"orchmilp: error: {bad}: no readable history line"
    )
    assert "warning" in proc.stderr and "Traceback" not in proc.stderr


def test_objective_p90_never_worse_than_the_optimum_on_common_samples_and_checked(tmp_path):
    workflow = tmp_path / "sra.json"
    assert _cli("convert", SRA / "srasearch-chameleon-20a-001.json", "--cores", "4", "-o", workflow).returncode == 0
    plan_path = tmp_path / "plan.json"
    proc = _cli(
        "solve",
        workflow,
        "--history",
        SRA,
        "--objective",
        "p90",
        "--time-limit",
        "8",
        "-q",
        "-o",
        plan_path,
        "--samples",
        "1000",
    )
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(plan_path.read_text())
    from orchmilp.api import with_history_durations

    assert check_plan(with_history_durations(workflow, orchmilp.read_history(SRA)), plan) == []
    note = plan["objective"]["note"]
    words = note.replace(",", "").split()
    chosen = float(words[words.index("plan") + 2])
    optimum = float(words[words.index("optimum's") + 2])
    assert chosen <= optimum


def test_run_level_width_effect_is_learned_when_runs_with_more_agents_are_slower():
    """Runs with 20 agents of a kind at once take (20/5)^0.5 = 2x as long as runs with 5."""
    rng = np.random.default_rng(7)
    parts = []
    for r in range(12):
        width = 5 if r % 2 else 20
        h = _synthetic_history(rng, runs=1, per_run=width, tau=0.1, sigma=0.1, mu=3.0 + 0.5 * np.log(width / 10))
        parts.append(dataclasses.replace(h, run=(f"r{r}",) * len(h)))
    model = fit_kinds(History.concat(parts))["k"]
    assert model.width_slope == pytest.approx(0.5, abs=0.15)
    narrow = orchmilp.load({"agents": [{"id": f"a{i}", "kind": "k", "duration": 20} for i in range(5)]})
    wide = orchmilp.load({"agents": [{"id": f"a{i}", "kind": "k", "duration": 20} for i in range(20)]})
    models = {"k": model}
    ratio = forecast(wide, models)[0].median / forecast(narrow, models)[0].median
    assert ratio == pytest.approx(2.0, rel=0.2)


def test_spend_intervals_cover_held_out_runs_as_often_as_their_level_says(tmp_path, four_models):
    """Leave one run out on 60 generated runs of a two-agent workflow in fixed modes: each
    agent's usd per run drawn from its own log-normal; the 90% interval of the total covers
    the held-out runs within binomial tolerance, and is narrower than the range of all totals."""

    from orchmilp.history import read_history
    from orchmilp.io.modes import mode_table
    from orchmilp.prediction.spend import backtest_spend

    rng = np.random.default_rng(3)
    lines, totals = [], []
    for run in range(60):
        total = 0.0
        for agent, mode, median in (
            ("plan", "opus", 1.2),
            ("impl-a", "opus", 1.5),
            ("impl-b", "haiku", 0.15),
            ("test", None, 0.05),
        ):
            usd = float(median * rng.lognormal(0, 0.3))
            total += usd
            line = {
                "run": f"r{run}",
                "agent": agent,
                "kind": agent,
                "start": 0,
                "finish": 1,
                "status": "ok",
                "usage": {"usd": usd},
            }
            if mode:
                line["mode"] = mode
            lines.append(json.dumps(line))
        totals.append(total)
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n")
    table = mode_table(four_models)
    modes = {"plan": "opus", "impl-a": "opus", "impl-b": "haiku"}
    out = backtest_spend(table, list(table.ids), modes, read_history(path), "usd", level=0.9, samples=2000)
    assert out["runs"] == 60
    assert out["coverage"] >= 0.9 - 2 * (0.9 * 0.1 / 60) ** 0.5  # binomial tolerance
    assert out["mean_width"] < max(totals) - min(totals)


def test_the_backtest_command_covers_the_spend_of_a_workflow_with_model_choice(tmp_path, four_models):

    rng = np.random.default_rng(5)
    lines = []
    for run in range(8):
        t = 1.79e9 + 1000 * run
        for agent, mode, usd, seconds in (
            ("plan", "opus", 1.2, 60),
            ("impl-a", "haiku", 0.2, 400),
            ("impl-b", "haiku", 0.15, 220),
            ("test", None, 0.05, 30),
        ):
            took = seconds * float(rng.lognormal(0, 0.2))
            line = {"run": f"r{run}", "workflow": "pick-models", "agent": agent, "kind": agent, "start": t}
            line |= {"finish": t + took, "status": "ok", "usage": {"usd": usd * float(rng.lognormal(0, 0.3))}}
            lines.append(json.dumps(line | ({"mode": mode} if mode else {})))
    history = tmp_path / "h.jsonl"
    history.write_text("\n".join(lines) + "\n")
    workflow = tmp_path / "four.json"
    workflow.write_text(json.dumps(four_models))
    proc = _cli("backtest", history, "--workflow", workflow, "--json", "--samples", "500", "--time-limit", "2")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    usd = out["spend"]["usd"]
    assert usd["runs"] == 8 and 0 <= usd["coverage"] <= 1 and usd["mean_width"] > 0
    assert {row["method"] for row in out["makespan"]} >= {"model", "calibrated"}
