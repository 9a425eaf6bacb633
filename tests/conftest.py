"""Shared fixtures; plain helper functions and constants are in tests/helpers.py, the
reference solvers in tests/reference.py and the hypothesis strategies in tests/strategies.py
(imported as ``tests.helpers`` and so on: the tests are a package, nothing is put on the path)."""

from __future__ import annotations

import copy

import pytest


@pytest.fixture
def two_on_one_slot() -> dict:
    """Two agents that cannot run together: the optimum is their total duration."""
    return {
        "resources": {"slots": 1},
        "agents": [
            {"id": "a", "duration": 2, "uses": {"slots": 1}},
            {"id": "b", "duration": 3, "uses": {"slots": 1}},
        ],
    }


#: A four-agent workflow with model choice (tests of modes, budgets, what-ifs): two
#: implementations after a plan, each in opus (fast, costly, one at a time in the opus bucket)
#: or haiku, a usd budget of 3
_FOUR_MODELS = {
    "name": "pick-models",
    "resources": {"slots": 2, "opus_tpm": 100000},
    "budgets": {"usd": 3},
    "agents": [
        {
            "id": "plan",
            "uses": {"slots": 1},
            "modes": [
                {"name": "opus", "duration": 60, "uses": {"opus_tpm": 60000}, "consumes": {"usd": 1.2}},
                {"name": "haiku", "duration": 150, "consumes": {"usd": 0.1}},
            ],
        },
        {
            "id": "impl-a",
            "depends_on": ["plan"],
            "uses": {"slots": 1},
            "modes": [
                {"name": "opus", "duration": 200, "uses": {"opus_tpm": 60000}, "consumes": {"usd": 1.5}},
                {"name": "haiku", "duration": 400, "consumes": {"usd": 0.2}},
            ],
        },
        {
            "id": "impl-b",
            "depends_on": ["plan"],
            "uses": {"slots": 1},
            "modes": [
                {"name": "opus", "duration": 100, "uses": {"opus_tpm": 60000}, "consumes": {"usd": 1.0}},
                {"name": "haiku", "duration": 220, "consumes": {"usd": 0.15}},
            ],
        },
        {"id": "test", "depends_on": ["impl-a", "impl-b"], "duration": 30, "consumes": {"usd": 0.05}},
    ],
}


@pytest.fixture
def four_models() -> dict:
    """A fresh copy of the four-agent workflow with model choice (tests may change it)."""
    return copy.deepcopy(_FOUR_MODELS)
