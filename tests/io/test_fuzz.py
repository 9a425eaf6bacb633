"""Red team, fuzzing: mutated workflows (the examples, the model-choice one too) through solve,
analyze and one of solve --waves, least spend, pareto and whatif, and mutated plans through check
and export (bench/fuzz.py): no traceback, no hang, errors of one line."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from fuzz import fuzz  # noqa: E402


@pytest.mark.slow
def test_three_hundred_mutated_workflows_and_three_hundred_plans_give_no_traceback():
    report = fuzz(300, 300, seed=0)
    assert report["findings"] == []
    assert report["counts"]["workflow calls"] == 900


def test_mutated_inputs_give_no_traceback():
    report = fuzz(60, 20, seed=1)
    assert report["findings"] == []
