"""Reading plan files (docs/spec/plan-format.md) as plain dicts, for the checker, export,
prediction and execution; errors are one line naming the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import InvalidPlan
from .files import read_json

__all__ = ["read_plan"]


def read_plan(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The plan object of a file (or the dict given)."""
    if isinstance(source, dict):
        return source
    data = read_json(source, InvalidPlan)
    if not isinstance(data, dict):
        raise InvalidPlan(f"{source}: a plan must be a JSON object")
    return data
