"""Intervals calibrated on past runs (prediction/calibration.py): the conformal order
statistics when there are enough runs, the log-normal prediction interval below, none with
fewer than three; and their coverage on fresh data drawn from the scores' own law."""

from __future__ import annotations

import math

import numpy as np
import pytest

from orchmilp.prediction.calibration import Calibration


def test_conformal_with_enough_runs_takes_the_order_statistics():
    scores = np.log(np.arange(1, 20) / 10)  # 19 runs: enough for 90%
    c = Calibration(scores)
    assert c.method(0.9) == "conformal"
    lo, hi = c.factors(0.9)
    # ranks floor(20 * 0.05) = 1 and ceil(20 * 0.95) = 19 of the sorted scores
    assert lo == pytest.approx(0.1) and hi == pytest.approx(1.9)
    assert c.method(0.95) == "t"  # 95% needs 39 runs for order statistics


def test_with_few_runs_the_interval_is_the_log_normal_prediction_interval():
    scores = np.log([0.8, 1.0, 1.25, 0.9, 1.1])
    c = Calibration(scores)
    lo, hi = c.factors(0.9)
    mean, sd = scores.mean(), scores.std(ddof=1)
    half = 2.131846786 * sd * math.sqrt(1 + 1 / 5)  # t(4) at 0.95
    assert math.log(lo) == pytest.approx(mean - half) and math.log(hi) == pytest.approx(mean + half)
    assert c.interval(100.0, 0.9) == pytest.approx((100 * lo, 100 * hi))
    assert Calibration(scores[:2]).interval(100.0, 0.9) is None and Calibration(scores[:2]).method(0.9) is None


@pytest.mark.parametrize("runs", [5, 9, 25])
def test_calibrated_intervals_cover_fresh_runs_at_the_nominal_rate(runs):
    """Scores from a law the method does not know (log-errors Student-t with 5 degrees of
    freedom): over 2,000 repetitions, a new run falls inside at least 90% minus a binomial
    margin, and not far more (an interval that covers everything helps nobody)."""
    rng = np.random.default_rng(runs)
    inside = 0
    trials = 2000
    for _ in range(trials):
        past = 0.3 * rng.standard_t(5, runs)
        new = 0.3 * rng.standard_t(5)
        lo, hi = Calibration(past).factors(0.9)
        inside += math.log(lo) <= new <= math.log(hi)
    rate = inside / trials
    assert 0.9 - 3 * math.sqrt(0.09 / trials) <= rate <= 0.97


def test_leave_one_out_coverage_counts_each_score_against_the_others():
    c = Calibration(np.log([1.0, 1.05, 0.95, 1.02, 0.98, 3.0]))
    inside, tried = c.loo_coverage(0.9)
    assert tried == 6 and inside == 5  # the outlier is outside what the five others give


def test_a_prediction_with_enough_past_runs_of_its_workflow_gets_the_calibrated_interval(tmp_path):
    """predict (and solve --history) on a workflow whose history holds five complete runs: the
    interval is the p50 times the factors of the scores of those runs, each left out in turn;
    the Monte Carlo interval is kept beside it; without enough runs nothing changes."""
    import json

    from orchmilp.engine import complete_runs, load_as_written
    from orchmilp.history import read_history
    from orchmilp.prediction.backtest import Case
    from orchmilp.prediction.calibration import calibrate
    from orchmilp.services import PredictRequest, predict
    from tests.helpers import ROOT, converted_trace

    sra = ROOT / "instances" / "wfcommons" / "srasearch"
    workflow = converted_trace("srasearch-chameleon-10a-001.json", tmp_path / "sra.json")
    history = read_history(sra)
    loaded = load_as_written(workflow)
    runs = complete_runs(history, loaded.problem)
    assert len(runs) == 5  # the five 10-accession runs share the workflow's agents
    prediction = predict(PredictRequest(workflow, history=history, time_limit=20, samples=2000, level=0.9))
    c = prediction.calibration
    assert c["runs"] == 5 and c["method"] == "t" and 0 <= c["loo_inside"] <= c["loo_runs"] == 5
    expected = calibrate(history, [Case(r, loaded.workflow) for r in runs], time_limit=1.0, samples=1000)
    lo, hi = expected.interval(prediction.p50, 0.9)
    assert prediction.interval == pytest.approx((lo, hi), rel=0.02)
    assert prediction.to_dict()["calibration"]["model_interval"] != list(prediction.interval)
    few = history.select(np.asarray([r in runs[:2] for r in history.run]))
    assert predict(PredictRequest(workflow, history=few, time_limit=10, samples=2000)).calibration is None
    json.dumps(prediction.to_dict())  # the prediction object stays JSON


def test_solve_with_history_reports_the_calibrated_interval_and_its_measured_coverage(tmp_path):

    from orchmilp.services import PlanRequest, Reports, plan
    from tests.helpers import ROOT, assert_valid_plan, converted_trace

    sra = ROOT / "instances" / "wfcommons" / "srasearch"
    workflow = converted_trace("srasearch-chameleon-10a-002.json", tmp_path / "sra.json")
    report = tmp_path / "r.md"
    out = plan(PlanRequest(workflow, time_limit=20, history=sra, reports=Reports(markdown=report), samples=2000))
    assert out.prediction.calibration["runs"] == 5
    text = report.read_text()
    assert "calibrated on the 5 past runs of this workflow" in text
    lo, hi = out.plan["prediction"]["interval"]
    assert f"interval {lo:g}" in text.replace(",", "") or f"{lo}" in text
    from orchmilp.io.workflow import with_durations

    planned = {e["id"]: e["finish"] - e["start"] for e in out.plan["schedule"]}  # the history's medians
    assert_valid_plan(with_durations(__import__("json").loads(workflow.read_text()), planned), out.plan)


def test_calibration_takes_only_the_runs_its_seconds_allow():
    """Too little time for three past runs of the workflow (or too many agents to plan them in
    time): the Monte Carlo interval stays, nothing runs over the deadline."""
    import orchmilp
    from orchmilp.engine import calibrated, load_as_written
    from orchmilp.history import read_history
    from orchmilp.prediction import predict_plan
    from tests.helpers import ROOT

    sra = ROOT / "instances" / "wfcommons" / "srasearch"
    workflow = _sra_10a_workflow(sra)
    loaded = load_as_written(workflow)
    history = read_history(sra)
    prediction = predict_plan(orchmilp.solve(workflow, time_limit=5), history, samples=500)
    assert calibrated(prediction, loaded, history, seconds=0.1) is prediction
    assert calibrated(prediction, loaded, history, seconds=0.4) is prediction  # 2 runs of 0.15 s: too few
    assert calibrated(prediction, loaded, history, seconds=5.0).calibration["runs"] == 5


def _sra_10a_workflow(sra):
    from orchmilp.io.wfcommons import read_trace, trace_to_workflow

    return trace_to_workflow(read_trace(sra / "srasearch-chameleon-10a-001.json"))
