"""How good can a point prediction of these traces be? Measured next to the model's p50.

    python bench/predict_limits.py     # prints the table, writes bench/results/predict-limits.txt

For each run held out (leave one run out, the plan made from the other runs' medians,
as in ``orchmilp backtest``):

* actual: the makespan the run's own durations give through the plan;
* plan, p50: the deterministic plan's makespan and the model's p50 (4,000 samples);
* replay: the p50 when each agent's run time is drawn from one past run's times of its
  kind, that run picked at random per sample (every past run as it really was: the new
  run is like one of them). A nonparametric predictor with no model to misspecify;
* p50 x others' bias: the p50 times the geometric mean of actual / p50 over the other
  runs (a bias correction of the p50 learnt from past runs);
* own: the median makespan when the held-out run's own times are shuffled among the
  agents of each kind. It says how much of the makespan follows from the run's
  distribution of run times per kind, and how little from which agent got which time.

Per folder: median relative errors, how often the p50 is closer than the plan (with
the two-sided sign test's p-value), and the smallest median error any constant
rescaling of the p50 reaches, chosen with hindsight on the same runs (a floor for
every location correction of the p50).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from orchmilp.history import history_files, read_history  # noqa: E402
from orchmilp.prediction import predict_plan  # noqa: E402
from orchmilp.prediction.backtest import cases_from, hold_out  # noqa: E402
from orchmilp.prediction.simulate import makespans  # noqa: E402

FOLDERS = ("srasearch", "1000genome", "epigenomics", "montage")
DRAWS = 400  # per past run (replay) and for the shuffles (own)


def _kind_columns(problem) -> dict[str, np.ndarray]:
    kinds = np.asarray(problem.kinds if problem.kinds else problem.ids)
    return {k: np.flatnonzero(kinds == k) for k in dict.fromkeys(kinds.tolist())}


def replay_p50(held, rng) -> float:
    """The p50 when the new run is one of the past runs: each agent's time drawn from that
    run's ok times of its kind (past runs lacking one of the kinds are left out)."""
    columns = _kind_columns(held.result.problem)
    train = held.train.ok()
    draws = []
    for run in train.runs:
        past = train.only_run(run)
        times: dict[str, list[float]] = {}
        for kind, t in zip(past.kind, past.duration.tolist()):
            times.setdefault(kind, []).append(t)
        if not all(k in times for k in columns):
            continue
        durations = np.empty((DRAWS, held.result.problem.n))
        for kind, cols in columns.items():
            durations[:, cols] = rng.choice(times[kind], (DRAWS, len(cols)))
        draws.append(makespans(held.result.waits_for, durations))
    return float(np.median(np.concatenate(draws)))


def own_shuffled(held, rng) -> float:
    """The median makespan with the run's own times shuffled among the agents of each kind."""
    durations = np.tile(held.durations, (DRAWS, 1))
    for cols in _kind_columns(held.result.problem).values():
        durations[:, cols] = held.durations[cols][rng.permuted(np.tile(np.arange(len(cols)), (DRAWS, 1)), axis=1)]
    return float(np.median(makespans(held.result.waits_for, durations)))


def _error(predicted, actual) -> np.ndarray:
    return np.abs(np.asarray(predicted) - actual) / actual


def _summary(name: str, rows: list[tuple[float, ...]]) -> tuple:
    actual, plan, p50, replay, own, corrected = (np.asarray(c) for c in zip(*rows))
    wins = int((_error(p50, actual) < _error(plan, actual)).sum())
    scales = np.exp(np.linspace(-1.5, 1.5, 601))
    floor = min(float(np.median(_error(c * p50, actual))) for c in scales)
    errors = (float(np.median(_error(v, actual))) for v in (plan, p50, corrected, replay, own))
    return (name, len(rows), *errors, wins, stats.binomtest(wins, len(rows)).pvalue, floor)


def main() -> str:
    rng = np.random.default_rng(0)
    lines = [
        "run                                       agents   actual     plan      p50   replay      own",
    ]
    summary, pooled = [], []
    for name in FOLDERS:
        files = history_files([ROOT / "instances" / "wfcommons" / name])
        history = read_history(files)
        rows = []
        for case in cases_from(files, history):
            held = hold_out(history, case)
            if held is None:
                continue
            r = held.result
            p50 = predict_plan(r, held.train, samples=4000, shrink=False).p50
            row = (held.actual, r.makespan, p50, replay_p50(held, rng), own_shuffled(held, rng))
            rows.append(row)
            lines.append(f"{case.run:43s} {r.problem.n:5d} " + " ".join(f"{v:8.0f}" for v in row))
        # the p50 times the other runs' geometric mean of actual / p50: a bias correction
        # learnt from them (their p50s were predicted with this run among the history)
        ratio = np.log([row[0] / row[2] for row in rows])
        bias = np.exp((ratio.sum() - ratio) / (len(ratio) - 1))
        rows = [(*row, row[2] * b) for row, b in zip(rows, bias)]
        summary.append(_summary(name, rows))
        pooled += rows
    summary.append(_summary("all", pooled))
    lines += [
        "",
        "median relative error of each point prediction; wins: runs where the p50 is closer than the plan",
        "traces        runs   plan    p50  p50 x others' bias  replay   own   p50 wins (sign test p)"
        "   best rescaled p50 (hindsight)",
    ]
    for name, n, plan, p50, corrected, replay, own, wins, p, floor in summary:
        lines.append(
            f"{name:12s} {n:5d} {plan:6.0%} {p50:6.0%} {corrected:19.0%} {replay:7.0%} {own:5.0%}   "
            f"{wins:3d}/{n:<3d} ({p:.2f})               {floor:6.0%}"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = main()
    print(text)
    (ROOT / "bench" / "results" / "predict-limits.txt").write_text(text)
