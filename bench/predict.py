"""Prediction benchmarks: speed of the Monte Carlo and of reading history, and the backtest.

    python bench/predict.py            # prints the tables, writes bench/results/predict.txt

1. 1,000 agents (random layered plan, history for 20 kinds) x 10,000 samples: seconds.
2. A 100,000-line JSONL history: seconds to read.
3. Leave-one-run-out backtest on each folder of real traces under instances/wfcommons
   (10 SRA-search repeats; 1000genome, epigenomics and montage traces of other sizes):
   the model against the per-kind log-normal baseline, the calibrated interval and the
   simple method (prediction/calibration.py).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import orchmilp  # noqa: E402
from orchmilp.history import read_history  # noqa: E402
from orchmilp.prediction import predict_policy  # noqa: E402
from orchmilp.prediction.backtest import backtest, cases_from, summarize_backtest  # noqa: E402


def _history_lines(path: Path, lines: int, kinds: int, rng) -> None:
    with path.open("w") as out:
        for i in range(lines):
            start = 1.79e9 + i
            kind = f"k{i % kinds}"
            size = float(rng.integers(1, 10**9))
            run_time = float(np.exp(2 + 0.3 * np.log1p(size) / 10 + rng.normal(0, 0.3)))
            out.write(
                json.dumps(
                    {
                        "run": f"r{i // 500}",
                        "workflow": "bench",
                        "agent": f"a{i % 500}",
                        "kind": kind,
                        "attempt": 1,
                        "start": start,
                        "finish": start + run_time,
                        "status": "ok",
                        "exit_code": 0,
                        "features": {"input_bytes": size},
                        "host": "h",
                    }
                )
                + "\n"
            )


def speed(lines: list[str]) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.jsonl"
        _history_lines(path, 100_000, 20, rng)
        t0 = time.perf_counter()
        history = read_history(path)
        read_s = time.perf_counter() - t0
    n = 1000
    agents = []
    for j in range(n):
        deps = sorted({int(rng.integers(0, j)) for _ in range(min(j, 2))}) if j else []
        agents.append(
            {
                "id": f"a{j}",
                "duration": 10,
                "kind": f"k{j % 20}",
                "depends_on": [f"a{d}" for d in deps],
                "features": {"input_bytes": float(rng.integers(1, 10**9))},
            }
        )
    problem = orchmilp.load({"agents": agents})
    waits_for = [tuple(problem.preds(j)) for j in range(n)]
    t0 = time.perf_counter()
    prediction = predict_policy(problem, waits_for, 0.0, history, samples=10_000)
    mc_s = time.perf_counter() - t0
    lines.append(f"read a 100,000-line history: {read_s:.2f} s ({len(history)} attempts)")
    lines.append(
        f"predict 1,000 agents x 10,000 samples (fit 20 kinds + Monte Carlo + criticality): {mc_s:.2f} s "
        f"(p50 {prediction.p50:.1f})"
    )


FOLDERS = ("srasearch", "1000genome", "epigenomics", "montage")


def backtests(lines: list[str]) -> None:
    from orchmilp.history import history_files

    summaries = []
    for name in FOLDERS:
        files = history_files([ROOT / "instances" / "wfcommons" / name])
        history = read_history(files)
        rows = backtest(history, cases_from(files, history), samples=4000, time_limit=5)
        lines.append("")
        lines.append(f"backtest, leave one run out, {len(files)} {name} traces (cores as traced)")
        lines.append(
            "run                                         method      actual    plan     p50   90% interval        95% interval"
        )
        for r in rows:
            a, b = r.intervals[0.9]
            c, d = r.intervals[0.95]
            lines.append(
                f"{r.run:43s} {r.method:10s} {r.actual:7.0f} {r.planned:7.0f} {r.p50:7.0f}   "
                f"[{a:6.0f}, {b:6.0f}] {'in ' if r.covered(0.9) else 'OUT'}  [{c:6.0f}, {d:6.0f}] "
                f"{'in' if r.covered(0.95) else 'OUT'}"
            )
        summaries += [(name, s) for s in summarize_backtest(rows)]
    lines.append("")
    lines.append(
        "traces       method      runs  cover90  width90  w90/p50  cover95  width95  w95/p50  p50 error  plan error"
    )
    for name, s in summaries:
        runs = s["runs"]
        lines.append(
            f"{name:12s} {s['method']:10s} {runs:5d}  {round(s['coverage 0.9'] * runs):3d}/{runs:<3d} "
            f"{s['median width 0.9']:7.2f}  {s['mean width/p50 0.9']:7.2f}  {round(s['coverage 0.95'] * runs):3d}/{runs:<3d} "
            f"{s['median width 0.95']:7.2f}  {s['mean width/p50 0.95']:7.2f}  {s['p50 error']:9.2f}  {s['plan error']:10.2f}"
        )
    lines.append(
        "width: median interval width / actual makespan; w/p50: mean interval width / the method's p50; "
        "calibrated: the model's p50, interval from its errors on the other runs (each left out in turn); "
        "simple: the plan's makespan, interval from the plan's errors on the other runs"
    )


if __name__ == "__main__":
    out: list[str] = []
    speed(out)
    backtests(out)
    text = "\n".join(out) + "\n"
    print(text)
    (ROOT / "bench" / "results" / "predict.txt").write_text(text)
