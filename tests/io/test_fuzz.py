"""Red team, fuzzing: 1,000 mutated workflows through solve and analyze and 300 mutated plans
through check and export (bench/fuzz.py): no traceback, no hang, errors of one line."""

from __future__ import annotations

import sys

import pytest

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from fuzz import fuzz  # noqa: E402


@pytest.mark.slow
def test_a_thousand_mutated_workflows_and_three_hundred_plans_give_no_traceback():
    report = fuzz(1000, 300, seed=0)
    assert report["findings"] == []
    assert report["counts"]["workflow calls"] == 2000


def test_mutated_inputs_give_no_traceback():
    report = fuzz(60, 20, seed=1)
    assert report["findings"] == []
