"""Shared fixtures (helpers live in helpers.py)."""

from __future__ import annotations

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
