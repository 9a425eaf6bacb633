"""pytest-benchmark suite: ``pip install -e '.[bench]' && pytest bench/ --benchmark-only``.

Each benchmark asserts the known optimum, so a fast wrong answer fails.
The optima of the examples were proven by orchmilp and confirmed by CP-SAT
(map-reduce: CP-SAT finds 391 but cannot prove it; orchmilp's proof is the
MILP refuting 390); the PSPLIB optima come from best_known.csv.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

import orchmilp
from orchmilp.heuristics.ga import genetic_algorithm

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = {"code-review": 150, "map-reduce": 391, "refactor": 267, "validate-test-deploy": 333}
PSPLIB = ROOT / "instances" / "psplib"
OPTIMA = {
    r["instance"]: float(r["ub"]) for r in csv.DictReader(open(PSPLIB / "best_known.csv")) if r["optimal"] == "true"
}


@pytest.mark.parametrize("name", EXAMPLES)
def test_solve_example(benchmark, name):
    result = benchmark.pedantic(
        orchmilp.solve,
        args=(ROOT / "instances" / "examples" / f"{name}.json",),
        kwargs={"time_limit": 60},
        rounds=3,
        iterations=1,
    )
    assert result.status is orchmilp.Status.OPTIMAL and result.makespan == EXAMPLES[name]


@pytest.mark.parametrize("name", ["j301_1", "j3017_1", "j3033_1", "j3021_3", "j309_5"])
def test_solve_j30(benchmark, name):
    result = benchmark.pedantic(
        orchmilp.solve, args=(PSPLIB / "j30" / f"{name}.sm",), kwargs={"time_limit": 60}, rounds=1, iterations=1
    )
    assert result.makespan == OPTIMA[name] and result.status is orchmilp.Status.OPTIMAL


def test_ga_5000_schedules_j120(benchmark):
    problem = orchmilp.load(PSPLIB / "j120" / "j1201_1.sm")
    result = benchmark.pedantic(
        genetic_algorithm, args=(problem,), kwargs={"schedules": 5000, "population": 83}, rounds=3, iterations=1
    )
    assert result.schedules >= 5000
    assert result.makespan >= 104  # the best known lower bound of j1201_1
